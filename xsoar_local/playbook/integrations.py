"""The playbook runner's link to the engine: tasks' commands and scripts, and the content's transformers and
filters, run through one `EngineSession` (its catalog and instances per brand)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xsoar_local.commit import merge_run
from xsoar_local.engine.catalog import CatalogError
from xsoar_local.engine.session import EngineSession
from xsoar_local.errors import XsoarLocalError
from xsoar_local.incident.store import Incident
from xsoar_local.playbook.conditions import ConditionError
from xsoar_local.playbook.expressions import ExpressionError
from xsoar_local.playbook.runner import CommandCall, CommandOutcome
from xsoar_local.redact import mask_error


class EngineExecutor:
    """Runs a task's `Brand|||command` or script on the session (args checked, defaultValues applied)."""

    def __init__(self, session: EngineSession) -> None:
        self.session = session

    def __call__(self, call: CommandCall, incident: Incident) -> CommandOutcome:
        """Run one command or script; anything that stops it from running is reported as the task's error."""
        try:
            if call.kind == "script":
                script = self.session.catalog.script(call.command)
                if script is None:
                    raise CatalogError(
                        f"unknown script {call.command!r}: neither a built-in script nor one in "
                        f"{self.session.catalog.root}"
                    )
                run = self.session.execute(call.command, call.args, incident)
            else:
                run = self.session.execute(call.command, call.args, incident, brand=call.brand)
        except XsoarLocalError as error:  # what stops it from running is the task's error, never a crash
            return CommandOutcome((), incident, mask_error(error))
        return CommandOutcome(
            tuple(run.entries),
            run.incident,
            "; ".join(run.error_messages) or None,
            merge=lambda latest: merge_run(latest, run),
        )

    def operators(self, incident: Incident) -> SessionOperators:
        """The content's transformer and filter scripts, run on `incident`."""
        return SessionOperators(self.session, incident)


@dataclass(frozen=True)
class SessionOperators:
    """`ContentOperators` over a session, for one incident."""

    session: EngineSession
    incident: Incident

    def has(self, name: str, tag: str) -> bool:
        """True when the content has a script `name` tagged `tag`."""
        return self.session.is_content_script(name, tag)

    def transform(self, name: str, value: Any, args: Mapping[str, Any]) -> Any:
        """The value after the transformer script `name`."""
        try:
            return self.session.transform(name, value, args, self.incident)
        except XsoarLocalError as error:
            raise ExpressionError(mask_error(error)) from error

    def filter(self, name: str, left: Any, right: Any) -> bool:
        """Whether the filter script `name` holds."""
        try:
            return self.session.filter(name, left, right, self.incident)
        except XsoarLocalError as error:
            raise ConditionError(mask_error(error)) from error
