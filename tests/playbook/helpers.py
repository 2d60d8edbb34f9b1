"""Small builders for playbooks written for the tests, and a fake command executor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xsoar_local.engine.native import NATIVE_COMMANDS, NativeArgumentError, NativeCommand, run_native
from xsoar_local.incident.model import Incident
from xsoar_local.playbook import CommandCall, CommandOutcome, Playbook, PlaybookRun, PlaybookRunner
from xsoar_local.playbook.integrations import failed, outcome_of
from xsoar_local.playbook.model import parse_playbook


def native_outcome(native: NativeCommand, args: Mapping[str, Any], incident: Incident) -> CommandOutcome:
    """Run one of the engine's own commands without a session (no content root: nothing can shadow it)."""
    try:
        run = run_native(native, native.check(args), incident)
    except NativeArgumentError as error:
        return failed(error, incident)
    return outcome_of(run)


def task(
    task_id: str,
    type_: str = "regular",
    *,
    name: str = "",
    script: str = "",
    args: Mapping[str, Any] | None = None,
    then: Mapping[str, list[str]] | list[str] | None = None,
    conditions: list[Mapping[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One `tasks` entry as the server writes it; `then` is a list of ids (`#none#`) or a map of labels."""
    raw: dict[str, Any] = {
        "id": task_id,
        "type": type_,
        "task": {"name": name or f"task {task_id}", "script": script, "iscommand": "|||" in script},
        **extra,
    }
    if args is not None:
        raw["scriptarguments"] = dict(args)
    if then is not None:
        raw["nexttasks"] = {"#none#": then} if isinstance(then, list) else dict(then)
    if conditions is not None:
        raw["conditions"] = conditions
    return raw


def playbook(*tasks: dict[str, Any], start: str = "0") -> Playbook:
    """A playbook of the given tasks; unless one is given, a start task `0` leading to the first of them."""
    by_id = {raw["id"]: raw for raw in tasks}
    if start not in by_id:
        by_id[start] = task(start, "start", then=[tasks[0]["id"]])
    return parse_playbook({"id": "test", "name": "Test", "starttaskid": start, "tasks": by_id})


def simple(value: Any) -> dict[str, Any]:
    """A `simple` argument value."""
    return {"simple": value}


def check(
    operator: str, left: Any = None, right: Any = None, *, left_context: bool = True, **extra: Any
) -> dict[str, Any]:
    """One condition check; `left` is a context path unless left_context=False."""
    raw: dict[str, Any] = {"operator": operator, **extra}
    if left is not None:
        raw["left"] = {"value": left if isinstance(left, dict) else {"simple": left}, "iscontext": left_context}
    if right is not None:
        raw["right"] = {"value": right if isinstance(right, dict) else {"simple": right}}
    return raw


def branch(label: str, *groups: list[dict[str, Any]]) -> dict[str, Any]:
    """A condition branch: its label and its groups (ANDed; each group's checks ORed)."""
    return {"label": label, "condition": list(groups)}


@dataclass
class FakeExecutor:
    """Answers `Brand|||command` calls from a table: command -> (entries, EntryContext); records every call."""

    answers: Mapping[str, tuple[list[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    calls: list[CommandCall] = field(default_factory=list)

    def __call__(self, call: CommandCall, incident: Incident) -> CommandOutcome:
        native = NATIVE_COMMANDS.get(call.command) if call.brand in ("", "Builtin") else None
        if native is not None and call.command not in self.answers:  # the engine's own: never an integration call
            return native_outcome(native, call.args, incident)
        self.calls.append(call)
        if call.command not in self.answers:
            what = "unknown script" if call.kind == "script" else "fake executor: no answer for"
            return CommandOutcome((), incident, f"{what} {call.command!r}")
        entries, entry_context = self.answers[call.command]
        return CommandOutcome(tuple(entries), incident.with_entry_context(entry_context))


def run(
    book: Playbook, executor: FakeExecutor | None = None, incident: Incident | None = None, **options: Any
) -> PlaybookRun:
    """Run a playbook with a fake executor on a fresh (or given) incident."""
    runner = PlaybookRunner(executor or FakeExecutor(), **options)
    result: PlaybookRun = runner.run(book, incident or Incident())
    return result


def statuses(result: PlaybookRun) -> list[tuple[str, str]]:
    """The work plan as (task id, status) pairs."""
    return [(item.task_id, item.status) for item in result.tasks]


def printed(result: PlaybookRun) -> list[Any]:
    """What the War Room entries hold, in order."""
    return [item.entry.get("Contents") for item in result.entries]
