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

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from xsoar_local.engine.native import NATIVE_COMMANDS
from xsoar_local.engine.registry import COMMAND_SEPARATOR
from xsoar_local.incident.model import Incident, view_for_expressions
from xsoar_local.playbook import fanout, flow, polling
from xsoar_local.playbook.conditions import ConditionError, choose_branch
from xsoar_local.playbook.deadline import NO_DEADLINE, Deadline
from xsoar_local.playbook.expressions import ExpressionError, Resolver, is_empty, nearby_paths
from xsoar_local.playbook.extend import apply_extended, extended_context, split_extend
from xsoar_local.playbook.frames import Frame, PlaybookContent, frame_view, top_inputs
from xsoar_local.playbook.model import DEFAULT_BRANCH, ERROR_BRANCH, NONE_BRANCH, Playbook, Task
from xsoar_local.playbook.records import (
    CONTINUED,
    ERROR_ENTRY,
    MAX_WAIT_ENV,
    SUCCESS,
    TASK_ERROR,
    WARNING,
    CommandCall,
    CommandExecutor,
    CommandOutcome,
    IncidentHolder,
    MemoryIncident,
    OperatorsFor,
    PlaybookRun,
    Step,
    TaskError,
    TaskResult,
    WarRoomEntry,
    branch_ids,
    has_branch,
    split_command,
)

__all__ = [
    "BUILTIN_BRAND",
    "COMMAND_SEPARATOR",
    "CONTINUED",
    "DEFAULT_MAX_STEPS",
    "ERROR_ENTRY",
    "MAX_WAIT_ENV",
    "SUCCESS",
    "TASK_ERROR",
    "WARNING",
    "CommandCall",
    "CommandExecutor",
    "CommandOutcome",
    "IncidentHolder",
    "MemoryIncident",
    "OperatorsFor",
    "PlaybookRun",
    "PlaybookRunner",
    "TaskError",
    "TaskResult",
    "WarRoomEntry",
    "split_command",
]

DEFAULT_MAX_STEPS = 500
# The server's own commands (closeInvestigation, ...) are tasks with `script: Builtin|||<name>`; they run locally.
BUILTIN_BRAND = "Builtin"


_Step = Step


_branch_ids = branch_ids
_has_branch = has_branch


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


def _with_lost_links(task: Task, step: _Step) -> _Step:
    """The step, warned of the tasks its task's nexttasks name that the playbook lacks (the links lead nowhere)."""
    if not task.unknown_next:
        return step
    lost = f"nexttasks names task(s) {list(task.unknown_next)} the playbook lacks: nothing runs there"
    return replace(step, warnings=(*step.warnings, lost))


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
        content: PlaybookContent | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.execute: CommandExecutor = self._in_frame(execute)
        self.operators = operators
        self.max_steps = max_steps
        self.clock = clock
        self.on_task = on_task  # called as each task finishes, so the work plan can be shown as it runs
        self.content = content  # sub-playbooks and what is installed (skipunavailable); None: neither is known
        self.sleep = sleep
        self.max_wait = max_wait if max_wait is not None else _max_wait_from_environment()
        self.deadline = deadline or NO_DEADLINE  # the whole run's time (a test playbook's timeout)
        self._local = threading.local()  # the frame (playbook, inputs, last entries) of the walk on this thread

    def run(
        self,
        playbook: Playbook,
        incident: Incident | IncidentHolder,
        inputs: Mapping[str, Any] | None = None,
    ) -> PlaybookRun:
        """Walk the playbook from its start task on `incident` (an Incident kept in memory, or a holder whose
        latest copy each task reads and updates). `inputs` override the playbook's `inputs:` defaults."""
        holder: IncidentHolder = MemoryIncident(incident) if isinstance(incident, Incident) else incident
        start = holder.read()
        try:
            values = top_inputs(playbook, self._resolver(view_for_expressions(start), start), inputs)
        except ExpressionError as problem:
            return PlaybookRun(playbook, (), (), start, f"playbook inputs: {problem}")
        results, war_room, error = self.walk(playbook, holder, Frame(playbook, values))
        if error is not None and self.deadline.passed():
            error = self.deadline.reason  # whatever failed at the deadline (a stopped command) failed because of it
        return PlaybookRun(playbook, tuple(results), tuple(war_room), holder.read(), error)

    def walk(
        self, playbook: Playbook, holder: IncidentHolder, frame: Frame
    ) -> tuple[list[TaskResult], list[WarRoomEntry], str | None]:
        """Walk `playbook` in `frame` (a top-level run, or a sub-playbook inside its parent's task)."""
        previous = getattr(self._local, "frame", None)
        self._local.frame = frame
        try:
            return self._walk(playbook, holder, frame)
        finally:
            self._local.frame = previous

    def _walk(
        self, playbook: Playbook, holder: IncidentHolder, frame: Frame
    ) -> tuple[list[TaskResult], list[WarRoomEntry], str | None]:
        results: list[TaskResult] = []
        war_room: list[WarRoomEntry] = []
        queue: deque[str] = deque([playbook.start_task_id])
        # lastCompletedTaskEntries per path: those of the task that led here (at a join, the last to arrive)
        handed: dict[str, list[str]] = {playbook.start_task_id: list(frame.last_entries)}
        error: str | None = None
        steps = 0
        while queue:
            if self.deadline.passed():
                error = self.deadline.reason
                break
            task = playbook.tasks[_next_ready(playbook, queue)]
            frame.last_entries = handed.get(task.id, frame.last_entries)
            steps += 1
            if steps > self.max_steps:
                error = f"step limit of {self.max_steps} tasks reached at {task.label}: the playbook loops"
                break
            started = self.clock()
            incident = holder.read()
            try:
                step = self._run_task(task, incident, holder)
            except TaskError as failure:
                war_room.extend(failure.sub_entries)
                results.extend(failure.sub_results)
                if not task.continue_on_error:
                    error = f"{task.label} failed: {failure}"
                    war_room.extend(frame.entry(task, entry) for entry in failure.entries)
                    failed = _Step(incident, (), message=str(failure), empty_references=failure.empty_references)
                    results.append(self._result(task, TASK_ERROR, started, failed))
                    self._report(results[-1])
                    break
                step = _Step(
                    incident,
                    _error_branches(task),
                    entries=failure.entries,
                    message=str(failure),
                    empty_references=failure.empty_references,
                    failed=True,
                )
            war_room.extend(step.sub_entries)
            results.extend(step.sub_results)
            written = [frame.entry(task, entry) for entry in step.entries]
            war_room.extend(written)
            if task.type not in ("start", "title", "section"):
                frame.last_entries = [item.entry_id for item in written]
            step = _with_lost_links(task, step)
            status = CONTINUED if step.failed else WARNING if step.warnings else SUCCESS
            results.append(self._result(task, status, started, step))
            self._report(results[-1])
            for next_id in step.branches:
                handed[next_id] = list(frame.last_entries)
                if next_id not in queue:  # a join reached from two branches runs once per wave
                    queue.append(next_id)
        return results, war_room, error

    def _in_frame(self, execute: CommandExecutor) -> CommandExecutor:
        """`execute`, with each call naming the sub-playbook it runs in (what the scripts' `executeCommand`
        arguments read as `${currentPlaybookID}`)."""

        def stamped(call: CommandCall, incident: Incident) -> CommandOutcome:
            self.deadline.check()
            frame = self.frame
            playbook_id = frame.playbook.id if frame is not None and frame.depth else ""
            return execute(replace(call, playbook_id=playbook_id), incident)

        return stamped

    @property
    def frame(self) -> Frame | None:
        """The frame of the walk running on this thread (None outside a run)."""
        found: Frame | None = getattr(self._local, "frame", None)
        return found

    def view(self, incident: Incident) -> Mapping[str, Any]:
        """What `${...}` sees in the current frame: the incident's view plus `inputs` and `lastCompletedTaskEntries`."""
        return frame_view(view_for_expressions(incident), self.frame)

    def wait(self, seconds: float) -> None:
        """A server wait, shortened to at most `max_wait` seconds locally, and never past the run's deadline."""
        shortened = self.deadline.within(min(max(0.0, seconds), self.max_wait))
        if shortened > 0:
            self.sleep(shortened)
        self.deadline.check()

    def call_id(self, task: Task) -> str:
        """The task id a command call names: a sub-playbook's tasks report as their top-level playbook task."""
        frame = self.frame
        return frame.top_task_id if frame is not None and frame.top_task_id else task.id

    def resolver(self, view: Mapping[str, Any], incident: Incident) -> Resolver:
        """A resolver over `view` with the content's transformers and filters bound to `incident`."""
        return self._resolver(view, incident)

    def _resolver(self, view: Mapping[str, Any], incident: Incident) -> Resolver:
        return Resolver(view, scripts=self.operators(incident) if self.operators is not None else None)

    def _report(self, result: TaskResult) -> None:
        if self.on_task is not None:
            self.on_task(result)

    def _result(self, task: Task, status: str, started: float, step: _Step) -> TaskResult:
        frame = self.frame
        return TaskResult(
            task_id=(frame.prefix if frame is not None else "") + task.id,
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

    def _run_task(self, task: Task, incident: Incident, holder: IncidentHolder) -> _Step:
        if task.loop is not None:
            return flow.run_loop(self, task, incident, holder)
        return self.run_once(task, incident, holder)

    def run_once(self, task: Task, incident: Incident, holder: IncidentHolder) -> _Step:
        """Run one task once (a loop calls this per iteration)."""
        if task.type in ("start", "title", "section"):
            return _Step(incident, _branch_ids(task, NONE_BRANCH))
        if task.type == "playbook":
            return flow.run_subplaybook(self, task, incident, holder)
        if self._unavailable(task):
            message = f"skipped: {task.script!r} is not available (skipunavailable)"
            return _Step(incident, _branch_ids(task, NONE_BRANCH), message=message)
        if task.type == "condition":
            if not task.conditions and task.script:
                return flow.script_condition(self, task, incident, holder)
            return self._condition(task, incident)
        if task.type == "regular":
            return polling.follow(self, task, holder, self._regular(task, incident, holder))
        raise TaskError(
            f"task type {task.type!r} is not supported (supported: start, title, section, regular, condition, playbook)"
        )

    def _unavailable(self, task: Task) -> bool:
        """A `skipunavailable` task whose script or command is not installed (or has no instance)."""
        content = self.content
        return (
            task.skip_unavailable
            and bool(task.script)
            and content is not None
            and not content.available(task.script, task.brand)
        )

    def _condition(self, task: Task, incident: Incident) -> _Step:
        if not task.conditions:
            raise TaskError(
                "condition tasks decided by a person (no `conditions` and no script) cannot run locally: "
                "give the task `conditions` or a script that returns the branch label"
            )
        resolver = self._resolver(self.view(incident), incident)
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
        view = self.view(incident)
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
        kind = "command"
        if command is None:  # a script name: the engine's registry says what runs it (native.py, registry.py)
            command = ("", task.script)
            kind = "script"
        brand, name = command
        # An empty argument is left out, so that the command's defaultValue applies; the engine's own commands have
        # no defaults and tell an empty value from a missing one (Set stores "", but refuses nothing).
        native = name in NATIVE_COMMANDS and brand in ("", BUILTIN_BRAND)
        given = dict(args) if native else {key: value for key, value in args.items() if not is_empty(value)}
        given, extend = split_extend(given)
        outcome = fanout.execute(self, CommandCall(self.call_id(task), brand, name, given, kind), incident)
        if outcome.empty_arguments:
            causes = "; ".join(
                f"{argument}: " * (len(outcome.empty_arguments) > 1)
                + _describe_empty(argument, task.arguments.get(argument), references.get(argument, ()), view)
                for argument in outcome.empty_arguments
            )
            raise TaskError(f"{outcome.error}: {causes}", empty_references=empty)
        failures = [str(entry.get("Contents")) for entry in outcome.entries if entry.get("Type") == ERROR_ENTRY]
        if outcome.error or failures:
            message = outcome.error or "; ".join(failures)
            if not task.continue_on_error:
                raise TaskError(message, outcome.entries)
            # The error entries still reach the War Room, as they do on the server.
            return _Step(
                _commit(holder, outcome),
                _error_branches(task),
                task.script,
                given,
                outcome.entries,
                message=message,
                failed=True,
            )
        after = _commit(holder, outcome)
        if extend:
            try:
                written = extended_context(extend, outcome.entries)
            except ExpressionError as error:
                raise TaskError(str(error)) from error
            if written:
                after = holder.update(lambda latest: replace(latest, context=apply_extended(latest.context, written)))
        return _Step(
            after,
            _branch_ids(task, NONE_BRANCH),
            task.script,
            given,
            outcome.entries,
            warnings,
            empty_references=empty,
        )

    def commit(self, holder: IncidentHolder, outcome: CommandOutcome) -> Incident:
        """Store a command's effect (see `_commit`)."""
        return _commit(holder, outcome)


def _commit(holder: IncidentHolder, outcome: CommandOutcome) -> Incident:
    """The command's effect stored: merged into the latest incident when the executor can re-apply it."""
    if outcome.merge is not None:
        return holder.update(outcome.merge)
    return holder.update(lambda _latest: outcome.incident)


def _error_branches(task: Task) -> tuple[str, ...]:
    if task.error_path and _has_branch(task, ERROR_BRANCH):
        return _branch_ids(task, ERROR_BRANCH)
    return _branch_ids(task, NONE_BRANCH)


def _max_wait_from_environment() -> float:
    raw = os.environ.get(MAX_WAIT_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else 0.0
    except ValueError:
        return 0.0
