"""The task kinds that steer the walk: sub-playbooks, task loops, and condition tasks decided by a script.

Each function takes the runner that walks the playbook (for its executor, its frame and its waits), so these
kinds live apart from the runner's own task kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from xsoar_local.incident.context import ContextPathError, get_path, merge_entry_context
from xsoar_local.incident.model import Incident
from xsoar_local.playbook.conditions import ConditionError, evaluate_condition
from xsoar_local.playbook.frames import Frame, top_inputs
from xsoar_local.playbook.model import DEFAULT_BRANCH, NONE_BRANCH, Loop, PlaybookError, Task
from xsoar_local.playbook.records import (
    CommandCall,
    CommandOutcome,
    IncidentHolder,
    Step,
    TaskError,
    branch_ids,
    error_messages,
    has_branch,
    split_command,
)
from xsoar_local.playbook.transformers import to_text
from xsoar_local.playbook.values import ExpressionError, is_empty

if TYPE_CHECKING:
    from xsoar_local.playbook.runner import PlaybookRunner

MAX_PLAYBOOK_DEPTH = 10  # sub-playbooks nested deeper than this are a playbook that calls itself


class PrivateContext:
    """A sub-playbook's own context ("private to sub-playbook"): it starts as a copy of the parent's context, its
    writes stay in it, and incident field changes still reach the parent's incident."""

    def __init__(self, parent: IncidentHolder, context: Mapping[str, Any]) -> None:
        self.parent = parent
        self.context = dict(context)

    def read(self) -> Incident:
        return replace(self.parent.read(), context=dict(self.context))

    def update(self, change: Callable[[Incident], Incident]) -> Incident:
        changed: list[Incident] = []

        def apply(latest: Incident) -> Incident:
            changed.append(change(replace(latest, context=dict(self.context))))
            return replace(changed[-1], context=latest.context)

        stored = self.parent.update(apply)
        self.context = dict(changed[-1].context)
        return replace(stored, context=dict(self.context))


def resolve_arguments(runner: PlaybookRunner, task: Task, incident: Incident) -> dict[str, Any]:
    """The task's `scriptarguments` resolved on the current view; empty ones left out (defaults then apply)."""
    resolver = runner.resolver(runner.view(incident), incident)
    try:
        values = {name: resolver.argument(raw) for name, raw in task.arguments.items()}
    except ExpressionError as error:
        raise TaskError(f"argument: {error}") from error
    return {name: value for name, value in values.items() if not is_empty(value)}


def run_subplaybook(runner: PlaybookRunner, task: Task, incident: Incident, holder: IncidentHolder) -> Step:
    """A `type: playbook` task: the sub-playbook runs with the task's arguments as its inputs, on the same context
    or (with `separatecontext`) on its own copy, whose `outputs:` paths are then merged into the parent's context."""
    try:
        child = runner.content.playbook(task.playbook) if runner.content is not None and task.playbook else None
    except PlaybookError as problem:
        raise TaskError(f"sub-playbook {task.playbook!r}: {problem}") from problem
    if child is None:
        if task.skip_unavailable:
            message = f"skipped: sub-playbook {task.playbook!r} is not installed (skipunavailable)"
            return Step(incident, branch_ids(task, NONE_BRANCH), message=message)
        where = "" if runner.content is not None else " (the runner was given no content to look playbooks up in)"
        raise TaskError(f"sub-playbook {task.playbook!r} is not in the content{where}")
    parent = runner.frame or Frame(child, {})
    if parent.depth + 1 > MAX_PLAYBOOK_DEPTH:
        raise TaskError(f"sub-playbooks nested deeper than {MAX_PLAYBOOK_DEPTH} levels (a playbook runs itself?)")
    given = resolve_arguments(runner, task, incident)
    try:
        inputs = top_inputs(child, runner.resolver(runner.view(incident), incident), given)
    except ExpressionError as problem:
        raise TaskError(f"sub-playbook {child.name!r} input: {problem}") from problem
    private = PrivateContext(holder, incident.context) if task.separate_context else None
    results, entries, error = runner.walk(child, private or holder, parent.child(child, inputs, task))
    if error is not None:
        failure = TaskError(f"sub-playbook {child.name!r}: {error}")
        failure.sub_results, failure.sub_entries = tuple(results), tuple(entries)
        raise failure
    after = holder.read()
    if private is not None:
        # Only the declared outputs leave a private context, each merged into the parent's as an EntryContext is.
        handed = {path: value for path in child.outputs if (value := _output(private.context, path)) is not None}
        if handed:
            after = holder.update(lambda latest: replace(latest, context=merge_entry_context(latest.context, handed)))
    return Step(
        after,
        branch_ids(task, NONE_BRANCH),
        action=f"playbook: {child.name}",
        args=inputs,
        message=f"sub-playbook {child.name!r} completed ({len(results)} tasks)",
        sub_results=tuple(results),
        sub_entries=tuple(entries),
        private_context=dict(private.context) if private is not None else None,
    )


def _output(context: Mapping[str, Any], path: str) -> Any:
    try:
        return get_path(context, path)
    except ContextPathError as error:
        raise TaskError(f"sub-playbook output {path!r}: {error}") from error


def run_loop(runner: PlaybookRunner, task: Task, incident: Incident, holder: IncidentHolder) -> Step:
    """A task with a `loop`: once per item of its list arguments (zipped by index), or until its exit condition
    holds; at most `max` iterations, `wait` seconds apart (shortened locally, see `PlaybookRunner.wait`)."""
    loop = task.loop
    assert loop is not None
    once = replace(task, loop=None)
    steps: list[Step] = []
    if loop.for_each:
        for index, arguments in enumerate(_for_each(runner, task, incident, loop.max)):
            if index:
                runner.wait(loop.wait)
            steps.append(runner.run_once(replace(once, arguments=arguments), holder.read(), holder))
        return _combined(task, steps, f"for each: {len(steps)} iteration(s)")
    for index in range(loop.max):
        if index:
            runner.wait(loop.wait)
        steps.append(runner.run_once(once, holder.read(), holder))
        if _exit_holds(runner, task, loop, holder, steps[-1].private_context):
            return _combined(task, steps, f"exit condition met after {index + 1} iteration(s)")
    return _combined(task, steps, f"stopped at max {loop.max} iteration(s) without its exit condition holding")


def _for_each(runner: PlaybookRunner, task: Task, incident: Incident, most: int) -> list[dict[str, Any]]:
    """Each iteration's arguments: list values zipped by index; a single value goes to the first iteration only
    (as the server's documentation shows it)."""
    values = resolve_arguments(runner, task, incident)
    count = min(most, max([len(value) for value in values.values() if isinstance(value, list)] or [1]))
    iterations: list[dict[str, Any]] = []
    for index in range(count):
        arguments: dict[str, Any] = {}
        for name, value in values.items():
            if isinstance(value, list):
                if index < len(value):
                    arguments[name] = {"simple": value[index]}
            elif index == 0:
                arguments[name] = {"simple": value}
        iterations.append(arguments)
    return iterations


def _exit_holds(
    runner: PlaybookRunner, task: Task, loop: Loop, holder: IncidentHolder, private: Mapping[str, Any] | None
) -> bool:
    """Whether the loop ends. Over a sub-playbook with a context of its own, a built-in exit condition reads that
    context (the server documents its loops so: the values come from the sub-playbook's context data, not the
    parent's); an exit script runs on the parent's, where its own changes belong."""
    latest = holder.read()
    if loop.script:
        outcome = _run_script(runner, task, loop.script, loop.script_arguments, latest)
        runner.commit(holder, outcome)
        wanted = (loop.exit_label.lower(),) if loop.exit_label else ("yes", "true")
        return returned_text(outcome).lower() in wanted
    groups = [
        item["condition"] if isinstance(item, Mapping) and "condition" in item else item for item in loop.exit_condition
    ]
    if groups and all(isinstance(item, list) for item in groups) and isinstance(loop.exit_condition[0], Mapping):
        groups = list(groups[0])  # one {label, condition} branch: its condition's groups
    seen = latest if private is None else replace(latest, context=dict(private))
    try:
        return evaluate_condition(groups, runner.resolver(runner.view(seen), seen))
    except ConditionError as error:
        raise TaskError(f"loop exit condition: {error}") from error


def _combined(task: Task, steps: list[Step], message: str) -> Step:
    last = steps[-1]
    details = [step.message for step in steps if step.message]
    return Step(
        last.incident,
        last.branches,
        action=last.action or task.script,
        args=last.args,
        entries=tuple(entry for step in steps for entry in step.entries),
        warnings=tuple(dict.fromkeys(warning for step in steps for warning in step.warnings)),
        message="; ".join([message, *details[-1:]]),
        failed=any(step.failed for step in steps),
        sub_results=tuple(result for step in steps for result in step.sub_results),
        sub_entries=tuple(entry for step in steps for entry in step.sub_entries),
    )


def _run_script(
    runner: PlaybookRunner, task: Task, script: str, raw_arguments: Mapping[str, Any], incident: Incident
) -> CommandOutcome:
    resolved = resolve_arguments(runner, replace(task, arguments=dict(raw_arguments)), incident)
    command = split_command(script)
    brand, name, kind = (*command, "command") if command is not None else ("", script, "script")
    outcome = runner.execute(CommandCall(runner.call_id(task), brand, name, resolved, kind), incident)
    failure = error_messages(outcome)
    if failure is not None:
        raise TaskError(failure, outcome.entries)
    return outcome


def returned_text(outcome: CommandOutcome) -> str:
    """What a script returned, as text: the Contents of its last entry (`True` reads as `true`)."""
    for entry in reversed(outcome.entries):
        contents = entry.get("Contents")
        if contents is not None:
            return to_text(contents).strip()
    return ""


def script_condition(runner: PlaybookRunner, task: Task, incident: Incident, holder: IncidentHolder) -> Step:
    """A condition task decided by a script: the script's returned value names the branch (any case); a value
    that is no branch takes `#default#`."""
    outcome = _run_script(runner, task, task.script, task.arguments, incident)
    after = runner.commit(holder, outcome)
    value = returned_text(outcome)
    label = next((key for key in task.next_tasks if key.lower() == value.lower()), None)
    if label is None:
        if not has_branch(task, DEFAULT_BRANCH):
            branches = ", ".join(repr(key) for key in task.next_tasks) or "none"
            raise TaskError(
                f"the script {task.script!r} returned {value!r}, which is none of the branches ({branches}), and "
                "the condition has no #default# (else) branch",
                outcome.entries,
            )
        label = DEFAULT_BRANCH
    return Step(
        after,
        branch_ids(task, label),
        action=task.script,
        entries=outcome.entries,
        branch=label,
        message=f"branch {label!r} (the script returned {value!r})",
    )
