"""Parse the playbook YAML the server uses into plain, typed task records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.errors import ContentError
from xsoar_local.safeyaml import MAX_YAML_BYTES, YamlLimitError, load_yaml

NONE_BRANCH = "#none#"
DEFAULT_BRANCH = "#default#"
ERROR_BRANCH = "#error#"


class PlaybookError(ContentError):
    """The playbook YAML cannot be used."""


@dataclass(frozen=True)
class Task:
    """One entry of `tasks`: what it runs, with which arguments, and where it goes next."""

    id: str
    type: str
    name: str
    script: str = ""  # `Brand|||command` for integration commands, else a script name
    brand: str = ""
    is_command: bool = False
    arguments: Mapping[str, Any] = field(default_factory=dict)
    conditions: tuple[Mapping[str, Any], ...] = ()
    next_tasks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    continue_on_error: bool = False
    error_path: bool = False  # continueonerrortype: errorPath follows `#error#` instead of `#none#`
    loops: bool = False  # a `loop` block (run until / for each): not supported, so running it is an error

    @property
    def label(self) -> str:
        """How errors and the work plan name the task."""
        return f"task {self.id} {self.name!r}" if self.name else f"task {self.id}"


@dataclass(frozen=True)
class Playbook:
    """A parsed playbook: its identity, first task and tasks by id."""

    id: str
    name: str
    start_task_id: str
    tasks: Mapping[str, Task]
    source: Path | None = None


def _next_tasks(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PlaybookError(f"{where}: `nexttasks` must be a map of branch label to task ids")
    branches: dict[str, tuple[str, ...]] = {}
    for label, ids in raw.items():
        items = ids if isinstance(ids, list) else [ids]
        branches[str(label)] = tuple(str(item) for item in items if item is not None)
    return branches


def parse_task(key: str, raw: Mapping[str, Any]) -> Task:
    """Turn one `tasks` entry into a Task."""
    where = f"task {key}"
    if not isinstance(raw, Mapping):
        raise PlaybookError(f"{where} is not a map")
    inner = raw.get("task") or {}
    if not isinstance(inner, Mapping):
        raise PlaybookError(f"{where}: `task` must be a map")
    arguments = raw.get("scriptarguments") or {}
    if not isinstance(arguments, Mapping):
        raise PlaybookError(f"{where}: `scriptarguments` must be a map")
    conditions = raw.get("conditions") or []
    if not isinstance(conditions, list) or not all(isinstance(item, Mapping) for item in conditions):
        raise PlaybookError(f"{where}: `conditions` must be a list of {{label, condition}} maps")
    # The server accepts both spellings: `scriptName: Print` and the generator's `script: DeleteContext`.
    script = str(inner.get("script") or inner.get("scriptName") or inner.get("scriptId") or "")
    return Task(
        id=str(raw.get("id", key)),
        type=str(raw.get("type") or inner.get("type") or ""),
        name=str(inner.get("name") or ""),
        script=script,
        brand=str(inner.get("brand") or ""),
        is_command=bool(inner.get("iscommand")),
        arguments=dict(arguments),
        conditions=tuple(conditions),
        next_tasks=_next_tasks(raw.get("nexttasks"), where),
        continue_on_error=bool(raw.get("continueonerror")),
        error_path=str(raw.get("continueonerrortype") or "") == "errorPath",
        loops=_has_loop(raw.get("loop")),
    )


def _has_loop(raw: Any) -> bool:
    """Exports write an empty or all-default `loop` block on tasks that do not loop."""
    if not isinstance(raw, Mapping):
        return False
    return bool(raw.get("scriptId") or raw.get("forEach") or raw.get("exitCondition") or raw.get("iscommand"))


def parse_playbook(data: Any, source: Path | None = None) -> Playbook:
    """Turn a parsed playbook YAML document into a Playbook; refuse what cannot run."""
    where = str(source) if source else "playbook"
    if not isinstance(data, Mapping) or not isinstance(data.get("tasks"), Mapping):
        raise PlaybookError(f"{where} is not a playbook YAML (no `tasks` map)")
    tasks = {str(key): parse_task(str(key), raw) for key, raw in data["tasks"].items()}
    start = str(data.get("starttaskid", "0"))
    if start not in tasks:
        raise PlaybookError(f"{where}: starttaskid {start!r} is not one of its tasks")
    for task in tasks.values():
        for label, ids in task.next_tasks.items():
            missing = [item for item in ids if item not in tasks]
            if missing:
                raise PlaybookError(f"{where}: {task.label} branch {label!r} leads to unknown task(s) {missing}")
    name = str(data.get("name") or data.get("id") or where)
    return Playbook(id=str(data.get("id") or name), name=name, start_task_id=start, tasks=tasks, source=source)


def load_playbook_text(text: str, source: Path | None = None) -> Playbook:
    """Parse playbook YAML text."""
    try:
        data = load_yaml(text, str(source or "playbook"))
    except YamlLimitError as error:
        raise PlaybookError(str(error)) from error
    except yaml.YAMLError as error:
        raise PlaybookError(f"{source or 'playbook'} is not valid YAML: {error}") from error
    return parse_playbook(data, source)


def load_playbook(path: str | Path) -> Playbook:
    """Read and parse a playbook YAML file."""
    location = Path(path)
    try:
        if location.stat().st_size > MAX_YAML_BYTES:
            raise PlaybookError(f"{location} is over the {MAX_YAML_BYTES:,}-byte limit for YAML files")
        text = location.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlaybookError(f"Cannot read {location}: {error}") from error
    return load_playbook_text(text, location)
