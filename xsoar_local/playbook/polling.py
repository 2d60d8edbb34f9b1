"""Polling commands: a result carrying a schedule (`ScheduledCommand`: `PollingCommand`, `NextRun`,
`PollingArgs`, `Timeout`) keeps its task running; the command runs again after `NextRun` seconds until a result
carries no schedule, an error comes back, or `Timeout` seconds have passed.

The seconds are counted as the server counts them, so a sequence times out after as many runs as it would
there; the real waits are shortened locally (`PlaybookRunner.wait`, at most `XSOAR_LOCAL_MAX_WAIT` seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from xsoar_local.playbook.model import Task
from xsoar_local.playbook.records import CommandCall, IncidentHolder, Step, TaskError, error_messages, split_command

if TYPE_CHECKING:
    from xsoar_local.playbook.runner import PlaybookRunner

MIN_NEXT_RUN = 10.0  # the server runs a scheduled command no sooner than 10 s later
DEFAULT_TIMEOUT = 600.0


def schedule_of(entries: tuple[Mapping[str, Any], ...]) -> Mapping[str, Any] | None:
    """The schedule a result asks for (the last entry that names a `PollingCommand`); None when it is done."""
    for entry in reversed(entries):
        if entry.get("PollingCommand"):
            found: Mapping[str, Any] = entry
            return found
    return None


def _seconds(raw: Any, default: float) -> float:
    try:
        return float(raw) if raw not in (None, "") else default
    except (TypeError, ValueError):
        return default


def follow(runner: PlaybookRunner, task: Task, holder: IncidentHolder, step: Step) -> Step:
    """Run the task's scheduled commands until the sequence ends; `step` is the task's first run."""
    schedule = schedule_of(step.entries)
    if schedule is None or step.failed:
        return step
    command = split_command(task.script)
    entries = list(step.entries)
    elapsed, runs = 0.0, 0
    while schedule is not None:
        name = str(schedule["PollingCommand"])
        timeout = _seconds(schedule.get("Timeout"), DEFAULT_TIMEOUT)
        next_run = max(MIN_NEXT_RUN, _seconds(schedule.get("NextRun"), MIN_NEXT_RUN))
        elapsed += next_run
        if elapsed > timeout:
            raise TaskError(f"polling {name} timed out: still scheduled after {timeout:g} s", tuple(entries))
        runner.wait(next_run)
        brand = command[0] if command is not None and command[1] == name else ""
        args = schedule.get("PollingArgs") or {}
        call = CommandCall(runner.call_id(task), brand, name, dict(args) if isinstance(args, Mapping) else {})
        outcome = runner.execute(call, holder.read())
        entries.extend(outcome.entries)
        failure = error_messages(outcome)
        if failure is not None:
            raise TaskError(failure, tuple(entries))
        runner.commit(holder, outcome)
        runs += 1
        schedule = schedule_of(outcome.entries)
    message = "; ".join(filter(None, [step.message, f"polled: {runs} more run(s), {elapsed:g} s of server time"]))
    return replace(step, incident=holder.read(), entries=tuple(entries), message=message)
