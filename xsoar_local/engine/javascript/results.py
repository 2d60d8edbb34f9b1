"""What a JavaScript script's return value becomes in the War Room, as the server makes it.

Inferred from content (reference: xsoar-javascript-and-playbooks.md §1-2): Print, Set and DeleteContext return
one entry object (`Type`, `Contents`, `ContentsFormat`, `HumanReadable`, `EntryContext`; Print leaves out
`ContentsFormat`); IsError and Exists return a string; a script returning `executeCommand(...)` re-emits the
entries of that array; VerifyContext ends without a return and prints nothing; a thrown value fails the script
with that value as the error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xsoar_local.engine.entries import ERROR, NOTE, normalise_entry


def _text(value: Any) -> str:
    """A scalar as JavaScript prints it (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def entry_of(value: Any) -> dict[str, Any]:
    """One returned item as an entry: an object with `Contents` is the entry itself (a missing `Type` is a note,
    a missing `ContentsFormat` follows the contents); any other object is a JSON note; a scalar a text note."""
    if isinstance(value, Mapping) and "Contents" in value:
        entry = dict(value)
        entry.setdefault("Type", NOTE)
        if entry.get("ContentsFormat") in (None, ""):
            entry["ContentsFormat"] = "json" if isinstance(entry["Contents"], (Mapping, list)) else "text"
        return entry
    if isinstance(value, (Mapping, list)):
        return normalise_entry(value)
    return {"Type": NOTE, "ContentsFormat": "text", "Contents": _text(value)}


def entries_of(value: Any) -> list[dict[str, Any]]:
    """The entries of a returned value: none for `undefined` or `null`, one per item of an array."""
    if value is None:
        return []
    if isinstance(value, list):
        return [entry_of(item) for item in value if item is not None]
    return [entry_of(value)]


def thrown_entry(message: str) -> dict[str, Any]:
    """The error entry of a value the script threw (the script's own failure, not the engine's)."""
    return {"Type": ERROR, "ContentsFormat": "text", "Contents": message, "EntryContext": None}
