"""The error shared by the context paths and the DT selector language.

It lives apart from both so that ``selector`` (which raises a subclass of it) and ``context``
(which imports ``selector``) need no import cycle.
"""

from __future__ import annotations

from xsoar_local.errors import ContentError

__all__ = ["ContextPathError"]


# Kept a ValueError as well: callers of the context functions have caught a bad path as one (see tests/incident).
class ContextPathError(ContentError, ValueError):
    """A context path is malformed, or writing it would clobber a value that is not an object."""
