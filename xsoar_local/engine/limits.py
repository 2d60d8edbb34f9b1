"""How long and how big one command may be, and how many run at once (the box's settings and its queue).

`Limits.from_environment()` reads the XSOAR_LOCAL_* variables (the CLI's and the server's `--timeout` set
the time limit on top); `LIMITER.slot(limits)` holds one of `max_parallel` places while a command runs, and
`LIMITER.lend(handler)` runs a command's nested `executeCommand` calls on its place, so a full queue cannot
deadlock.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from xsoar_local.errors import UsageError

TIMEOUT_VARIABLE = "XSOAR_LOCAL_TIMEOUT"
MEMORY_VARIABLE = "XSOAR_LOCAL_MEMORY_MB"
PROCESSES_VARIABLE = "XSOAR_LOCAL_MAX_PROCESSES"
PARALLEL_VARIABLE = "XSOAR_LOCAL_MAX_PARALLEL"
SANDBOX_VARIABLE = "XSOAR_LOCAL_SANDBOX"
SHARE_VARIABLE = "XSOAR_LOCAL_SANDBOX_SHARE"
WORK_VARIABLE = "XSOAR_LOCAL_WORK_DIR"

DEFAULT_TIMEOUT = 300.0
DEFAULT_MEMORY_MB = 2048
DEFAULT_MAX_PROCESSES = 64
DEFAULT_MAX_PARALLEL = 8


class ConfineError(UsageError):
    """A limit setting is not usable; the message says which and what to set."""


_Number = TypeVar("_Number", int, float)


def _setting(environ: Mapping[str, str], name: str, default: _Number, kind: type[_Number]) -> _Number:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = kind(0)
    if not (math.isfinite(value) and value > 0):
        raise ConfineError(f"{name}={raw!r} is not a positive {'number' if kind is float else 'whole number'}")
    return value


@dataclass(frozen=True)
class Limits:
    """How long and how big one command may be, and how many run at once."""

    timeout: float = DEFAULT_TIMEOUT  # seconds
    memory_mb: int = DEFAULT_MEMORY_MB  # address space of each process of the command
    max_processes: int = DEFAULT_MAX_PROCESSES  # processes (and threads) of one command at once
    max_parallel: int = DEFAULT_MAX_PARALLEL  # commands running at once in this engine; the rest wait
    sandbox: bool = True  # Landlock and dropped capabilities where the system offers them
    share: tuple[str, ...] = ()  # folders content may read and write besides its own (like a container's volume)
    work_root: str | None = None  # where each command's own folder is made (None: the system's temporary folder)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, *, timeout: float | None = None) -> Limits:
        """The limits XSOAR_LOCAL_* set (defaults otherwise); `timeout` (a `--timeout` flag) wins over the variable."""
        environ = os.environ if environ is None else environ
        if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
            raise ConfineError(f"--timeout {timeout:g} is not a positive number of seconds")
        sandbox = environ.get(SANDBOX_VARIABLE, "").strip().lower()
        if sandbox not in ("", "on", "1", "true", "yes", "off", "0", "false", "no"):
            raise ConfineError(f"{SANDBOX_VARIABLE}={sandbox!r}: set it to on or off")
        return cls(
            timeout=timeout if timeout is not None else _setting(environ, TIMEOUT_VARIABLE, DEFAULT_TIMEOUT, float),
            memory_mb=_setting(environ, MEMORY_VARIABLE, DEFAULT_MEMORY_MB, int),
            max_processes=_setting(environ, PROCESSES_VARIABLE, DEFAULT_MAX_PROCESSES, int),
            max_parallel=_setting(environ, PARALLEL_VARIABLE, DEFAULT_MAX_PARALLEL, int),
            sandbox=sandbox not in ("off", "0", "false", "no"),
            share=tuple(path for path in environ.get(SHARE_VARIABLE, "").split(os.pathsep) if path.strip()),
            work_root=_work_root(environ),
        )


def _work_root(environ: Mapping[str, str]) -> str | None:
    """XSOAR_LOCAL_WORK_DIR when set (an existing folder this user can write), else a memory filesystem when the
    system has one (`/dev/shm`), else None (the system's temporary folder)."""
    raw = environ.get(WORK_VARIABLE, "").strip()
    if raw:
        if not (os.path.isdir(raw) and os.access(raw, os.W_OK | os.X_OK)):
            raise ConfineError(f"{WORK_VARIABLE}={raw!r} is not a folder this user can write: create it or unset it")
        return os.path.abspath(raw)
    return _SHARED_MEMORY if in_memory(_SHARED_MEMORY) and _free_bytes(_SHARED_MEMORY) >= _ROOM else None


_SHARED_MEMORY = "/dev/shm"
_ROOM = 1 << 30  # a container's small /dev/shm (64 MB by default) is left alone: commands' files could fill it


def _free_bytes(folder: str) -> int:
    try:
        usage = os.statvfs(folder)
    except OSError:
        return 0
    return usage.f_bavail * usage.f_frsize


@functools.cache
def in_memory(folder: str) -> bool:
    """Whether `folder` is the mount point of a memory filesystem (tmpfs) this user can make folders in, with the
    sticky bit a shared one needs (so no other user can remove or rename what this one makes there)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
            # fields: id parent major:minor root mount-point options [optional...] - fstype source super-options
            kinds = {line.split()[4]: line.split(" - ", 1)[1].split()[0] for line in mounts if " - " in line}
        shared = os.stat(folder)
    except (OSError, IndexError):
        return False
    return (
        kinds.get(folder) == "tmpfs"
        and stat.S_ISDIR(shared.st_mode)
        and bool(shared.st_mode & stat.S_ISVTX or shared.st_uid == os.getuid())
        and os.access(folder, os.W_OK | os.X_OK)
    )


def parse_timeout(text: str) -> float:
    """An argparse `type=` for `--timeout SECONDS`."""
    import argparse

    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


class Limiter:
    """At most `capacity` commands at once in this process; the others wait in line (FIFO by the condition)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._local = threading.local()
        self.running = 0
        self.waiting = 0
        self.most_running = 0

    @contextlib.contextmanager
    def slot(self, limits: Limits) -> Iterator[None]:
        """Hold one of `limits.max_parallel` places while the block runs (nested commands use their caller's)."""
        if getattr(self._local, "lent", 0):
            yield
            return
        with self._condition:
            self.waiting += 1
            try:
                self._condition.wait_for(lambda: self.running < limits.max_parallel)
            finally:
                self.waiting -= 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            yield
        finally:
            with self._condition:
                self.running -= 1
                self._condition.notify_all()

    def lend(self, handler: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """`handler` (a command's executeCommand answerer) running on its command's slot."""

        def lent(request: dict[str, Any]) -> dict[str, Any]:
            self._local.lent = getattr(self._local, "lent", 0) + 1
            try:
                return handler(request)
            finally:
                self._local.lent -= 1

        return lent


LIMITER = Limiter()
