"""`xsoar-local test-playbooks`: select, shard and run a content repository's test playbooks; print a summary
with each playbook's time, write JUnit XML, and exit 0 only when every selected playbook completed."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from xsoar_local.engine import executors
from xsoar_local.engine.catalog import scan_content
from xsoar_local.engine.instances import load_instances
from xsoar_local.errors import XsoarLocalError
from xsoar_local.exitstatus import ExitStatus
from xsoar_local.instance import DefaultInstances, ParamSources
from xsoar_local.playbook.report import render_outcome, task_line
from xsoar_local.playbook.runner import TaskResult
from xsoar_local.redact import mask_error
from xsoar_local.render import neutralise, terminal_json
from xsoar_local.testplaybooks.conf import PlaybookTimeout, load_conf
from xsoar_local.testplaybooks.junit import check_report_path, write_junit
from xsoar_local.testplaybooks.run import (
    FAILED,
    PASSED,
    SKIPPED,
    Job,
    Outcome,
    RunSettings,
    plan,
    run_jobs,
)
from xsoar_local.testplaybooks.selection import discover, select

_MARKS = {PASSED: ("✔", "green"), FAILED: ("✘", "bold red"), SKIPPED: ("⊘", "yellow")}


def changed_packs(packs_root: Path, files: Sequence[str]) -> set[str]:
    """The packs that changed files belong to (files outside Packs/ belong to none)."""
    packs: set[str] = set()
    root = packs_root.resolve()
    for name in files:
        path = Path(name).resolve()
        if root in path.parents:
            packs.add(path.relative_to(root).parts[0])
    return packs


def _check_setup(settings: RunSettings) -> None:
    """A wrong content root, instances file, time limit or executor setting fails every playbook alike: raise it
    once, before any runs."""
    executors.check_settings(timeout=settings.timeout)
    options = argparse.Namespace(
        params_file=settings.params_file, env_file=settings.env_file, param=settings.params, real=settings.real
    )
    with contextlib.ExitStack() as stack:
        catalog = scan_content(Path(settings.packs))
        sources = ParamSources.from_options(options, os.environ)
        sources.check()
        defaults = DefaultInstances(sources, stack)
        load_instances(catalog, Path(settings.instances) if settings.instances else None, defaults, defaults.name_for)


def _line(outcome: Outcome) -> Text:
    mark, style = _MARKS[outcome.status]
    item = outcome.playbook
    text = f"{mark} {outcome.status:<7} {outcome.seconds:6.2f}s  {item.pack} / {item.id}"
    if outcome.message:
        text += f": {outcome.message}"
    return Text(neutralise(text), style=style)


def summary_table(outcomes: Sequence[Outcome]) -> Table:
    """Every selected playbook with its status, time and (when it did not pass) why."""
    table = Table(title="Test playbooks", title_justify="left", show_lines=False)
    table.add_column("status", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("pack", no_wrap=True)
    table.add_column("playbook")
    table.add_column("why", overflow="fold")
    for outcome in outcomes:
        mark, style = _MARKS[outcome.status]
        table.add_row(
            Text(f"{mark} {outcome.status}", style=style),
            f"{outcome.seconds:.2f}s",
            neutralise(outcome.playbook.pack),
            neutralise(outcome.playbook.id),
            neutralise(outcome.message),
        )
    return table


def _totals(outcomes: Sequence[Outcome], seconds: float) -> tuple[str, str]:
    counts = {status: sum(item.status == status for item in outcomes) for status in (PASSED, FAILED, SKIPPED)}
    text = (
        f"{counts[PASSED]} of {len(outcomes) - counts[SKIPPED]} test playbook(s) completed"
        f" ({counts[FAILED]} failed, {counts[SKIPPED]} skipped) in {seconds:.2f}s"
    )
    return text, "bold red" if counts[FAILED] else "bold green"


def _document(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    ran = [item for item in outcomes if item.status != SKIPPED]
    return {
        "passed": sum(item.status == PASSED for item in outcomes),
        "failed": sum(item.status == FAILED for item in outcomes),
        "skipped": sum(item.status == SKIPPED for item in outcomes),
        "results": [
            {
                "id": item.playbook.id,
                "name": item.playbook.name,
                "pack": item.playbook.pack,
                "source": str(item.playbook.path),
                "status": item.status,
                "seconds": round(item.seconds, 3),
                "message": item.message,
            }
            for item in outcomes
        ],
        "runs": [dict(item.document) for item in ran],
    }


def run_test_playbooks(options: argparse.Namespace, console: Console) -> int:
    """The `test-playbooks` command: select, run, report. Exit 0 only when every selected playbook completed."""
    settings = RunSettings.from_options(options)
    packs_root = Path(settings.packs)
    try:
        if options.junit_xml:
            check_report_path(Path(options.junit_xml))
        conf = load_conf(packs_root.parent)
        _check_setup(settings)
        found = discover(packs_root)
        if options.changed:  # a hook: a commit that touches no pack with test playbooks has nothing to run
            touched = changed_packs(packs_root, options.playbooks or ())
            selected = [item for item in found if item.pack in touched]
            if not selected:
                names = ", ".join(sorted(touched)) or "none"
                print(neutralise(f"no test playbooks in the changed packs ({names}): nothing to run"), file=sys.stderr)
                return ExitStatus.OK
        elif not found:
            print(f"error: no test playbooks in {neutralise(str(packs_root))}/*/TestPlaybooks/", file=sys.stderr)
            return ExitStatus.FAILED
        else:
            selected = select(found, packs_root, options.playbooks or (), options.pack or ())
    except XsoarLocalError as error:  # one line, before anything ran
        print(f"error: {neutralise(mask_error(error))}", file=sys.stderr)
        return ExitStatus.USAGE
    chosen = options.shard.take(selected) if options.shard else selected
    if not chosen:  # more shards than playbooks: this machine has nothing to do, which is not a failure
        print(f"shard {options.shard}: no test playbook of the {len(selected)} selected falls in it", file=sys.stderr)
        if options.junit_xml:
            write_junit(Path(options.junit_xml), [])
        return ExitStatus.OK
    default = PlaybookTimeout(options.playbook_timeout, "--playbook-timeout") if options.playbook_timeout else None
    jobs = plan(chosen, conf, default)
    live = not options.json
    where = f" (shard {options.shard} of {len(selected)} selected)" if options.shard else ""
    if live:
        console.print(
            neutralise(f"Running {len(jobs)} test playbook(s){where}, {options.jobs} at a time"), soft_wrap=True
        )

    def on_start(job: Job) -> Callable[[TaskResult], None] | None:
        if not live or options.jobs > 1:
            return None
        console.print(Text(neutralise(f"Work plan: {job.playbook.name} ({job.playbook.path})"), style="bold underline"))
        return lambda result: console.print(task_line(result))

    def on_done(outcome: Outcome) -> None:
        if not live:
            return
        if options.verbose and outcome.run is not None:
            console.print(render_outcome(outcome.run, show_context=True))
        console.print(_line(outcome), soft_wrap=True)

    started = time.monotonic()
    outcomes = run_jobs(settings, jobs, options.jobs, on_start=on_start, on_done=on_done)
    elapsed = time.monotonic() - started
    if options.junit_xml:
        write_junit(Path(options.junit_xml), outcomes, repository=packs_root.parent)
    if options.json:
        print(terminal_json(_document(outcomes)))
    else:
        console.print(summary_table(outcomes))
        text, style = _totals(outcomes, elapsed)
        console.print(Text(text, style=style))
    return ExitStatus.FAILED if any(item.status == FAILED for item in outcomes) else ExitStatus.OK
