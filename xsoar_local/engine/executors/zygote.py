"""A warm worker: a process that has imported what integrations need and forks once per command.

Run as `python -m xsoar_local.engine.executors.zygote` by `warm.WarmExecutor`. Protocol, one JSON object per line:

    stdin   {"id": "...", "job": {...}, "env": {...}, "result_path": "...", "log_path": "...", "workdir": "...",
             "channel_path": "..."}
    stdout  {"id": "...", "event": "started", "pid": 123}, {"id": "...", "event": "result"} (written by the fork
            once its result file is complete), then {"id": "...", "event": "exit", "status": 0}

Each command runs in a fork of this process, so it starts with the libraries already imported but with a
process state of its own: CommonServerPython's import-time changes (proxy and CA variables, its secret-masking
logger, module globals) die with the fork, and the next command starts from the clean worker again. The child
gets exactly the environment in `env` (an allow-list the server computes), writes its result to `result_path`,
and any output that bypasses sys.stdout goes to `log_path`. The code's `demisto.executeCommand` calls go to the
server as JSON lines over the Unix socket at `channel_path` (the engine's line protocol). End of input: the
worker waits for its children and exits.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import gc
import importlib
import json
import os
import re
import select
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from xsoar_local.engine.confine import (
    DEFAULT_MAX_PROCESSES,
    Ahead,
    Box,
    SharedRules,
    kill_group,
    new_cgroup,
    state_folders,
)
from xsoar_local.engine.executors import pages
from xsoar_local.engine.executors.rehearsal import rehearse_requests, warm_requests

# Imported once here so each fork starts with them: what CommonServerPython and most integrations import.
PRELOAD = (
    "json",
    "base64",
    "datetime",
    "logging",
    "re",
    "traceback",
    "uuid",
    "ssl",
    "socket",
    "urllib.parse",
    "xml.etree.ElementTree",
    "requests",
    "urllib3",
    "dateparser",
    # requests imports these lazily on every Session.request (get_netrc_auth): once per fork without this
    "netrc",
    "shlex",
    "resource",  # entering the box sets limits with it
    "xsoar_local.engine.sandbox",
)


def preload() -> list[str]:
    """Import what is installed of PRELOAD; returns the names that were imported."""
    loaded = []
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
            loaded.append(name)
    return loaded


def _imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _regex_flags(node: ast.expr) -> int | None:
    """`re.I | re.M`-style flags as a number; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        flag = getattr(re, node.attr, None)
        return int(flag) if isinstance(flag, int) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _regex_flags(node.left), _regex_flags(node.right)
        return None if left is None or right is None else left | right
    return None


def _literal_patterns(tree: ast.AST) -> list[tuple[str, int]]:
    """The `re.compile("literal", flags)` calls of a module: compiled here, they are in `re`'s cache in every fork."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile"):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "re") or not node.args:
            continue
        pattern = node.args[0]
        flags = _regex_flags(node.args[1]) if len(node.args) > 1 else 0
        if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str) and flags is not None:
            found.append((pattern.value, flags))
    return found


def _analysis(filename: str, data: bytes) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """What a runtime module imports and its literal regexes: from the verified bytes, kept beside the compiled
    code (parsing and walking the module would otherwise be a large part of every worker's start)."""

    def build() -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
        tree = ast.parse(data)
        return tuple(_imported_modules(tree)), tuple(_literal_patterns(tree))

    def valid(value: object) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(name, str) for name in value[0])
            and all(
                isinstance(pattern, tuple)
                and len(pattern) == 2
                and isinstance(pattern[0], str)
                and isinstance(pattern[1], int)
                for pattern in value[1]
            )
        )

    from xsoar_local.engine import codecache

    folder = Path(filename).parent / codecache.CACHE_FOLDER
    return codecache.derived(filename, data, folder, "worker preload 1", build, valid)


def warm_runtime(runtime_dir: Path) -> int:
    """Prepare the server's runtime modules: check their digests and compile the verified bytes, run
    CommonServerPython's module body once (`engine.prepared`: each fork re-runs only the statements that read
    the command's params, command, context, clock or environment), import what the modules import, and compile
    their literal regexes. Returns how many modules were prepared; a tampered runtime prepares nothing (each
    command then refuses to run, as it checks the digests again)."""
    from xsoar_local.engine.prepared import prepare_runtime
    from xsoar_local.engine.sandbox import compile_runtime, prefer_stdlib_distutils
    from xsoar_local.runtime import RuntimeTamperedError, read_verified

    try:
        verified = read_verified(runtime_dir)
    except RuntimeTamperedError:
        return 0
    prefer_stdlib_distutils()  # as each command's own import would
    prepared = 0
    for name in ("CommonServerPython.py", "CommonServerUserPython.py"):
        data = verified.get(name)
        if data is None:
            continue
        code = compile_runtime(str(runtime_dir / name), data)
        if name == "CommonServerPython.py":
            # Its module body once here, not once per fork: each fork re-runs only what reads the command.
            with contextlib.suppress(Exception):  # a body that fails here runs whole in each command, as before
                prepare_runtime(str(runtime_dir / name), data, code)
        modules, patterns = _analysis(str(runtime_dir / name), data)
        for module in modules:
            if module in ("demistomock", "CommonServerPython", "CommonServerUserPython"):
                continue
            with contextlib.suppress(Exception):
                importlib.import_module(module)
        for pattern, flags in patterns:
            with contextlib.suppress(re.error):
                re.compile(pattern, flags)
        prepared += 1
    return prepared


@functools.cache
def _shared_rules() -> SharedRules:
    """The sandbox rules every box shares, worked out once in the worker (`SharedRules`), not in every fork."""
    return SharedRules.compute(state_folders({}))


def _emit(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode("utf-8")
    while data:
        written = os.write(1, data)
        data = data[written:]


class _LazyChannel:
    """The server's executeCommand channel, connected on the first call (most commands never make one)."""

    def __init__(self, path: str, line_channel: Any) -> None:
        self._path = path
        self._line_channel = line_channel
        self._channel: Any = None

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._channel is None:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(self._path)
            writer = connection.makefile("w", encoding="utf-8")
            self._channel = self._line_channel(writer, connection.makefile("r", encoding="utf-8"))
        reply: dict[str, Any] = self._channel(request)
        return reply


def _child(request: dict[str, Any], ahead: Ahead | None, learn: int = -1) -> None:
    """In the fork: isolate, run the job, write the result, and never return into the worker's loop. `learn`: a
    pipe to the worker for the pages this command wrote (`pages`), sent before the result (the engine ends the
    process group once the result is in)."""
    status = 1
    before = set(pages.written()) if learn >= 0 else set()
    # The server learns that the result is complete from this line, without waiting for the process to be torn
    # down (as an engine answers when the script's result arrives, not when its container is cleaned up).
    report = os.dup(1)
    try:
        log = os.open(request["log_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.environ.clear()
        os.environ.update({str(key): str(value) for key, value in (request.get("env") or {}).items()})
        if request.get("workdir"):
            os.chdir(request["workdir"])
        from xsoar_local.engine.confine import enter

        enter(Box.from_request(request), ahead)  # limits and sandbox, before any content code
        from xsoar_local.engine.sandbox import LineChannel, run_to_file

        channel = _LazyChannel(request["channel_path"], LineChannel) if request.get("channel_path") else None
        run_to_file(request["job"], channel, Path(request["result_path"]))
        status = 0
        sys.stdout.flush()
        sys.stderr.flush()
        if learn >= 0:
            pages.report(learn, before)
            os.close(learn)
        os.write(report, (json.dumps({"id": request["id"], "event": "result"}) + "\n").encode("utf-8"))
    except BaseException:  # the worker must never continue in the child
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


class _Spare:
    """A fork made ahead of its command: it waits for its one request on a pipe, so the fork's cost is paid
    between commands, not during one. It is forked from the worker as it is between commands (what the worker
    holds is the same for every fork). While it waits it joins its own cgroup and builds the part of its Landlock
    ruleset every box shares (`confine.Ahead`): nothing there depends on the command, and nothing restricts it
    yet. Everything per command (environment, folder, the job's own rules, the limits, entering the sandbox,
    the runtime's execution) happens after its request arrives, exactly as in a fork made at request time."""

    def __init__(self, close_in_child: tuple[int, ...], *, learn: bool = False) -> None:
        # made by the worker (which removes it once the fork is reaped), joined by the fork while it waits
        path = new_cgroup(DEFAULT_MAX_PROCESSES)
        self.cgroup = str(path) if path is not None else ""
        read_end, self.write_end = os.pipe()
        # the pages its command writes come back on this pipe (the worker's first few commands only)
        self.learned, learn_end = os.pipe() if learn else (-1, -1)
        # What the worker holds is never collected in a fork: the collector would write to every object's
        # page and turn the fork's shared memory into copies.
        gc.freeze()
        self.pid = os.fork()
        if self.pid == 0:
            chunks: list[bytes] = []
            try:
                os.setsid()  # the command's process group: killed as a whole when it ends (confine.kill_group)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for descriptor in (*close_in_child, self.write_end, self.learned):
                    if descriptor >= 0:
                        os.close(descriptor)
                ahead: Ahead | None = None
                with contextlib.suppress(Exception):  # not prepared: the command's box is built whole
                    ahead = Ahead(self.cgroup, _shared_rules(), max_processes=DEFAULT_MAX_PROCESSES)
                os.environ.clear()  # the command's environment replaces it whole: emptied now, not on its time
                with contextlib.suppress(Exception):  # only a help: what is not copied now is copied on first write
                    pages.populate(_LEARNED.runs, lambda: bool(select.select([read_end], [], [], 0)[0]))
                while chunk := os.read(read_end, 1 << 20):
                    chunks.append(chunk)
                if chunks:  # none: the worker is stopping, there is no command for this fork
                    _child(json.loads(b"".join(chunks)), ahead, learn_end)
            finally:
                os._exit(1 if chunks else 0)  # whatever happens, the fork never runs the worker's loop
        os.close(read_end)
        if learn_end >= 0:
            os.close(learn_end)
            os.set_blocking(self.learned, False)

    def hand(self, line: bytes) -> None:
        """Give the fork its request (it reads until the pipe closes)."""
        with contextlib.suppress(OSError):  # a spare that died: its command ends as "died without a result"
            view = memoryview(line)
            while view:
                view = view[os.write(self.write_end, view) :]
        os.close(self.write_end)

    def dismiss(self) -> None:
        os.close(self.write_end)


class _Learned:
    """The pages the worker's first commands wrote (`pages`), which every later spare copies while it waits."""

    def __init__(self, commands: int = 3) -> None:
        # 3: enough to cover what every command touches; later forks report nothing (reading costs time). 0 with
        # --no-prefault: where the next command follows at once, copying ahead competes with it (base.PREFAULT_ENV).
        self.commands = commands
        self.runs: list[tuple[int, int]] = []
        self._pages: set[int] = set()
        self._asked = 0

    def wanted(self) -> bool:
        """Whether the next spare should report its pages (counted as asked)."""
        if self._asked >= self.commands:
            return False
        self._asked += 1
        return True

    def take(self, descriptor: int) -> None:
        """Read an ended fork's report (non-blocking: it has exited) and close its pipe."""
        data = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(descriptor, 1 << 16):
                data += chunk
        os.close(descriptor)
        self._pages.update(pages.decode(data))
        self.runs = pages.ranges(sorted(self._pages)[: pages.MAX_PAGES])


_LEARNED = _Learned()


def serve() -> int:
    """The worker's loop: read requests, hand each to the waiting fork (then make the next), report starts and
    exits."""
    from xsoar_local.engine.sandbox import compile_content

    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    children: dict[int, str] = {}
    cgroups: dict[int, str] = {}  # each fork's cgroup, removed once the fork is reaped
    buffer = b""
    open_input = True
    first = _Spare((wake_read, wake_write), learn=_LEARNED.wanted())
    cgroups[first.pid] = first.cgroup
    reports: dict[int, int] = {}  # a learning fork's pid -> the pipe its pages come back on
    if first.learned >= 0:
        reports[first.pid] = first.learned
    spare: _Spare | None = first
    while open_input or children or cgroups:  # a dismissed spare too is reaped, its cgroup removed
        try:
            ready, _, _ = select.select([0, wake_read] if open_input else [wake_read], [], [], 1.0)
        except InterruptedError:
            ready = []
        if 0 in ready:
            chunk = os.read(0, 1 << 20)
            if not chunk:
                open_input = False
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if not line.strip():
                    continue
                if spare is None:
                    spare = _Spare((wake_read, wake_write, *reports.values()), learn=_LEARNED.wanted())
                    cgroups[spare.pid] = spare.cgroup
                    if spare.learned >= 0:
                        reports[spare.pid] = spare.learned
                current, spare = spare, None
                current.hand(line)  # first: the fork parses it too, so the command starts before the worker reads it
                request = json.loads(line)
                children[current.pid] = str(request["id"])
                _emit({"id": request["id"], "event": "started", "pid": current.pid, "cgroup": current.cgroup})
                with contextlib.suppress(Exception):  # a job whose code does not compile fails in its fork
                    compile_content(request["job"])  # so the next fork finds this code compiled
                spare = _Spare((wake_read, wake_write, *reports.values()), learn=_LEARNED.wanted())
                cgroups[spare.pid] = spare.cgroup
                if spare.learned >= 0:
                    reports[spare.pid] = spare.learned
            if not open_input and spare is not None:
                spare.dismiss()
                spare = None
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_read, 4096):
                    pass
        while True:  # reap every ended fork, the waiting one included
            try:
                ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if ended is None:
                break
            # before it is reaped its pid cannot be reused: what the command left running goes with it
            kill_group(ended.si_pid)
            pid, status = os.waitpid(ended.si_pid, 0)
            # what left the group (setsid) is still in the cgroup: killed, and the cgroup removed
            kill_group(None, Box(cgroup=cgroups.pop(pid, "")))
            if pid in reports:
                _LEARNED.take(reports.pop(pid))
            if spare is not None and pid == spare.pid:  # the waiting fork died: make another on the next command
                spare.dismiss()
                spare = None
            job_id = children.pop(pid, None)
            if job_id is not None:
                _emit({"id": job_id, "event": "exit", "status": os.waitstatus_to_exitcode(status)})
    return 0


def main() -> int:
    # Ctrl-C in the server's terminal reaches this process group too; the server decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    preload()
    arguments = sys.argv[1:]
    if "--no-prefault" in arguments:
        arguments.remove("--no-prefault")
        _LEARNED.commands = 0  # nothing learned: no spare copies pages ahead
    if arguments:
        warm_runtime(Path(arguments[0]))
    warm_requests()  # after the runtime: its classes are part of what the first-use caches cover
    rehearse_requests()  # after the warm-up above: each fork's first request then runs code already adapted
    with contextlib.suppress(Exception):  # else each fork builds its box whole
        _shared_rules()
    _emit({"id": "", "event": "ready", "pid": os.getpid()})
    return serve()


if __name__ == "__main__":
    # Everything the worker says went out with os.write, and its forks are reaped: tearing down an interpreter
    # that holds CommonServerPython would only keep the engine (waiting for this exit) waiting.
    os._exit(main())
