"""The exit statuses of every `xsoar-local` command line, in one enum (the README's table is this one).

A command that ran ends with OK or FAILED; one that could not run ends with the status its error's category maps
to (`STATUS_OF`, the command line's one mapping of the categories in `xsoar_local.errors`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from xsoar_local.errors import Category, XsoarLocalError

__all__ = ["STATUS_OF", "ExitStatus", "exit_status"]


class ExitStatus(enum.IntEnum):
    """What a command line's status means; CI reads 0 as success and anything else as failure."""

    OK = 0  # it ran, and everything it ran succeeded
    FAILED = 1  # it ran, and what it ran failed: an error entry, a playbook not completed, a failed fetch
    USAGE = 2  # it could not run: the one-line message says what to change (flags, content, state, set-up)
    INTERNAL = 70  # a bug of xsoar-local (EX_SOFTWARE); XSOAR_LOCAL_DEBUG=1 shows its traceback
    INTERRUPTED = 130  # stopped with Ctrl-C (128 + SIGINT)


# Every category is something the user changes before running again, so all share USAGE today: one place to
# split them should CI ever need to tell a content error from a state error.
STATUS_OF: Mapping[Category, ExitStatus] = MappingProxyType(
    {
        Category.USAGE: ExitStatus.USAGE,
        Category.CONTENT: ExitStatus.USAGE,
        Category.STATE: ExitStatus.USAGE,
        Category.ENGINE: ExitStatus.USAGE,
    }
)


def exit_status(error: XsoarLocalError) -> ExitStatus:
    """The status a command line ends with when `error` stops it."""
    return STATUS_OF[error.category]
