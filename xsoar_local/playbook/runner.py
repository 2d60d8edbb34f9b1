"""Walk a playbook's task graph on an incident, with integration commands run by an injected executor.

The walk is pure apart from the executor, the clock and where the incident is kept: it starts at
`starttaskid`, follows `nexttasks` (`#none#`, condition labels, `#default#`, `#error#`), and stops at
the first failing task (unless `continueonerror`), at a condition no branch of which matched, or at the
step limit.

As on a server, a run does not own its incident: each task starts from the incident as it is stored NOW
and its result is merged into the latest stored copy (`IncidentHolder.update`), so War Room commands and
other writers that change the incident during the run keep their changes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from xsoar_local.incident.store import Incident, view_for_expressions
from xsoar_local.playbook.conditions import ConditionError, choose_branch
from xsoar_local.playbook.expressions import ContentOperators, ExpressionError, Resolver, is_empty, nearby_paths
from xsoar_local.playbook.model import DEFAULT_BRANCH, ERROR_BRANCH, NONE_BRANCH, Playbook, Task
from xsoar_local.playbook.scripts import BUILTIN_SCRIPTS, MandatoryArgumentError, ScriptError, ScriptResult, run_script

ERROR_ENTRY = 4  # EntryType.ERROR
DEFAULT_MAX_STEPS = 500
COMMAND_SEPARATOR = "|||"
# The server's own commands (closeInvestigation, ...) are tasks with `script: Builtin|||<name>`; they run locally.
BUILTIN_BRAND = "Builtin"

# Task statuses in the work plan.
SUCCESS = "success"
WARNING = "warning"  # ran, but a non-mandatory argument referred to something empty
ERROR = "error"
CONTINUED = "error (continued)"  # failed, but `continueonerror` let the run go on


class TaskError(Exception):
    """A task could not run or its command returned an error (whose entries still reach the War Room)."""

    def __init__(
        self, message: str, entries: tuple[Mapping[str, Any], ...] = (), empty_references: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.entries = entries
        self.empty_references = empty_references  # kept so the failed task's work-plan line still names them


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


@dataclass(frozen=True)
class CommandOutcome:
    """What the executor reports: the entries written and the incident afterwards (EntryContext merged).

    `merge` re-applies the command's context changes to another (newer) copy of the incident; without it the
    runner can only replace the stored incident with `incident`.
    """

    entries: tuple[Mapping[str, Any], ...]
    incident: Incident
    error: str | None = None
    merge: Callable[[Incident], Incident] | None = None


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
class _Step:
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


def _branch_ids(task: Task, label: str) -> tuple[str, ...]:
    """Task ids under a branch label; labels compare case-insensitively, as the server's validators do."""
    for key, ids in task.next_tasks.items():
        if key.lower() == label.lower():
            return ids
    return ()


def _has_branch(task: Task, label: str) -> bool:
    return any(key.lower() == label.lower() for key in task.next_tasks)


def _empty_warning(resolver: Resolver, path: str) -> str:
    """`${path} is empty`, with the paths the context does hold nearby (the usual cause is a mistyped path)."""
    nearby = nearby_paths(resolver.view, path)
    return f"${{{path}}} is empty" + (f" (the context has {', '.join(nearby)})" if nearby else "")


def _describe_empty(name: str, raw: Any, references: tuple[str, ...], view: Mapping[str, Any]) -> str:
    """Where an empty argument came from: its `${path}` references and what the context holds near them."""
    if references:
        refs = " and ".join(f"${{{path}}}" for path in references)
        nearby = [path for ref in references for path in nearby_paths(view, ref)]
        hint = f" (the context has {', '.join(dict.fromkeys(nearby))})" if nearby else ""
        return f"{refs} resolved to nothing{hint}"
    if raw is None or raw == {}:
        return f"the task does not set {name!r}"
    complex_value = raw.get("complex") if isinstance(raw, Mapping) else None
    if isinstance(complex_value, Mapping):
        path = ".".join(filter(None, [str(complex_value.get("root") or ""), str(complex_value.get("accessor") or "")]))
        return f"the complex value on {path!r} came out empty after its filters and transformers"
    literal = raw.get("simple") if isinstance(raw, Mapping) else raw
    return f"it is given as the empty value {literal!r}"


def _reachable(playbook: Playbook, start: str) -> set[str]:
    """The tasks reachable from `start` by any branch (itself excluded unless on a loop)."""
    seen: set[str] = set()
    pending = [next_id for ids in playbook.tasks[start].next_tasks.values() for next_id in ids]
    while pending:
        current = pending.pop()
        if current in seen or current not in playbook.tasks:
            continue
        seen.add(current)
        pending.extend(next_id for ids in playbook.tasks[current].next_tasks.values() for next_id in ids)
    return seen


def _next_ready(playbook: Playbook, queue: deque[str]) -> str:
    """Take the next task whose incoming branches have all arrived: a join waits while another queued task
    can still reach it (as the server waits for every branch of a sub-flow); in a loop, the first is taken."""
    for _ in range(len(queue)):
        candidate = queue[0]
        others = [item for item in queue if item != candidate]
        if not any(candidate in _reachable(playbook, other) for other in others):
            queue.popleft()
            return candidate
        queue.rotate(-1)
    return queue.popleft()


def split_command(script: str) -> tuple[str, str] | None:
    """`Brand|||command` as (brand, command); None for a script name."""
    if COMMAND_SEPARATOR not in script:
        return None
    brand, _, command = script.partition(COMMAND_SEPARATOR)
    return brand.strip(), command.strip()


class PlaybookRunner:
    """Runs playbooks; `execute` runs integration commands, `clock` times the tasks."""

    def __init__(
        self,
        execute: CommandExecutor,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        clock: Callable[[], float] = time.monotonic,
        on_task: Callable[[TaskResult], None] | None = None,
        operators: OperatorsFor | None = None,
    ) -> None:
        self.execute = execute
        self.operators = operators
        self.max_steps = max_steps
        self.clock = clock
        self.on_task = on_task  # called as each task finishes, so the work plan can be shown as it runs

    def run(self, playbook: Playbook, incident: Incident | IncidentHolder) -> PlaybookRun:
        """Walk the playbook from its start task on `incident` (an Incident kept in memory, or a holder whose
        latest copy each task reads and updates)."""
        holder: IncidentHolder = MemoryIncident(incident) if isinstance(incident, Incident) else incident
        results: list[TaskResult] = []
        war_room: list[WarRoomEntry] = []
        queue: deque[str] = deque([playbook.start_task_id])
        error: str | None = None
        steps = 0
        while queue:
            task = playbook.tasks[_next_ready(playbook, queue)]
            steps += 1
            if steps > self.max_steps:
                error = f"step limit of {self.max_steps} tasks reached at {task.label}: the playbook loops"
                break
            started = self.clock()
            incident = holder.read()
            try:
                step = self._run_task(task, incident, holder)
            except TaskError as failure:
                if not task.continue_on_error:
                    error = f"{task.label} failed: {failure}"
                    war_room.extend(WarRoomEntry(task.id, task.name, entry) for entry in failure.entries)
                    failed = _Step(incident, (), message=str(failure), empty_references=failure.empty_references)
                    results.append(self._result(task, ERROR, started, failed))
                    self._report(results[-1])
                    break
                branches = self._error_branches(task)
                step = _Step(
                    incident,
                    branches,
                    entries=failure.entries,
                    message=str(failure),
                    empty_references=failure.empty_references,
                    failed=True,
                )
            war_room.extend(WarRoomEntry(task.id, task.name, entry) for entry in step.entries)
            status = CONTINUED if step.failed else WARNING if step.warnings else SUCCESS
            results.append(self._result(task, status, started, step))
            self._report(results[-1])
            for next_id in step.branches:
                if next_id not in queue:  # a join reached from two branches runs once per wave
                    queue.append(next_id)
        return PlaybookRun(playbook, tuple(results), tuple(war_room), holder.read(), error)

    def _resolver(self, view: Mapping[str, Any], incident: Incident) -> Resolver:
        return Resolver(view, scripts=self.operators(incident) if self.operators is not None else None)

    def _report(self, result: TaskResult) -> None:
        if self.on_task is not None:
            self.on_task(result)

    def _result(self, task: Task, status: str, started: float, step: _Step) -> TaskResult:
        return TaskResult(
            task_id=task.id,
            name=task.name,
            type=task.type,
            action=step.action or task.script,
            status=status,
            seconds=max(0.0, self.clock() - started),
            message="; ".join(filter(None, [step.message, *step.warnings])),
            branch=step.branch,
            args=dict(step.args),
            empty_references=step.empty_references,
            entries=tuple(step.entries),
        )

    @staticmethod
    def _error_branches(task: Task) -> tuple[str, ...]:
        if task.error_path and _has_branch(task, ERROR_BRANCH):
            return _branch_ids(task, ERROR_BRANCH)
        return _branch_ids(task, NONE_BRANCH)

    def _run_task(self, task: Task, incident: Incident, holder: IncidentHolder) -> _Step:
        if task.loops:
            raise TaskError("task loops (`loop`) are not supported by the local runner")
        if task.type in ("start", "title"):
            return _Step(incident, _branch_ids(task, NONE_BRANCH))
        if task.type == "condition":
            return self._condition(task, incident)
        if task.type == "regular":
            return self._regular(task, incident, holder)
        raise TaskError(f"task type {task.type!r} is not supported (supported: start, title, regular, condition)")

    def _condition(self, task: Task, incident: Incident) -> _Step:
        if not task.conditions:
            what = f"script {task.script!r}" if task.script else "a manual decision"
            raise TaskError(f"condition tasks decided by {what} are not supported; use built-in `conditions`")
        resolver = self._resolver(view_for_expressions(incident), incident)
        try:
            label = choose_branch(task.conditions, resolver)
        except ConditionError as error:
            raise TaskError(str(error)) from error
        if label is None:
            if not _has_branch(task, DEFAULT_BRANCH):
                raise TaskError("no branch matched, and the condition has no #default# (else) branch")
            label = DEFAULT_BRANCH
        return _Step(incident, _branch_ids(task, label), branch=label, message=f"branch {label!r}")

    def _regular(self, task: Task, incident: Incident, holder: IncidentHolder) -> _Step:
        if not task.script:
            raise TaskError("a regular task without a script or command (a manual task) cannot run locally")
        view = view_for_expressions(incident)
        resolver = self._resolver(view, incident)
        # Each argument gets its own resolver too, so an empty mandatory one can name the references it came from.
        references: dict[str, tuple[str, ...]] = {}
        args: dict[str, Any] = {}
        try:
            for name, raw in task.arguments.items():
                own = resolver.child(view)
                args[name] = own.argument(raw)
                references[name] = tuple(own.unresolved)
                resolver.unresolved.extend(path for path in own.unresolved if path not in resolver.unresolved)
        except ExpressionError as error:
            raise TaskError(f"argument: {error}") from error
        empty = tuple(resolver.unresolved)
        warnings = tuple(_empty_warning(resolver, path) for path in empty)
        command = split_command(task.script)
        if command is None and task.script not in BUILTIN_SCRIPTS:
            command = ("", task.script)
            kind = "script"
        else:
            kind = "command"
        if command is None or command[0] == BUILTIN_BRAND:
            script_name = task.script if command is None else command[1]
            ran: list[ScriptResult] = []

            def apply_script(latest: Incident) -> Incident:
                # A built-in script runs on the latest incident, inside its update: what others wrote stays.
                try:
                    result = run_script(script_name, args, latest.fields, latest.context)
                except MandatoryArgumentError as error:
                    causes = "; ".join(
                        f"{name}: " * (len(error.arguments) > 1)
                        + _describe_empty(name, task.arguments.get(name), references.get(name, ()), view)
                        for name in error.arguments
                    )
                    raise TaskError(f"{error}: {causes}", empty_references=empty) from error
                except ScriptError as error:
                    raise TaskError(str(error)) from error
                failures = [str(entry.get("Contents")) for entry in result.entries if entry.get("Type") == ERROR_ENTRY]
                if failures:
                    raise TaskError("; ".join(failures), result.entries)
                ran.append(result)
                return replace(latest, fields=dict(result.fields), context=dict(result.context))

            after = holder.update(apply_script)
            result = ran[-1]
            return _Step(
                after,
                _branch_ids(task, NONE_BRANCH),
                task.script,
                args,
                result.entries,
                warnings + result.warnings,
                empty_references=empty,
            )
        brand, name = command
        # An empty argument is left out, so that the command's defaultValue applies.
        given = {key: value for key, value in args.items() if not is_empty(value)}
        outcome = self.execute(CommandCall(task.id, brand, name, given, kind), incident)
        failures = [str(entry.get("Contents")) for entry in outcome.entries if entry.get("Type") == ERROR_ENTRY]
        if outcome.error or failures:
            message = outcome.error or "; ".join(failures)
            if not task.continue_on_error:
                raise TaskError(message, outcome.entries)
            # The error entries still reach the War Room, as they do on the server.
            return _Step(
                self._commit(holder, outcome),
                self._error_branches(task),
                task.script,
                given,
                outcome.entries,
                message=message,
                failed=True,
            )
        return _Step(
            self._commit(holder, outcome),
            _branch_ids(task, NONE_BRANCH),
            task.script,
            given,
            outcome.entries,
            warnings,
            empty_references=empty,
        )

    @staticmethod
    def _commit(holder: IncidentHolder, outcome: CommandOutcome) -> Incident:
        """The command's effect stored: merged into the latest incident when the executor can re-apply it."""
        if outcome.merge is not None:
            return holder.update(outcome.merge)
        return holder.update(lambda _latest: outcome.incident)
