"""What a server keeps per integration instance between runs: integration context (with its version), lastRun,
and the incidents fetches create.

`InstanceState` is the interface the engine session uses. `StoreInstanceState` keeps it in the state folder
(`xsoar_local.incident.state.StateStore`: locked, atomic updates); `MemoryInstanceState` keeps it for one process
(a playbook run without a state folder, tests).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from xsoar_local.incident.model import Incident, default_fields
from xsoar_local.incident.state import StaleVersionError, StateStore


class InstanceState(Protocol):
    """Per-instance state a server keeps, and the store of fetched incidents."""

    def hold(self, instance: str) -> contextlib.AbstractContextManager[None]:
        """Hold the instance for one command (read its context, run, write it back)."""
        ...

    def integration_context(self, instance: str) -> tuple[dict[str, Any], int]:
        """The instance's integration context and its version (0 before the first write)."""
        ...

    def set_integration_context(self, instance: str, context: Mapping[str, Any], read_version: int) -> int:
        """Store the context if the stored version is still `read_version`; returns the new version."""
        ...

    def last_run(self, instance: str) -> dict[str, Any]:
        """The lastRun the instance's previous successful fetch left ({} at first)."""
        ...

    def record_fetch(
        self, instance: str, incidents: Sequence[Mapping[str, Any]], last_run: Mapping[str, Any]
    ) -> list[str]:
        """Create the fetched incidents and move lastRun on, in one update; returns the new incident ids."""
        ...


class MemoryInstanceState:
    """Instance state for one process."""

    def __init__(self) -> None:
        self.contexts: dict[str, tuple[dict[str, Any], int]] = {}
        self.last_runs: dict[str, dict[str, Any]] = {}
        self.incidents: list[dict[str, Any]] = []

    def hold(self, instance: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def integration_context(self, instance: str) -> tuple[dict[str, Any], int]:
        context, version = self.contexts.get(instance, ({}, 0))
        return copy.deepcopy(context), version

    def set_integration_context(self, instance: str, context: Mapping[str, Any], read_version: int) -> int:
        _, version = self.contexts.get(instance, ({}, 0))
        if version != read_version:
            raise StaleVersionError(f"the integration context of {instance!r} is at version {version}")
        self.contexts[instance] = (copy.deepcopy(dict(context)), version + 1)
        return version + 1

    def last_run(self, instance: str) -> dict[str, Any]:
        return copy.deepcopy(self.last_runs.get(instance, {}))

    def record_fetch(
        self, instance: str, incidents: Sequence[Mapping[str, Any]], last_run: Mapping[str, Any]
    ) -> list[str]:
        ids = []
        for incident in incidents:
            ids.append(str(len(self.incidents) + 1))
            self.incidents.append({**copy.deepcopy(dict(incident)), "id": ids[-1]})
        self.last_runs[instance] = copy.deepcopy(dict(last_run))
        return ids


class StoreInstanceState:
    """Instance state in the state folder: each instance held under its lock for a whole command."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    @contextlib.contextmanager
    def hold(self, instance: str) -> Iterator[None]:
        with self.store.instance_lock(instance):
            yield

    def integration_context(self, instance: str) -> tuple[dict[str, Any], int]:
        return self.store.read().integration_context(instance)

    def set_integration_context(self, instance: str, context: Mapping[str, Any], read_version: int) -> int:
        with self.store.update() as state:
            return state.set_integration_context(instance, context, read_version)

    def last_run(self, instance: str) -> dict[str, Any]:
        return self.store.read().last_run(instance)

    def record_fetch(
        self, instance: str, incidents: Sequence[Mapping[str, Any]], last_run: Mapping[str, Any]
    ) -> list[str]:
        with self.store.update() as state:
            ids = [state.add_incident(Incident(fields={**default_fields(), **dict(item)})) for item in incidents]
            state.set_last_run(instance, last_run)
        return ids
