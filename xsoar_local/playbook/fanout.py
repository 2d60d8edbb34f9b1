"""A list given to an argument that is not `isArray`: the server runs the command or script once per item ("If this
is set to true, the command will run once, instead for each input"), so the runner does too. Content's own test
playbooks rely on it for scripts too (CommonScripts' TestGetErrorsFromEntry gives PrintErrorEntry's `message` a
three-item list and expects three error entries). The engine's own commands (Set, Print, ... when the content has
no script of that name) get their lists whole.

Several such lists are zipped by index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xsoar_local.incident.model import Incident
from xsoar_local.playbook.records import CommandCall, CommandOutcome

if TYPE_CHECKING:
    from xsoar_local.playbook.runner import PlaybookRunner


def split_arguments(runner: PlaybookRunner, call: CommandCall) -> list[dict[str, Any]] | None:
    """The argument sets of each run when `call` fans out; None when it runs once."""
    if call.kind not in ("command", "script") or runner.content is None:
        return None
    declared = runner.content.array_arguments(call.command, call.brand)
    if not declared:
        return None
    spread = [
        name
        for name, value in call.args.items()
        if isinstance(value, list) and len(value) > 1 and declared.get(name) is False
    ]
    if not spread:
        return None
    count = max(len(call.args[name]) for name in spread)
    runs = []
    for index in range(count):
        args = {name: value for name, value in call.args.items() if name not in spread}
        args.update({name: call.args[name][index] for name in spread if index < len(call.args[name])})
        runs.append(args)
    return runs


def execute(runner: PlaybookRunner, call: CommandCall, incident: Incident) -> CommandOutcome:
    """Run `call`, once per item when a list meets an argument that is not `isArray`; the outcomes are joined."""
    runs = split_arguments(runner, call)
    if runs is None:
        return runner.execute(call, incident)
    outcomes = [
        runner.execute(CommandCall(call.task_id, call.brand, call.command, args, call.kind), incident) for args in runs
    ]
    merges = [outcome.merge for outcome in outcomes]
    merge: Callable[[Incident], Incident] | None = None
    if all(item is not None for item in merges):

        def merge(latest: Incident) -> Incident:
            for item in merges:
                assert item is not None
                latest = item(latest)
            return latest

    errors = [outcome.error for outcome in outcomes if outcome.error]
    return CommandOutcome(
        tuple(entry for outcome in outcomes for entry in outcome.entries),
        outcomes[-1].incident,
        "; ".join(errors) or None,
        merge=merge,
    )
