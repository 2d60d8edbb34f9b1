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

Where each part lives: the settings and the queue in limits.py, the parent's side of a box (its paths, cgroup and
group kill) in box.py, the child's side (entering it, and the rules a warm worker prepares ahead) in box_enter.py.
This module names them all in one place.
"""

from __future__ import annotations

import os
import runpy
import sys

from xsoar_local.engine.box import (
    BOX_VARIABLE,
    CA_VARIABLES,
    PACKS_FOLDER,
    STATE_DIR_VARIABLE,
    STATE_FOLDER,
    Box,
    BoxError,
    kill_group,
    new_cgroup,
    state_folders,
)
from xsoar_local.engine.box_enter import (
    DEVICES,
    SYSTEM_READ,
    Ahead,
    SharedRules,
    enter,
    landlock_abi,
    readable_paths,
    sandbox_description,
)
from xsoar_local.engine.limits import (
    DEFAULT_MAX_PARALLEL,
    DEFAULT_MAX_PROCESSES,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    LIMITER,
    MEMORY_VARIABLE,
    PARALLEL_VARIABLE,
    PROCESSES_VARIABLE,
    SANDBOX_VARIABLE,
    SHARE_VARIABLE,
    TIMEOUT_VARIABLE,
    ConfineError,
    Limiter,
    Limits,
    parse_timeout,
)

__all__ = [
    "BOX_VARIABLE",
    "CA_VARIABLES",
    "DEFAULT_MAX_PARALLEL",
    "DEFAULT_MAX_PROCESSES",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "DEVICES",
    "LIMITER",
    "MEMORY_VARIABLE",
    "PACKS_FOLDER",
    "PARALLEL_VARIABLE",
    "PROCESSES_VARIABLE",
    "SANDBOX_VARIABLE",
    "SHARE_VARIABLE",
    "STATE_DIR_VARIABLE",
    "STATE_FOLDER",
    "SYSTEM_READ",
    "TIMEOUT_VARIABLE",
    "Ahead",
    "Box",
    "BoxError",
    "ConfineError",
    "Limiter",
    "Limits",
    "SharedRules",
    "enter",
    "kill_group",
    "landlock_abi",
    "main",
    "new_cgroup",
    "parse_timeout",
    "readable_paths",
    "sandbox_description",
    "state_folders",
]


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
