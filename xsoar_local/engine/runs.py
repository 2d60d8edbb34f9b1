"""What an engine session hands back besides a `CommandRun`, and how a run is reshaped for its caller: a
planned War Room line, a fetch's outcome and the incidents it makes, the entries a server stores for a
run, a transformer's or filter's returned value, and test-module's outcome.
"""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from xsoar_local.engine.entries import ERROR, NOTE
from xsoar_local.engine.instances import Instance
from xsoar_local.engine.native import NativeCommand
from xsoar_local.engine.runner import CommandRun
from xsoar_local.engine.scripts import Script
from xsoar_local.errors import EngineError


@dataclass(frozen=True)
class FetchRun:
    """One fetch: the incidents created, lastRun after it, and the error (lastRun unchanged) if it failed."""

    instance: str
    incidents: list[dict[str, Any]]
    last_run: dict[str, Any]
    run: CommandRun
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the fetch succeeded (its incidents were created and lastRun moved on)."""
        return self.error is None


@dataclass(frozen=True)
class Planned:
    """What a War Room line or executeCommand call resolved to: a script, a command on an instance, or a command
    the engine runs itself (registry.py)."""

    name: str
    args: dict[str, Any]
    line: str
    script: Script | None = None
    instance: Instance | None = None
    native: NativeCommand | None = None


def server_entries(run: CommandRun, brand: str, module: str, line: str, investigation: str) -> list[dict[str, Any]]:
    """A run's entries in the shape `executeCommand` returns them (ID, Brand, ModuleName, Metadata, ...)."""
    shaped = []
    for number, entry in enumerate(run.entries, start=1):
        item = copy.deepcopy(entry)
        if "ID" in item and "Metadata" in item:  # a stored War Room entry (getEntries, getEntry) keeps its own id
            shaped.append(item)
            continue
        item.setdefault("HumanReadable", None)
        item.setdefault("EntryContext", None)
        item.update({"ID": f"{number}@{investigation}", "Brand": brand, "ModuleName": module})
        item["Metadata"] = {
            "id": item["ID"],
            "type": item.get("Type", NOTE),
            "format": item.get("ContentsFormat", "text"),
            "brand": brand,
            "instance": module,
            "investigationId": investigation,
            "parentContent": line,
        }
        shaped.append(item)
    return shaped


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def incident_record(raw: Any, instance: Instance, position: int) -> dict[str, Any]:
    """One `demisto.incidents()` item as the server stores a new incident."""
    if not isinstance(raw, Mapping):
        raise EngineError(f"fetched incident #{position} is a {type(raw).__name__}, not an object with a name")
    record = copy.deepcopy(dict(raw))
    record.setdefault("name", "")
    record.setdefault("occurred", _now())
    record.setdefault("severity", 0)
    record.setdefault("type", instance.params.get("incidentType") or "Unclassified")
    record.setdefault("labels", [])
    record.setdefault("rawJSON", json.dumps(raw, default=str))
    record["created"] = _now()
    record["sourceBrand"] = instance.brand
    return record


# Go's encoding/json writes a float64 at least this large with an exponent (1e+21), which Python reads as a float.
JSON_EXPONENT_FROM = 1e21


def server_numbers(value: Any) -> Any:
    """A value as a Python script or integration receives it from the server, which hands it over as JSON: a whole
    number is written without a fraction (Go and JavaScript write 42.0 as `42`), so Python reads an int; any other
    number stays a float. So a 45.0 a Python transformer returned reaches the next script as 45, as on a server.
    Booleans stay booleans; lists and objects are walked."""
    if isinstance(value, float) and value.is_integer() and abs(value) < JSON_EXPONENT_FROM:
        return int(value)
    if isinstance(value, list):
        return [server_numbers(item) for item in value]
    if isinstance(value, Mapping):
        return {key: server_numbers(item) for key, item in value.items()}
    return value


def war_room_line_of(name: str, args: Mapping[str, Any]) -> str:
    parts = [f"!{name}"] + [f"{key}={json.dumps(value, default=str)}" for key, value in args.items()]
    return " ".join(parts)


def returned_value(run: CommandRun, *, first: bool = False) -> Any:
    """What a transformer or filter returned with `demisto.results(value)`: the value it wrote, or the list of
    the values when it wrote several (CommonServerPython's `return_results([1, 2])` writes each number on its
    own); `first`: only the first (a filter's answer)."""
    raw = run.result.raw_results
    if not raw:
        return None
    if first or len(raw) == 1:
        return _written(raw[0])
    return [_written(value) for value in raw]


def _written(value: Any) -> Any:
    if isinstance(value, Mapping) and "Contents" in value and "ContentsFormat" in value:
        return value["Contents"]
    return value


def test_module_outcome(run: CommandRun) -> CommandRun:
    """As on a server, test-module passes only when its result is `ok`; anything else is a failed test."""
    if run.is_error:
        return run
    contents = [entry.get("Contents") for entry in run.entries]
    if contents == ["ok"]:
        return run
    shown = "; ".join(str(item) for item in contents) if contents else "no result"
    failure = {
        "Type": ERROR,
        "ContentsFormat": "text",
        "Contents": f"Test failed: {shown} (test-module must return 'ok')",
    }
    return replace_entries(run, [failure])


def replace_entries(run: CommandRun, entries: list[dict[str, Any]]) -> CommandRun:
    return replace(run, entries=entries)
