"""Run one integration command against a state folder without losing anyone else's update.

The instance is held (``StateStore.instance_lock``) for the whole command: its integration context is
read, the command runs, and the context it leaves is written back before the next command of that
instance may start. The command's entries and setContext calls are then merged into the LATEST copy
of the incident, inside one locked update, so commands of other instances, playbooks and fetches that
changed the incident meanwhile keep their changes.
"""

from __future__ import annotations

from collections.abc import Callable

from xsoar_local.engine.runner import CommandRun, apply_result
from xsoar_local.incident.state import State, StateStore
from xsoar_local.incident.store import Incident

__all__ = ["StoredIncident", "merge_run", "run_on_current", "run_on_instance"]

Execute = Callable[[Incident], CommandRun]


class StoredIncident:
    """One incident of a state folder as a playbook run sees it: each task reads the latest copy, and each
    task's result is merged into the latest copy inside one locked update (never a wholesale replace at the end)."""

    def __init__(self, store: StateStore, incident_id: str) -> None:
        self.store = store
        self.incident_id = incident_id

    def read(self) -> Incident:
        return self.store.read().incidents[self.incident_id]

    def update(self, change: Callable[[Incident], Incident]) -> Incident:
        with self.store.update() as state:
            latest = state.incidents[self.incident_id]
            state.put_incident(self.incident_id, change(latest))
            return state.incidents[self.incident_id]


def merge_run(incident: Incident, run: CommandRun) -> Incident:
    """``incident`` with the run's context changes re-applied (as the server merges them): first what its nested
    executeCommand calls changed, then its own setContext calls, then its entries' EntryContexts.

    The run's own final context is never copied over: it started from an older copy of the incident, and
    others may have changed the incident since.
    """
    for inner in run.nested:
        incident = merge_run(incident, inner)
    result = {"context_sets": run.context_sets, "entries": run.entries}
    merged = apply_result(incident, run.instance, result)
    return Incident(fields=merged.fields, context=merged.context)


def _commit_instance(state: State, instance: str, before: dict[str, object], version: int, run: CommandRun) -> None:
    after = run.incident.integration_context(instance)
    if after != before:
        state.set_integration_context(instance, after, version)
    if run.result.get("last_run_set"):  # setLastRun({}) clears a stored lastRun, as on a server
        state.set_last_run(instance, run.last_run)


def run_on_instance(store: StateStore, instance: str, incident: Incident, execute: Execute) -> CommandRun:
    """Run ``execute`` on ``incident`` carrying the instance's saved integration context; save the context it leaves.

    Only the instance's integration context and lastRun are written: the incident is the caller's (a
    playbook run merges each task's result into the folder's copy itself, through ``StoredIncident``).
    """
    with store.instance_lock(instance):
        context, version = store.read().integration_context(instance)
        run = execute(incident.with_integration_context(instance, context))
        with store.update() as state:
            _commit_instance(state, instance, context, version, run)
    return run


def run_on_current(
    store: StateStore, instance: str, execute: Execute, *, reset: bool = False
) -> tuple[CommandRun, Incident]:
    """Run ``execute`` on the folder's current incident; returns the run and the incident as saved after it.

    With ``reset`` the current incident first gets fresh fields and an empty context (instances keep
    their integration contexts, as a server keeps them).
    """
    with store.instance_lock(instance):
        with store.update() as state:
            incident_id, incident = state.reset_current() if reset else state.current_incident()
            context, version = state.integration_context(instance)
        run = execute(incident.with_integration_context(instance, context))
        with store.update() as state:
            latest = state.incidents.get(incident_id, incident)
            state.put_incident(incident_id, merge_run(latest, run))
            _commit_instance(state, instance, context, version, run)
            saved = state.incidents[incident_id]
    return run, saved
