"""War Room entries as the engine stores them, and the logs captured beside them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NOTE = 1
FILE = 3
ERROR = 4
WARNING = 11
DEBUG = 16

ENTRY_TYPE_NAMES = {NOTE: "note", FILE: "file", ERROR: "error", 9: "entryInfoFile", WARNING: "warning", DEBUG: "debug"}


def _json_default(value: Any) -> str:
    return str(value)


def normalise_entry(result: Any) -> dict[str, Any]:
    """One value passed to `demisto.results`, as the engine's `convert()` turns it into an entry."""
    if isinstance(result, Mapping):
        if "Contents" in result and "ContentsFormat" in result:
            return dict(result)
        return {"Type": NOTE, "Contents": json.dumps(result, default=_json_default), "ContentsFormat": "json"}
    return {"Type": NOTE, "Contents": str(result), "ContentsFormat": "text"}


def normalise_results(results: Any) -> list[dict[str, Any]]:
    """`demisto.results(x)`: a list is several entries, anything else one entry."""
    if isinstance(results, (list, tuple)):
        return [normalise_entry(item) for item in results]
    return [normalise_entry(results)]


def entry_type(entry: Mapping[str, Any]) -> int:
    """The entry's numeric Type (a missing or odd Type counts as a note)."""
    try:
        return int(entry.get("Type", NOTE))
    except (TypeError, ValueError):
        return NOTE


def is_error(entry: Mapping[str, Any]) -> bool:
    """True for an error entry (Type 4)."""
    return entry_type(entry) == ERROR


def entry_contexts(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The non-empty `EntryContext` of each entry, in order."""
    return [entry["EntryContext"] for entry in entries if isinstance(entry.get("EntryContext"), dict)]


def crash_entry(message: str) -> dict[str, Any]:
    """The error entry for an exception the integration did not handle (marked as such)."""
    return {
        "Type": ERROR,
        "ContentsFormat": "text",
        "Contents": message,
        "EntryContext": None,
        "EngineCrash": True,
    }


@dataclass(frozen=True)
class LogEntry:
    """A line the integration logged: level is debug, info, error, log (demisto.log), stdout or stderr."""

    level: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The log line as JSON."""
        return {"level": self.level, "message": self.message}
