"""What argument values, conditions and filters share: emptiness, the expression error, and the two protocols
(content operators, operand resolution) through which conditions read values without importing the resolver.

Kept apart so that `conditions` (operators) and `expressions` (the resolver, whose filters evaluate conditions)
depend on this module instead of on each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from xsoar_local.errors import ContentError
from xsoar_local.playbook.transformers import is_empty as is_empty  # shared with conditions and expressions


class ExpressionError(ContentError):
    """An argument value is malformed or uses something the local runner does not support."""


class ContentOperators(Protocol):
    """Transformers and filters implemented by the content's own scripts (tagged `transformer` / `filter`)."""

    def has(self, name: str, tag: str) -> bool:
        """True when a script `name` with `tag` exists."""
        ...

    def transform(self, name: str, value: Any, args: Mapping[str, Any]) -> Any:
        """The value after the transformer script `name`."""
        ...

    def filter(self, name: str, left: Any, right: Any) -> bool:
        """Whether the filter script `name` holds."""
        ...


class Operands(Protocol):
    """What a condition needs to read its two sides: operand resolution and the content's filter scripts."""

    @property
    def scripts(self) -> ContentOperators | None:
        """The content's transformer and filter scripts, when running on content."""
        ...

    def operand(self, raw: Mapping[str, Any]) -> Any:
        """A condition side: `{value: {simple|complex}, iscontext}`."""
        ...
