"""The records a playbook run passes around: command calls and outcomes, where the incident is kept, the work
plan's lines, War Room entries, and what one task produced."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from xsoar_local.engine.registry import COMMAND_SEPARATOR, split_task_script
from xsoar_local.errors import ContentError
from xsoar_local.incident.model import Incident
from xsoar_local.playbook.expressions import ContentOperators
from xsoar_local.playbook.model import Playbook, Task

ERROR_ENTRY = 4  # EntryType.ERROR

# Task statuses in the work plan.
SUCCESS = "success"
WARNING = "warning"  # ran, but a non-mandatory argument referred to something empty
TASK_ERROR = "error"
CONTINUED = "error (continued)"  # failed, but `continueonerror` let the run go on

# Waits (loops' `wait`, polling's next run) are shortened locally to at most this many seconds (default 0).
MAX_WAIT_ENV = "XSOAR_LOCAL_MAX_WAIT"


class TaskError(ContentError):
    """A task could not run or its command returned an error (whose entries still reach the War Room)."""

    def __init__(
        self, message: str, entries: tuple[Mapping[str, Any], ...] = (), empty_references: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.entries = entries
        self.empty_references = empty_references  # kept so the failed task's work-plan line still names them
        self.sub_results: tuple[TaskResult, ...] = ()  # a failed sub-playbook's own work plan
        self.sub_entries: tuple[WarRoomEntry, ...] = ()


@dataclass(frozen=True)
class CommandCall:
    """An integration command (or, with kind "script", a content script) a task asks for.

    `brand` is empty for "any instance".
    """

    task_id: str
    brand: str
    command: str
    args: Mapping[str, Any]
    kind: str = "command"
    playbook_id: str = ""  # the sub-playbook the task belongs to ("" at the top level): `${currentPlaybookID}`


@dataclass(frozen=True)
class CommandOutcome:
    """What the executor reports: the entries written and the incident afterwards (EntryContext merged).

    `merge` re-applies the command's context changes to another (newer) copy of the incident; without it the
    runner can only replace the stored incident with `incident`. `empty_arguments` names the mandatory arguments
    that were empty when that is why it did not run (the runner then says where each came from).
    """

    entries: tuple[Mapping[str, Any], ...]
    incident: Incident
    error: str | None = None
    merge: Callable[[Incident], Incident] | None = None
    empty_arguments: tuple[str, ...] = ()


class IncidentHolder(Protocol):
    """Where a run's incident is kept (a state folder, a server's store, or memory)."""

    def read(self) -> Incident:
        """The incident as it is stored now."""
        ...

    def update(self, change: Callable[[Incident], Incident]) -> Incident:
        """Apply `change` to the latest stored incident and store the result, atomically; returns it.

        When `change` raises, nothing is stored."""
        ...


class MemoryIncident:
    """An incident only the run changes (no state folder)."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident

    def read(self) -> Incident:
        return self.incident

    def update(self, change: Callable[[Incident], Incident]) -> Incident:
        self.incident = change(self.incident)
        return self.incident


CommandExecutor = Callable[[CommandCall, Incident], CommandOutcome]
# The content's transformer and filter scripts, bound to the incident a task runs on.
OperatorsFor = Callable[[Incident], ContentOperators]


@dataclass(frozen=True)
class TaskResult:
    """One line of the work plan."""

    task_id: str
    name: str
    type: str
    action: str  # what the task ran: `Brand|||command`, a script name, or "" for start/title/condition
    status: str
    seconds: float
    message: str = ""
    branch: str | None = None  # the label a condition took
    args: Mapping[str, Any] = field(default_factory=dict)
    empty_references: tuple[str, ...] = ()
    entries: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)  # its War Room entries, for `on_task`


@dataclass(frozen=True)
class WarRoomEntry:
    """An entry a task wrote, kept with the task that wrote it."""

    task_id: str
    task_name: str
    entry: Mapping[str, Any]
    entry_id: str = ""  # what `${lastCompletedTaskEntries}` lists for the task that wrote it


@dataclass(frozen=True)
class PlaybookRun:
    """The outcome of a run: the work plan, the War Room, the final incident and whether it completed."""

    playbook: Playbook
    tasks: tuple[TaskResult, ...]
    entries: tuple[WarRoomEntry, ...]
    incident: Incident
    error: str | None = None

    @property
    def completed(self) -> bool:
        """True when the walk reached its end without a failure."""
        return self.error is None

    @property
    def warnings(self) -> tuple[TaskResult, ...]:
        """The tasks that ran with an empty value."""
        return tuple(task for task in self.tasks if task.status == WARNING)


@dataclass(frozen=True)
class Step:
    """What running one task produced, before it is put in the work plan."""

    incident: Incident
    branches: tuple[str, ...]
    action: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)
    entries: tuple[Mapping[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    branch: str | None = None
    message: str = ""
    empty_references: tuple[str, ...] = ()
    failed: bool = False  # failed, and `continueonerror` let the run go on
    sub_results: tuple[TaskResult, ...] = ()  # a sub-playbook's own work plan, shown before its task's line
    sub_entries: tuple[WarRoomEntry, ...] = ()  # and the entries its tasks wrote
    # a sub-playbook's own context as it ended, when it had one (`separatecontext`): a loop's exit condition reads it
    private_context: Mapping[str, Any] | None = None


def branch_ids(task: Task, label: str) -> tuple[str, ...]:
    """Task ids under a branch label; labels compare case-insensitively, as the server's validators do."""
    for key, ids in task.next_tasks.items():
        if key.lower() == label.lower():
            return ids
    return ()


def has_branch(task: Task, label: str) -> bool:
    """True when the task has a branch called `label` (any case)."""
    return any(key.lower() == label.lower() for key in task.next_tasks)


def split_command(script: str) -> tuple[str, str] | None:
    """`Brand|||command` as (brand, command); None for a script name."""
    return split_task_script(script) if COMMAND_SEPARATOR in script else None


def error_messages(outcome: CommandOutcome) -> str | None:
    """Why a command failed: the executor's reason or its error entries' text; None when it did not."""
    failures = [str(entry.get("Contents")) for entry in outcome.entries if entry.get("Type") == ERROR_ENTRY]
    return outcome.error or "; ".join(failures) or None
