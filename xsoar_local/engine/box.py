"""The parent's side of one command's box: what its process may read and write, its process-count cgroup, and
the kill of its process group and cgroup when the command ends or times out.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import signal
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from xsoar_local.engine.limits import DEFAULT_MAX_PROCESSES, DEFAULT_MEMORY_MB, Limits
from xsoar_local.errors import EngineError

BOX_VARIABLE = "XSOAR_LOCAL_BOX"

# The state folder of a content repository (beside its Packs/) and of a checkout, as xsoar_local.contentroot and
# xsoar_local.incident.model name them (not imported: the box is entered before anything else is loaded).
STATE_FOLDER = ".xsoar-local"
PACKS_FOLDER = "Packs"
STATE_DIR_VARIABLE = "XSOAR_LOCAL_STATE_DIR"

# The environment variables that name a CA bundle or folder the content must be able to read.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


class BoxError(EngineError):
    """The box could not be set up, so the content was not run."""


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
    # The largest file it may write, as large as its memory: its folder may be in memory, where a file costs
    # memory the address-space limit does not count. 0: no limit.
    max_file_mb: int = 0

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
            max_file_mb=limits.memory_mb,
        )

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> Box:
        """The box a warm worker's request names (`box`), else the default box of its job and folder."""
        if request.get("box"):
            return cls.from_json(str(request["box"]))
        workdir = str(request.get("workdir") or os.getcwd())
        return cls.for_job(request.get("job") or {}, workdir, request.get("env") or {}, Limits())

    def to_json(self) -> str:
        # not dataclasses.asdict: its deep copy of every value is wasted on one JSON dump of strings and numbers
        return json.dumps({item.name: getattr(self, item.name) for item in fields(self)})

    @classmethod
    def from_json(cls, text: str) -> Box:
        data = json.loads(text)
        lists = {key: tuple(data.get(key) or ()) for key in ("read", "write", "hide")}
        return cls(**{**data, **lists})

    def prepare(self) -> Box:
        """The box with a process-count cgroup of its own, where this process may make one (root, cgroup pids)."""
        path = new_cgroup(self.max_processes)
        return replace(self, cgroup=str(path)) if path is not None else self


def checkout_root() -> Path | None:
    """The checkout of this repository this module runs from; None for an installed package (site-packages)."""
    root = _package_parent()
    return root if (root / "pyproject.toml").is_file() and (root / "xsoar_local").is_dir() else None


@functools.cache
def _package_parent() -> Path:
    """The folder holding the xsoar_local package this module was loaded from (resolved once: a loaded module's
    file does not move, and resolving it walks every folder of its path, on every command)."""
    return Path(__file__).resolve().parent.parent.parent


def resolve(path: str | Path) -> Path:
    """`Path(path).resolve()`, in three system calls where the path exists and /proc names open files (Linux): the
    kernel names the file it opened, where resolving folder by folder costs a call per folder, several times per
    command."""
    flag = getattr(os, "O_PATH", None)
    if flag is None:
        return Path(path).resolve()
    try:
        descriptor = os.open(path, flag | os.O_CLOEXEC)
    except OSError:
        return Path(path).resolve()
    try:
        named = os.readlink(f"/proc/self/fd/{descriptor}")
    except OSError:
        named = ""
    finally:
        os.close(descriptor)
    # not absolute: outside this process's root; " (deleted)": removed meanwhile. Either way, as Python does it.
    return Path(named) if named.startswith("/") and not named.endswith(" (deleted)") else Path(path).resolve()


def resolve_beside(path: Path, folder: Path, resolved: Path) -> Path:
    """`resolve(path)`, knowing that `folder` resolves to `resolved`: a file directly in that folder (a job's code
    beside its YAML) is not resolved again from the root (only its own name may be a link)."""
    if path.parent != folder or path.name in ("", ".."):
        return resolve(path)
    beside = resolved / path.name
    return resolve(beside) if beside.is_symlink() else beside


def state_folders(job: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The state folders content must not read, wherever they sit: the checkout's default, the default of an
    installed tool (`.xsoar-local/` beside the `Packs/` that holds the job's content), $XSOAR_LOCAL_STATE_DIR."""
    environ = os.environ if environ is None else environ
    found: list[Path] = []
    checkout = checkout_root()
    if checkout is not None:
        found.append(checkout / STATE_FOLDER)
    places = []
    folder = Path(str(job["folder"])) if job.get("folder") else None
    if folder is not None:
        places.append(resolve(folder))
    if job.get("code_path"):
        code = Path(str(job["code_path"]))
        places.append(resolve(code) if folder is None else resolve_beside(code, folder, places[0]))
    for place in places:
        found += [parent.parent / STATE_FOLDER for parent in place.parents if parent.name == PACKS_FOLDER]
    if environ.get(STATE_DIR_VARIABLE):
        found.append(resolve(environ[STATE_DIR_VARIABLE]))
    return tuple(dict.fromkeys(str(path) for path in found))


def _cgroup_bases() -> Iterator[Path]:
    yield Path("/sys/fs/cgroup/pids")  # cgroup v1
    root = Path("/sys/fs/cgroup")  # cgroup v2, where its root delegates the pids controller
    with contextlib.suppress(OSError):
        if "pids" in (root / "cgroup.subtree_control").read_text().split():
            yield root


_SWEPT: dict[Path, float] = {}  # when each cgroup folder was last swept for orphans (time.monotonic)
_SWEEP_SECONDS = 60.0


def _remove_orphans(base: Path) -> None:
    """Remove the empty cgroups of engines that are gone (killed before they could remove their own)."""
    for path in base.glob("xsoar-local-*-*"):
        creator = path.name.split("-")[2]
        if creator.isdigit() and not Path(f"/proc/{creator}").exists():
            with contextlib.suppress(OSError):
                path.rmdir()  # refused while a process is still in it


def new_cgroup(max_processes: int) -> Path | None:
    """A new process-count cgroup limited to `max_processes`, where this process may make one (root, cgroup
    pids); None elsewhere."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    for base in _cgroup_bases():
        if time.monotonic() >= _SWEPT.get(base, -math.inf) + _SWEEP_SECONDS:  # not on every command's fork
            _SWEPT[base] = time.monotonic()
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


def _cgroup_pids(cgroup: str) -> list[int]:
    try:
        return [int(line) for line in (Path(cgroup) / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def kill_group(pid: int | None, box: Box | None = None, *, unreaped: bool = False, remove: bool = True) -> None:
    """Kill the command's process group (led by `pid`) and every process still in its cgroup, wait until none of
    them runs, then remove the cgroup. Call it whenever the command ends, normally or not: what it started must
    not outlive it. `remove=False`: the cgroup's owner removes it later, and `pid` itself (killed here, leader of
    its session so it cannot leave the group) is not waited for: its exit, the unmapping of a forked worker's
    memory, is the owner's to wait for, off the command's path.
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
    # A process that left the group (setsid) is still in the cgroup; killed ones leave it as they exit (a zombie
    # is no longer listed). Polled often at first: most commands leave nothing, or a few processes that die at once.
    delay, waited = 0.0002, 0.0
    while waited < 2.0:
        remaining = _cgroup_pids(box.cgroup)
        for member in remaining:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, signal.SIGKILL)
        if not remove and pid is not None:
            remaining = [member for member in remaining if member != pid]
        if not remaining:
            if not remove:
                return
            try:
                Path(box.cgroup).rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                pass
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, 0.01)
