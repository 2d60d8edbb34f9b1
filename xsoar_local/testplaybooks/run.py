"""Run selected test playbooks, each on a fresh incident in its own session, one after another or `-j N` at once.

Parallel runs use worker processes (one session per playbook: its own stand-in, its own instances), so a crash
or a stuck service in one playbook cannot reach another. Every outcome is plain data, in selection order.

What does not change between playbooks is set up once per process, not once per playbook: the content root's
catalog (every YAML of every pack, read once) and the warm executors (`engine.executors`: one worker per docker
image, started by the first task that needs it, reused by every later playbook of that process). Worker processes
are forked from this one where it is safe (no thread running yet), so they start with the toolkit imported and the
catalog read; elsewhere they are spawned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import multiprocessing
import multiprocessing.util
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from xsoar_local.engine import executors
from xsoar_local.engine.catalog import ContentCatalog, scan_content
from xsoar_local.engine.images import python_chooser
from xsoar_local.engine.instances import InstanceSet, load_instances
from xsoar_local.engine.limits import Limits
from xsoar_local.engine.state import MemoryInstanceState
from xsoar_local.errors import XsoarLocalError
from xsoar_local.incident.model import Incident
from xsoar_local.instance import DefaultInstances, ParamSources
from xsoar_local.playbook.deadline import Deadline
from xsoar_local.playbook.integrations import DeadlineSession, EngineExecutor
from xsoar_local.playbook.library import CatalogContent
from xsoar_local.playbook.model import load_playbook
from xsoar_local.playbook.report import run_to_json
from xsoar_local.playbook.runner import PlaybookRun, PlaybookRunner, TaskResult
from xsoar_local.redact import mask_error
from xsoar_local.testplaybooks.conf import CONF_PATH, ConfError, PlaybookTimeout, TestsConf
from xsoar_local.testplaybooks.selection import TestPlaybook

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class RunSettings:
    """What every playbook's session is configured with (the command line's options, picklable)."""

    packs: str
    instances: str | None = None
    real: bool = False
    params: tuple[str, ...] = ()
    params_file: str | None = None
    env_file: str | None = None
    max_steps: int = 1000
    timeout: float | None = None  # each command's time limit (--timeout; else XSOAR_LOCAL_TIMEOUT, else 300 s)

    @classmethod
    def from_options(cls, options: Any) -> RunSettings:
        """The settings the `test-playbooks` options give."""
        return cls(
            packs=str(options.packs),
            instances=options.instances,
            real=bool(options.real),
            params=tuple(options.param or ()),
            params_file=options.params_file,
            env_file=options.env_file,
            max_steps=int(options.max_steps),
            timeout=options.timeout,
        )


@dataclass(frozen=True)
class Job:
    """One playbook to run, with what Tests/conf.json says of it."""

    playbook: TestPlaybook
    integrations: tuple[str, ...] = ()
    instance_names: tuple[str, ...] = ()
    skip: str | None = None
    timeout: PlaybookTimeout | None = None  # how long the whole playbook may run (None: no limit)


@dataclass(frozen=True)
class Outcome:
    """How one playbook ended: passed (completed), failed (why) or skipped (why), and how long it took."""

    playbook: TestPlaybook
    status: str
    seconds: float = 0.0
    message: str = ""
    document: Mapping[str, Any] = field(default_factory=dict)
    run: PlaybookRun | None = field(default=None, compare=False, repr=False)  # in this process only (for -v)


def plan(
    playbooks: Sequence[TestPlaybook], conf: TestsConf, default_timeout: PlaybookTimeout | None = None
) -> list[Job]:
    """A job per playbook, carrying its conf.json integrations, instances, skip reason (or its version's) and timeout
    (`default_timeout`, from --playbook-timeout, for those without their own: see `TestsConf.timeout_for`)."""
    jobs = []
    for item in playbooks:
        entry = conf.entry(item.id)
        jobs.append(
            Job(
                item,
                entry.integrations if entry else (),
                entry.instance_names if entry else (),
                item.other_version or conf.skip_reason(item.id),
                conf.timeout_for(item.id, default_timeout),
            )
        )
    return jobs


def _narrowed(instances: InstanceSet, job: Job, catalog: ContentCatalog, defaults: DefaultInstances) -> InstanceSet:
    """The instances the job uses: conf.json's `instance_names` win over other instances of their brands."""
    for integration in job.integrations:
        if not catalog.with_brand(integration):
            raise ConfError(
                f"{CONF_PATH} says {job.playbook.id!r} uses the integration {integration!r}, which no pack in "
                f"{catalog.root} holds (its integrations: {', '.join(catalog.brands()) or 'none'})"
            )
    if not job.instance_names:
        return instances
    configured = [item.name for item in instances.configured]
    missing = [name for name in job.instance_names if name not in configured]
    if missing:
        where = f"the instances file {instances.source}" if instances.source else "no --instances file"
        raise ConfError(
            f"{CONF_PATH} gives {job.playbook.id!r} the instance(s) {', '.join(missing)}, which {where} defines "
            f"(its instances: {', '.join(configured) or 'none'}): add them there, or pass --instances FILE"
        )
    brands = {item.brand for item in instances.configured if item.name in job.instance_names}
    kept = [item for item in instances.configured if item.name in job.instance_names or item.brand not in brands]
    return InstanceSet(catalog, kept, instances.source, defaults, defaults.name_for)


def _document(job: Job, error: str) -> dict[str, Any]:
    item = job.playbook
    return {
        "playbook": {"id": item.id, "name": item.name, "source": str(item.path)},
        "completed": False,
        "error": error,
    }


def run_job(settings: RunSettings, job: Job, on_task: Callable[[TaskResult], None] | None = None) -> Outcome:
    """Run one job in this process; never raises for the content's or the set-up's faults."""
    if job.skip is not None:
        return Outcome(job.playbook, SKIPPED, 0.0, job.skip)
    started = time.monotonic()
    try:
        run = _run(settings, job, on_task)
    except XsoarLocalError as error:  # the content's or the set-up's fault: this playbook fails, the others run
        message = mask_error(error)
        return Outcome(job.playbook, FAILED, time.monotonic() - started, message, _document(job, message))
    except Exception as error:  # a bug while running one playbook must not lose the others' report
        message = f"unexpected {type(error).__name__}: {mask_error(error)} (a bug in xsoar-local: report it)"
        return Outcome(job.playbook, FAILED, time.monotonic() - started, message, _document(job, message))
    seconds = time.monotonic() - started
    status = PASSED if run.completed else FAILED
    return Outcome(job.playbook, status, seconds, "" if run.completed else str(run.error), run_to_json(run), run)


# The content root's catalog, read once per process: a test-playbooks run never changes its content.
_catalogs: dict[str, ContentCatalog] = {}


def content_catalog(packs: str) -> ContentCatalog:
    """The catalog of the content root `packs`, read on first use in this process and reused after."""
    key = str(Path(packs).resolve())
    catalog = _catalogs.get(key)
    if catalog is None:
        catalog = _catalogs[key] = scan_content(Path(packs))
    return catalog


def _run(settings: RunSettings, job: Job, on_task: Callable[[TaskResult], None] | None) -> PlaybookRun:
    playbook = load_playbook(job.playbook.path)
    options = SimpleNamespace(
        params_file=settings.params_file, env_file=settings.env_file, param=settings.params, real=settings.real
    )
    with contextlib.ExitStack() as stack:
        catalog = content_catalog(settings.packs)
        sources = ParamSources.from_options(options, os.environ)
        sources.check()
        defaults = DefaultInstances(sources, stack)
        source = Path(settings.instances) if settings.instances else None
        instances = _narrowed(load_instances(catalog, source, defaults, defaults.name_for), job, catalog, defaults)
        limit = Limits.from_environment(timeout=settings.timeout).timeout
        # The playbook's clock starts once its instances are set up, as a server's starts with the incident.
        deadline = Deadline(job.timeout.seconds, job.timeout.source) if job.timeout is not None else None
        engine = DeadlineSession(
            catalog, instances, MemoryInstanceState(), python_for=python_chooser(), timeout=limit, deadline=deadline
        )
        executor = EngineExecutor(engine)
        runner = PlaybookRunner(
            executor,
            max_steps=settings.max_steps,
            on_task=on_task,
            operators=executor.operators,
            content=CatalogContent(engine.catalog, engine.instances),  # sub-playbooks and scripts of the root
            deadline=deadline,
        )
        return runner.run(playbook, fresh_incident(playbook.id))


def fresh_incident(playbook_id: str) -> Incident:
    """The new incident a server runs a test playbook on: the fields it always sets (content reads
    `${incident.created}` and `${incident.occurred}`), and an empty context."""
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fields: dict[str, Any] = {
        "id": "1",
        "name": f"Test playbook {playbook_id}",
        "type": "Unclassified",
        "severity": 0,
        "status": 1,
        "labels": [],
        "owner": "",
        "created": now,
        "occurred": now,
        "modified": now,
        "playbookId": playbook_id,
        "investigationId": "1",
        "CustomFields": {},
    }
    return Incident(fields=fields)


def _worker_context() -> multiprocessing.context.BaseContext:
    """fork while this process runs no other thread (a fork copies no thread, and a lock another thread held
    would stay locked in the copy), so workers start without importing the toolkit again; else spawn."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _worker_start() -> None:
    """In each worker process: stop its warm executors when the pool ends it (a forked worker leaves through
    multiprocessing's own exit, which runs its finalizers but not `atexit`)."""
    multiprocessing.util.Finalize(None, executors.shutdown, exitpriority=10)


def _run_job_in_worker(settings: RunSettings, job: Job) -> Outcome:
    return dataclasses.replace(run_job(settings, job), run=None)  # the run's objects stay in the worker


def run_jobs(
    settings: RunSettings,
    jobs: Sequence[Job],
    workers: int = 1,
    *,
    on_start: Callable[[Job], Callable[[TaskResult], None] | None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every job, `workers` at a time; the outcomes come back in the jobs' order.

    With one worker the jobs run here, one by one, and `on_start` may return a per-task callback (the live work
    plan); with more, each runs in a worker process and only `on_done` reports, as each one ends.
    """
    if workers <= 1 or len([job for job in jobs if job.skip is None]) <= 1:
        outcomes = []
        for job in jobs:
            on_task = on_start(job) if on_start is not None and job.skip is None else None
            outcome = run_job(settings, job, on_task)
            if on_done is not None:
                on_done(outcome)
            outcomes.append(outcome)
        return outcomes
    results: dict[int, Outcome] = {}
    with contextlib.suppress(XsoarLocalError):  # read once here, so forked workers start with it
        content_catalog(settings.packs)
    with ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context(), initializer=_worker_start) as pool:
        futures: dict[Future[Outcome], int] = {}
        for index, job in enumerate(jobs):
            if job.skip is not None:
                results[index] = run_job(settings, job)
                if on_done is not None:
                    on_done(results[index])
                continue
            futures[pool.submit(_run_job_in_worker, settings, job)] = index
        for future in as_completed(futures):
            outcome = future.result()
            results[futures[future]] = outcome
            if on_done is not None:
                on_done(outcome)
    return [results[index] for index in range(len(jobs))]
