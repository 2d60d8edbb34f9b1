"""Start `run`'s warm worker before the command line is even parsed.

`run` executes one War Room line per process, so its warm worker's start (an interpreter importing what the
runtime imports) would follow the CLI's own start and double it. Started first, the two overlap. This is done
only when the worker's interpreter is known without the content: content runs in the toolkit's own environment
(`XSOAR_LOCAL_IMAGES=off`); with images on, the interpreter depends on the integration's docker image, so the
worker starts on first use as on every other path. `--cold` and `XSOAR_LOCAL_WARM=off` start nothing. A worker
that no job takes (the line turned out to be a server-native command, or bad arguments) is stopped at exit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from xsoar_local.engine.executors import warm_enabled


def _images_off(environ: Mapping[str, str]) -> bool:
    return environ.get("XSOAR_LOCAL_IMAGES", "").strip().lower() in ("off", "0", "false", "no")


def prestart_for_command_line(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Start the warm worker `argv` (`xsoar-local` arguments) will use, if it is known now; True if started."""
    if not argv or argv[0] != "run" or "--cold" in argv or any(a in ("-h", "--help") for a in argv):
        return False
    if not warm_enabled() or not _images_off(environ):
        return False
    from xsoar_local.engine.executors.warm import prestart

    prestart()
    return True
