"""The one exception base of the toolkit, and its four categories.

Every error the toolkit raises on purpose derives from `XsoarLocalError` through one of the categories below.
An entry point maps the category once: to an exit status (the CLI), an HTTP status (the server and the page) or
an error entry (a War Room line, a playbook task). Anything that is not an `XsoarLocalError` is a bug of the
toolkit, and each entry point reports it as one, without a traceback.

The message of an `XsoarLocalError` is written for the user: it says what is wrong and what to change.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar


class Category(enum.Enum):
    """What kind of failure an error is, which decides how each entry point reports it."""

    USAGE = "usage"  # the caller's words are off: a flag, an argument, a request body
    CONTENT = "content"  # the content (a pack, a YAML, a playbook, a script) cannot be run as it is
    STATE = "state"  # the stored state cannot be read or written
    ENGINE = "engine"  # the engine could not carry the command out (not an error of the content's own code)


class XsoarLocalError(Exception):
    """The base of every error the toolkit raises for the user to read."""

    category: ClassVar[Category] = Category.ENGINE


class UsageError(XsoarLocalError):
    """The caller asked for something the toolkit cannot do as asked."""

    category = Category.USAGE


class ContentError(XsoarLocalError):
    """The content cannot be loaded or run as it is written."""

    category = Category.CONTENT


class StateError(XsoarLocalError):
    """The stored state cannot be read or written."""

    category = Category.STATE


class EngineError(XsoarLocalError):
    """The engine could not carry the command out."""

    category = Category.ENGINE


# The HTTP entry points' one mapping (the REST API and the page): an error that carries its own `status` (the
# server's refusals, shaped as an XSOAR server sends them) keeps it.
HTTP_STATUS: Mapping[Category, int] = MappingProxyType(
    {Category.USAGE: 400, Category.CONTENT: 400, Category.STATE: 500, Category.ENGINE: 500}
)


def http_status(error: XsoarLocalError) -> int:
    """The HTTP status an answer to `error` carries."""
    status = getattr(error, "status", None)
    return status if isinstance(status, int) and 400 <= status <= 599 else HTTP_STATUS[error.category]
