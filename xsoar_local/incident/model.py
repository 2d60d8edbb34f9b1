"""A local incident: its fields and context, and the user input that builds one.

``Incident`` is immutable: every ``with_*`` method returns an updated copy, so the pure merge
functions stay pure and a failed run never leaves a half-updated incident behind. The state folder
(``xsoar_local.incident.state``) persists incidents; it keeps integration contexts per instance, so
``Incident.integration_contexts`` only carries an instance's context into and out of one command run.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from xsoar_local.errors import UsageError
from xsoar_local.incident.context import merge_entry_context, set_path

__all__ = [
    "DEFAULT_STATE_DIR",
    "STATE_DIR_ENV",
    "Incident",
    "IncidentInputError",
    "default_fields",
    "incident_from_overrides",
    "load_incident_file",
    "parse_incident_fields",
    "view_for_expressions",
]

REPO_ROOT: Final = Path(__file__).resolve().parent.parent.parent
DEFAULT_STATE_DIR: Final = REPO_ROOT / ".xsoar-local"  # git-ignored
STATE_DIR_ENV: Final = "XSOAR_LOCAL_STATE_DIR"  # overrides the default (e.g. for `make run` in tests)
_FORMAT_VERSION: Final = 1

# XSOAR severities: the numbers the server stores, and the names a user may type instead.
SEVERITIES: Final[Mapping[str, float]] = {
    "unknown": 0,
    "info": 0.5,
    "informational": 0.5,
    "low": 1,
    "medium": 2,
    "high": 3,
    "critical": 4,
}


class IncidentInputError(UsageError):
    """User-supplied incident fields (``key=value`` strings or a JSON file) are malformed."""


def default_fields() -> dict[str, Any]:
    """The fields of a fresh local incident (system fields use the server's lowercase names)."""
    return {
        "id": "1",
        "name": "Local incident",
        "details": "",
        "type": "Unclassified",
        "severity": 0,
        "status": 1,  # Active
        "labels": [],
        "CustomFields": {},
    }


@dataclass(frozen=True)
class Incident:
    """An incident: its fields, its context and each integration instance's integration context."""

    fields: dict[str, Any] = field(default_factory=default_fields)
    context: dict[str, Any] = field(default_factory=dict)
    integration_contexts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_fields(self, overrides: Mapping[str, Any]) -> Incident:
        """A copy whose fields are updated with ``overrides`` (top-level keys replaced)."""
        return replace(self, fields={**copy.deepcopy(self.fields), **copy.deepcopy(dict(overrides))})

    def with_context(self, context: Mapping[str, Any]) -> Incident:
        """A copy whose whole context is replaced."""
        return replace(self, context=copy.deepcopy(dict(context)))

    def with_entry_context(self, entry_context: Mapping[str, Any] | None) -> Incident:
        """A copy with an entry's ``EntryContext`` merged the way the server does."""
        return replace(self, context=merge_entry_context(self.context, entry_context))

    def with_context_value(self, path: str, value: Any) -> Incident:
        """A copy with one context path overwritten (``demisto.setContext``)."""
        return replace(self, context=set_path(self.context, path, value))

    def integration_context(self, instance: str) -> dict[str, Any]:
        """A copy of one instance's integration context ({} when it has none)."""
        return copy.deepcopy(self.integration_contexts.get(instance, {}))

    def with_integration_context(self, instance: str, value: Mapping[str, Any]) -> Incident:
        """A copy where one instance's integration context is replaced (``setIntegrationContext``)."""
        contexts = copy.deepcopy(self.integration_contexts)
        contexts[instance] = copy.deepcopy(dict(value))
        return replace(self, integration_contexts=contexts)

    def to_json(self) -> dict[str, Any]:
        """The JSON document the store writes."""
        return {
            "version": _FORMAT_VERSION,
            "fields": copy.deepcopy(self.fields),
            "context": copy.deepcopy(self.context),
            "integration_contexts": copy.deepcopy(self.integration_contexts),
        }

    @classmethod
    def from_json(cls, document: Any) -> Incident:
        """Rebuild an incident from ``to_json`` output; raises ValueError describing what is wrong."""
        if not isinstance(document, dict):
            raise ValueError(f"expected a JSON object, got {type(document).__name__}")
        if document.get("version") != _FORMAT_VERSION:
            raise ValueError(f"unknown state format version {document.get('version')!r} (expected {_FORMAT_VERSION})")
        for key in ("fields", "context", "integration_contexts"):
            if not isinstance(document.get(key), dict):
                raise ValueError(f"{key!r} must be a JSON object")
        contexts = document["integration_contexts"]
        for instance, value in contexts.items():
            if not isinstance(value, dict):
                raise ValueError(f"the integration context of {instance!r} must be a JSON object")
        return cls(fields=document["fields"], context=document["context"], integration_contexts=contexts)


def view_for_expressions(incident: Incident) -> dict[str, Any]:
    """What ``${...}`` expressions resolve against: the context plus the incident under ``incident``.

    Custom fields are flattened next to the system fields, as the server exposes them
    (``${incident.xdrincidentid}``); a system field wins over a custom field of the same name,
    and ``incident`` wins over a context key of that name.
    """
    fields = copy.deepcopy(incident.fields)
    custom = fields.get("CustomFields")
    flattened = {**custom, **fields} if isinstance(custom, dict) else fields
    return {**copy.deepcopy(incident.context), "incident": flattened}


# ---------------------------------------------------------------------------------------------
# User input: --incident key=value and --incident-file incident.json
# ---------------------------------------------------------------------------------------------

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def typed_field(name: str, value: str) -> Any:
    """A field's value as the server stores it from text: severity takes a number or a name (IncidentInputError
    for anything else); every other field stays a string."""
    if name != "severity":
        return value
    text = value.strip().lower()
    if text in SEVERITIES:
        return SEVERITIES[text]
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if number not in SEVERITIES.values():
        names = ", ".join(SEVERITIES)
        raise IncidentInputError(f"Invalid severity {value!r}: use 0, 0.5, 1, 2, 3, 4 or one of {names}")
    return int(number) if number.is_integer() else number


def parse_incident_fields(pairs: Iterable[str]) -> dict[str, Any]:
    """Parse ``["details=Hello there", "name=x"]`` into fields; a later key wins over an earlier one.

    The value is everything after the first ``=`` (it may contain ``=`` and spaces); ``severity``
    accepts a number or a name such as ``high``.
    """
    fields: dict[str, Any] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        name = name.strip()
        if not separator:
            raise IncidentInputError(f'Invalid incident field {pair!r}: expected key=value, e.g. details="Hello"')
        if not _FIELD_NAME.fullmatch(name):
            raise IncidentInputError(
                f"Invalid incident field name {name!r} in {pair!r}: use letters, digits and underscores"
            )
        fields[name] = typed_field(name, value)
    return fields


def _read_incident_file(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The fields and (if the file has one) the context of an incident file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise IncidentInputError(f"Incident file {path} does not exist") from error
    except json.JSONDecodeError as error:
        raise IncidentInputError(f"Incident file {path} is not valid JSON: {error}") from error
    except RecursionError as error:
        raise IncidentInputError(f"Incident file {path} is nested too deeply to be an incident") from error
    except (OSError, UnicodeDecodeError) as error:
        raise IncidentInputError(f"Cannot read incident file {path}: {error}") from error
    if not isinstance(document, dict):
        raise IncidentInputError(
            f"Incident file {path} must hold a JSON object of incident fields, not {type(document).__name__}"
        )
    fields = dict(document)
    context = fields.pop("context", None)
    if context is not None and not isinstance(context, dict):
        raise IncidentInputError(f"Incident file {path}: 'context' must be a JSON object")
    if isinstance(fields.get("severity"), str):
        fields["severity"] = typed_field("severity", fields["severity"])
    return fields, context


def load_incident_file(path: Path) -> Incident:
    """A fresh incident built from a JSON file of incident fields, with an optional ``context`` object."""
    fields, context = _read_incident_file(path)
    return Incident().with_fields(fields).with_context(context or {})


def incident_from_overrides(
    base: Incident | None = None,
    *,
    incident_file: Path | None = None,
    field_pairs: Iterable[str] = (),
) -> Incident:
    """Apply to ``base`` (default: a fresh incident), in order, an incident file then ``key=value`` fields.

    File fields override the base's; the file's ``context``, when present, replaces the base's.
    Integration contexts are kept: they belong to the instances, not to the incident.
    """
    incident = base if base is not None else Incident()
    if incident_file is not None:
        fields, context = _read_incident_file(incident_file)
        incident = incident.with_fields(fields)
        if context is not None:
            incident = incident.with_context(context)
    overrides = parse_incident_fields(field_pairs)
    return incident.with_fields(overrides) if overrides else incident
