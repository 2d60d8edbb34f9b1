"""The warm executor: one pre-imported worker process per docker image, forked once per command.

A real engine keeps an integration's container running between commands; the local engine keeps a worker
process (`xsoar_local.engine.executors.zygote`) per docker image instead, started on first use, and runs each
command in a fork of it. The fork
starts with the libraries imported (no interpreter start, no import of requests) but owns its process state,
so one command's CommonServerPython import, proxy settings or globals never reach the next command.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO

from xsoar_local.engine.confine import LIMITER, Box, Limits, kill_group
from xsoar_local.engine.entries import LogEntry, crash_entry
from xsoar_local.engine.environment import check_runtime, child_environment
from xsoar_local.engine.executors.base import DEFAULT_TIMEOUT, RequestHandler, RunOptions, prefault_enabled
from xsoar_local.engine.executors.cold import read_result, timeout_message
from xsoar_local.engine.jobs import INTEGRATION, Job, JobResult
from xsoar_local.errors import EngineError, XsoarLocalError
from xsoar_local.runtime import DEFAULT_DESTINATION


class WorkerError(EngineError):
    """The worker process could not be started or died."""


class _Pending:
    def __init__(self) -> None:
        self.pid: int | None = None
        self.cgroup = ""  # the fork's cgroup (made and removed by the worker), where the machine offers one
        self.status: int | None = None
        self.done = threading.Event()


class Worker:
    """One warm worker process and the commands it is running."""

    def __init__(
        self, key: str, python: str = sys.executable, runtime_dir: Path = DEFAULT_DESTINATION, *, wait: bool = True
    ) -> None:
        self.python = python
        self.key = key
        self._ready = False
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        switches = [] if prefault_enabled() else ["--no-prefault"]
        self._process = subprocess.Popen(
            [python, "-m", "xsoar_local.engine.executors.zygote", str(runtime_dir), *switches],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_environment(os.environ, {}),
        )
        assert self._process.stdout is not None
        assert self._process.stdin is not None
        self._stdin: IO[bytes] = self._process.stdin
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for the worker's "ready" line (once); WorkerError if it exited instead."""
        if self._ready:
            return
        assert self._process.stdout is not None
        ready = self._process.stdout.readline()
        if not ready:
            raise WorkerError(f"the warm worker for {self.key} exited at start (status {self._process.wait()})")
        self._reader = threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True)
        self._reader.start()
        self._ready = True

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            message = json.loads(line)
            with self._lock:
                pending = self._pending.get(str(message.get("id")))
            if pending is None:
                continue
            if message.get("event") == "started":
                pending.pid = int(message["pid"])
                pending.cgroup = str(message.get("cgroup") or "")
            elif message.get("event") == "result":  # the fork wrote its whole result; its exit may come later
                pending.status = 0
                pending.done.set()
            elif message.get("event") == "exit":
                pending.status = int(message["status"])
                pending.done.set()
        with self._lock:  # the worker died: nothing pending will finish
            for pending in self._pending.values():
                pending.done.set()

    def run(
        self,
        job: Job,
        env: Mapping[str, str],
        timeout: float = DEFAULT_TIMEOUT,
        on_request: RequestHandler | None = None,
    ) -> JobResult:
        """Run one job in a fork; its result (a crash result when the fork died or timed out).

        `on_request` answers the code's `demisto.executeCommand` calls, served over a Unix socket in the job's
        temporary folder while the fork runs.
        """
        limits = Limits.from_environment(timeout=timeout)
        with LIMITER.slot(limits):  # waiting in line does not count against the time limit
            return self._run(job, env, timeout, LIMITER.lend(on_request) if on_request else None, limits)

    def _run(
        self,
        job: Job,
        env: Mapping[str, str],
        timeout: float,
        on_request: RequestHandler | None,
        limits: Limits,
    ) -> JobResult:
        job_id = uuid.uuid4().hex
        pending = _Pending()
        workdir = tempfile.mkdtemp(prefix="xsoar-warm-", dir=limits.work_root)
        try:
            # no cgroup made here: the worker's fork joined one of its own before its request (zygote._Spare)
            box = Box.for_job(job.to_json(), workdir, env, limits)
            folder = Path(workdir)
            listener = None
            if on_request is not None and job.kind != INTEGRATION:  # integrations have no executeCommand
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(str(folder / "channel.sock"))
                listener.listen(1)
                threading.Thread(target=_serve_channel, args=(listener, on_request, pending.done), daemon=True).start()
            request = {
                "id": job_id,
                "job": job.to_json(),
                "env": dict(env),
                "result_path": str(folder / "result.json"),
                "log_path": str(folder / "output.log"),
                "workdir": workdir,
                "channel_path": str(folder / "channel.sock") if listener is not None else "",
                "box": box.to_json(),
            }
            line = (json.dumps(request, default=str) + "\n").encode("utf-8")
            try:
                with self._lock:
                    self._pending[job_id] = pending
                    try:
                        self._stdin.write(line)
                        self._stdin.flush()
                    except (BrokenPipeError, ValueError, OSError) as error:
                        self._pending.pop(job_id, None)
                        raise WorkerError(f"the warm worker for {self.key} is gone") from error
                try:
                    finished = pending.done.wait(timeout)
                    if not finished and pending.pid is not None:
                        kill_group(pending.pid, unreaped=True)  # not done: the worker has not reaped it
                        pending.done.wait(5)
                finally:
                    with self._lock:
                        self._pending.pop(job_id, None)
            finally:
                if listener is not None:
                    listener.close()
                # whatever the command started ends with it, before the answer: its process group and what left
                # the group into the fork's cgroup (the worker removes that cgroup as it reaps the fork)
                kill_group(pending.pid, replace(box, cgroup=pending.cgroup), remove=False)
            output = _read_text(folder / "output.log")
            raw = tuple(LogEntry("stdout", line) for line in output.splitlines())
            if not finished:
                return JobResult.crash(crash_entry(timeout_message(timeout)), raw)
            if pending.status is None:
                message = f"The warm worker for {self.key} died while running the command."
                return JobResult.crash(crash_entry(message), raw)
            result = read_result(folder / "result.json", pending.status, output)
            return result.with_values(raw_output=raw)
        finally:
            _remove_later(workdir)

    def close(self) -> None:
        """End the worker: close its input (it waits for running commands), then make sure it is gone."""
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class _Trash:
    """Finished commands' folders, removed by one thread off the commands' path; what is left at exit is
    removed then (`atexit`)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._waiting = threading.Event()  # set when folders are in the queue
        self._lock = threading.Lock()
        self._owner = 0  # the process whose thread empties the queue (a fork has no copy of the thread)
        atexit.register(self.empty)

    def put(self, folder: str) -> None:
        self._queue.put(folder)
        self._waiting.set()
        with self._lock:
            if self._owner != os.getpid():
                self._owner = os.getpid()
                threading.Thread(target=self._remove, name="xsoar-warm-trash", daemon=True).start()

    # In batches: a thread woken for each folder would take the interpreter from the thread that is answering.
    # Idle, it waits (no wake-ups); woken by a folder, it lets the next ones gather first. The folders stay in the
    # queue meanwhile, so what is left at exit is still removed then.
    PAUSE = 0.5

    def _remove(self) -> None:
        while True:
            self._waiting.wait()
            time.sleep(self.PAUSE)
            self._waiting.clear()
            self.empty()

    def empty(self) -> None:
        while True:
            try:
                folder = self._queue.get_nowait()
            except queue.Empty:
                return
            shutil.rmtree(folder, ignore_errors=True)


_TRASH = _Trash()


def _remove_later(folder: str) -> None:
    """Remove a finished command's folder off the command's path."""
    _TRASH.put(folder)


def _serve_channel(listener: socket.socket, on_request: RequestHandler, done: threading.Event) -> None:
    """Answer one fork's executeCommand requests (JSON lines) until it hangs up or finishes."""
    try:
        listener.settimeout(0.2)
    except OSError:
        return  # the command ended (and its listener was closed) before this thread started: nothing to answer
    while not done.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        break
    else:
        return
    with (
        connection,
        connection.makefile("r", encoding="utf-8") as requests,
        connection.makefile("w", encoding="utf-8") as replies,
    ):
        for line in requests:
            try:
                reply = on_request(json.loads(line))
            except Exception as error:  # the code gets an error reply, the server keeps running
                reply = {"error": f"{type(error).__name__}: {error}"}
            replies.write(json.dumps(reply, default=str) + "\n")
            replies.flush()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


class WarmExecutor:
    """Warm workers by docker image (and interpreter and runtime), each started on first use and restarted if it
    died; `close` stops them all (the engine calls it at process exit)."""

    def __init__(self) -> None:
        self._workers: dict[str, Worker] = {}
        self._lock = threading.Lock()

    def _worker(self, key: str, python: str, runtime_dir: Path, *, replace: bool = False) -> Worker:
        with self._lock:
            current = self._workers.get(key)
            if replace or current is None or not current.alive:
                if current is not None:
                    current.close()
                early = _take_prestarted(python, runtime_dir)
                if early is not None:
                    early.key = key
                    try:
                        early.wait_ready()
                    except WorkerError:
                        early.close()
                        early = None
                current = self._workers[key] = early or Worker(key, python, runtime_dir)
            return current

    def run(self, job: Job, on_request: RequestHandler, options: RunOptions) -> JobResult:
        """Run `job` in a fork of its image's worker; a worker found dead before the job reached it is replaced
        once."""
        runtime_dir = Path(job.runtime_dir or DEFAULT_DESTINATION)
        check_runtime(runtime_dir)
        key = f"{job.docker_image or 'default'} ({options.python}, {runtime_dir})"
        env = child_environment(os.environ, options.env)
        try:
            return self._worker(key, options.python, runtime_dir).run(job, env, options.timeout, on_request)
        except WorkerError:
            worker = self._worker(key, options.python, runtime_dir, replace=True)
            return worker.run(job, env, options.timeout, on_request)

    @property
    def keys(self) -> list[str]:
        """The workers running now (one per image, interpreter and runtime)."""
        with self._lock:
            return sorted(key for key, worker in self._workers.items() if worker.alive)

    def close(self) -> None:
        """Stop every worker (waiting for the commands they run)."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.close()
        _TRASH.empty()  # a forked process may leave without running atexit


# Workers started before their first job is known (`prestart`), by interpreter and runtime folder.
_PRESTARTED: dict[tuple[str, str], Worker] = {}
_PRESTARTED_LOCK = threading.Lock()


def prestart(python: str = sys.executable, runtime_dir: Path = DEFAULT_DESTINATION) -> None:
    """Start a warm worker now, without waiting for it: the first job for this interpreter and runtime (any image)
    takes it. A one-command CLI process (`run`) calls this before it imports the rest of the toolkit, so the
    worker's start overlaps the CLI's own instead of following it. A worker no job took is stopped at exit."""
    with _PRESTARTED_LOCK:
        if _prestart_key(python, runtime_dir) in _PRESTARTED:
            return
        # Not started: the first job starts its worker and reports what went wrong, in one line (a bad setting too).
        with contextlib.suppress(OSError, XsoarLocalError):
            _PRESTARTED[_prestart_key(python, runtime_dir)] = Worker("prestarted", python, runtime_dir, wait=False)


def _prestart_key(python: str, runtime_dir: Path) -> tuple[str, str]:
    return python, str(runtime_dir.resolve())  # jobs name the runtime by its resolved folder


def _take_prestarted(python: str, runtime_dir: Path) -> Worker | None:
    with _PRESTARTED_LOCK:
        worker = _PRESTARTED.pop(_prestart_key(python, runtime_dir), None)
    if worker is not None and not worker.alive:
        worker.close()
        return None
    return worker


@atexit.register
def _stop_prestarted() -> None:
    with _PRESTARTED_LOCK:
        workers = list(_PRESTARTED.values())
        _PRESTARTED.clear()
    for worker in workers:
        worker.close()
