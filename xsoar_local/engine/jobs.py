"""The engine's typed job and result: what an executor is handed and what it gives back.

A `Job` is everything one run of an integration command or automation script needs (code, args, params, the
incident and its context); a `JobResult` is everything the run produced (entries, logs, context changes, instance
state). Both are frozen. They become JSON only where they cross a process boundary (`to_json`/`from_json`): the
cold child's stdin and result file, the warm worker's request line and result file.

This module imports only the standard library and `entries`: the sandbox child reads it inside an image's
environment.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xsoar_local.engine.entries import LogEntry

INTEGRATION, SCRIPT, TRANSFORMER, FILTER = "integration", "script", "transformer", "filter"
PYTHON, JAVASCRIPT = "python", "javascript"


@dataclass(frozen=True)
class Job:
    """One run of an integration command (`kind="integration"`) or a script (`script`, `transformer`, `filter`).

    `language` chooses the executor (`xsoar_local.engine.executors.executor_for`); `docker_image` chooses the warm
    worker. Paths are strings: the job is handed to another process as it is.
    """

    kind: str
    name: str
    folder: str
    runtime_dir: str
    language: str = PYTHON
    code_path: str | None = None
    code: str | None = field(default=None, repr=False)
    command: str = ""  # integrations only: the command being run
    args: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict, repr=False)
    is_debug: bool = False
    brand: str = ""
    instance: str = ""
    integration_context: Mapping[str, Any] = field(default_factory=dict, repr=False)
    integration_context_version: int = 0
    last_run: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict, repr=False)
    incident: Mapping[str, Any] = field(default_factory=dict, repr=False)
    docker_image: str = ""
    # scripts only: what `getAllSupportedCommands()` answers ({module: [{name, description}]}, the registry's)
    supported_commands: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # CommonServerUserPython is not merged into out-of-the-box (system) integrations; content packs' get it.
    use_csup: bool = True

    def to_json(self) -> dict[str, Any]:
        """The job as a JSON-able dict (for the process boundary), sharing no container with the job."""
        # What dataclasses.asdict gives, without its per-value dataclass checks (a job's values are JSON-like):
        # containers copied, immutable scalars shared, anything else deep-copied.
        data = {name: _copied(getattr(self, name)) for name in _FIELDS}
        for key in _MAPPINGS:
            data[key] = dict(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        """The job a dict describes (unknown keys, such as a boundary's own `result_path`, are ignored)."""
        known = {item.name for item in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known and value is not None}
        values["code_path"] = data.get("code_path") or None
        values["code"] = data.get("code")
        values.setdefault("kind", INTEGRATION)
        values.setdefault("name", "")
        values.setdefault("folder", ".")
        values.setdefault("runtime_dir", "")
        values["integration_context_version"] = int(values.get("integration_context_version") or 0)
        return cls(**values)

    def with_values(self, **changes: Any) -> Job:
        """A copy with `changes` (a boundary resolving paths, a caller adding state)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class JobResult:
    """What one run produced, whichever executor ran it.

    `context` is the context the code saw last (its setContext calls and nested commands included; None when the
    run never reached the code). `context_sets` are its own setContext calls, in order, so that they can be
    re-applied on a newer copy of the incident. `raw_output` is output that bypassed the capture (C extensions,
    os.write), kept for the logs.
    """

    entries: tuple[Mapping[str, Any], ...] = ()
    raw_results: tuple[Any, ...] = ()
    logs: tuple[LogEntry, ...] = ()
    context: Mapping[str, Any] | None = None
    context_sets: tuple[tuple[str, Any], ...] = ()
    integration_context: Mapping[str, Any] = field(default_factory=dict)
    integration_context_version: int = 0
    last_run: Mapping[str, Any] = field(default_factory=dict)
    last_run_set: bool = False
    fetched_incidents: tuple[Any, ...] | None = None
    exit_code: int | None = None
    crashed: bool = False
    raw_output: tuple[LogEntry, ...] = ()

    @classmethod
    def crash(cls, entry: Mapping[str, Any], raw_output: tuple[LogEntry, ...] = ()) -> JobResult:
        """A run that ended without a result (timeout, a dead process): its one crash entry."""
        return cls(entries=(dict(entry),), crashed=True, raw_output=raw_output)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-able dict (for the process boundary)."""
        return {
            "entries": [dict(entry) for entry in self.entries],
            "raw_results": list(self.raw_results),
            "logs": [{"level": log.level, "message": log.message} for log in self.logs],
            "context": None if self.context is None else dict(self.context),
            "context_sets": [[path, value] for path, value in self.context_sets],
            "integration_context": dict(self.integration_context),
            "integration_context_version": self.integration_context_version,
            "last_run": dict(self.last_run),
            "last_run_set": self.last_run_set,
            "fetched_incidents": None if self.fetched_incidents is None else list(self.fetched_incidents),
            "exit_code": self.exit_code,
            "crashed": self.crashed,
            "raw_output": [{"level": log.level, "message": log.message} for log in self.raw_output],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobResult:
        """The result a dict describes (what a child wrote); missing keys take their defaults."""
        fetched = data.get("fetched_incidents")
        context = data.get("context")
        return cls(
            entries=tuple(dict(entry) for entry in data.get("entries") or () if isinstance(entry, Mapping)),
            raw_results=tuple(data.get("raw_results") or ()),
            logs=_lines(data.get("logs")),
            context=dict(context) if isinstance(context, Mapping) else None,
            context_sets=tuple((str(item[0]), item[1]) for item in data.get("context_sets") or () if len(item) == 2),
            integration_context=dict(data.get("integration_context") or {}),
            integration_context_version=int(data.get("integration_context_version") or 0),
            last_run=dict(data.get("last_run") or {}),
            last_run_set=bool(data.get("last_run_set")),
            fetched_incidents=None if fetched is None else tuple(fetched),
            exit_code=data.get("exit_code"),
            crashed=bool(data.get("crashed")),
            raw_output=_lines(data.get("raw_output")),
        )

    def with_values(self, **changes: Any) -> JobResult:
        """A copy with `changes` (a redacted copy, raw output added by the executor)."""
        return dataclasses.replace(self, **changes)


_MAPPINGS = ("args", "params", "integration_context", "last_run", "context", "incident", "supported_commands")
_FIELDS = tuple(item.name for item in dataclasses.fields(Job))
_SCALARS = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """A copy of a JSON-like value: its dicts, lists and tuples new, its scalars shared (they are immutable)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind is tuple:
        return tuple(_copied(item) for item in value)
    return copy.deepcopy(value)


def _lines(raw: Any) -> tuple[LogEntry, ...]:
    return tuple(
        LogEntry(str(item.get("level")), str(item.get("message"))) for item in raw or () if isinstance(item, Mapping)
    )
