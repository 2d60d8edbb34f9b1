"""Parse the playbook YAML the server uses into plain, typed task records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.errors import ContentError
from xsoar_local.safeyaml import MAX_YAML_BYTES, YamlLimitError, load_yaml, yaml_error_summary

NONE_BRANCH = "#none#"
DEFAULT_BRANCH = "#default#"
ERROR_BRANCH = "#error#"


DEFAULT_LOOP_MAX = 100  # the server's default when `max` is not set


class PlaybookError(ContentError):
    """The playbook YAML cannot be used."""


@dataclass(frozen=True)
class Loop:
    """A task's `loop` block: run once per item of its inputs (`forEach`), or until an exit condition holds.

    The exit condition is `builtincondition` (condition groups, as in a condition task) or the script `scriptId`
    with `scriptArguments`, whose result `exitCondition` (when set, else `yes`/`true`) ends the loop."""

    for_each: bool = False
    exit_condition: tuple[Any, ...] = ()
    script: str = ""
    script_arguments: Mapping[str, Any] = field(default_factory=dict)
    max: int = DEFAULT_LOOP_MAX
    wait: float = 1.0
    exit_label: str = ""  # `exitCondition`: the value of the exit script that ends the loop (else yes/true)


@dataclass(frozen=True)
class PlaybookInput:
    """One entry of a playbook's `inputs:`: its key and default value (`{simple}`/`{complex}`, or none)."""

    key: str
    value: Any = None
    required: bool = False


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
    loop: Loop | None = None  # a `loop` block (for each / until); None for a task that runs once
    playbook: str = ""  # the sub-playbook a `type: playbook` task runs (its id or name)
    separate_context: bool = False  # the sub-playbook keeps its own context ("private to sub-playbook")
    skip_unavailable: bool = False  # skip the task when its script, command or sub-playbook is not installed
    # ids its `nexttasks` names that the playbook has no task for (left out of next_tasks: nothing runs there)
    unknown_next: tuple[str, ...] = ()

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
    inputs: tuple[PlaybookInput, ...] = ()
    outputs: tuple[str, ...] = ()  # the context paths (`contextPath`) a sub-playbook hands back to its parent


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
        loop=_loop(raw.get("loop"), where),
        playbook=str(inner.get("playbookName") or inner.get("playbookId") or ""),
        separate_context=bool(raw.get("separatecontext")),
        skip_unavailable=bool(raw.get("skipunavailable")),
    )


def _loop(raw: Any, where: str) -> Loop | None:
    """The task's loop; exports write an empty or all-default `loop` block on tasks that do not loop."""
    if not isinstance(raw, Mapping):
        return None
    condition = raw.get("builtincondition") or []
    if not isinstance(condition, list):
        raise PlaybookError(f"{where}: `loop.builtincondition` must be a list of condition groups")
    for_each = bool(raw.get("forEach"))
    script = str(raw.get("scriptId") or "")
    if not (for_each or script or condition):
        return None
    arguments = raw.get("scriptArguments") or {}
    if not isinstance(arguments, Mapping):
        raise PlaybookError(f"{where}: `loop.scriptArguments` must be a map")
    try:
        most = int(raw.get("max") or DEFAULT_LOOP_MAX)
        wait = float(raw.get("wait") or 0)
    except (TypeError, ValueError) as error:
        raise PlaybookError(f"{where}: `loop.max` and `loop.wait` must be numbers: {error}") from error
    if most < 1:
        raise PlaybookError(f"{where}: `loop.max` must be at least 1, not {most}")
    label = str(raw.get("exitCondition") or "")
    return Loop(for_each, tuple(condition), script, dict(arguments), most, max(0.0, wait), label)


def _inputs(raw: Any, where: str) -> tuple[PlaybookInput, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) and item.get("key") for item in raw):
        raise PlaybookError(f"{where}: `inputs` must be a list of {{key, value}} maps")
    return tuple(PlaybookInput(str(item["key"]), item.get("value"), bool(item.get("required"))) for item in raw)


def _outputs(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(str(item["contextPath"]) for item in raw if isinstance(item, Mapping) and item.get("contextPath"))


def is_playbook_yaml(data: Any) -> bool:
    """A playbook (or test playbook) YAML, recognised by its content: a `tasks` map and a `starttaskid`."""
    return isinstance(data, Mapping) and isinstance(data.get("tasks"), Mapping) and "starttaskid" in data


def parse_playbook(data: Any, source: Path | None = None) -> Playbook:
    """Turn a parsed playbook YAML document into a Playbook; refuse what cannot run."""
    where = str(source) if source else "playbook"
    if not isinstance(data, Mapping) or not isinstance(data.get("tasks"), Mapping):
        raise PlaybookError(f"{where} is not a playbook YAML (no `tasks` map)")
    tasks = {str(key): parse_task(str(key), raw) for key, raw in data["tasks"].items()}
    start = str(data.get("starttaskid", "0"))
    if start not in tasks:
        raise PlaybookError(f"{where}: starttaskid {start!r} is not one of its tasks")
    for key, task in tasks.items():
        # A server runs a playbook whose links name a task it lacks (an editor leaves them when a task is deleted):
        # those links lead nowhere, and the run reports them on their task.
        missing = tuple(item for ids in task.next_tasks.values() for item in ids if item not in tasks)
        if missing:
            kept = {label: tuple(item for item in ids if item in tasks) for label, ids in task.next_tasks.items()}
            tasks[key] = replace(task, next_tasks=kept, unknown_next=missing)
    name = str(data.get("name") or data.get("id") or where)
    return Playbook(
        id=str(data.get("id") or name),
        name=name,
        start_task_id=start,
        tasks=tasks,
        source=source,
        inputs=_inputs(data.get("inputs"), where),
        outputs=_outputs(data.get("outputs")),
    )


def load_playbook_text(text: str, source: Path | None = None) -> Playbook:
    """Parse playbook YAML text."""
    try:
        data = load_yaml(text, str(source or "playbook"))
    except YamlLimitError as error:
        raise PlaybookError(str(error)) from error
    except yaml.YAMLError as error:
        raise PlaybookError(f"{source or 'playbook'} is not valid YAML: {yaml_error_summary(error)}") from error
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
