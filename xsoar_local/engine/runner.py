"""Run one integration command in a fresh child process and fold its entries into the incident."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xsoar_local.engine.box import resolve, resolve_beside
from xsoar_local.engine.entries import LogEntry, entry_contexts, is_error

# Re-exported: callers and tests import the child's environment from here.
from xsoar_local.engine.environment import check_runtime as check_runtime
from xsoar_local.engine.environment import child_environment as child_environment
from xsoar_local.engine.executors import RunOptions, executor_for, refuse_nested
from xsoar_local.engine.integration import CommandSpec, Integration
from xsoar_local.engine.jobs import INTEGRATION, PYTHON, Job, JobResult
from xsoar_local.engine.warroom import check_args, split_debug_mode
from xsoar_local.errors import EngineError  # the engine's own failures: one class, the category's
from xsoar_local.incident.model import Incident
from xsoar_local.redact import Redactor
from xsoar_local.runtime import DEFAULT_DESTINATION

if TYPE_CHECKING:
    from xsoar_local.engine.scripts import Script

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class CommandRun:
    """What one command produced: entries, logs, and the incident after its EntryContext was merged."""

    command: str
    args: dict[str, Any]
    instance: str
    entries: list[dict[str, Any]]
    logs: list[LogEntry]
    incident: Incident
    crashed: bool = False
    exit_code: int | None = None
    duration: float = 0.0
    debug: bool = False
    last_run: dict[str, Any] = field(default_factory=dict)
    result: JobResult = field(default_factory=JobResult, repr=False)  # the executor's whole result
    context_sets: tuple[tuple[str, Any], ...] = ()  # setContext calls in order, to re-apply on a newer incident
    # The commands and scripts it ran through demisto.executeCommand: their context changes are the run's too.
    nested: tuple[CommandRun, ...] = ()
    # A server-native command's change to the incident (fields and context), re-applied on a newer copy.
    edit: Callable[[Incident], Incident] | None = field(default=None, repr=False, compare=False)
    brand: str = ""  # set for the engine's own commands (Builtin, or Scripts for a toolkit fallback)

    @property
    def is_error(self) -> bool:
        """True when the command returned an error entry (the CLI exits non-zero)."""
        return any(is_error(entry) for entry in self.entries)

    @property
    def error_messages(self) -> list[str]:
        """The Contents of the error entries."""
        return [str(entry.get("Contents")) for entry in self.entries if is_error(entry)]


def default_instance_name(integration: Integration) -> str:
    """The name the server gives a brand's first instance."""
    return f"{integration.brand}_instance_1"


def command_spec(integration: Integration, name: str) -> CommandSpec:
    """The command's spec, or an EngineError listing the commands the integration has."""
    spec = integration.command(name)
    if spec is None:
        known = ", ".join(sorted(command.name for command in integration.commands)) or "none"
        raise EngineError(f"{integration.name} has no command {name!r} (its commands: {known}, test-module)")
    return spec


def build_job(
    target: Integration | Script,
    incident: Incident,
    *,
    args: Mapping[str, Any],
    kind: str = INTEGRATION,
    command: str = "",
    params: Mapping[str, Any] | None = None,
    instance: str = "",
    debug: bool = False,
    integration_context_version: int = 0,
    last_run: Mapping[str, Any] | None = None,
    runtime_dir: Path = DEFAULT_DESTINATION,
) -> Job:
    """The one builder of engine jobs: an integration's `command` on `instance`, or a script (`kind` script,
    transformer or filter), on `incident`. Paths are made absolute here."""
    integration = isinstance(target, Integration)
    folder = Path(target.folder)
    resolved = resolve(folder)
    return Job(
        kind=INTEGRATION if integration else kind,
        name=target.name,
        language=getattr(target, "type", PYTHON) or PYTHON,
        # absolute: every executor runs the code in a working folder of its own
        code_path=str(resolve_beside(Path(target.code_path), folder, resolved)) if target.code_path else None,
        code=target.code,
        folder=str(resolved),
        runtime_dir=str(resolve(runtime_dir)),
        command=command if integration else "",
        args=dict(args),
        params=dict(params or {}) if integration else {},
        is_debug=debug,
        brand=target.brand if isinstance(target, Integration) else "",
        instance=instance if integration else "",
        integration_context=incident.integration_context(instance) if integration else {},
        integration_context_version=integration_context_version,
        last_run=dict(last_run or {}),
        context=incident.context,
        incident=incident.fields,
        docker_image=target.docker_image,
    )


def apply_result(incident: Incident, instance: str, result: JobResult | Mapping[str, Any]) -> Incident:
    """The incident after a run: the context the code saw last (its setContext calls and nested commands
    included), then each entry's EntryContext merged in order."""
    if not isinstance(result, JobResult):
        result = JobResult.from_json(result)
    if result.context is not None:
        incident = incident.with_context(dict(result.context))
    else:
        for path, value in result.context_sets:
            incident = incident.with_context_value(path, value)
    for entry_context in entry_contexts([dict(entry) for entry in result.entries]):
        incident = incident.with_entry_context(entry_context)
    return incident.with_integration_context(instance, dict(result.integration_context))


RequestHandler = Callable[[dict[str, Any]], dict[str, Any]]


def run_job(
    job: Job,
    *,
    on_request: RequestHandler | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    python: str = sys.executable,
    warm: bool | None = None,
) -> JobResult:
    """Run `job` on the executor chosen for it (xsoar_local.engine.executors: its language, the warm switch)."""
    executor = executor_for(job, warm=warm)
    return executor.run(job, on_request or refuse_nested, RunOptions(env=env, timeout=timeout, python=python))


def run_command(
    integration: Integration,
    command: str,
    args: Mapping[str, Any],
    params: Mapping[str, Any],
    incident: Incident,
    *,
    instance_name: str | None = None,
    debug: bool = False,
    env: Mapping[str, str] | None = None,
    check: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    python: str = sys.executable,
    on_request: RequestHandler | None = None,
    integration_context_version: int = 0,
    last_run: Mapping[str, Any] | None = None,
    warm: bool | None = None,
    runtime_dir: Path = DEFAULT_DESTINATION,
) -> CommandRun:
    """Run `command` with already-built params; return entries, logs and the updated incident.

    `args` are used as given unless `check=True` (then `check_args` applies the YAML's rules). A
    `debug-mode=true` arg is removed and turns on debug mode, as the engine does. `incident` is not
    modified: the result's `incident` carries the merged context and the instance's integration context.
    The child's environment is `child_environment(os.environ, env)`: an allow-list, with `env` on top.
    `on_request` answers the code's `demisto.executeCommand` calls (by default: refused). `warm` picks the
    executor (None: the process's warm switch, see xsoar_local.engine.executors).
    """
    spec = command_spec(integration, command)
    if check:
        args = check_args(spec, args)
    args, debug_mode = split_debug_mode(args)
    debug = debug or debug_mode
    instance = instance_name or default_instance_name(integration)
    started = time.monotonic()
    job = build_job(
        integration,
        incident,
        args=args,
        command=command,
        params=params,
        instance=instance,
        debug=debug,
        integration_context_version=integration_context_version,
        last_run=last_run,
        runtime_dir=runtime_dir,
    )
    result = run_job(job, on_request=on_request, env=env, timeout=timeout, python=python, warm=warm)
    # Nothing the run shows or saves may hold the instance's secrets (see xsoar_local.redact).
    redactor = Redactor.for_params(params, {spec.name: spec.type for spec in integration.params})
    return to_command_run(command, args, instance, incident, result, started, debug, redactor)


def to_command_run(
    command: str,
    args: Mapping[str, Any],
    instance: str,
    incident: Incident,
    result: JobResult,
    started: float,
    debug: bool,
    redactor: Redactor | None = None,
) -> CommandRun:
    """The CommandRun of an executor's result; with `redactor`, nothing in it holds the instance's secrets."""
    logs = list(result.logs) + list(result.raw_output)
    if redactor is not None:
        logs = [LogEntry(log.level, redactor.text(log.message)) for log in logs]
        result = result.with_values(
            entries=tuple(redactor.value([dict(entry) for entry in result.entries])),
            context_sets=tuple((path, value) for path, value in redactor.value(list(result.context_sets))),
            raw_results=tuple(redactor.value(list(result.raw_results))),
            context=None if result.context is None else redactor.value(dict(result.context)),
        )
    return CommandRun(
        command=command,
        args=dict(args),
        instance=instance,
        entries=[dict(entry) for entry in result.entries],
        logs=logs,
        incident=apply_result(incident, instance, result),
        crashed=result.crashed,
        exit_code=result.exit_code,
        duration=time.monotonic() - started,
        debug=debug,
        last_run=dict(result.last_run),
        result=result,
        context_sets=result.context_sets,
    )


def merge_run(incident: Incident, run: CommandRun) -> Incident:
    """`incident` with the run's changes re-applied (as the server merges them): first what its nested
    executeCommand calls changed, then a server-native command's edit, then its own setContext calls, then its
    entries' EntryContexts.

    The run's own final context is never copied over: it started from an older copy of the incident, and
    others may have changed the incident since.
    """
    for inner in run.nested:
        incident = merge_run(incident, inner)
    if run.edit is not None:
        incident = run.edit(incident)
    result = JobResult(entries=tuple(run.entries), context_sets=run.context_sets)
    merged = apply_result(incident, run.instance, result)
    return Incident(fields=merged.fields, context=merged.context)


def with_nested(run: CommandRun, nested: list[CommandRun]) -> CommandRun:
    """The run with the commands it ran through executeCommand; the incident fields those changed (setIncident,
    closeInvestigation) are the run's too (its context already holds their context changes)."""
    run = replace(run, nested=tuple(nested))
    if not any(_edits(inner) for inner in nested):
        return run
    fields = merge_run(run.incident, run).fields
    return replace(run, incident=replace(run.incident, fields=dict(fields)))


def _edits(run: CommandRun) -> bool:
    return run.edit is not None or any(_edits(inner) for inner in run.nested)
