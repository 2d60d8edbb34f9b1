"""The playbook runner's link to the engine: tasks' commands and scripts (resolved by the engine's command
registry, so `Print` is the content's script when it has one and the toolkit's fallback otherwise), and the
content's transformers and filters, run through one `EngineSession` (its catalog and instances per brand)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from xsoar_local.commit import merge_run
from xsoar_local.engine.catalog import CatalogError
from xsoar_local.engine.native import EmptyArgumentError, no_war_room
from xsoar_local.engine.runner import CommandRun
from xsoar_local.engine.session import EngineSession
from xsoar_local.errors import XsoarLocalError
from xsoar_local.incident.model import Incident
from xsoar_local.playbook.conditions import ConditionError
from xsoar_local.playbook.deadline import Deadline
from xsoar_local.playbook.expressions import ExpressionError
from xsoar_local.playbook.runner import CommandCall, CommandOutcome
from xsoar_local.redact import mask_error


def outcome_of(run: CommandRun) -> CommandOutcome:
    """A run as the playbook runner takes it: its entries, the incident after it, and how to merge it into a newer
    copy of the incident."""
    return CommandOutcome(
        tuple(run.entries),
        run.incident,
        "; ".join(run.error_messages) or None,
        merge=lambda latest: merge_run(latest, run),
    )


def failed(error: XsoarLocalError, incident: Incident) -> CommandOutcome:
    """What stopped a command or script from running, as the task's error (masked)."""
    empty = error.arguments if isinstance(error, EmptyArgumentError) else ()
    return CommandOutcome((), incident, mask_error(error), empty_arguments=empty)


class DeadlineSession(EngineSession):
    """An engine session whose per-command time limit (`timeout`, read as each command starts: scripts,
    integration commands, transformers, filters, nested calls) is cut to the time its run has left, so the engine
    stops a command still running at the run's deadline."""

    def __init__(self, *args: Any, deadline: Deadline | None = None, **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    @property
    def timeout(self) -> float:
        """The session's time limit, or the time the run has left when less."""
        return self.deadline.cap(self._timeout) if self.deadline is not None else self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = seconds


class EngineExecutor:
    """Runs a task's `Brand|||command` or script on the session (args checked, defaultValues applied)."""

    def __init__(self, session: EngineSession) -> None:
        self.session = session
        self._written: list[dict[str, Any]] = []
        if session.war_room_entries is no_war_room:  # no server keeps this War Room: the run's entries are it
            session.war_room_entries = self._war_room

    def _war_room(self, incident: Incident) -> list[dict[str, Any]]:
        """The entries this run's tasks wrote so far, stored as a server stores them (what getEntries reads)."""
        return [dict(entry, investigationId=str(incident.fields.get("id") or "")) for entry in self._written]

    def _record(self, outcome: CommandOutcome, call: CommandCall, incident: Incident) -> CommandOutcome:
        """Store the outcome's entries; each comes back with its stored id (what `${lastCompletedTaskEntries}` lists
        and getEntry finds)."""
        identified: list[Mapping[str, Any]] = []
        for raw in outcome.entries:
            number = len(self._written) + 1
            identified.append({**raw, "ID": f"{number}@{incident.fields.get('id') or '1'}"})
            contents, human = raw.get("Contents"), raw.get("HumanReadable")
            shown = human if human not in (None, "") else contents
            self._written.append(
                {
                    "id": identified[-1]["ID"],
                    "type": raw.get("Type", 1),
                    "contents": shown if isinstance(shown, str) else json.dumps(shown, default=str),
                    "format": "markdown" if human not in (None, "") else str(raw.get("ContentsFormat") or "text"),
                    "rawContents": contents,
                    "entryContext": raw.get("EntryContext"),
                    "brand": call.brand,
                    "tags": list(raw.get("Tags") or []),
                }
            )
        return replace(outcome, entries=tuple(identified))

    def __call__(self, call: CommandCall, incident: Incident) -> CommandOutcome:
        """Run one command or script; anything that stops it from running is reported as the task's error."""
        try:
            if call.kind == "script":
                if (
                    not self.session.catalog.has_script(call.command)
                    and self.session.registry.native(call.command) is None
                ):
                    raise CatalogError(
                        f"unknown script {call.command!r}: neither a built-in script nor one in "
                        f"{self.session.catalog.root}"
                    )
                run = self.session.execute(call.command, call.args, incident, playbook_id=call.playbook_id)
            else:
                run = self.session.execute(
                    call.command, call.args, incident, brand=call.brand, playbook_id=call.playbook_id
                )
        except XsoarLocalError as error:  # what stops it from running is the task's error, never a crash
            return failed(error, incident)
        return self._record(outcome_of(run), call, incident)

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
