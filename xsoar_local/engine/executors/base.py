"""What every executor offers: run a `Job`, answer its executeCommand requests, return a `JobResult`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from xsoar_local.engine.jobs import Job, JobResult
from xsoar_local.errors import UsageError

DEFAULT_TIMEOUT = 300.0

# Answers one `demisto.executeCommand` request of the running code: a request dict in, a reply dict out
# (`{"entries": [...], "context": {...}}`, or `{"error": "..."}` for a command the engine does not know).
RequestHandler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RunOptions:
    """How a job is run: the environment on top of the allow-list (None: the parent's network settings), the time
    limit, and the Python interpreter of the job's docker image (executors of other languages ignore it)."""

    env: Mapping[str, str] | None = None
    timeout: float = DEFAULT_TIMEOUT
    python: str = sys.executable


class Executor(Protocol):
    """Carries out jobs. `run` never raises for what the code does: a crash or a timeout is a crash result."""

    def run(self, job: Job, on_request: RequestHandler, options: RunOptions) -> JobResult:
        """Run `job`, answering its executeCommand requests with `on_request`."""
        ...

    def close(self) -> None:
        """Stop whatever the executor keeps running (warm workers); it may be used again afterwards."""
        ...


def refuse_nested(request: dict[str, Any]) -> dict[str, Any]:
    """The handler for a run with no content catalog: every executeCommand is refused, naming why."""
    return {"error": f"executeCommand({request.get('command')!r}): no content catalog to run it (use --packs)"}


# `on` or `off` (1/0, true/false, yes/no): whether spare forks copy the pages commands write before their command
# arrives (`pages`). Copying ahead takes a command's page faults off its path when a core is idle between commands,
# as between a server's War Room commands; where the next command follows at once (playbooks, test-playbooks) the
# copying competes with the commands and slows them. Unset: a server's process copies ahead
# (`set_prefault_default`), any other process does not.
PREFAULT_ENV = "XSOAR_LOCAL_PREFAULT"
_PREFAULT_DEFAULT = [False]


def set_prefault_default(enabled: bool) -> bool:
    """What `prefault_enabled` answers while PREFAULT_ENV is unset (for warm workers started from now on); returns
    the default it replaces."""
    previous, _PREFAULT_DEFAULT[0] = _PREFAULT_DEFAULT[0], enabled
    return previous


def prefault_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether warm workers started now let their spare forks copy pages ahead (`PREFAULT_ENV` in `environ`, this
    process's environment by default; else the process's default)."""
    raw = (os.environ if environ is None else environ).get(PREFAULT_ENV, "").strip().lower()
    if raw in {"off", "0", "false", "no"}:
        return False
    if raw in {"on", "1", "true", "yes"}:
        return True
    if raw:
        raise UsageError(f"{PREFAULT_ENV}={raw!r}: set it to on or off (or unset it)")
    return _PREFAULT_DEFAULT[0]
