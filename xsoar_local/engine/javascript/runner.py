"""Run one XSOAR JavaScript script or integration command in a fresh copy of a prepared QuickJS context.

The prepared context is made once per process and CommonServer.js digest: the glue that defines the
server-native globals (glue.js), then CommonServer.js, evaluated from its verified bytes. Each command then runs
in a fork of this process, so it gets its own copy of that context with CommonServer.js already evaluated:
nothing is parsed again, and whatever a command changes (globals, prototypes) dies with its fork. The parent
never runs JavaScript after preparing, so the prepared context stays as CommonServer.js left it.

Limits (the engine's, xsoar_local.engine.confine): memory (XSOAR_LOCAL_MEMORY_MB) is QuickJS's own limit on the
command's JavaScript heap; time (the engine's timeout) is wall time, enforced by the parent, which kills the fork
at the deadline (QuickJS's CPU-time limit cannot be used: the binding refuses calls into Python, which
`executeCommand` needs, while one is set); each command holds one of the engine's parallel places. The context
has no file, network or process access (the binding's bare context has only the ECMAScript built-ins, and glue.js
adds nothing that reaches the machine), so the fork needs no Landlock box; an address-space limit would count
the caller's whole copied memory, so the heap limit stands in for it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import select
import signal
import threading
import time
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

# The binding's C module: `quickjs.Context` is this very class, but importing the `quickjs` wrapper starts a
# thread pool, and this module forks.
import _quickjs

from xsoar_local.engine.confine import LIMITER, Limits
from xsoar_local.engine.entries import LogEntry, crash_entry
from xsoar_local.engine.javascript.child import CommandState, decode
from xsoar_local.engine.javascript.results import entries_of, thrown_entry
from xsoar_local.errors import EngineError
from xsoar_local.runtime import DEFAULT_DESTINATION, RuntimeTamperedError, read_verified_file, sha256_of

MB = 1024 * 1024
COMMON_SERVER = "CommonServer.js"
RequestHandler = Callable[[dict[str, Any]], dict[str, Any]]


class JavaScriptRuntimeError(EngineError):
    """The JavaScript engine could not be prepared (CommonServer.js missing or not the pinned one)."""


_PREPARED: dict[str, Any] = {}
_PREPARE_LOCK = threading.Lock()
_CURRENT: list[CommandState] = []  # the state of the command this process runs (set in the fork only)


def _host(operation: str, payload: str) -> str:
    """The one host function glue.js calls: answered by the running command's state."""
    if not _CURRENT:
        raise RuntimeError("no JavaScript command is running in this process")
    return _CURRENT[0].answer(operation, payload)


def prepared_context(common_server: bytes) -> Any:
    """The process's prepared context for these CommonServer.js bytes (made on first use)."""
    key = sha256_of(common_server)
    with _PREPARE_LOCK:
        context = _PREPARED.get(key)
        if context is None:
            context = _quickjs.Context()
            context.add_callable("__xsoar_host", _host)
            context.eval(resources.files(__package__).joinpath("glue.js").read_text(encoding="utf-8"))
            context.eval(common_server.decode("utf-8"))
            _PREPARED[key] = context
    return context


def run_javascript(
    code: str,
    *,
    name: str = "script",
    args: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    command: str = "",
    context: Mapping[str, Any] | None = None,
    incident: Mapping[str, Any] | None = None,
    integration_context: Mapping[str, Any] | None = None,
    integration_context_version: int = 0,
    last_run: Mapping[str, Any] | None = None,
    supported_commands: Mapping[str, Any] | None = None,
    on_request: RequestHandler | None = None,
    timeout: float | None = None,
    memory_limit: int | None = None,
    runtime_dir: Path = DEFAULT_DESTINATION,
) -> dict[str, Any]:
    """Run one JavaScript script (or integration command) and return what it produced.

    Inputs, all plain JSON-able values:
      code: the script's JavaScript, a function body as on the server (a top-level `return` is its result);
      name: shown in messages; args: the script's (or command's) arguments, bound to `args`;
      params: the instance's params (`params`, integrations); command: the command (`command`, integrations);
      context: the incident's context (`invContext`); incident: the incident (`incidents[0]`);
      integration_context(_version): the instance's cache and its version; last_run: the fetch state;
      supported_commands: what `getAllSupportedCommands()` answers ({module: [{name: ...}]});
      on_request: answers `executeCommand`: called with {"type": "executeCommand", "command", "args",
        "context", "incident"}, returns {"entries": [...], "context": {...}} or {"error": "..."} (the Python
        sandbox's channel protocol, so the engine's handler serves both languages);
      timeout: wall seconds, nested commands included (default: the engine's, XSOAR_LOCAL_TIMEOUT or 300);
      memory_limit: bytes for the script's JavaScript heap (default: XSOAR_LOCAL_MEMORY_MB, else 2048 MB);
      runtime_dir: the installed runtime holding CommonServer.js (checked against its pinned digest each run).
    Like every command it holds one of the engine's parallel places (XSOAR_LOCAL_MAX_PARALLEL) while it runs;
    its nested commands run on that place.

    Returns the Python sandbox's result shape: `entries`, `raw_results` (the returned value, for transformers
    and filters), `logs` ([{level, message}]), `context` (after setContext and nested commands),
    `context_sets`, `integration_context`, `integration_context_version`, `last_run`, `last_run_set`,
    `fetched_incidents` (None), `exit_code` (None), `crashed` (the engine stopped it: time, memory, a crash).

    Raises JavaScriptRuntimeError when CommonServer.js is missing or differs from its pinned digest.
    """
    try:
        common_server = read_verified_file(COMMON_SERVER, runtime_dir)
    except RuntimeTamperedError as error:
        raise JavaScriptRuntimeError(str(error)) from error
    prepared = prepared_context(common_server)
    limits = Limits.from_environment(timeout=timeout)
    job = {
        "name": name,
        "code": code,
        "args": dict(args or {}),
        "params": dict(params or {}),
        "command": command,
        "context": dict(context or {}),
        "incident": dict(incident or {"id": "1"}),
        "integration_context": dict(integration_context or {}),
        "integration_context_version": integration_context_version,
        "last_run": dict(last_run or {}),
        "supported_commands": dict(supported_commands or {}),
    }
    heap = memory_limit if memory_limit is not None else limits.memory_mb * MB
    with LIMITER.slot(limits):  # waiting in line does not count against the time limit
        lent = LIMITER.lend(on_request) if on_request is not None else None
        return _run_forked(prepared, job, lent, limits.timeout, heap)


def run_job(
    job: Mapping[str, Any],
    *,
    on_request: RequestHandler | None = None,
    timeout: float | None = None,
    **_python_only: Any,
) -> tuple[dict[str, Any], list[LogEntry]]:
    """`run_javascript` behind the engine's JobRunner seam (`engine.runner.run_in_child`'s signature): the same
    job dict the Python sandbox reads (`code` or `code_path`, `name`, `args`, `params`, `command`, `context`,
    `incident`, `integration_context(_version)`, `last_run`, `runtime_dir`, optional `memory_limit` and
    `supported_commands`); `env` and `python` are for Python children and are ignored. No output bypasses the
    engine's capture here, so the second item is always empty."""
    code = str(job.get("code") or "")
    if job.get("code_path"):
        code = Path(str(job["code_path"])).read_text(encoding="utf-8")
    result = run_javascript(
        code,
        name=str(job.get("name") or "script"),
        args=job.get("args"),
        params=job.get("params"),
        command=str(job.get("command") or ""),
        context=job.get("context"),
        incident=job.get("incident"),
        integration_context=job.get("integration_context"),
        integration_context_version=int(job.get("integration_context_version") or 0),
        last_run=job.get("last_run"),
        supported_commands=job.get("supported_commands"),
        on_request=on_request,
        timeout=timeout,
        memory_limit=int(job["memory_limit"]) if job.get("memory_limit") else None,
        runtime_dir=Path(str(job.get("runtime_dir") or DEFAULT_DESTINATION)),
    )
    return result, []


def _run_forked(
    prepared: Any, job: dict[str, Any], on_request: RequestHandler | None, timeout: float, memory_limit: int
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    to_parent_read, to_parent_write = os.pipe()
    to_child_read, to_child_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the command's process: it never returns into the caller's code
        status = 70
        try:
            # nothing of the caller's stays open here: its sockets, files, and other commands' pipes (whose
            # reader would otherwise wait on this copy for an end of input)
            _close_other_fds((to_child_read, to_parent_write))
            # a backstop if this call never gets to kill the fork (its process killed outright): CPU time never
            # runs ahead of wall time, so this fires only after the deadline, and ends an endless loop for good
            cpu = math.ceil(timeout) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU's default action would dump core
            try:
                _child(prepared, job, memory_limit, _Lines(to_child_read), to_parent_write)
            except BaseException as error:  # reported as the engine's crash, never raised into a copy of the caller
                crash = _crashed(f"The JavaScript engine failed running {job['name']}: {type(error).__name__}: {error}")
                _write_line(to_parent_write, {"type": "result", "result": crash})
            status = 0
        finally:
            os._exit(status)
    os.close(to_parent_write)
    os.close(to_child_read)
    lines = _Lines(to_parent_read)
    result: dict[str, Any] | None = None
    timed_out = False
    try:
        while result is None:
            line = lines.read(deadline)
            if isinstance(line, _TimedOut):
                timed_out = True
                break
            if line is None:
                break  # the fork ended without a result
            message = json.loads(line)
            if message.get("type") == "result":
                result = message["result"]
                break
            reply = on_request(message) if on_request is not None else {"error": "no engine to run nested commands"}
            try:
                _write_line(to_child_write, reply)
            except BrokenPipeError:
                break  # the fork died while the engine answered: reported below as ending without a result
    finally:
        if result is None:  # timed out, or the caller's handler raised: the fork must not outlive this call
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(to_parent_read)
        with contextlib.suppress(OSError):
            os.close(to_child_write)
    if timed_out:
        message_text = f"The script {job['name']} did not finish within {timeout:g} seconds; the engine stopped it."
        return _crashed(message_text)
    if result is None:
        return _crashed(f"The JavaScript engine running {job['name']} ended without a result (status {status}).")
    return result


def _close_other_fds(keep: tuple[int, ...]) -> None:
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _child(prepared: Any, job: dict[str, Any], memory_limit: int, replies: _Lines, out: int) -> None:
    """In the fork: bind the command's globals, run the code, send the result."""

    def request(message: dict[str, Any]) -> dict[str, Any]:
        _write_line(out, message)
        line = replies.read(None)
        if not isinstance(line, str):
            return {"error": "the engine closed the channel before answering"}
        reply = json.loads(line)
        return reply if isinstance(reply, dict) else {"error": "the engine sent a malformed reply"}

    state = CommandState(job, request)
    _CURRENT[:] = [state]
    entries: list[dict[str, Any]] = []
    raw_results: list[Any] = []
    crashed = False
    if memory_limit > 0:
        prepared.set_memory_limit(memory_limit)
    try:
        prepared.get("__xsoar_bind")(json.dumps(state.bindings(), default=str))
        outcome = decode(prepared.get("__xsoar_run")(str(job["code"])))
    except _quickjs.JSException as error:
        prepared.set_memory_limit(-1)
        crashed = True
        state.logs.append(LogEntry("error", str(error)))
        entries.append(crash_entry(_engine_stop(job["name"], error, memory_limit)))
    else:
        if "error" in outcome and _out_of_memory(outcome):
            crashed = True  # QuickJS throws it into the script (catchable); it is the engine's limit, not content's
            entries.append(crash_entry(_memory_message(job["name"], memory_limit)))
        elif "error" in outcome:
            state.logs.append(LogEntry("error", f"{outcome['error']}\n{outcome.get('stack') or ''}".strip()))
            entries.append(thrown_entry(str(outcome["error"])))
        elif "value" in outcome:
            raw_results.append(outcome["value"])
            entries.extend(entries_of(outcome["value"]))
    result = {
        "entries": entries,
        "raw_results": raw_results,
        "logs": [log.to_json() for log in state.logs],
        "context": state.context,
        "context_sets": state.context_sets,
        "integration_context": state.integration_context,
        "integration_context_version": state.integration_context_version,
        "last_run": state.last_run,
        "last_run_set": state.last_run_set,
        "fetched_incidents": None,
        "exit_code": None,
        "crashed": crashed,
    }
    _write_line(out, {"type": "result", "result": result})


def _engine_stop(name: str, error: Exception, memory_limit: int) -> str:
    """Why QuickJS stopped the script, for its error entry."""
    text = str(error).strip()
    if text.startswith("null") or "out of memory" in text:
        return _memory_message(name, memory_limit)
    if "stack overflow" in text or "too much recursion" in text:
        return f"The script {name} overflowed the JavaScript stack (runaway recursion?); the engine stopped it."
    return f"The JavaScript engine stopped {name}: {text.splitlines()[0] if text else type(error).__name__}"


_OUT_OF_MEMORY = "InternalError: out of memory"


def _out_of_memory(outcome: Mapping[str, Any]) -> bool:
    """QuickJS throws an InternalError when the memory limit is hit, or a bare `null` (no stack) when it could
    not even allocate that error."""
    error, stack = str(outcome.get("error")), str(outcome.get("stack") or "")
    return error.startswith(_OUT_OF_MEMORY) or (error == "null" and not stack)


def _memory_message(name: str, memory_limit: int) -> str:
    megabytes = memory_limit / MB
    return f"The script {name} used more than its {megabytes:g} MB memory limit; the engine stopped it."


def _crashed(message: str) -> dict[str, Any]:
    return {
        "entries": [crash_entry(message)],
        "raw_results": [],
        "logs": [],
        "crashed": True,
        "exit_code": None,
    }


def _write_line(fd: int, message: Mapping[str, Any]) -> None:
    data = (json.dumps(message, default=str) + "\n").encode("utf-8")
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class _TimedOut:
    """The deadline passed before a whole line arrived."""


_TIMED_OUT = _TimedOut()


class _Lines:
    """Whole lines from a pipe, waiting at most until a deadline (select-safe: buffered here, not in a file)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def read(self, deadline: float | None) -> str | _TimedOut | None:
        """The next line; None at end of input; _TIMED_OUT when `deadline` (monotonic) passed first."""
        while b"\n" not in self._buffer:
            if deadline is not None:
                ready, _, _ = select.select([self._fd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    return _TIMED_OUT
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8")
