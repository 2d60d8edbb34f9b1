"""Start the warm worker of `run`, `playbook` and `test-playbooks -j 1` before the command line is even parsed.

Each of them runs in one process with one warm worker, whose start (an interpreter importing what the runtime
imports) would follow the CLI's own start and nearly double a short run. Started first, the two overlap. This is
done only when the worker's interpreter is known without the content: content runs in the toolkit's own
environment (`XSOAR_LOCAL_IMAGES=off`); with images on, the interpreter depends on the integration's docker
image, so the worker starts on first use as on every other path. `--cold` and `XSOAR_LOCAL_WARM=off` start
nothing, nor does `test-playbooks` with more than one process (each starts workers of its own). A worker that no
job takes (the line turned out to be a server-native command, or bad arguments) is stopped at exit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from xsoar_local.engine.executors import warm_enabled

_PRESTARTING = frozenset({"run", "playbook", "test-playbooks"})


def _images_off(environ: Mapping[str, str]) -> bool:
    return environ.get("XSOAR_LOCAL_IMAGES", "").strip().lower() in ("off", "0", "false", "no")


def _jobs(argv: Sequence[str]) -> int | None:
    """The `-j`/`--jobs` count of a command line (1 when absent); None when it cannot be read here."""
    found = 1
    for index, argument in enumerate(argv):
        if argument in ("-j", "--jobs"):
            value = argv[index + 1] if index + 1 < len(argv) else ""
        elif argument.startswith("--jobs="):
            value = argument.removeprefix("--jobs=")
        elif argument.startswith("-j"):
            value = argument.removeprefix("-j")
        else:
            continue
        if not value.isdigit():
            return None
        found = int(value)
    return found


def prestart_for_command_line(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Start the warm worker `argv` (`xsoar-local` arguments) will use, if it is known now; True if started."""
    if not argv or argv[0] not in _PRESTARTING or "--cold" in argv or any(a in ("-h", "--help") for a in argv):
        return False
    if argv[0] == "test-playbooks" and _jobs(argv[1:]) != 1:
        return False
    if not warm_enabled() or not _images_off(environ):
        return False
    from xsoar_local.engine.executors.warm import prestart

    prestart()
    return True
