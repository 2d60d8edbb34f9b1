"""The child's side of the box: entering it in the command's process, before any content code runs (a session
of its own, rlimits, Landlock, every capability dropped when run as root).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from xsoar_local.engine.box import Box, BoxError, checkout_root, resolve

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

DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

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
    checkout = checkout_root()
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
        place = resolve(path)
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


def _static_paths() -> list[str]:
    return [*SYSTEM_READ, *_interpreter_paths()]


def readable_paths(box: Box) -> list[str]:
    """Everything the box lets its process read, around its hidden folders."""
    hide = tuple(Path(folder).resolve() for folder in box.hide)
    return [allowed for path in (*_static_paths(), *box.read) for allowed in _around(path, hide)]


_READ_RIGHTS = _EXECUTE | _READ_FILE | _READ_DIR


def _new_ruleset(abi: int) -> int:
    attr = _RulesetAttr(_handled(abi), 0, (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 8
    ruleset = int(_c().syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if ruleset < 0:
        raise BoxError(f"cannot create a Landlock ruleset: {os.strerror(ctypes.get_errno())}")
    return ruleset


def _static_rules(abi: int, hide: tuple[str, ...]) -> list[tuple[str, int]]:
    """The rules every box has: the system files, the interpreter's paths (around `hide`), the devices."""
    hidden = tuple(Path(folder).resolve() for folder in hide)
    rules = [(allowed, _READ_RIGHTS) for path in _static_paths() for allowed in _around(path, hidden)]
    rules += [(path, _READ_FILE | _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0)) for path in DEVICES]
    return rules


def _job_rules(box: Box, abi: int) -> list[tuple[str, int]]:
    """The rules of this box alone: its job's files readable (around its hidden folders), its folders writable."""
    hidden = tuple(resolve(folder) for folder in box.hide)
    write_rights = _handled(abi) & ~(_MAKE_CHAR | _MAKE_BLOCK)
    rules = [(allowed, _READ_RIGHTS) for path in box.read for allowed in _around(path, hidden)]
    return rules + [(path, write_rights) for path in box.write]


def _narrowed(rules: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The rules of the paths that exist, a file's rights cut to what Landlock allows on a file."""
    found = []
    for path, rights in rules:
        if os.path.isdir(path):
            found.append((path, rights))
        elif os.path.lexists(path):
            found.append((path, rights & _FILE_RIGHTS))
    return found


def _add_rules(ruleset: int, abi: int, rules: list[tuple[str, int]], *, narrowed: bool = False) -> None:
    """Add each rule (`narrowed`: the rights are already cut for files, `_narrowed`)."""
    libc = _c()
    handled = _handled(abi)
    for path, rights in rules:
        try:
            descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # not on this system
        try:
            if not narrowed and not os.path.isdir(path):
                rights &= _FILE_RIGHTS
            rule = _PathBeneath(rights & handled, descriptor)
            if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                raise BoxError(f"cannot allow {path} in the sandbox: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(descriptor)


def _restrict(ruleset: int) -> None:
    libc = _c()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise BoxError(f"cannot set no_new_privs: {os.strerror(ctypes.get_errno())}")
    if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
        raise BoxError(f"cannot enter the Landlock sandbox: {os.strerror(ctypes.get_errno())}")


def _landlock(box: Box, abi: int, ahead: Ahead | None = None) -> None:
    """Enter the Landlock sandbox of `box`; with `ahead`'s ruleset when it was built for the same hidden
    folders (then only the job's own rules are added here), else a ruleset built whole."""
    ruleset = ahead.take_ruleset(box) if ahead is not None else -1
    try:
        if ruleset < 0:
            ruleset = _new_ruleset(abi)
            _add_rules(ruleset, abi, _static_rules(abi, box.hide))
        _add_rules(ruleset, abi, _job_rules(box, abi))
        _restrict(ruleset)
    finally:
        if ruleset >= 0:
            os.close(ruleset)


def _relevant(hide: tuple[str, ...] | tuple[Path, ...], static: tuple[Path, ...]) -> frozenset[Path]:
    """The hidden folders that change what the static paths give (`_around`: one equal to or inside a path)."""
    found = set()
    prefixes = tuple(os.path.join(str(path), "") for path in static)  # "a/b/": a folder and what is below it
    for folder in hide:
        place = resolve(folder)
        if os.path.join(str(place), "").startswith(prefixes):
            found.add(place)
    return frozenset(found)


@dataclass(frozen=True)
class SharedRules:
    """The Landlock rules every box shares (system files, the interpreter's paths around the hidden folders,
    devices), worked out once: a warm worker computes them at its start and each spare fork only adds them to a
    new ruleset. The paths are what this process imports from, which a fork shares with its worker; a folder
    made later inside one of them is reachable or not as the folder is, and a hidden folder is kept out by its
    path whether it exists yet or not (`_around`)."""

    abi: int
    last_capability: int
    static: tuple[Path, ...]  # the static paths, resolved: which hidden folders change them (`_relevant`)
    hide: frozenset[Path]
    given: tuple[str, ...]  # the hidden folders they were computed for
    rules: tuple[tuple[str, int], ...]  # narrowed (`_narrowed`)

    @classmethod
    def compute(cls, hide: tuple[str, ...] = ()) -> SharedRules:
        abi = landlock_abi()
        static: list[Path] = []
        rules: list[tuple[str, int]] = []
        if abi:
            for path in _static_paths():
                with contextlib.suppress(OSError, RuntimeError):
                    static.append(Path(path).resolve())
            rules = _narrowed(_static_rules(abi, hide))
        return cls(abi, _last_capability(), tuple(static), _relevant(hide, tuple(static)), tuple(hide), tuple(rules))


class Ahead:
    """What a warm worker's spare fork sets up while it waits for its command, because it does not depend on the
    command: its cgroup joined (slow on cgroup v1), and a Landlock ruleset holding every box's rules (`shared`,
    computed by the worker once). Nothing of it restricts the process yet: `enter(box, ahead)` adds the job's own
    rules and restricts, exactly as `enter(box)` would (a job whose hidden folders change the static rules gets
    a ruleset built whole)."""

    def __init__(self, cgroup: str = "", shared: SharedRules | None = None, *, max_processes: int = 0) -> None:
        self.cgroup = ""
        self.max_processes = max_processes  # what the cgroup's pids.max already says (0: not known)
        if cgroup:
            with contextlib.suppress(OSError):
                (Path(cgroup) / "cgroup.procs").write_text(f"{os.getpid()}\n")
                self.cgroup = cgroup
        shared = shared if shared is not None else SharedRules.compute()
        self.last_capability = shared.last_capability
        self.abi = shared.abi
        self._ruleset = -1
        self._static = shared.static
        self._hide = shared.hide
        self._given = shared.given
        if self.abi:
            ruleset = _new_ruleset(self.abi)
            try:
                _add_rules(ruleset, self.abi, list(shared.rules), narrowed=True)
            except BaseException:
                os.close(ruleset)
                raise
            self._ruleset = ruleset

    def take_ruleset(self, box: Box) -> int:
        """The prepared ruleset (the caller closes it) if it holds exactly `box`'s static rules, else -1."""
        ruleset, self._ruleset = self._ruleset, -1
        if ruleset >= 0 and tuple(box.hide) != self._given and _relevant(box.hide, self._static) != self._hide:
            os.close(ruleset)
            return -1
        return ruleset

    def discard(self) -> None:
        if self._ruleset >= 0:
            os.close(self._ruleset)
            self._ruleset = -1


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


def enter(box: Box, ahead: Ahead | None = None) -> None:
    """In the command's process, before content code: its own session, the limits, the sandbox. `ahead`: what
    this process prepared before its command arrived (a warm worker's spare fork)."""
    import resource

    if os.getsid(0) != os.getpid():
        os.setsid()
    if ahead is not None and ahead.cgroup:
        # joined ahead; the command's own process limit is set now (the process is still privileged here),
        # unless the cgroup was made with it
        if box.max_processes != ahead.max_processes:
            (Path(ahead.cgroup) / "pids.max").write_text(f"{box.max_processes}\n")
        box = replace(box, cgroup=ahead.cgroup)
    elif box.cgroup:
        with contextlib.suppress(OSError):
            (Path(box.cgroup) / "cgroup.procs").write_text(f"{os.getpid()}\n")
    _lower_limit(resource.RLIMIT_AS, box.memory_mb * 1024 * 1024)
    _lower_limit(resource.RLIMIT_CORE, 0)
    if box.max_file_mb:
        # a write past the limit fails with "File too large" (EFBIG) instead of the signal killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        _lower_limit(resource.RLIMIT_FSIZE, box.max_file_mb * 1024 * 1024)
    if not box.cgroup and os.getuid() != 0 and sys.platform.startswith("linux"):
        # RLIMIT_NPROC counts every task of the uid: this command may start max_processes more than there are.
        _lower_limit(resource.RLIMIT_NPROC, _user_tasks() + box.max_processes)
    if box.home:
        for name in ("HOME", "TMPDIR", "TEMP", "TMP"):
            os.environ[name] = box.home
        import tempfile

        tempfile.tempdir = None  # a warm worker's tempfile may have chosen its folder already
    if not box.sandbox:
        if ahead is not None:
            ahead.discard()
        return
    # read while /proc/sys is still reachable
    last_capability = ahead.last_capability if ahead is not None else _last_capability()
    abi = ahead.abi if ahead is not None else landlock_abi()
    if abi:
        _landlock(box, abi, ahead)
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
