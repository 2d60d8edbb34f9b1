"""The subset of the XSOAR DT selector language that CommonServerPython emits in EntryContext keys.

A selector is the ``(...)`` of a key such as ``Path(val.K && val.K == obj.K)``: a JavaScript
expression over ``val`` (a stored item) and ``obj`` (an incoming one). Understood: ``val.X`` /
``obj.X`` member chains, ``&&``, ``||``, ``!``, ``==``, ``===``, ``!=``, ``!==``, parentheses,
``true``/``false``/``null``/``undefined``, string and number literals, arrays and ``a ? b : c``, evaluated with
JavaScript semantics (truthiness, loose and strict equality, ``undefined`` vs ``null``).

Anything else raises UnsupportedSelectorError. Selectors come from integration output, so they
are parsed into a small AST and interpreted, never handed to ``eval``: that would run arbitrary
code and would give Python, not JavaScript, semantics anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, NoReturn

from xsoar_local.incident.errors import ContextPathError
from xsoar_local.incident.jsvalues import (
    UNDEFINED,
    arithmetic,
    call_method,
    loose_equals,
    member,
    relate,
    strict_equals,
    truthy,
)

__all__ = [
    "UNDEFINED",
    "UnsupportedSelectorError",
    "evaluate_expression",
    "evaluate_selector",
    "is_overwrite_selector",
    "split_dt_key",
    "split_mutator",
    "validate_selector",
]


# A ContextPathError so that callers handling bad context paths also handle a bad selector in one.
class UnsupportedSelectorError(ContextPathError):
    """A DT selector uses syntax the local evaluator does not support (or is malformed)."""


# ---------------------------------------------------------------------------------------------
# DT key splitting
# ---------------------------------------------------------------------------------------------


def split_dt_key(key: str) -> tuple[str, str | None]:
    """Split ``Path(selector)`` into ``("Path", "selector")``; a plain key gives ``(key, None)``.

    The split happens at the first ``(`` whose matching ``)`` is the last character of the key,
    so parentheses inside the selector (and inside its string literals) are allowed.
    """
    stripped = key.strip()
    if not stripped.endswith(")"):
        return stripped, None
    for start, char in enumerate(stripped):
        if char == "(" and _matching_paren(stripped, start) == len(stripped) - 1:
            return stripped[:start].strip(), stripped[start + 1 : -1].strip()
    # Unbalanced parentheses: not a DT key, so the whole text is the (odd) plain key.
    return stripped, None


def _matching_paren(text: str, start: int) -> int | None:
    """Index of the ``)`` closing the ``(`` at ``start``, skipping quoted strings; None if unbalanced."""
    depth = 0
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    return None


# ---------------------------------------------------------------------------------------------
# Selector evaluation: a tiny JavaScript subset, parsed into an AST (never eval'd)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Ref:
    root: str  # "val" or "obj"
    path: tuple[str, ...]


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Binary:
    operator: str  # && || == === != !== < > <= >= + -
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Member:
    target: _Node
    name: str


@dataclass(frozen=True)
class _Call:
    target: _Node
    method: str
    arguments: tuple[_Node, ...]


@dataclass(frozen=True)
class _Array:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Choice:
    condition: _Node
    then: _Node
    otherwise: _Node


_Node = _Literal | _Ref | _Not | _Binary | _Member | _Call | _Array | _Choice
# The string and array methods selectors and mutators call (as the server's DT documentation shows them).
_METHODS: Final = frozenset(
    {"indexOf", "includes", "startsWith", "endsWith", "toLowerCase", "toUpperCase", "trim", "toString"}
)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>===|!==|==|!=|<=|>=|&&|\|\||[!().<>+,\[\]?:-])
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS: Final[Mapping[str, Any]] = {"true": True, "false": False, "null": None, "undefined": UNDEFINED}
_ESCAPES: Final[Mapping[str, str]] = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}


def _tokenize(selector: str) -> list[tuple[str, str]]:
    """Split a selector into (kind, text) tokens; anything outside the subset is rejected."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(selector):
        if selector[position:].strip() == "":
            break
        match = _TOKEN.match(selector, position)
        if match is None or match.lastgroup is None:
            offending = selector[position:].lstrip()[:10]
            raise UnsupportedSelectorError(
                f"Unsupported DT selector {selector!r}: cannot read {offending!r} "
                "(supported: val / val.X / obj.X, .length, string methods, &&, ||, ==, ===, !=, !==, <, >, <=, "
                ">=, +, -, !, ? :, parentheses, true/false/null, string and number literals, [arrays])"
            )
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


def _unquote(literal: str) -> str:
    """Decode a quoted JS string literal (simple escapes only)."""
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


# Binary operators from the loosest binding to the tightest, as JavaScript ranks them; unary ones bind tighter still.
_BINARY_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"||"}),
    frozenset({"&&"}),
    frozenset({"==", "===", "!=", "!=="}),
    frozenset({"<", ">", "<=", ">="}),
    frozenset({"+", "-"}),
)


class _Parser:
    """Recursive-descent parser; precedence (low to high): ? :, ||, &&, equality, relational, additive, unary
    (! and -), then member access and method calls."""

    def __init__(self, selector: str) -> None:
        self.selector = selector
        self.tokens = _tokenize(selector)
        self.position = 0

    def parse(self) -> _Node:
        if not self.tokens:
            self._fail("it is empty")
        node = self._or()
        if self.position < len(self.tokens):
            self._fail(f"unexpected {self.tokens[self.position][1]!r}")
        return node

    def _fail(self, reason: str) -> NoReturn:
        raise UnsupportedSelectorError(f"Unsupported DT selector {self.selector!r}: {reason}")

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            self._fail("it ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _or(self) -> _Node:
        """A whole expression: `condition ? then : otherwise` over the binary operators."""
        node = self._binary(0)
        if self._peek() != "?":
            return node
        self._take()
        then = self._or()
        if self._peek() != ":":
            self._fail("a '?' has no ':'")
        self._take()
        return _Choice(node, then, self._or())

    def _binary(self, level: int) -> _Node:
        """One level of left-associative binary operators (`_BINARY_LEVELS[level]`), over the tighter levels."""
        if level == len(_BINARY_LEVELS):
            return self._unary()
        node = self._binary(level + 1)
        while self._peek() in _BINARY_LEVELS[level]:
            operator = self._take()[1]
            node = _Binary(operator, node, self._binary(level + 1))
        return node

    def _unary(self) -> _Node:
        if self._peek() == "!":
            self._take()
            return _Not(self._unary())
        if self._peek() == "-":
            self._take()
            if self.position < len(self.tokens) and self.tokens[self.position][0] == "number":
                return _Literal(-_number(self._take()[1]))
            return _Binary("-", _Literal(0), self._unary())
        return self._postfix(self._primary())

    def _postfix(self, node: _Node) -> _Node:
        while self._peek() == ".":
            self._take()
            kind, name = self._take()
            if kind != "name":
                self._fail(f"expected a field or method name after '.', got {name!r}")
            if self._peek() == "(":
                if name not in _METHODS:
                    self._fail(f"unknown method {name!r} (supported: {', '.join(sorted(_METHODS))})")
                node = _Call(node, name, self._arguments())
            elif isinstance(node, _Ref):
                node = _Ref(node.root, (*node.path, name))
            else:
                node = _Member(node, name)
        return node

    def _arguments(self) -> tuple[_Node, ...]:
        self._take()  # the "("
        return self._items(")", "a method call's arguments are not closed")

    def _items(self, closer: str, unclosed: str) -> tuple[_Node, ...]:
        """Expressions separated by commas up to `closer` (taken too), after their opening bracket."""
        items: list[_Node] = []
        while self._peek() != closer:
            items.append(self._or())
            if self._peek() == ",":
                self._take()
            elif self._peek() != closer:
                self._fail(unclosed)
        self._take()
        return tuple(items)

    def _primary(self) -> _Node:
        kind, text = self._take()
        if text == "(" and kind == "op":
            node = self._or()
            if self._peek() != ")":
                self._fail("a '(' is not closed")
            self._take()
            return node
        if text == "[" and kind == "op":  # an array literal (`${.=[]}` starts from an empty list)
            return _Array(self._items("]", "a '[' is not closed"))
        if kind == "number":
            return _Literal(_number(text))
        if kind == "string":
            return _Literal(_unquote(text))
        if kind == "name" and text in _KEYWORDS:
            return _Literal(_KEYWORDS[text])
        if kind == "name" and text in ("val", "obj"):
            return _Ref(text, ())
        if kind == "name":
            self._fail(f"unknown name {text!r} (only val and obj can be referenced)")
        self._fail(f"unexpected {text!r}")


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


@lru_cache(maxsize=256)
def _compile(selector: str) -> _Node:
    return _Parser(selector).parse()


def _lookup(value: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        value = member(value, name)
    return value


def _evaluate(node: _Node, val: Any, obj: Any) -> Any:
    match node:
        case _Literal(value):
            return value
        case _Ref(root, path):
            return _lookup(val if root == "val" else obj, path)
        case _Not(operand):
            return not truthy(_evaluate(operand, val, obj))
        case _Binary("&&", left, right):
            first = _evaluate(left, val, obj)
            return _evaluate(right, val, obj) if truthy(first) else first
        case _Binary("||", left, right):
            first = _evaluate(left, val, obj)
            return first if truthy(first) else _evaluate(right, val, obj)
        case _Member(target, name):
            return member(_evaluate(target, val, obj), name)
        case _Choice(condition, then, otherwise):
            return _evaluate(then if truthy(_evaluate(condition, val, obj)) else otherwise, val, obj)
        case _Array(items):
            return [_evaluate(item, val, obj) for item in items]
        case _Call(target, method, arguments):
            return call_method(_evaluate(target, val, obj), method, [_evaluate(item, val, obj) for item in arguments])
        case _Binary(operator, left, right) if operator in ("<", ">", "<=", ">="):
            return relate(operator, _evaluate(left, val, obj), _evaluate(right, val, obj))
        case _Binary(operator, left, right) if operator in ("+", "-"):
            return arithmetic(operator, _evaluate(left, val, obj), _evaluate(right, val, obj))
        case _Binary(operator, left, right):
            a, b = _evaluate(left, val, obj), _evaluate(right, val, obj)
            equal = strict_equals(a, b) if operator in ("===", "!==") else loose_equals(a, b)
            return equal if operator in ("==", "===") else not equal
    raise AssertionError(f"unknown selector node {node!r}")  # pragma: no cover - the parser builds only these


def evaluate_selector(selector: str, val: Any, obj: Any = UNDEFINED) -> bool:
    """Evaluate a DT selector for an existing item ``val`` and an incoming item ``obj``.

    Raises UnsupportedSelectorError (a ValueError) naming the selector when it is outside the
    supported subset.
    """
    return truthy(_evaluate(_compile(selector), val, obj))


def split_mutator(path: str) -> tuple[str, str | None]:
    """Split a read path with a DT mutator, ``Path=val.toLowerCase()``, into the path and the expression; a path
    without one gives ``(path, None)``. The ``=`` is the first one outside parentheses and quotes that is not part
    of ``==``, ``!=``, ``<=`` or ``>=``."""
    depth, quote = 0, ""
    for position, char in enumerate(path):
        if quote:
            quote = "" if char == quote and path[position - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "=" and depth == 0:
            before = path[position - 1] if position else ""
            after = path[position + 1] if position + 1 < len(path) else ""
            if before not in "=!<>" and after != "=":
                return path[:position].strip(), path[position + 1 :].strip()
    return path, None


def evaluate_expression(expression: str, val: Any) -> Any:
    """The value of a DT mutator's expression (`Path=val.toLowerCase()`) for one item `val`; undefined is None."""
    value = _evaluate(_compile(expression), val, UNDEFINED)
    return None if value is UNDEFINED else value


def validate_selector(selector: str) -> None:
    """Raise UnsupportedSelectorError now if ``selector`` is outside the subset (parsing is cached)."""
    _compile(selector)


def is_overwrite_selector(selector: str) -> bool:
    """True for ``(true)``, the key suffix that makes the merge replace the stored value."""
    return _compile(selector) == _Literal(True)
