"""The `playbook` and `test-playbooks` subcommands: I/O around the playbook runner.

Their flags are defined in `xsoar_local.cli_args`; `xsoar_local.cli.main` runs them and maps what stops them to
an exit status. Integration instances are configured as `run` configures them (`xsoar_local.instance`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import yaml
from rich.console import Console
from rich.text import Text

from xsoar_local.commit import StoredIncident
from xsoar_local.engine import executors
from xsoar_local.engine.catalog import scan_content
from xsoar_local.engine.images import python_chooser
from xsoar_local.engine.instances import load_instances
from xsoar_local.engine.session import EngineSession
from xsoar_local.engine.state import InstanceState, MemoryInstanceState, StoreInstanceState
from xsoar_local.errors import UsageError
from xsoar_local.exitstatus import ExitStatus
from xsoar_local.incident.model import Incident, incident_from_overrides
from xsoar_local.incident.state import StateStore
from xsoar_local.instance import DefaultInstances, ParamSources
from xsoar_local.playbook.integrations import EngineExecutor
from xsoar_local.playbook.library import CatalogContent
from xsoar_local.playbook.model import Playbook, load_playbook
from xsoar_local.playbook.report import render_outcome, run_to_json, task_line
from xsoar_local.playbook.runner import IncidentHolder, PlaybookRun, PlaybookRunner, TaskResult
from xsoar_local.render import neutralise, terminal_json
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file


class PlaybookUsageError(UsageError):
    """The command line asks for a playbook or incident that cannot be used."""


def find_playbook(reference: str, packs_root: Path) -> Path:
    """A playbook YAML by path, or by `id`/`name` among Packs/*/Playbooks and Packs/*/TestPlaybooks."""
    path = Path(reference)
    if path.is_file():
        return path
    candidates = sorted([*packs_root.glob("*/Playbooks/*.yml"), *packs_root.glob("*/TestPlaybooks/*.yml")])
    names: list[str] = []
    for candidate in candidates:
        try:
            data = load_yaml_file(candidate)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlLimitError):
            continue
        if isinstance(data, dict):
            if reference in (data.get("id"), data.get("name")):
                return candidate
            names.append(str(data.get("name") or data.get("id")))
    known = ", ".join(repr(name) for name in names) or "none"
    raise PlaybookUsageError(f"no playbook file or playbook named {reference!r} in {packs_root} (found: {known})")


class PlaybookSession:
    """What one playbook run uses: the content root's catalog, its instances and (when wanted) its own embedded
    service for the integrations it imitates."""

    def __init__(
        self, options: argparse.Namespace, stack: contextlib.ExitStack, store: StateStore | None = None
    ) -> None:
        self.options = options
        sources = ParamSources.from_options(options, os.environ)
        sources.check()
        catalog = scan_content(Path(options.packs))
        instances_file = Path(options.instances) if options.instances else None
        defaults = DefaultInstances(sources, stack)
        instances = load_instances(catalog, instances_file, defaults, defaults.name_for)
        # With a state folder the instances' saved integration contexts are used and kept; else they live for the run.
        state: InstanceState = StoreInstanceState(store) if store is not None else MemoryInstanceState()
        timeout = executors.check_settings(timeout=getattr(options, "timeout", None)).timeout
        self.engine = EngineSession(catalog, instances, state, python_for=python_chooser(), timeout=timeout)

    def run(
        self, playbook: Playbook, incident: Incident | IncidentHolder, on_task: Callable[[TaskResult], None] | None
    ) -> PlaybookRun:
        """Run the playbook through the engine."""
        executor = EngineExecutor(self.engine)
        runner = PlaybookRunner(
            executor,
            max_steps=self.options.max_steps,
            on_task=on_task,
            operators=executor.operators,
            content=CatalogContent(self.engine.catalog, self.engine.instances),
        )
        return runner.run(playbook, incident)


def _incident(options: argparse.Namespace) -> Incident:
    file = Path(options.incident_file) if options.incident_file else None
    return incident_from_overrides(None, incident_file=file, field_pairs=options.incident or ())


def _run_one(
    options: argparse.Namespace,
    console: Console,
    path: Path,
    incident: Incident | IncidentHolder,
    store: StateStore | None = None,
) -> PlaybookRun:
    """Run one playbook in its own session (its own service); the work plan is printed as tasks finish."""
    playbook = load_playbook(path)
    on_task: Callable[[TaskResult], None] | None = None
    if not options.json:
        console.print(Text(neutralise(f"Work plan: {playbook.name} ({path})"), style="bold underline"))
        on_task = lambda result: console.print(task_line(result))  # noqa: E731 - a one-line callback
    with contextlib.ExitStack() as stack:
        return PlaybookSession(options, stack, store).run(playbook, incident, on_task)


def cmd_playbook(options: argparse.Namespace, console: Console) -> int:
    """`playbook`: run one playbook on an incident; print the work plan, War Room and context."""
    # The folder is checked before anything runs: a result that could not be saved would be lost.
    store = StateStore(Path(options.state_dir)) if options.state_dir else None
    path = find_playbook(options.playbook, Path(options.packs))
    incident = _incident(options)
    if store is not None:
        # As on a server the incident exists (with its id) before its playbook runs; nothing else is replaced.
        with store.update() as state:
            incident_id = state.add_incident(incident)
            incident = state.incidents[incident_id]
    # With a state folder, each task's result is merged into the folder's latest copy of the incident as
    # the task ends (StoredIncident), so nothing another writer adds meanwhile is lost.
    target = StoredIncident(store, incident_id) if store is not None else incident
    run = _run_one(options, console, path, target, store)
    if options.json:
        print(terminal_json(run_to_json(run)))
    else:
        console.print(render_outcome(run))
    return ExitStatus.OK if run.completed else ExitStatus.FAILED
