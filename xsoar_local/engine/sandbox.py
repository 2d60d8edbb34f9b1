"""Run one integration command or automation script the way the server's container runs it.

`run_job(job, channel=None) -> JobResult` runs in the calling process: the warm executor forks a pre-imported
process and calls it (through `run_to_file`). `python -m xsoar_local.engine.sandbox` is the one-shot form the cold
executor starts per run: the job is the first JSON line on stdin, `demisto.executeCommand` requests go out as JSON
lines on the file descriptor in $XSOAR_LOCAL_CHANNEL_FD and their replies come back as further lines on stdin; the
result is written as JSON to the file named by the line's `result_path` (stdout belongs to the code's prints).

As on the server, CommonServerPython, then CommonServerUserPython (not for out-of-the-box integrations), then the
code run in ONE namespace whose `__name__` is `builtins`: every name CSP defines or imports (`requests`,
`json`, `demisto`, `BaseClient`, ...) is there without an import, and the content's entry-point guard calls
`main()`. The content's own `import demistomock as demisto` / `from CommonServerPython import *` lines are
removed first, as `demisto-sdk unify` removes them (reference: xsoar-scripts-fetch-api.md §0 and §5).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib
import io
import json
import os
import re
import sys
import traceback
import types
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from xsoar_local.engine import codecache
from xsoar_local.engine.demisto_api import Channel, ServerDemisto
from xsoar_local.engine.entries import ERROR, LogEntry, crash_entry
from xsoar_local.engine.jobs import INTEGRATION, Job, JobResult
from xsoar_local.engine.prepared import take_prepared
from xsoar_local.runtime import RuntimeTamperedError, read_verified

CHANNEL_FD_VARIABLE = "XSOAR_LOCAL_CHANNEL_FD"
# Commands for which CommonServerPython's return_error raises instead of writing an entry and exiting.
SERVER_HANDLED_COMMANDS = frozenset(
    {"fetch-incidents", "fetch-credentials", "long-running-execution", "fetch-indicators"}
)
# The lines `demisto-sdk unify` deletes from the code before it reaches the server (trailing comments too).
_SERVER_PROVIDED_IMPORTS = re.compile(
    r"^(?:import demistomock as demisto|from CommonServerPython import \*|from CommonServerUserPython import \*"
    r"|from __future__ import print_function)[ \t]*(?:#.*)?$",
    re.MULTILINE,
)


class _LogWriter(io.TextIOBase):
    """A text stream that turns each written line into a log entry (print goes to the log, as on the server)."""

    def __init__(self, logs: list[LogEntry], level: str) -> None:
        self._logs = logs
        self._level = level
        self._buffer = ""

    # some libraries read sys.stdout.encoding; the captured text is kept as str either way
    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._logs.append(LogEntry(self._level, line))
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._logs.append(LogEntry(self._level, self._buffer))
            self._buffer = ""


def strip_server_imports(source: str) -> str:
    """The code as the server receives it: the imports of server-provided names blanked (line numbers kept)."""
    return _SERVER_PROVIDED_IMPORTS.sub("", source)


def _code(job: Job) -> tuple[str, str]:
    """The job's source and the file name tracebacks show."""
    if job.code_path:
        return Path(job.code_path).read_text(encoding="utf-8"), job.code_path
    return str(job.code or ""), f"<{job.name or 'script'}>"


_RUNTIME_CODE: dict[tuple[str, str], types.CodeType] = {}


def compile_runtime(filename: str, data: bytes) -> types.CodeType:
    """A runtime module's code from its VERIFIED bytes: once per process and digest in memory (a warm worker
    prepares it before it forks, so each fork finds it ready), and between processes from the compiled-code
    cache beside the runtime (`codecache`: keyed by the verified bytes' digest, never by the file)."""
    key = (filename, hashlib.sha256(data).hexdigest())
    code = _RUNTIME_CODE.get(key)
    if code is None:
        code = _RUNTIME_CODE[key] = codecache.compiled(filename, data, Path(filename).parent / codecache.CACHE_FOLDER)
    return code


_CONTENT_CODE: dict[tuple[str, str], types.CodeType] = {}
_CONTENT_CODE_LIMIT = 64


# A code file's identity (device, inode, size, modification and change times) when it was last read here, and the
# code compiled from it: a fork finds its command's file compiled by the worker without reading or hashing it.
_CONTENT_FILES: dict[str, tuple[tuple[int, ...], types.CodeType]] = {}


def _identity(path: str) -> tuple[int, ...] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def compile_content(job: Job | Mapping[str, Any]) -> types.CodeType:
    """The job's code as the server runs it, compiled once per process and source text (a warm worker compiles
    it before forking, so each fork starts with it compiled). A code file whose identity is unchanged since it was
    read is not read again (any write, rename or replacement changes it)."""
    job = job if isinstance(job, Job) else Job.from_json(job)
    identity = _identity(job.code_path) if job.code_path else None  # taken before reading: a later change shows
    kept = _CONTENT_FILES.get(job.code_path) if job.code_path else None
    if identity is not None and kept is not None and kept[0] == identity:
        return kept[1]
    source, filename = _code(job)
    key = (filename, hashlib.sha256(source.encode("utf-8")).hexdigest())
    code = _CONTENT_CODE.get(key)
    if code is None:
        if len(_CONTENT_CODE) >= _CONTENT_CODE_LIMIT:
            _CONTENT_CODE.clear()
            _CONTENT_FILES.clear()
        code = _CONTENT_CODE[key] = compile(strip_server_imports(source), filename, "exec")
    if job.code_path and identity is not None:
        if len(_CONTENT_FILES) >= _CONTENT_CODE_LIMIT:
            _CONTENT_FILES.clear()
        _CONTENT_FILES[job.code_path] = (identity, code)
    return code


def prefer_stdlib_distutils() -> None:
    """Make CommonServerPython's `from distutils.version import LooseVersion` find the standard library's distutils
    where Python still has one (3.11 and older), not setuptools' replacement: that one imports all of setuptools
    for this one small class, which takes about as long as importing requests, in every cold child. The two
    LooseVersion classes parse and compare alike. Later distutils imports of the code find the standard library's
    too (a later `import setuptools` swaps in its own, with its usual warning). On Python 3.12 and later, which
    have no distutils of their own, nothing changes."""
    if "distutils" in sys.modules or sys.version_info >= (3, 12):
        return
    shims = [finder for finder in sys.meta_path if type(finder).__module__ == "_distutils_hack"]
    for shim in shims:
        sys.meta_path.remove(shim)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # distutils' own notice that it is deprecated
            importlib.import_module("distutils.version")
    except ImportError:
        pass  # a Python built without it: the replacement is found as before
    finally:
        sys.meta_path[0:0] = shims


def _execute(demisto: ServerDemisto, job: Job, verified: dict[str, bytes]) -> dict[str, Any]:
    """CSP, CSUP and the code in one `builtins` namespace; returns the namespace.

    The runtime runs from `verified`: the bytes whose digests were checked, never the files read again.
    """
    runtime = Path(job.runtime_dir)
    # CSP does `import demistomock as demisto`: the server's object stands in for the module.
    sys.modules["demistomock"] = demisto  # type: ignore[assignment]
    namespace: dict[str, Any] = {"__name__": "builtins", "__builtins__": __builtins__, "demisto": demisto}
    layers = [runtime / "CommonServerPython.py"]
    # In a fork of a warm worker, CSP's module body already ran in the worker: only the statements that read
    # the command's state run again, now with this command's `demisto` (see engine/prepared.py).
    prepared = take_prepared(str(layers[0]), verified)
    if prepared is not None:
        namespace = prepared.namespace
        namespace["demisto"] = demisto
        for statement in prepared.per_command:
            exec(statement, namespace)  # the verified runtime's own statements
        sys.modules[layers.pop().stem] = prepared.module_for_command()  # a stray `import CommonServerPython`
    if job.use_csup:
        layers.append(runtime / "CommonServerUserPython.py")
    prefer_stdlib_distutils()
    for layer in layers:
        exec(compile_runtime(str(layer), verified[layer.name]), namespace)  # the server's (verified) runtime
        _register_module(layer, namespace)
    exec(compile_content(job), namespace)  # running the content is the point
    return namespace


def _register_module(layer: Path, namespace: dict[str, Any]) -> None:
    module = types.ModuleType(layer.stem)
    module.__dict__.update(namespace)
    module.__name__ = layer.stem
    sys.modules[layer.stem] = module  # a stray `import CommonServerPython` still finds it


def run_job(job: Job | Mapping[str, Any], channel: Channel | None = None) -> JobResult:
    """Run one command or script in this process and return what the engine captured (see the module doc).

    Raises RuntimeTamperedError (before any code runs) when the runtime files differ from their pinned digests.
    """
    job = job if isinstance(job, Job) else Job.from_json(job)
    if job.folder not in sys.path:
        sys.path.insert(0, job.folder)
    sys.dont_write_bytecode = True
    verified = read_verified(Path(job.runtime_dir))  # checked again here (a warm fork finds them kept): these bytes run
    demisto = ServerDemisto(job, channel)
    exit_code: int | None = None
    crashed = False
    what = "integration" if job.kind == INTEGRATION else "script"
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _LogWriter(demisto.logs, "log"), _LogWriter(demisto.logs, "stderr")
    try:
        _execute(demisto, job, verified)
    except SystemExit as exit_:
        # return_error writes its Type 4 entry and then calls sys.exit(0)
        exit_code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if exit_code != 0 and not any(entry.get("Type") == ERROR for entry in demisto.entries):
            crashed = True
            demisto.entries.append(crash_entry(f"The {what} exited with status {exit_code}."))
    except BaseException as error:
        demisto.logs.append(LogEntry("error", traceback.format_exc()))
        if job.command in SERVER_HANDLED_COMMANDS:
            # return_error raises instead of exiting for these; the server reports the message as the error
            demisto.entries.append({"Type": ERROR, "ContentsFormat": "text", "Contents": str(error)})
        else:
            crashed = True
            demisto.entries.append(
                crash_entry(
                    f"The {what} raised {type(error).__name__} without handling it: {error} "
                    "(engine-side crash report; the traceback is in the logs)"
                )
            )
    finally:
        for writer in (sys.stdout, sys.stderr):
            writer.flush()
        sys.stdout, sys.stderr = stdout, stderr
    fetched = demisto.fetched_incidents
    return JobResult(
        entries=tuple(demisto.entries),
        raw_results=tuple(demisto.raw_results),
        logs=tuple(demisto.logs),
        context=demisto.context(),
        context_sets=tuple((str(path), value) for path, value in demisto.context_sets),
        integration_context=demisto.integration_context,
        integration_context_version=demisto.integration_context_version,
        last_run=demisto.last_run,
        last_run_set=demisto.last_run_set,
        fetched_incidents=None if fetched is None else tuple(fetched),
        exit_code=exit_code,
        crashed=crashed,
    )


def run_to_file(job: Mapping[str, Any], channel: Channel | None, result_path: Path) -> None:
    """Run a job received as JSON and write its result as JSON (both executors' children end here); a tampered
    runtime is a crash result, not a traceback."""
    try:
        result = run_job(job, channel)
    except RuntimeTamperedError as error:
        result = JobResult.crash(crash_entry(str(error)))
    result_path.write_text(json.dumps(result.to_json(), default=str), encoding="utf-8")


class LineChannel:
    """The one-shot child's channel: requests as JSON lines on `out`, replies as JSON lines from `replies`."""

    def __init__(self, out: io.TextIOBase | Any, replies: io.TextIOBase | Any) -> None:
        self._out = out
        self._replies = replies

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        self._out.write(json.dumps(request, default=str) + "\n")
        self._out.flush()
        line = self._replies.readline()
        if not line:
            return {"error": "the engine closed the channel before answering"}
        reply = json.loads(line)
        return reply if isinstance(reply, dict) else {"error": "the engine sent a malformed reply"}


def main() -> int:
    """Read the job line on stdin, run it, write the result file."""
    replies = sys.stdin
    job = json.loads(replies.readline())
    channel: Channel | None = None
    descriptor = os.environ.get(CHANNEL_FD_VARIABLE)
    if descriptor:
        channel = LineChannel(os.fdopen(int(descriptor), "w", encoding="utf-8"), replies)
    run_to_file(job, channel, Path(job["result_path"]))
    return 0


def leave(status: int) -> NoReturn:
    """End the one-shot child once its result is written, without the interpreter's teardown (freeing every
    module and object CommonServerPython made, a large share of a cold run), as a server discards a script's
    container once its result is in. The code's atexit handlers still run and the output streams are flushed
    first; while a non-daemon thread of the code is still running, the normal exit waits for it as usual."""
    threading = sys.modules.get("threading")
    if threading is not None and any(
        thread.is_alive() and not thread.daemon
        for thread in threading.enumerate()
        if thread is not threading.main_thread()
    ):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    leave(main())
