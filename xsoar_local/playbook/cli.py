"""The `playbook` and `test-playbooks` subcommands: I/O around the playbook runner.

`xsoar_local.cli` registers them with `add_playbook_parsers(subparsers)`. Integration instances are
configured as `run` configures them (`xsoar_local.instance`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.text import Text

from xsoar_local.commit import StoredIncident
from xsoar_local.engine import ParamError
from xsoar_local.engine.catalog import CatalogError, scan_content
from xsoar_local.engine.executors import add_cold_option
from xsoar_local.engine.images import ImageError, python_chooser
from xsoar_local.engine.instances import InstanceError, load_instances
from xsoar_local.engine.session import EngineSession
from xsoar_local.engine.state import InstanceState, MemoryInstanceState, StoreInstanceState
from xsoar_local.incident.state import StateError, StateStore
from xsoar_local.incident.store import STATE_DIR_ENV, Incident, IncidentInputError, incident_from_overrides
from xsoar_local.instance import DefaultInstances, InstanceSetupError, ParamSources
from xsoar_local.playbook.integrations import EngineExecutor
from xsoar_local.playbook.model import Playbook, PlaybookError, load_playbook
from xsoar_local.playbook.report import render_outcome, run_to_json, summary, task_line
from xsoar_local.playbook.runner import DEFAULT_MAX_STEPS, IncidentHolder, PlaybookRun, PlaybookRunner, TaskResult
from xsoar_local.redact import redact_text
from xsoar_local.render import neutralise, terminal_json
from xsoar_local.runtime import REPO_ROOT
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file

DEFAULT_PACKS = REPO_ROOT / "Packs"
# Errors in what the command line set up (content root, instances file, params): one line, exit 2.
SETUP_ERRORS = (ParamError, InstanceSetupError, CatalogError, InstanceError, StateError, ImageError)
EXIT_OK, EXIT_NOT_COMPLETED, EXIT_USAGE = 0, 1, 2


class PlaybookUsageError(Exception):
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


def test_playbook_paths(packs_root: Path) -> list[Path]:
    """Every test playbook: Packs/*/TestPlaybooks/*.yml."""
    return sorted(packs_root.glob("*/TestPlaybooks/*.yml"))


class Session:
    """What one playbook run uses: the content root's catalog, its instances and (when wanted) its own embedded
    service for the integrations it imitates."""

    def __init__(
        self, options: argparse.Namespace, stack: contextlib.ExitStack, store: StateStore | None = None
    ) -> None:
        self.options = options
        sources = ParamSources.from_options(options, os.environ)
        catalog = scan_content(Path(options.packs))
        instances_file = Path(options.instances) if options.instances else None
        defaults = DefaultInstances(sources, stack)
        instances = load_instances(catalog, instances_file, defaults, defaults.name_for)
        # With a state folder the instances' saved integration contexts are used and kept; else they live for the run.
        state: InstanceState = StoreInstanceState(store) if store is not None else MemoryInstanceState()
        self.engine = EngineSession(catalog, instances, state, python_for=python_chooser())

    def run(
        self, playbook: Playbook, incident: Incident | IncidentHolder, on_task: Callable[[TaskResult], None] | None
    ) -> PlaybookRun:
        """Run the playbook through the engine."""
        executor = EngineExecutor(self.engine)
        runner = PlaybookRunner(
            executor, max_steps=self.options.max_steps, on_task=on_task, operators=executor.operators
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
        return Session(options, stack, store).run(playbook, incident, on_task)


def cmd_playbook(options: argparse.Namespace, console: Console) -> int:
    """`playbook`: run one playbook on an incident; print the work plan, War Room and context."""
    try:
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
    except (PlaybookError, PlaybookUsageError, IncidentInputError, *SETUP_ERRORS) as error:
        print(f"error: {neutralise(redact_text(str(error)))}", file=sys.stderr)
        return EXIT_USAGE
    if options.json:
        print(terminal_json(run_to_json(run)))
    else:
        console.print(render_outcome(run))
    return EXIT_OK if run.completed else EXIT_NOT_COMPLETED


def cmd_test_playbooks(options: argparse.Namespace, console: Console) -> int:
    """`test-playbooks`: run every test playbook, each on a fresh incident; fail if any does not complete."""
    try:  # a wrong content root or instances file fails every playbook alike: say it once
        with contextlib.ExitStack() as stack:
            Session(options, stack)
    except SETUP_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    paths = test_playbook_paths(Path(options.packs))
    if not paths:
        print(f"error: no test playbooks in {options.packs}/*/TestPlaybooks/", file=sys.stderr)
        return EXIT_NOT_COMPLETED
    runs: list[dict[str, Any]] = []
    failed = 0
    for path in paths:
        try:
            run = _run_one(options, console, path, Incident())
        except (PlaybookError, *SETUP_ERRORS) as error:
            failed += 1
            runs.append({"playbook": {"source": str(path)}, "completed": False, "error": str(error)})
            if not options.json:
                console.print(Text(neutralise(f"✘ {path}: {error}"), style="bold red"))
            continue
        failed += 0 if run.completed else 1
        runs.append(run_to_json(run))
        if not options.json:
            console.print(render_outcome(run, show_context=options.verbose) if options.verbose else summary(run))
    if options.json:
        print(terminal_json({"passed": len(paths) - failed, "failed": failed, "runs": runs}))
    else:
        style = "bold red" if failed else "bold green"
        console.print(f"[{style}]{len(paths) - failed} of {len(paths)} test playbook(s) completed[/]")
    return EXIT_NOT_COMPLETED if failed else EXIT_OK


def _positive_steps(value: str) -> int:
    try:
        steps = int(value)
    except ValueError:
        steps = 0
    if steps < 1:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of tasks: give 1 or more (default {DEFAULT_MAX_STEPS})"
        )
    return steps


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--packs", default=str(DEFAULT_PACKS), help="the content root: playbooks, integrations and scripts"
    )
    parser.add_argument("--instances", help="YAML file of instances: instances: [{brand, name, params}]")
    parser.add_argument(
        "--real", action="store_true", help="use the real services (the YAMLs' URLs) instead of the embedded stand-ins"
    )
    parser.add_argument(
        "--param", action="append", metavar="NAME=VALUE", help="override an integration param (repeatable)"
    )
    parser.add_argument("--params-file", help="JSON object of integration params (the DEMISTO_PARAMS format)")
    parser.add_argument("--env-file", help="NAME=VALUE lines of integration params")
    parser.add_argument(
        "--max-steps",
        type=_positive_steps,
        default=DEFAULT_MAX_STEPS,
        help="stop a looping playbook after this many tasks",
    )
    parser.add_argument("--json", action="store_true", help="print the run(s) as JSON")
    add_cold_option(parser)


def add_playbook_parsers(subparsers: Any) -> None:
    """Register the `playbook` and `test-playbooks` subcommands."""
    run = subparsers.add_parser(
        "playbook",
        help="run a playbook locally",
        description="Run a playbook (a YAML path, id or name) on a local incident and show its work plan.",
    )
    run.add_argument("--playbook", required=True, help="a playbook YAML, or the id/name of one under --packs")
    run.add_argument(
        "--incident", action="append", metavar="KEY=VALUE", help='an incident field, e.g. details="Hello" (repeatable)'
    )
    run.add_argument("--incident-file", help="a JSON object of incident fields (optionally with a `context` object)")
    run.add_argument(
        "--state-dir",
        default=os.environ.get(STATE_DIR_ENV) or None,
        help="a state folder: add the incident to it and use its instances' contexts "
        "(default: $XSOAR_LOCAL_STATE_DIR if set, else nothing is saved)",
    )
    _common_options(run)
    run.set_defaults(handler=cmd_playbook)
    tests = subparsers.add_parser(
        "test-playbooks",
        help="run every test playbook",
        description="Run each Packs/*/TestPlaybooks/*.yml on a fresh incident; fail if any does not complete.",
    )
    tests.add_argument("-v", "--verbose", action="store_true", help="also print each run's War Room and context")
    _common_options(tests)
    tests.set_defaults(handler=cmd_test_playbooks)
