"""A task's `extend-context` argument: the server's own, never passed to the command or script.

`extend-context=key=path::key2=path2` writes what `path` selects in each entry's raw response (its `Contents`) to
the context key `key`; an empty path or `.` writes the whole response. (`ignore-outputs` is not handled: it still
reaches the command, which refuses it as an unknown argument.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from xsoar_local.incident.context import ContextPathError, get_path, merge_entry_context
from xsoar_local.playbook.values import ExpressionError

EXTEND_CONTEXT = "extend-context"
ERROR_ENTRY = 4


def split_extend(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The command's own arguments, and the `extend-context` text ("" when the task has none)."""
    own = {name: value for name, value in args.items() if name != EXTEND_CONTEXT}
    extend = args.get(EXTEND_CONTEXT)
    return own, "" if extend is None else str(extend).strip()


def extended_context(extend: str, entries: tuple[Mapping[str, Any], ...]) -> dict[str, Any]:
    """The context keys `extend` writes from the entries' raw responses (one value per entry, a list for more)."""
    written: dict[str, Any] = {}
    responses = [_response(entry) for entry in entries if entry.get("Type") != ERROR_ENTRY]
    for spec in filter(None, (part.strip() for part in extend.split("::"))):
        key, separator, path = spec.partition("=")
        if not separator or not key.strip():
            raise ExpressionError(f"{EXTEND_CONTEXT}: {spec!r} is not `key=path` (several are joined with `::`)")
        path = path.strip()
        values = [_select(response, path) for response in responses]
        values = [value for value in values if value is not None]
        if values:
            written[key.strip()] = values[0] if len(values) == 1 else values
    return written


def apply_extended(context: Mapping[str, Any], written: Mapping[str, Any]) -> dict[str, Any]:
    """The context with the extended keys merged in as an entry's EntryContext would be."""
    return merge_entry_context(context, written) if written else dict(context)


def _response(entry: Mapping[str, Any]) -> Any:
    """An entry's raw response: JSON contents held as text (what a script's demisto.results or a JavaScript
    script's returned object becomes) are read as the value they hold, so their fields can be selected."""
    contents = entry.get("Contents")
    if isinstance(contents, str) and str(entry.get("ContentsFormat") or "").lower() == "json":
        try:
            return json.loads(contents)
        except ValueError:
            return contents
    return contents


def _select(response: Any, path: str) -> Any:
    if path in ("", "."):
        return response
    if not isinstance(response, Mapping):
        return None
    try:
        return get_path(response, path)
    except ContextPathError as error:
        raise ExpressionError(f"{EXTEND_CONTEXT}: {error}") from error
