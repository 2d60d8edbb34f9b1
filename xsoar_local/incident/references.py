"""`${...}` references in text, resolved the way the server resolves them: in playbook task arguments and in the
string arguments a script passes to `executeCommand` (content's DeleteContext and IsSubPlaybook send
`'id=${currentPlaybookID}'` to Print and read the resolved text back).

One rule for both callers (the playbook's Resolver and the engine's nested-command handler): a string that is
exactly one reference takes the referenced value as it is (a list stays a list); references inside text are written
as text (lists comma-joined, objects as JSON, nothing as "").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from xsoar_local.incident.context import get_path
from xsoar_local.incident.errors import ContextPathError
from xsoar_local.incident.selector import evaluate_expression, split_mutator

__all__ = ["REFERENCE", "read_reference", "resolve_arguments", "resolve_references", "to_text"]

REFERENCE = re.compile(r"\$\{([^{}]*)\}")


def to_text(value: Any) -> str:
    """How the server writes a context value into a string: lists comma-joined, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # DT is JavaScript: a number has one type, and 42.0 is written as 42
    if isinstance(value, list):
        return ",".join(to_text(item) for item in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True)
    return str(value)


def read_reference(view: Mapping[str, Any], path: str) -> Any:
    """The value a reference's path (`Path`, `Path(selector)`, `Path=val.toLowerCase()`) reads in `view`; None
    when nothing is there. Raises ContextPathError for a path or selector that cannot be read."""
    path, mutator = split_mutator(path.strip())
    value = get_path(view, path)
    if mutator is not None and value is not None:
        # `Path=val.toLowerCase()`: the expression maps each item the path gives
        if isinstance(value, list):
            return [evaluate_expression(mutator, item) for item in value]
        return evaluate_expression(mutator, value)
    return value


def resolve_references(raw: Any, lookup: Callable[[str], Any]) -> Any:
    """`raw` with its `${path}` references replaced by what `lookup(path)` gives; a non-string is returned as it is."""
    if not isinstance(raw, str):
        return raw
    whole = REFERENCE.fullmatch(raw.strip())
    if whole:
        return lookup(whole.group(1))
    return REFERENCE.sub(lambda match: to_text(lookup(match.group(1))), raw)


def resolve_arguments(args: Mapping[str, Any], view: Mapping[str, Any]) -> dict[str, Any]:
    """The string arguments of an `executeCommand` call with their references resolved against `view`.

    A reference whose path cannot be read (a malformed selector) is left as written: the command gets the text the
    script sent, as it would get any other text."""

    def lookup_or_keep(raw: str) -> Any:
        def lookup(path: str) -> Any:
            return read_reference(view, path)

        try:
            return resolve_references(raw, lookup)
        except ContextPathError:
            return raw

    return {name: lookup_or_keep(value) if isinstance(value, str) else value for name, value in args.items()}
