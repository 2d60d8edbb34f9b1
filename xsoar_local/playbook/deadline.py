"""A playbook run's deadline: the wall-clock time the whole run may take (a test playbook's `timeout`).

The runner checks it before each task, each command and each wait (so loops and polling stop too) and fails the
run with `reason` once it has passed. `integrations.DeadlineSession` gives each command no more than the time
left (its own time limit otherwise), so the engine stops a command that is still running at the deadline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

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

    def within(self, seconds: float) -> float:
        """A wait of `seconds`, cut to end at the deadline (`DeadlineError` when it has passed)."""
        self.check()
        return min(seconds, max(0.0, self.left()))

    def cap(self, seconds: float) -> float:
        """`seconds`, or the time left when that is less."""
        return max(LEAST_TIME, min(seconds, round(self.left(), 2)))  # 0.99 s, not 0.999234, in its message


NO_DEADLINE = Deadline(math.inf, "no timeout")  # a run without a deadline: it never passes
