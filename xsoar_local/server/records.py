"""The typed records the server keeps: incidents with their investigation, integration instances, War Room entries.

Each record converts to and from the JSON the state folder holds; the REST answers are built from them by the
feature modules. Records are mutable only inside a `StateRepository.transaction()`, on the working copies it hands
out: the copies the repository holds are never changed in place.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from xsoar_local.engine.entries import ERROR, NOTE
from xsoar_local.incident.model import Incident
from xsoar_local.redact import mask

USER: Final = "admin"
PLAYGROUND_TYPE: Final = 9
INCIDENT_TYPE: Final = 0
CLOSED_STATUS: Final = "Closed"


def now() -> str:
    """The server's timestamp format (RFC 3339, UTC)."""
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


@dataclass
class Investigation:
    """The investigation an incident has once it is opened (a playground is one without a real incident)."""

    type: int = INCIDENT_TYPE
    status: int = 0
    created: str = ""
    closed: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "status": self.status, "created": self.created, "closed": self.closed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Investigation:
        return cls(
            int(data.get("type", INCIDENT_TYPE)),
            int(data.get("status", 0)),
            str(data.get("created") or ""),
            data.get("closed"),
        )


@dataclass
class IncidentRecord:
    """One incident: its fields, context, investigation (once opened) and its playbook run (once started)."""

    id: str
    fields: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    investigation: Investigation | None = None
    playbook_run: dict[str, Any] | None = None

    def incident(self) -> Incident:
        """A copy as the engine and the playbook runner take it."""
        return Incident(fields=copy.deepcopy(self.fields), context=copy.deepcopy(self.context))

    def apply(self, incident: Incident) -> None:
        """Take an incident's fields and context (a command's or a task's result), with the closing rule."""
        self.fields = copy.deepcopy(dict(incident.fields))
        self.context = copy.deepcopy(dict(incident.context))
        if (
            self.fields.get("status") == CLOSED_STATUS
            and self.investigation is not None
            and not self.investigation.closed
        ):
            self.investigation.closed = now()
            self.investigation.status = 1

    @property
    def run_status(self) -> str:
        return "" if self.playbook_run is None else str(self.playbook_run.get("state"))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fields": self.fields,
            "context": self.context,
            "investigation": self.investigation.to_json() if self.investigation else None,
            "playbook_run": self.playbook_run,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], run: Mapping[str, Any] | None = None) -> IncidentRecord:
        investigation = data.get("investigation")
        fields = dict(data.get("fields") or {})
        found_run = data.get("playbook_run", run)
        return cls(
            str(data.get("id") or fields.get("id")),
            fields,
            dict(data.get("context") or {}),
            Investigation.from_json(investigation) if isinstance(investigation, Mapping) else None,
            dict(found_run) if isinstance(found_run, Mapping) else None,
        )


@dataclass
class InstanceRecord:
    """An integration instance as saved (secrets in the clear: only the API's views mask them)."""

    id: str
    name: str
    brand: str
    data: list[Any]
    category: str = ""
    enabled: bool = True
    log_level: str = ""
    engine: str = ""
    version: int = 1
    modified: str = ""
    docker_image: str = ""

    def to_json(self) -> dict[str, Any]:
        """The instance in the shape `/settings/integration` answers with (before masking)."""
        return {
            "id": self.id,
            "name": self.name,
            "brand": self.brand,
            "category": self.category,
            "enabled": "true" if self.enabled else "false",
            "data": copy.deepcopy(self.data),
            "isIntegrationScript": True,
            "integrationLogLevel": self.log_level,
            "engine": self.engine,
            "version": self.version,
            "modified": self.modified,
            "configvalues": {
                item["name"]: item.get("value") for item in self.data if isinstance(item, Mapping) and "name" in item
            },
            "dockerImage": self.docker_image,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstanceRecord:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            brand=str(data["brand"]),
            data=list(data.get("data") or []),
            category=str(data.get("category") or ""),
            enabled=truthy(data.get("enabled", "true")),
            log_level=str(data.get("integrationLogLevel") or ""),
            engine=str(data.get("engine") or ""),
            version=int(data.get("version") or 1),
            modified=str(data.get("modified") or ""),
            docker_image=str(data.get("dockerImage") or ""),
        )


@dataclass(frozen=True)
class Entry:
    """A War Room entry as the server stores and returns it: `contents` is what the War Room shows."""

    id: str
    investigation_id: str
    type: int
    contents: str
    format: str
    raw_contents: Any
    entry_context: Any
    parent_content: str
    created: str
    brand: str = ""
    instance: str = ""
    user: str = ""
    note: bool = False
    tags: tuple[str, ...] = ()
    entry_task: Mapping[str, Any] | None = None
    file: str = ""
    engine_crash: bool = False

    @classmethod
    def from_engine(
        cls,
        raw: Mapping[str, Any],
        entry_id: str,
        inv_id: str,
        parent: str,
        *,
        brand: str = "",
        instance: str = "",
        entryTask: Mapping[str, Any] | None = None,  # noqa: N803 - the server's field name
        note: bool = False,
    ) -> Entry:
        """An engine entry (`Type`, `Contents`, `HumanReadable`, ...) as the War Room keeps it."""
        contents = raw.get("Contents")
        human = raw.get("HumanReadable")
        fmt = str(raw.get("ContentsFormat") or "text")
        if human not in (None, ""):
            shown, fmt = str(human), "markdown"
        elif isinstance(contents, str):
            shown = contents
        else:
            shown, fmt = json.dumps(contents, default=str, ensure_ascii=False), "json"
        try:
            entry_type = int(raw.get("Type", NOTE))
        except (TypeError, ValueError):
            entry_type = NOTE
        return cls(
            id=entry_id,
            investigation_id=inv_id,
            type=entry_type,
            contents=shown,
            format=fmt,
            raw_contents=contents,
            entry_context=raw.get("EntryContext"),
            parent_content=parent,
            created=now(),
            brand=brand,
            instance=instance,
            user=USER if note else "",
            note=note,
            tags=tuple(raw.get("Tags") or ()),
            entry_task=dict(entryTask) if entryTask else None,
            file=str(raw.get("File") or ""),
            engine_crash=bool(raw.get("EngineCrash")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "investigationId": self.investigation_id,
            "type": self.type,
            "contents": self.contents,
            "format": self.format,
            "rawContents": copy.deepcopy(self.raw_contents),
            "entryContext": copy.deepcopy(self.entry_context),
            "parentContent": self.parent_content,
            "parentId": "",
            "brand": self.brand,
            "instance": self.instance,
            "created": self.created,
            "modified": self.created,
            "user": self.user,
            "note": self.note,
            "tags": list(self.tags),
            "entryTask": dict(self.entry_task) if self.entry_task else None,
            "file": self.file,
            "engineCrash": self.engine_crash,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        return cls(
            id=str(data.get("id")),
            investigation_id=str(data.get("investigationId")),
            type=int(data.get("type", NOTE)),
            contents=str(data.get("contents") or ""),
            format=str(data.get("format") or "text"),
            raw_contents=data.get("rawContents"),
            entry_context=data.get("entryContext"),
            parent_content=str(data.get("parentContent") or ""),
            created=str(data.get("created") or ""),
            brand=str(data.get("brand") or ""),
            instance=str(data.get("instance") or ""),
            user=str(data.get("user") or ""),
            note=bool(data.get("note")),
            tags=tuple(data.get("tags") or ()),
            entry_task=data.get("entryTask") or None,
            file=str(data.get("file") or ""),
            engine_crash=bool(data.get("engineCrash")),
        )


def error_entry(message: str) -> dict[str, Any]:
    """An engine-shaped error entry (Type 4) the server writes itself; its text is masked as every toolkit
    message is."""
    return {"Type": ERROR, "ContentsFormat": "text", "Contents": mask(message)}
