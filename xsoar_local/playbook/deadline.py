"""A playbook run's deadline: the wall-clock time the whole run may take (a test playbook's `timeout`).

The runner checks it before each task, each command and each wait (so loops and polling stop too) and fails the
run with `reason` once it has passed. `DeadlineSession` gives each command no more than the time left (its own
time limit otherwise), so the engine stops a command that is still running at the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from xsoar_local.engine.session import EngineSession
from xsoar_local.playbook.records import TaskError

# A command's time limit must be positive: one started (a transformer, say) with no time left gets this much.
LEAST_TIME = 0.05


class DeadlineError(TaskError):
    """The run's deadline passed: the task fails, and the run stops before its next task."""


class Deadline:
    """`seconds` from now by `clock`; `source` says where the number came from (it is named in the reason)."""

    def __init__(self, seconds: float, source: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.source = source
        self.clock = clock
        self.ends = clock() + seconds

    @property
    def reason(self) -> str:
        """The one-line failure of a run still going at the deadline."""
        return f"ran past its timeout of {self.seconds:g} s ({self.source})"

    def left(self) -> float:
        """Seconds until the deadline (negative after it)."""
        return self.ends - self.clock()

    def passed(self) -> bool:
        """True once the deadline is reached."""
        return self.left() <= 0

    def check(self) -> None:
        """Raise `DeadlineError` once the deadline is reached."""
        if self.passed():
            raise DeadlineError(self.reason)

    def cap(self, seconds: float) -> float:
        """`seconds`, or the time left when that is less."""
        return max(LEAST_TIME, min(seconds, round(self.left(), 2)))  # 0.99 s, not 0.999234, in its message


class DeadlineSession(EngineSession):
    """An engine session whose per-command time limit (`timeout`, read as each command starts: scripts,
    integration commands, transformers, filters, nested calls) is cut to the time the run has left."""

    def __init__(self, *args: Any, deadline: Deadline | None = None, **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    @property
    def timeout(self) -> float:
        """The session's time limit, or the time the run has left when less."""
        return self.deadline.cap(self._timeout) if self.deadline is not None else self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = seconds
