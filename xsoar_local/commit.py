"""Commit runs to where incidents are kept without losing anyone else's update.

A run's entries, setContext calls and server-native edits are merged into the LATEST copy of the incident
(`merge_run`, from the engine), inside one locked update, so commands of other instances, playbooks and fetches
that changed the incident meanwhile keep their changes. Instances' integration contexts are held and written by
the engine session (xsoar_local.engine.state).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from xsoar_local.engine.runner import merge_run
from xsoar_local.incident.model import Incident

__all__ = ["IncidentSource", "StoredIncident", "merge_run"]


class IncidentSource(Protocol):
    """Where incidents are kept: the CLI's state folder (``StateStore``) or the server's investigations."""

    def read_incident(self, incident_id: str) -> Incident: ...

    def update_incident(self, incident_id: str, change: Callable[[Incident], Incident]) -> Incident: ...


class StoredIncident:
    """One stored incident as a playbook run sees it: each task reads the latest copy, and each task's result is
    merged into the latest copy in one locked update (never a wholesale replace at the end)."""

    def __init__(self, store: IncidentSource, incident_id: str) -> None:
        self.store = store
        self.incident_id = incident_id

    def read(self) -> Incident:
        return self.store.read_incident(self.incident_id)

    def update(self, change: Callable[[Incident], Incident]) -> Incident:
        return self.store.update_incident(self.incident_id, change)
