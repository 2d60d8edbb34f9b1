"""Pure functions over an incident context: the JSON-like dict that commands write into.

The XSOAR server merges every entry's ``EntryContext`` into the incident context, and the
merge depends on the key (reference: xsoar-engine.md section 2):

* ``Path(val.K && val.K == obj.K)`` (a DT selector): every incoming item ``obj`` updates the
  stored items ``val`` for which the selector holds, with a shallow merge where incoming
  top-level keys win; an item that matches nothing is appended.
* ``Path(true)``: the stored value is replaced.
* ``Path`` (no selector): appended; items deep-equal to one already stored are dropped.

Selectors themselves are parsed and evaluated by ``xsoar_local.incident.selector``.
Every function returns a new dict and never mutates its arguments.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from xsoar_local.incident.errors import ContextPathError
from xsoar_local.incident.selector import (
    UNDEFINED,
    UnsupportedSelectorError,
    evaluate_selector,
    is_overwrite_selector,
    split_dt_key,
    validate_selector,
)

# The selector names stay importable from here, as they were before the selector module existed.
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


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------

_INDEX = re.compile(r"\[(-?\d*)(?:(:)(-?\d*))?\]")
_SEGMENT = re.compile(
    r"(?P<name>[^\[\]()]*)(?:\((?P<selector>.*)\))?(?P<indexes>(?:\s*\[-?\d*(?::-?\d*)?\])*)\s*", re.DOTALL
)


@dataclass(frozen=True)
class _Filter:
    """A ``(selector)`` inside a read path: keeps the items ``val`` for which it holds."""

    selector: str


@dataclass(frozen=True)
class _Slice:
    """``[from:to]``: the items from ``from`` to ``to``, both included (the server's DT documentation shows
    ``[0:2]`` giving three items); either end may be left out."""

    start: int | None
    end: int | None


_Part = str | int | _Filter | _Slice


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
            validate_selector(match.group("selector"))  # an unsupported selector fails here, naming itself
            parts.append(_Filter(match.group("selector")))
        for start, colon, end in _INDEX.findall(match.group("indexes")):
            if colon:
                parts.append(_Slice(int(start) if start else None, int(end) if end else None))
            elif start:
                parts.append(int(start))
            else:
                raise ContextPathError(f"Malformed context path {path!r}: an empty index in {raw!r}")
    return parts


# Writing builds one nested object per segment; deeper than this is a runaway path, not data.
MAX_WRITE_DEPTH: Final = 100


def _parse_write_path(path: str) -> list[str]:
    parts = _parse_path(path)
    names = [part for part in parts if isinstance(part, str)]
    if len(names) != len(parts):
        raise ContextPathError(f"Cannot write to {path!r}: index and (selector) segments are read-only")
    if len(names) > MAX_WRITE_DEPTH:
        raise ContextPathError(
            f"Cannot write a context path of {len(names)} segments: at most {MAX_WRITE_DEPTH} (shorten the path)"
        )
    return names


def get_path(context: Mapping[str, Any], path: str) -> Any:
    """Read a dotted DT path; None when nothing is there.

    Reading a name over a list maps the rest of the path over every element and flattens one
    level, as DT does (``URLScan.Certificates.SubjectName`` gives every SubjectName). ``[N]``
    (or ``.N`` on a list) picks an element; a single stored object counts as a one-item list,
    because the server keeps one item as an object, so ``Incident.[0].severity`` still works.
    ``Name(selector)`` keeps the items ``val`` the selector holds for (``obj`` is undefined);
    one match is read as that item, several as a list. ``.`` alone is the whole context.
    """
    if path.strip() == ".":  # `${.}`: the whole context
        return context
    found = _read(context, _parse_path(path))
    return None if found is UNDEFINED else found


def _read(value: Any, parts: list[_Part], start: int = 0) -> Any:
    """Read ``parts[start:]`` from ``value``: a loop over the parts (linear in the path), recursing only to map
    the rest of the path over the elements of a list."""
    index = start
    while index < len(parts):
        head = parts[index]
        if value is UNDEFINED or value is None:
            return UNDEFINED
        if isinstance(head, _Slice):
            items = _as_items(value)
            end = None if head.end is None or head.end == -1 else head.end + 1
            value = items[head.start : end]
            if not value:
                return UNDEFINED
        elif isinstance(head, _Filter):
            matches = [item for item in _as_items(value) if evaluate_selector(head.selector, item)]
            if not matches:
                return UNDEFINED
            value = matches[0] if len(matches) == 1 else matches
        else:
            if isinstance(head, str) and isinstance(value, list) and head.lstrip("-").isdigit():
                head = int(head)
            if isinstance(head, int):
                items = _as_items(value)
                if not -len(items) <= head < len(items):
                    return UNDEFINED
                value = items[head]
            elif isinstance(value, Mapping):
                if head not in value:
                    return UNDEFINED
                value = value[head]
            elif isinstance(value, list):
                collected: list[Any] = []
                for element in value:
                    found = _read(element, parts, index)
                    if found is UNDEFINED or found is None:
                        continue
                    if isinstance(found, list):
                        collected.extend(found)
                    else:
                        collected.append(found)
                return collected if collected else UNDEFINED
            else:
                return UNDEFINED
        index += 1
    return value


def longest_existing_prefix(context: Mapping[str, Any], path: str) -> tuple[str, Any] | None:
    """The longest proper prefix of ``path`` (whole segments) holding a non-empty value, and that value.

    One pass over the path, reading each segment from the value the previous one gave: the hint for a
    mistyped path costs what reading it costs, however long it is.
    """
    try:
        segments = _split_segments(path.strip())
        value: Any = context
        best: tuple[int, Any] | None = None
        for count, raw in enumerate(segments[:-1], start=1):
            value = _read(value, _parse_path(raw))
            if value is UNDEFINED or value is None:
                break
            if value not in ("", [], {}):
                best = (count, value)
    except ContextPathError:
        return None
    if best is None:
        return None
    return ".".join(segment.strip() for segment in segments[: best[0]]), best[1]


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


SUBPLAYBOOK_ROOT: Final = "subplaybook-"


def own_context_path(path: str, playbook_id: str) -> str:
    """`path` in the context of the running playbook, whose `${currentPlaybookID}` is `playbook_id`.

    A server keeps a private sub-playbook's context under the root key `subplaybook-<id>`, so content names a key
    in it `subplaybook-<id>.<key>` (DeleteContext's `subplaybook-${currentPlaybookID}.` + key, reference C6/C9).
    Here the context a task sees already is that one, so the prefix goes; at the top level the id is "" (content's
    Delete Context Subplaybook Test deletes `subplaybook-.A` there and expects A gone). Other paths are unchanged.
    """
    prefix = f"{SUBPLAYBOOK_ROOT}{playbook_id}."
    return path[len(prefix) :] if path.startswith(prefix) and len(path) > len(prefix) else path


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
            validate_selector(selector)  # fail on an unsupported selector even when nothing is stored yet
        names = _parse_write_path(path)
        value = copy.deepcopy(raw_value)
        parent = _parent_for_write(result, names, path)
        existing = parent.get(names[-1], _ABSENT)
        if selector is None:
            merged = _append_plain(existing, value)
        elif is_overwrite_selector(selector):
            merged = value
        else:
            merged = _merge_selected(existing, value, selector)
        if merged is not _ABSENT:
            parent[names[-1]] = merged
    return result
