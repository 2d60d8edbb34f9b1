"""The box content code runs in: limits, a process group killed as a whole, a queue, and (on Linux) a sandbox.

Parent side (the engine, before and after a command's process):
- `Limits.from_environment()`: the time limit, memory, process count, parallel commands, sandbox on/off, from
  XSOAR_LOCAL_* variables (the CLI's and the server's `--timeout` set the time limit on top).
- `Box.for_job(job, workdir, environment, limits)`: what one command's process may read and write, and its
  limits; `Box.prepare()` makes its process-count cgroup where the machine offers one.
- `LIMITER.slot(limits)`: at most `max_parallel` commands at once; the rest wait in line. A command's nested
  `executeCommand` calls (answered by `LIMITER.lend(handler)`) run inside its slot, never in a new one, so a
  full queue cannot deadlock.
- `kill_group(pid, box)`: the command's process group and every process left in its cgroup, killed, when the
  command ends or times out, so nothing it started outlives it.

Child side (`enter(box)`, in the command's process, before any content code runs):
- a session and process group of its own, a memory limit (RLIMIT_AS), the process-count limit (the cgroup, else
  RLIMIT_NPROC when not root), no core files;
- Landlock (Linux 5.13+, no privilege needed): the process can read only the interpreter, its libraries, the
  runtime, the content's own folder, the CA and system files named below, and write only its own job folder;
  it cannot signal or trace processes outside its box (the server's /proc/<pid>/environ included);
- what the interpreter imports from is readable wherever it is installed: its prefixes and standard library,
  every `sys.path` entry (the child's own site-packages, a `--user` site, $PYTHONPATH) and the `xsoar_local`
  package itself (a checkout, a venv outside it, a per-image environment). Two things are never readable even
  below such a path: a checkout of this repository beyond its `xsoar_local` package, and the box's `hide`
  folders (the default state folders: the checkout's `.xsoar-local/` and the one beside the content's `Packs/`,
  plus $XSOAR_LOCAL_STATE_DIR). Landlock only adds rights, so an allowed folder that holds a hidden one is
  allowed entry by entry, around it;
- run as root: every capability dropped (the bounding set too), so that uid 0 gives no way around the above.

`python -m xsoar_local.engine.confine MODULE` enters the box described by $XSOAR_LOCAL_BOX, then runs MODULE as
`__main__`: the engine starts its one-shot sandbox this way.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import runpy
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from xsoar_local.errors import EngineError, UsageError

BOX_VARIABLE = "XSOAR_LOCAL_BOX"
TIMEOUT_VARIABLE = "XSOAR_LOCAL_TIMEOUT"
MEMORY_VARIABLE = "XSOAR_LOCAL_MEMORY_MB"
PROCESSES_VARIABLE = "XSOAR_LOCAL_MAX_PROCESSES"
PARALLEL_VARIABLE = "XSOAR_LOCAL_MAX_PARALLEL"
SANDBOX_VARIABLE = "XSOAR_LOCAL_SANDBOX"
SHARE_VARIABLE = "XSOAR_LOCAL_SANDBOX_SHARE"

DEFAULT_TIMEOUT = 300.0
DEFAULT_MEMORY_MB = 2048
DEFAULT_MAX_PROCESSES = 64
DEFAULT_MAX_PARALLEL = 8

# System files content may read: shared libraries, certificates, name resolution, time zones, user names.
# Not /etc as a whole: as uid 0 (capabilities dropped) /etc/shadow would still be readable.
SYSTEM_READ = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/sbin",
    "/etc/ssl",
    "/etc/pki",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/passwd",
    "/etc/group",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/os-release",
    "/etc/mime.types",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    # its own /proc/<pid> and the machine-wide figures, never other processes' (the server's command line and
    # environment among them)
    "/proc/self",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/loadavg",
    "/proc/stat",
    "/proc/uptime",
    "/proc/version",
    "/proc/filesystems",
    "/proc/sys/kernel/osrelease",
    "/sys/devices/system/cpu",
)
# The state folder of a content repository (beside its Packs/) and of a checkout, as xsoar_local.contentroot and
# xsoar_local.incident.model name them (not imported: the box is entered before anything else is loaded).
STATE_FOLDER = ".xsoar-local"
PACKS_FOLDER = "Packs"
STATE_DIR_VARIABLE = "XSOAR_LOCAL_STATE_DIR"
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
# The environment variables that name a CA bundle or folder the content must be able to read.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


class ConfineError(UsageError):
    """A limit setting is not usable; the message says which and what to set."""


class BoxError(EngineError):
    """The box could not be set up, so the content was not run."""


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


# ---- the box of one command ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """One command's box: its limits, the paths it may read and write, and its cgroup (if any)."""

    memory_mb: int = DEFAULT_MEMORY_MB
    max_processes: int = DEFAULT_MAX_PROCESSES
    sandbox: bool = True
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    cgroup: str = ""
    home: str = ""  # HOME and TMPDIR of the content: its job folder
    hide: tuple[str, ...] = ()  # folders that stay unreadable even below a readable path (the state folders)

    @classmethod
    def for_job(
        cls, job: Mapping[str, Any], workdir: str | Path, environment: Mapping[str, str], limits: Limits
    ) -> Box:
        """The box of `job` running in `workdir` with `environment`: its own files readable, its folder writable."""
        read = [str(job[key]) for key in ("folder", "runtime_dir") if job.get(key)]
        if job.get("code_path"):
            read.append(str(job["code_path"]))
        read += [environment[name] for name in CA_VARIABLES if environment.get(name)]
        return cls(
            memory_mb=limits.memory_mb,
            max_processes=limits.max_processes,
            sandbox=limits.sandbox,
            read=tuple(read),
            write=(str(workdir), *limits.share),
            home=str(workdir),
            hide=state_folders(job),
        )

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> Box:
        """The box a warm worker's request names (`box`), else the default box of its job and folder."""
        if request.get("box"):
            return cls.from_json(str(request["box"]))
        workdir = str(request.get("workdir") or os.getcwd())
        return cls.for_job(request.get("job") or {}, workdir, request.get("env") or {}, Limits())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Box:
        data = json.loads(text)
        lists = {key: tuple(data.get(key) or ()) for key in ("read", "write", "hide")}
        return cls(**{**data, **lists})

    def prepare(self) -> Box:
        """The box with a process-count cgroup of its own, where this process may make one (root, cgroup pids)."""
        path = _new_cgroup(self.max_processes)
        return replace(self, cgroup=str(path)) if path is not None else self


def _checkout() -> Path | None:
    """The checkout of this repository this module runs from; None for an installed package (site-packages)."""
    root = Path(__file__).resolve().parent.parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "xsoar_local").is_dir() else None


def state_folders(job: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The state folders content must not read, wherever they sit: the checkout's default, the default of an
    installed tool (`.xsoar-local/` beside the `Packs/` that holds the job's content), $XSOAR_LOCAL_STATE_DIR."""
    environ = os.environ if environ is None else environ
    found: list[Path] = []
    checkout = _checkout()
    if checkout is not None:
        found.append(checkout / STATE_FOLDER)
    for key in ("folder", "code_path"):
        if job.get(key):
            place = Path(str(job[key])).resolve()
            found += [folder.parent / STATE_FOLDER for folder in place.parents if folder.name == PACKS_FOLDER]
    if environ.get(STATE_DIR_VARIABLE):
        found.append(Path(environ[STATE_DIR_VARIABLE]).resolve())
    return tuple(dict.fromkeys(str(path) for path in found))


def _cgroup_bases() -> Iterator[Path]:
    yield Path("/sys/fs/cgroup/pids")  # cgroup v1
    root = Path("/sys/fs/cgroup")  # cgroup v2, where its root delegates the pids controller
    with contextlib.suppress(OSError):
        if "pids" in (root / "cgroup.subtree_control").read_text().split():
            yield root


def _remove_orphans(base: Path) -> None:
    """Remove the empty cgroups of engines that are gone (killed before they could remove their own)."""
    for path in base.glob("xsoar-local-*-*"):
        creator = path.name.split("-")[2]
        if creator.isdigit() and not Path(f"/proc/{creator}").exists():
            with contextlib.suppress(OSError):
                path.rmdir()  # refused while a process is still in it


def _new_cgroup(max_processes: int) -> Path | None:
    if os.name != "posix" or os.geteuid() != 0:
        return None
    for base in _cgroup_bases():
        _remove_orphans(base)
        path = base / f"xsoar-local-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
        except OSError:
            continue
        try:
            (path / "pids.max").write_text(f"{max_processes}\n")
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            continue
        return path
    return None


# ---- the parent's side: the group kill and the queue --------------------------------------------------------


def _cgroup_pids(cgroup: str) -> list[int]:
    try:
        return [int(line) for line in (Path(cgroup) / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def kill_group(pid: int | None, box: Box | None = None, *, unreaped: bool = False) -> None:
    """Kill the command's process group (led by `pid`) and every process still in its cgroup, then remove the
    cgroup. Call it whenever the command ends, normally or not: what it started must not outlive it.
    `unreaped`: `pid` is known not to be reaped yet, so it is killed by its pid too (it may not lead its group
    yet if it was stopped the moment it started)."""
    if pid is not None and pid > 0:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        if unreaped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    if box is None or not box.cgroup:
        return
    # A process that left the group (setsid) is still in the cgroup; killed ones leave it as they exit.
    for _ in range(200):
        remaining = _cgroup_pids(box.cgroup)
        for member in remaining:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, signal.SIGKILL)
        try:
            Path(box.cgroup).rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


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


# ---- the child's side: entering the box ---------------------------------------------------------------------

_libc: Any = None


def _c() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)  # this process's own symbols, libc's among them
        _libc.syscall.restype = ctypes.c_long
        _libc.prctl.restype = ctypes.c_int
    return _libc


# Landlock (linux/landlock.h); the syscall numbers are the same on every architecture.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REMOVE_DIR, _REMOVE_FILE, _MAKE_CHAR, _MAKE_DIR, _MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
_MAKE_SOCK, _MAKE_FIFO, _MAKE_BLOCK, _MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 38, 24, 47, 4
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


def landlock_abi() -> int:
    """The Landlock version the kernel offers (0: none)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = int(_c().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)))
    except (OSError, AttributeError):
        return 0
    return max(version, 0)


def _handled(abi: int) -> int:
    rights = (1 << 13) - 1  # every right of ABI 1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def _interpreter_paths() -> list[str]:
    """What this interpreter imports from, wherever it is installed: its prefixes, its standard library and
    site-packages, every sys.path entry, and the `xsoar_local` package. A checkout of this repository on sys.path
    gives its `xsoar_local` package only (the rest of it is the developer's, `.xsoar-local` and `.venv` among it)."""
    import sysconfig

    package = Path(__file__).resolve().parent.parent
    checkout = _checkout()
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(sys.executable)]
    found += [path for key, path in sysconfig.get_paths().items() if key in _LIBRARY_PATHS]
    found.append(str(package))
    for entry in sys.path:
        if not entry:
            continue
        if checkout is not None and Path(entry).resolve() == checkout:
            found.append(str(package))
        else:
            found.append(entry)
    return found


# sysconfig's names of the folders Python imports from (its headers and scripts are not needed to import).
_LIBRARY_PATHS = frozenset({"stdlib", "platstdlib", "purelib", "platlib"})


def _around(path: str, hide: tuple[Path, ...], seen: frozenset[Path] = frozenset()) -> list[str]:
    """`path` when no hidden folder is in it; else its entries, each the same way, but never a hidden folder
    (Landlock cannot take back a right it gave to a folder, so a folder holding a hidden one is not given whole)."""
    try:
        place = Path(path).resolve()
    except (OSError, RuntimeError):
        return []  # a symbolic-link loop: nothing to read there
    inside = tuple(folder for folder in hide if folder == place or place in folder.parents)
    if not inside:
        return [path]
    if place in inside or place in seen:
        return []
    try:
        entries = sorted(os.scandir(place), key=lambda entry: entry.name)
    except OSError:
        return []
    return [allowed for entry in entries for allowed in _around(entry.path, inside, seen | {place})]


def readable_paths(box: Box) -> list[str]:
    """Everything the box lets its process read, around its hidden folders."""
    hide = tuple(Path(folder).resolve() for folder in box.hide)
    return [allowed for path in (*SYSTEM_READ, *_interpreter_paths(), *box.read) for allowed in _around(path, hide)]


def _landlock(box: Box, abi: int) -> None:
    libc = _c()
    handled = _handled(abi)
    attr = _RulesetAttr(handled, 0, (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 8
    ruleset = int(libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if ruleset < 0:
        raise BoxError(f"cannot create a Landlock ruleset: {os.strerror(ctypes.get_errno())}")
    try:
        read_rights = _EXECUTE | _READ_FILE | _READ_DIR
        write_rights = handled & ~(_MAKE_CHAR | _MAKE_BLOCK)
        rules: list[tuple[str, int]] = [(path, read_rights) for path in readable_paths(box)]
        rules += [(path, _READ_FILE | _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0)) for path in DEVICES]
        rules += [(path, write_rights) for path in box.write]
        for path, rights in rules:
            try:
                descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # not on this system
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_RIGHTS
                rule = _PathBeneath(rights & handled, descriptor)
                if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                    raise BoxError(f"cannot allow {path} in the sandbox: {os.strerror(ctypes.get_errno())}")
            finally:
                os.close(descriptor)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise BoxError(f"cannot set no_new_privs: {os.strerror(ctypes.get_errno())}")
        if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            raise BoxError(f"cannot enter the Landlock sandbox: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)


def _last_capability() -> int:
    with contextlib.suppress(OSError, ValueError):
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    return 63


def _drop_capabilities(last: int) -> None:
    """As root: no capability left, none to regain by exec (bounding set emptied), so uid 0 is an ordinary uid
    to the sandbox. (Files owned by root stay root's: the Landlock rules decide which of them are reachable.)"""
    libc = _c()
    for capability in range(last + 1):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    number = _SYS_CAPSET.get(os.uname().machine)
    if number is None:
        raise BoxError(f"cannot drop capabilities on {os.uname().machine}")
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: twice (64 capabilities), all zero
    if libc.syscall(number, ctypes.byref(header), ctypes.byref(data)) != 0:
        raise BoxError(f"cannot drop capabilities: {os.strerror(ctypes.get_errno())}")


def _user_tasks() -> int:
    """How many tasks (processes and threads) this uid has now: RLIMIT_NPROC counts them all."""
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


def enter(box: Box) -> None:
    """In the command's process, before content code: its own session, the limits, the sandbox."""
    import resource

    if os.getsid(0) != os.getpid():
        os.setsid()
    if box.cgroup:
        with contextlib.suppress(OSError):
            (Path(box.cgroup) / "cgroup.procs").write_text(f"{os.getpid()}\n")
    _lower_limit(resource.RLIMIT_AS, box.memory_mb * 1024 * 1024)
    _lower_limit(resource.RLIMIT_CORE, 0)
    if not box.cgroup and os.getuid() != 0 and sys.platform.startswith("linux"):
        # RLIMIT_NPROC counts every task of the uid: this command may start max_processes more than there are.
        _lower_limit(resource.RLIMIT_NPROC, _user_tasks() + box.max_processes)
    if box.home:
        for name in ("HOME", "TMPDIR", "TEMP", "TMP"):
            os.environ[name] = box.home
        import tempfile

        tempfile.tempdir = None  # a warm worker's tempfile may have chosen its folder already
    if not box.sandbox:
        return
    last_capability = _last_capability()  # read while /proc/sys is still reachable
    abi = landlock_abi()
    if abi:
        _landlock(box, abi)
    if os.geteuid() == 0 and sys.platform.startswith("linux"):
        _drop_capabilities(last_capability)


def _lower_limit(which: int, value: int) -> None:
    """Set a resource limit to `value`, or to the hard limit when that is lower already."""
    import resource

    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def sandbox_description() -> str:
    """One line on what this machine's sandbox is (for messages and the README's check)."""
    abi = landlock_abi()
    if not abi:
        return "no sandbox (Landlock unavailable): content can read what the user running xsoar-local can read"
    root = " with every capability dropped" if os.geteuid() == 0 else ""
    return f"Landlock ABI {abi}{root}"


def main(argv: list[str] | None = None) -> int:
    """`python -m xsoar_local.engine.confine MODULE`: enter the box in $XSOAR_LOCAL_BOX, then run MODULE."""
    args = sys.argv[1:] if argv is None else argv
    spec = os.environ.pop(BOX_VARIABLE, "")
    try:
        enter(Box.from_json(spec) if spec else Box())
    except (BoxError, OSError) as error:
        print(f"xsoar-local: the content was not run: {error}", file=sys.stderr)
        return 70
    runpy.run_module(args[0], run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
