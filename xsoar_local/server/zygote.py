"""A warm worker: a process that has imported what integrations need and forks once per command.

Run as `python -m xsoar_local.server.zygote` by `workers.WarmPool`. Protocol, one JSON object per line:

    stdin   {"id": "...", "job": {...}, "env": {...}, "result_path": "...", "log_path": "...", "workdir": "...",
             "channel_path": "..."}
    stdout  {"id": "...", "event": "started", "pid": 123}   then   {"id": "...", "event": "exit", "status": 0}

Each command runs in a fork of this process, so it starts with the libraries already imported but with a
process state of its own: CommonServerPython's import-time changes (proxy and CA variables, its secret-masking
logger, module globals) die with the fork, and the next command starts from the clean worker again. The child
gets exactly the environment in `env` (an allow-list the server computes), writes its result to `result_path`,
and any output that bypasses sys.stdout goes to `log_path`. The code's `demisto.executeCommand` calls go to the
server as JSON lines over the Unix socket at `channel_path` (the engine's line protocol). End of input: the
worker waits for its children and exits.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import sys
from typing import Any

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


def _emit(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode("utf-8")
    while data:
        written = os.write(1, data)
        data = data[written:]


def _child(request: dict[str, Any]) -> None:
    """In the fork: isolate, run the job, write the result, and never return into the worker's loop."""
    status = 1
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
        from xsoar_local.engine.sandbox import LineChannel, run_job

        channel = None
        if request.get("channel_path"):
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(request["channel_path"])
            channel = LineChannel(
                connection.makefile("w", encoding="utf-8"), connection.makefile("r", encoding="utf-8")
            )
        result = run_job(request["job"], channel)
        with open(request["result_path"], "w", encoding="utf-8") as handle:
            json.dump(result, handle, default=str)
        status = 0
    except BaseException:  # the worker must never continue in the child
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def serve() -> int:
    """The worker's loop: read requests, fork for each, report starts and exits."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    children: dict[int, str] = {}
    buffer = b""
    open_input = True
    while open_input or children:
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
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.close(wake_read)
                    os.close(wake_write)
                    _child(request)
                children[pid] = str(request["id"])
                _emit({"id": request["id"], "event": "started", "pid": pid})
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_read, 4096):
                    pass
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job_id = children.pop(pid, None)
            if job_id is not None:
                _emit({"id": job_id, "event": "exit", "status": os.waitstatus_to_exitcode(status)})
    return 0


def main() -> int:
    preload()
    _emit({"id": "", "event": "ready", "pid": os.getpid()})
    return serve()


if __name__ == "__main__":
    sys.exit(main())
