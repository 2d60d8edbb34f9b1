"""The runner and where the incident is kept: each task reads the latest stored incident and its result is merged
into the latest copy, so what another writer stores during the run is kept."""

from __future__ import annotations

from collections.abc import Callable

from xsoar_local.engine.native import NATIVE_COMMANDS
from xsoar_local.incident.model import Incident
from xsoar_local.playbook import CommandCall, CommandOutcome, PlaybookRunner
from xsoar_local.playbook.runner import MemoryIncident

from .helpers import native_outcome, playbook, simple, task


class SharedIncident(MemoryIncident):
    """A stored incident that a War Room writer changes between the run's reads and updates."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(incident)
        self.seen: list[dict[str, object]] = []  # the context each task started from

    def read(self) -> Incident:
        self.seen.append(dict(self.incident.context))
        return super().read()

    def war_room_writes(self, path: str, value: object) -> None:
        self.incident = self.incident.with_context_value(path, value)


def test_each_task_merges_into_the_latest_incident() -> None:
    """
    Given a playbook: a command (whose outputs the executor can re-apply), then Set
    When a War Room writer stores a context key while the command runs
    Then the command's outputs, the writer's key and Set's key are all in the final incident,
    and the Set task started from the incident with the writer's key in it
    """
    shared = SharedIncident(Incident(fields={"id": "7"}))

    def execute(call: CommandCall, incident: Incident) -> CommandOutcome:
        if call.command == "Set":  # the engine's own fallback, as the engine executor runs it
            return native_outcome(NATIVE_COMMANDS["Set"], call.args, incident)
        shared.war_room_writes("WarRoom.Note", "kept")  # lands while the command runs
        outputs: Callable[[Incident], Incident] = lambda latest: latest.with_entry_context(  # noqa: E731
            {"Probe.Answer": 42}
        )
        return CommandOutcome(({"Type": 1, "Contents": "42"},), outputs(incident), merge=outputs)

    book = playbook(
        task("1", script="Probe|||probe-answer", then=["2"]),
        task("2", script="Set", args={"key": "After", "value": simple("done")}),
    )
    run = PlaybookRunner(execute).run(book, shared)
    assert run.completed, run.error
    context = shared.incident.context
    assert context.get("WarRoom") == {"Note": "kept"}, f"the War Room's key was overwritten: {context}"
    assert context.get("Probe") == {"Answer": 42}, f"the command's outputs are missing: {context}"
    assert context.get("After") == "done", f"Set's key is missing: {context}"
    assert run.incident.context == context, "the run reports another incident than the stored one"
    assert shared.seen[-1].get("WarRoom") == {"Note": "kept"}, "the Set task started from a stale incident"


def test_an_incident_given_directly_is_kept_in_memory() -> None:
    """
    Given an Incident (no holder), When the playbook runs, Then the run's incident carries its tasks' results
    and the given incident is unchanged (Incident is immutable)
    """
    given = Incident(fields={"id": "1"})
    book = playbook(task("1", script="Set", args={"key": "Key", "value": simple("v")}))
    run = PlaybookRunner(lambda call, inc: native_outcome(NATIVE_COMMANDS[call.command], call.args, inc)).run(
        book, given
    )
    assert run.incident.context == {"Key": "v"}
    assert given.context == {}
