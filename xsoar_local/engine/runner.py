"""Run one integration command in a fresh child process and fold its entries into the incident."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsoar_local.engine import codecache
from xsoar_local.engine.confine import BOX_VARIABLE, LIMITER, Box, Limits, kill_group
from xsoar_local.engine.entries import LogEntry, crash_entry, entry_contexts, is_error
from xsoar_local.engine.integration import CommandSpec, Integration
from xsoar_local.engine.sandbox import CHANNEL_FD_VARIABLE
from xsoar_local.engine.warroom import check_args, parse_war_room, split_debug_mode
from xsoar_local.errors import EngineError  # the engine's own failures: one class, the category's
from xsoar_local.incident.store import Incident
from xsoar_local.redact import Redactor
from xsoar_local.runtime import (
    CACHE_ENV_VAR,
    DEFAULT_DESTINATION,
    REPO_ROOT,
    RuntimeTamperedError,
    in_checkout,
    read_verified,
)

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
    result: dict[str, Any] = field(default_factory=dict, repr=False)  # the sandbox's whole result
    context_sets: tuple[tuple[str, Any], ...] = ()  # setContext calls in order, to re-apply on a newer incident
    # The commands and scripts it ran through demisto.executeCommand: their context changes are the run's too.
    nested: tuple[CommandRun, ...] = ()

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
    integration: Integration,
    command: str,
    args: Mapping[str, Any],
    params: Mapping[str, Any],
    incident: Incident,
    *,
    instance: str,
    debug: bool,
    runtime_dir: Path = DEFAULT_DESTINATION,
) -> dict[str, Any]:
    """The JSON job the sandbox reads (seam #2: `xsoar_local.engine.sandbox.run_job`)."""
    return {
        "kind": "integration",
        "name": integration.name,
        "code_path": str(integration.code_path) if integration.code_path else None,
        "code": integration.code,
        "folder": str(integration.folder),
        "runtime_dir": str(runtime_dir),
        "command": command,
        "args": dict(args),
        "params": dict(params),
        "is_debug": debug,
        "brand": integration.brand,
        "instance": instance,
        "integration_context": incident.integration_context(instance),
        "context": incident.context,
        "incident": incident.fields,
        "docker_image": integration.docker_image,
        # CSUP is not merged into out-of-the-box (system) integrations; content packs' own ones get it
        "use_csup": True,
    }


def apply_result(incident: Incident, instance: str, result: Mapping[str, Any]) -> Incident:
    """The incident after a run: the context the code saw last (its setContext calls and nested commands
    included), then each entry's EntryContext merged in order."""
    if isinstance(result.get("context"), dict):
        incident = incident.with_context(result["context"])
    else:
        for path, value in result.get("context_sets") or ():
            incident = incident.with_context_value(str(path), value)
    for entry_context in entry_contexts(list(result.get("entries") or ())):
        incident = incident.with_entry_context(entry_context)
    return incident.with_integration_context(instance, result.get("integration_context") or {})


# What the child needs to run at all, taken from this process whether or not the caller passes `env`.
# TEMP/TMP are TMPDIR's Windows names; SYSTEMROOT is needed there to start Python. The COVERAGE_* variables
# let `coverage` follow the sandbox into the child (they name a config file, nothing secret).
RUNTIME_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "PYTHONPATH",
        "PYTHONHOME",
        "COVERAGE_PROCESS_START",
        "COVERAGE_PROCESS_CONFIG",
    }
)
RUNTIME_PREFIXES = ("LC_",)
# What an XSOAR engine passes through to an integration's container: the proxy ("Use system proxy settings"
# reads these, in either case), the CA bundle, and the request timeout CommonServerPython's BaseClient reads
# (REQUESTS_TIMEOUT, or REQUESTS_TIMEOUT.<brand> for one integration).
NETWORK_VARIABLES = frozenset(
    {
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_TIMEOUT",
    }
)
NETWORK_PREFIXES = ("REQUESTS_TIMEOUT.",)


def _selected(environ: Mapping[str, str], names: frozenset[str], prefixes: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name in names or name.startswith(prefixes)}


def _check_timeout(name: str, value: str) -> None:
    """CommonServerPython turns the variable into a float deep inside a request; say what is wrong up front."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise EngineError(f"{name}={value!r} is not a number of seconds: set it to a number such as 30, or unset it.")


def import_root(package_root: Path = REPO_ROOT, cache: Path | None = None) -> Path:
    """The folder the child imports xsoar_local from: a checkout itself, else (an installed package, whose
    `package_root` is the site-packages it went into) a folder of the user's cache holding only a link to the
    package. Put first on PYTHONPATH, a whole site-packages would hide the packages of the child's own environment
    (an image's pins) behind the toolkit's, and open all of it to the sandbox."""
    package = (package_root / "xsoar_local").resolve()
    if in_checkout(package_root) or not package.is_dir():
        return package_root
    if cache is None:
        cache = Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache") / "xsoar-local" / "import"
    folder = cache / hashlib.sha256(str(package).encode()).hexdigest()[:16]
    link = folder / "xsoar_local"
    try:
        if not (link.is_symlink() and Path(os.readlink(link)) == package):
            folder.mkdir(parents=True, exist_ok=True)
            staged = folder / f".xsoar_local-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.symlink(package, staged, target_is_directory=True)
            os.replace(staged, link)  # atomic: a parallel run sees the old link or the new one, never none
    except OSError:
        return package_root  # no cache to write (or no links here): the site-packages, as before
    return folder


def child_environment(
    parent: Mapping[str, str], env: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT
) -> dict[str, str]:
    """The environment of the sandbox process: an allow-list, never the caller's whole environment.

    CommonServerPython logs `os.environ` in debug mode, unmasked, so a token in the developer's shell must not
    reach the child. From `parent` come the variables Python needs to run (PATH, HOME, locale, TZ, temp folder,
    PYTHONPATH) and, only when `env` is None, the network settings an engine passes through (proxy, CA, timeout).
    When `env` is given it decides the network settings alone, so a test's outcome cannot depend on the shell;
    every variable in `env` is set on top. The folder the sandbox imports xsoar_local from (`import_root`) is
    put first on PYTHONPATH.
    """
    child = _selected(parent, RUNTIME_VARIABLES, RUNTIME_PREFIXES)
    if env is None:
        child.update(_selected(parent, NETWORK_VARIABLES, NETWORK_PREFIXES))
    else:
        child.update(env)
    for name, value in child.items():
        if name == "REQUESTS_TIMEOUT" or name.startswith(NETWORK_PREFIXES):
            _check_timeout(name, value)
    child["PYTHONPATH"] = os.pathsep.join(filter(None, [str(import_root(repo_root)), child.get("PYTHONPATH", "")]))
    child.setdefault("PYTHONIOENCODING", "utf-8")
    return child


RequestHandler = Callable[[dict[str, Any]], dict[str, Any]]
# How a job is run: `run_in_child` below (a fresh process), or a warm worker with the same signature
# (`xsoar_local.server.workers.WarmPool.run_job`).
JobRunner = Callable[..., tuple[dict[str, Any], list[LogEntry]]]


def check_runtime(runtime_dir: Path = DEFAULT_DESTINATION) -> None:
    """Before anything runs: a tampered runtime stops the run with one line (the child checks again). The
    runtime's compiled form is put in its cache here, outside the sandbox: the child may only read it."""
    try:
        verified = read_verified(runtime_dir)
    except RuntimeTamperedError as error:
        raise EngineError(str(error)) from error
    folder = runtime_dir.resolve()  # the child names the files by the resolved folder, and so does the cache key
    for name in ("CommonServerPython.py", "CommonServerUserPython.py"):
        if name in verified:
            codecache.ensure(str(folder / name), verified[name], folder / codecache.CACHE_FOLDER)


def _no_nested_commands(request: dict[str, Any]) -> dict[str, Any]:
    return {"error": f"executeCommand({request.get('command')!r}): no content catalog to run it (use --packs)"}


def run_in_child(
    job: dict[str, Any],
    *,
    on_request: RequestHandler = _no_nested_commands,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    python: str = sys.executable,
) -> tuple[dict[str, Any], list[LogEntry]]:
    """Run `job` in a fresh `python -m xsoar_local.engine.sandbox`, answering its executeCommand requests.

    Returns the sandbox's result and the raw output that bypassed its capture. The child's stdout and stderr go
    to files (never pipes), so a chatty child cannot block while the parent waits on the request channel.
    """
    check_runtime(Path(str(job.get("runtime_dir") or DEFAULT_DESTINATION)))
    limits = Limits.from_environment(timeout=timeout)
    with LIMITER.slot(limits):  # waiting in line does not count against the time limit
        return _run_in_box(job, on_request, env, timeout, python, limits)


def _run_in_box(
    job: dict[str, Any],
    on_request: RequestHandler,
    env: Mapping[str, str] | None,
    timeout: float,
    python: str,
    limits: Limits,
) -> tuple[dict[str, Any], list[LogEntry]]:
    deadline = time.monotonic() + timeout
    on_request = LIMITER.lend(on_request)  # nested commands run on this command's place in the queue
    with tempfile.TemporaryDirectory(prefix="xsoar-local-") as workdir:
        result_path = Path(workdir) / "result.json"
        job = {**job, "result_path": str(result_path)}
        for key in ("code_path", "folder", "runtime_dir"):  # the child works in its own folder
            if job.get(key):
                job[key] = str(Path(str(job[key])).resolve())
        requests_read, requests_write = os.pipe()
        environment = child_environment(os.environ, env)
        environment[CHANNEL_FD_VARIABLE] = str(requests_write)
        box = Box.for_job(job, workdir, environment, limits).prepare()
        environment[BOX_VARIABLE] = box.to_json()
        with open(Path(workdir) / "stdout", "w+b") as out, open(Path(workdir) / "stderr", "w+b") as err:
            try:
                process = subprocess.Popen(
                    # the sandbox starts inside the box (xsoar_local.engine.confine), in a session of its own
                    [python, "-m", "xsoar_local.engine.confine", "xsoar_local.engine.sandbox"],
                    start_new_session=True,
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=err,
                    env=environment,
                    pass_fds=(requests_write,),
                    text=True,
                    # as in a container: files the code writes (fileResult) land in a folder of its own, not ours
                    cwd=workdir,
                )
            except BaseException:
                kill_group(None, box)
                raise
            finally:
                os.close(requests_write)
            try:
                timed_out = _converse(process, requests_read, job, on_request, deadline)
            finally:
                kill_group(process.pid, box)  # whatever the command started ends with it, even on an error
                process.wait()
            if timed_out:
                message = f"The command did not finish within {timeout:g} seconds; the engine stopped it."
                return {"entries": [crash_entry(message)], "crashed": True}, []
            out.seek(0)
            err.seek(0)
            stdout_text = out.read().decode("utf-8", "replace")
            stderr_text = err.read().decode("utf-8", "replace")
        result = _read_result(result_path, process.returncode, stderr_text)
    # output that bypassed sys.stdout (C extensions, os.write) still reaches the log
    raw_logs = [LogEntry("stdout", line) for line in stdout_text.splitlines()]
    raw_logs += [LogEntry("stderr", line) for line in stderr_text.splitlines()]
    return result, raw_logs


def _converse(
    process: subprocess.Popen[str], requests_read: int, job: dict[str, Any], on_request: RequestHandler, deadline: float
) -> bool:
    """Send the job, answer the child's requests until it ends; True when the deadline passed first."""
    assert process.stdin is not None
    timed_out = False
    with os.fdopen(requests_read, "r", encoding="utf-8") as requests:
        try:
            process.stdin.write(json.dumps(job, default=str) + "\n")
            process.stdin.flush()
            while True:
                # a child of the content may hold the channel open after the sandbox ended: its exit decides
                ready, _, _ = select.select([requests], [], [], min(0.5, max(0.0, deadline - time.monotonic())))
                if not ready:
                    if process.poll() is not None:
                        break
                    if time.monotonic() >= deadline:
                        timed_out = True
                        break
                    continue
                line = requests.readline()
                if not line:
                    break  # the child closed the channel: it has finished
                reply = on_request(json.loads(line))
                process.stdin.write(json.dumps(reply, default=str) + "\n")
                process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child died mid-conversation; its exit status tells the rest
    with contextlib.suppress(OSError):
        process.stdin.close()
    try:
        process.wait(timeout=0 if timed_out else max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
    return timed_out


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
    on_request: RequestHandler = _no_nested_commands,
    integration_context_version: int = 0,
    last_run: Mapping[str, Any] | None = None,
    job_runner: JobRunner | None = None,
) -> CommandRun:
    """Run `command` with already-built params in a fresh process; return entries, logs and the updated incident.

    `args` are used as given unless `check=True` (then `check_args` applies the YAML's rules). A
    `debug-mode=true` arg is removed and turns on debug mode, as the engine does. `incident` is not
    modified: the result's `incident` carries the merged context and the instance's integration context.
    The child's environment is `child_environment(os.environ, env)`: an allow-list, with `env` on top.
    `on_request` answers the code's `demisto.executeCommand` calls (by default: refused). `job_runner` runs the
    job (default `run_in_child`: a fresh process).
    """
    spec = command_spec(integration, command)
    if check:
        args = check_args(spec, args)
    args, debug_mode = split_debug_mode(args)
    debug = debug or debug_mode
    instance = instance_name or default_instance_name(integration)
    started = time.monotonic()
    job = build_job(integration, command, args, params, incident, instance=instance, debug=debug)
    job["integration_context_version"] = integration_context_version
    job["last_run"] = dict(last_run or {})
    runner = job_runner or run_in_child
    result, raw_logs = runner(job, on_request=on_request, env=env, timeout=timeout, python=python)
    # Nothing the run shows or saves may hold the instance's secrets (see xsoar_local.redact).
    redactor = Redactor.for_params(params, {spec.name: spec.type for spec in integration.params})
    return _command_run(command, args, instance, incident, result, raw_logs, started, debug, redactor)


def _command_run(
    command: str,
    args: Mapping[str, Any],
    instance: str,
    incident: Incident,
    result: Mapping[str, Any],
    raw_logs: list[LogEntry],
    started: float,
    debug: bool,
    redactor: Redactor | None = None,
) -> CommandRun:
    """The CommandRun of a sandbox result; with `redactor`, nothing in it holds the instance's secrets."""
    result = dict(result)
    logs = [LogEntry(str(log["level"]), str(log["message"])) for log in result.get("logs") or ()] + raw_logs
    if redactor is not None:
        logs = [LogEntry(log.level, redactor.text(log.message)) for log in logs]
        for key in ("entries", "context_sets", "raw_results"):
            result[key] = redactor.value(result.get(key) or [])
        if isinstance(result.get("context"), dict):
            result["context"] = redactor.value(result["context"])
    return CommandRun(
        command=command,
        args=dict(args),
        instance=instance,
        entries=list(result.get("entries") or ()),
        logs=logs,
        incident=apply_result(incident, instance, result),
        crashed=bool(result.get("crashed")),
        exit_code=result.get("exit_code"),
        duration=time.monotonic() - started,
        debug=debug,
        last_run=dict(result.get("last_run") or {}),
        result=dict(result),
        context_sets=tuple((str(path), value) for path, value in result.get("context_sets") or ()),
    )


def _read_result(path: Path, returncode: int, stderr: str) -> dict[str, Any]:
    """The sandbox's result file, or a crash report when the child died before writing it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        message = f"The engine's child process ended with status {returncode} without a result. {tail}"
        return {"entries": [crash_entry(message.strip())], "crashed": True}
    if not isinstance(data, dict):
        return {"entries": [crash_entry("The engine's child process wrote a malformed result.")], "crashed": True}
    return data


def run_war_room(
    integration: Integration,
    line: str,
    params: Mapping[str, Any],
    incident: Incident,
    **options: Any,
) -> CommandRun:
    """Parse a War Room line, check its args as the server does, and run it."""
    parsed = parse_war_room(line)
    args = check_args(command_spec(integration, parsed.name), parsed.args, parsed.positional)
    return run_command(integration, parsed.name, args, params, incident, **options)
