"""Pure functions over an incident context: the JSON-like dict that commands write into.

The XSOAR server merges every entry's ``EntryContext`` into the incident context, and the
merge depends on the key (reference: xsoar-engine.md section 2):

* ``Path(val.K && val.K == obj.K)`` (a DT selector): every incoming item ``obj`` updates the
  stored items ``val`` for which the selector holds, with a shallow merge where incoming
  top-level keys win; an item that matches nothing is appended.
* ``Path(true)``: the stored value is replaced.
* ``Path`` (no selector): appended; items deep-equal to one already stored are dropped.

Every function returns a new dict and never mutates its arguments.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, NoReturn

__all__ = [
    "ContextPathError",
    "UnsupportedSelectorError",
    "delete_path",
    "evaluate_selector",
    "get_path",
    "json_equal",
    "merge_entry_context",
    "set_path",
    "split_dt_key",
]


class ContextPathError(ValueError):
    """A context path is malformed, or writing it would clobber a value that is not an object."""


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


class _Undefined:
    """JavaScript ``undefined``: a missing key. Distinct from JSON ``null`` (None) for ``===``."""

    __slots__ = ()


UNDEFINED: Final = _Undefined()


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
    operator: str  # && || == === != !==
    left: _Node
    right: _Node


_Node = _Literal | _Ref | _Not | _Binary

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>===|!==|==|!=|&&|\|\||[!().-])
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
                "(supported: val.X / obj.X, &&, ||, ==, ===, !=, !==, !, parentheses, "
                "true/false/null, string and number literals)"
            )
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


def _unquote(literal: str) -> str:
    """Decode a quoted JS string literal (simple escapes only)."""
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


class _Parser:
    """Recursive-descent parser; precedence (low to high): ||, &&, equality, !, primary."""

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
        node = self._and()
        while self._peek() == "||":
            self._take()
            node = _Binary("||", node, self._and())
        return node

    def _and(self) -> _Node:
        node = self._equality()
        while self._peek() == "&&":
            self._take()
            node = _Binary("&&", node, self._equality())
        return node

    def _equality(self) -> _Node:
        node = self._unary()
        while self._peek() in ("==", "===", "!=", "!=="):
            operator = self._take()[1]
            node = _Binary(operator, node, self._unary())
        return node

    def _unary(self) -> _Node:
        if self._peek() == "!":
            self._take()
            return _Not(self._unary())
        if self._peek() == "-":
            self._take()
            kind, text = self._take()
            if kind != "number":
                self._fail("'-' is only supported before a number")
            return _Literal(-_number(text))
        return self._primary()

    def _primary(self) -> _Node:
        kind, text = self._take()
        if text == "(" and kind == "op":
            node = self._or()
            if self._peek() != ")":
                self._fail("a '(' is not closed")
            self._take()
            return node
        if kind == "number":
            return _Literal(_number(text))
        if kind == "string":
            return _Literal(_unquote(text))
        if kind == "name" and text in _KEYWORDS:
            return _Literal(_KEYWORDS[text])
        if kind == "name" and text in ("val", "obj"):
            path: list[str] = []
            while self._peek() == ".":
                self._take()
                member_kind, member = self._take()
                if member_kind != "name":
                    self._fail(f"expected a field name after '{text}.', got {member!r}")
                path.append(member)
            return _Ref(text, tuple(path))
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
        if not isinstance(value, Mapping) or name not in value:
            return UNDEFINED
        value = value[name]
    return value


def _truthy(value: Any) -> bool:
    """JavaScript truthiness: undefined, null, false, 0, NaN and "" are falsy; {} and [] are truthy."""
    if value is UNDEFINED or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == value and value != 0  # NaN != NaN
    if isinstance(value, str):
        return value != ""
    return True


_JS_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _to_number(value: Any) -> float:
    """JavaScript ``Number(value)`` for the primitives a context holds."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text == "":
        return 0.0
    return float(text) if _JS_NUMBER.fullmatch(text) else float("nan")


def _loose_equals(left: Any, right: Any) -> bool:
    """JavaScript ``==`` for JSON values.

    Objects and arrays compare by identity, as in JavaScript; the ``ToPrimitive`` conversion of
    an object compared with a primitive is not emulated (that comparison is false).
    """
    if left is UNDEFINED or left is None or right is UNDEFINED or right is None:
        return (left is UNDEFINED or left is None) and (right is UNDEFINED or right is None)
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return left is right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return _to_number(left) == _to_number(right)


def _strict_equals(left: Any, right: Any) -> bool:
    """JavaScript ``===`` for JSON values (booleans never equal numbers; undefined !== null)."""
    if left is UNDEFINED or right is UNDEFINED or left is None or right is None:
        return left is right
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and bool(left == right)


def _evaluate(node: _Node, val: Any, obj: Any) -> Any:
    match node:
        case _Literal(value):
            return value
        case _Ref(root, path):
            return _lookup(val if root == "val" else obj, path)
        case _Not(operand):
            return not _truthy(_evaluate(operand, val, obj))
        case _Binary("&&", left, right):
            first = _evaluate(left, val, obj)
            return _evaluate(right, val, obj) if _truthy(first) else first
        case _Binary("||", left, right):
            first = _evaluate(left, val, obj)
            return first if _truthy(first) else _evaluate(right, val, obj)
        case _Binary(operator, left, right):
            a, b = _evaluate(left, val, obj), _evaluate(right, val, obj)
            equal = _strict_equals(a, b) if operator in ("===", "!==") else _loose_equals(a, b)
            return equal if operator in ("==", "===") else not equal
    raise AssertionError(f"unknown selector node {node!r}")  # pragma: no cover - the parser builds only these


def evaluate_selector(selector: str, val: Any, obj: Any = UNDEFINED) -> bool:
    """Evaluate a DT selector for an existing item ``val`` and an incoming item ``obj``.

    Raises UnsupportedSelectorError (a ValueError) naming the selector when it is outside the
    supported subset.
    """
    return _truthy(_evaluate(_compile(selector), val, obj))


def _is_overwrite(selector: str) -> bool:
    return _compile(selector) == _Literal(True)


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------

_INDEX = re.compile(r"\[(-?\d+)\]")
_SEGMENT = re.compile(r"(?P<name>[^\[\]()]*)(?:\((?P<selector>.*)\))?(?P<indexes>(?:\s*\[-?\d+\])*)\s*", re.DOTALL)


@dataclass(frozen=True)
class _Filter:
    """A ``(selector)`` inside a read path: keeps the items ``val`` for which it holds."""

    selector: str


_Part = str | int | _Filter


def _split_segments(path: str) -> list[str]:
    """Split a path at the dots outside parentheses and string literals."""
    segments: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    escaped = False
    for char in path:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"" and depth > 0:
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "." and depth == 0:
            segments.append("".join(current))
            current = []
            continue
        current.append(char)
    if depth != 0 or quote is not None:
        raise ContextPathError(f"Malformed context path {path!r}: unbalanced parentheses or quotes")
    segments.append("".join(current))
    return segments


def _parse_path(path: str) -> list[_Part]:
    """Split ``A.B.[0].C``, ``A.B[0].C`` or ``A.B(val.X == 'y').C`` into names, indexes and filters."""
    if not path.strip():
        raise ContextPathError("Empty context path")
    parts: list[_Part] = []
    for raw in _split_segments(path.strip()):
        segment = raw.strip()
        match = _SEGMENT.fullmatch(segment)
        if not segment or match is None:
            raise ContextPathError(f"Malformed context path {path!r}: bad segment {raw!r}")
        if match.group("name").strip():
            parts.append(match.group("name").strip())
        if match.group("selector") is not None:
            _compile(match.group("selector"))  # an unsupported selector fails here, naming itself
            parts.append(_Filter(match.group("selector")))
        parts.extend(int(index) for index in _INDEX.findall(match.group("indexes")))
    return parts


def _parse_write_path(path: str) -> list[str]:
    parts = _parse_path(path)
    names = [part for part in parts if isinstance(part, str)]
    if len(names) != len(parts):
        raise ContextPathError(f"Cannot write to {path!r}: index and (selector) segments are read-only")
    return names


def get_path(context: Mapping[str, Any], path: str) -> Any:
    """Read a dotted DT path; None when nothing is there.

    Reading a name over a list maps the rest of the path over every element and flattens one
    level, as DT does (``URLScan.Certificates.SubjectName`` gives every SubjectName). ``[N]``
    (or ``.N`` on a list) picks an element; a single stored object counts as a one-item list,
    because the server keeps one item as an object, so ``Incident.[0].severity`` still works.
    ``Name(selector)`` keeps the items ``val`` the selector holds for (``obj`` is undefined);
    one match is read as that item, several as a list.
    """
    found = _read(context, _parse_path(path))
    return None if found is UNDEFINED else found


def _read(value: Any, parts: list[_Part]) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if value is UNDEFINED or value is None:
        return UNDEFINED
    if isinstance(head, _Filter):
        matches = [item for item in _as_items(value) if evaluate_selector(head.selector, item)]
        if not matches:
            return UNDEFINED
        return _read(matches[0] if len(matches) == 1 else matches, rest)
    if isinstance(head, str) and isinstance(value, list) and head.lstrip("-").isdigit():
        head = int(head)
    if isinstance(head, int):
        items = _as_items(value)
        if not -len(items) <= head < len(items):
            return UNDEFINED
        return _read(items[head], rest)
    if isinstance(value, Mapping):
        return _read(value[head], rest) if head in value else UNDEFINED
    if isinstance(value, list):
        collected: list[Any] = []
        for element in value:
            found = _read(element, parts)
            if found is UNDEFINED or found is None:
                continue
            if isinstance(found, list):
                collected.extend(found)
            else:
                collected.append(found)
        return collected if collected else UNDEFINED
    return UNDEFINED


def _parent_for_write(context: dict[str, Any], names: list[str], path: str) -> dict[str, Any]:
    """Walk (creating dicts) to the parent of the last name; refuse to replace a non-object."""
    node = context
    for depth, name in enumerate(names[:-1]):
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            where = ".".join(names[: depth + 1])
            raise ContextPathError(f"Cannot write {path!r}: {where!r} holds a {type(child).__name__}, not an object")
        node = child
    return node


def set_path(context: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Overwrite the value at a dotted path (like ``demisto.setContext``), creating parent objects.

    A trailing DT selector (``Path(val.K == obj.K)``) is ignored: setContext overwrites regardless.
    """
    result = copy.deepcopy(dict(context))
    names = _parse_write_path(split_dt_key(path)[0])
    _parent_for_write(result, names, path)[names[-1]] = copy.deepcopy(value)
    return result


def delete_path(context: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Remove the key at a dotted path (like ``DeleteContext key=...``); a missing path is a no-op.

    Over a list, the rest of the path is deleted from every element, mirroring how reads map.
    A trailing DT selector is ignored, as in ``set_path``.
    """
    result = copy.deepcopy(dict(context))
    _delete(result, _parse_write_path(split_dt_key(path)[0]))
    return result


def _delete(value: Any, names: list[str]) -> None:
    if isinstance(value, list):
        for element in value:
            _delete(element, names)
    elif isinstance(value, dict) and names[0] in value:
        if len(names) == 1:
            del value[names[0]]
        else:
            _delete(value[names[0]], names[1:])


# ---------------------------------------------------------------------------------------------
# EntryContext merge
# ---------------------------------------------------------------------------------------------

_ABSENT: Final = object()


def json_equal(left: Any, right: Any) -> bool:
    """Deep equality of JSON values that, unlike ``==``, tells ``true`` from ``1``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return False
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and bool(left == right)


def _as_items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _append_plain(existing: Any, incoming: Any) -> Any:
    """Plain key: store as given, or concatenate dropping items deep-equal to one already kept."""
    if existing is _ABSENT:
        return incoming
    items = _as_items(existing)
    added = False
    for item in _as_items(incoming):
        if not any(json_equal(item, kept) for kept in items):
            items.append(item)
            added = True
    # Nothing new: keep the stored shape (a single object stays an object).
    return items if added else existing


def _merge_selected(existing: Any, incoming: Any, selector: str) -> Any:
    """DT key: update every stored item the selector matches, else append; one item stays an object."""
    items = [] if existing is _ABSENT else _as_items(existing)
    for obj in _as_items(incoming):
        matched = False
        for index, val in enumerate(items):
            if evaluate_selector(selector, val, obj):
                items[index] = {**val, **obj} if isinstance(val, dict) and isinstance(obj, dict) else obj
                matched = True
        if not matched:
            items.append(obj)
    if not items:
        return _ABSENT
    return items[0] if len(items) == 1 else items


def merge_entry_context(context: Mapping[str, Any], entry_context: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a new context with an entry's ``EntryContext`` merged in, key by key, in order.

    Rules: a None value is skipped (it neither writes nor deletes). ``Path(true)`` overwrites.
    A plain key stores the value as given when absent, else concatenates into a list, dropping
    incoming items deep-equal to a stored one. A DT selector updates each stored item it matches
    with ``{**stored, **incoming}`` (every match is updated) and appends an unmatched item; the
    result is a single object when one item remains, a list otherwise, and nothing when the
    incoming list is empty and nothing was stored.
    """
    result = copy.deepcopy(dict(context))
    for key, raw_value in (entry_context or {}).items():
        if raw_value is None:
            continue
        path, selector = split_dt_key(key)
        if selector is not None:
            _compile(selector)  # fail on an unsupported selector even when nothing is stored yet
        names = _parse_write_path(path)
        value = copy.deepcopy(raw_value)
        parent = _parent_for_write(result, names, path)
        existing = parent.get(names[-1], _ABSENT)
        if selector is None:
            merged = _append_plain(existing, value)
        elif _is_overwrite(selector):
            merged = value
        else:
            merged = _merge_selected(existing, value, selector)
        if merged is not _ABSENT:
            parent[names[-1]] = merged
    return result
