"""The common transformers of `complex` arguments, as pure functions of a value and resolved args."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from xsoar_local.errors import ContentError

Transformer = Callable[[Any, Mapping[str, Any]], Any]


class TransformerError(ContentError):
    """A transformer is unknown or got arguments it cannot use."""


def is_empty(value: Any) -> bool:
    """What XSOAR treats as empty: nothing, an empty string, an empty list or object."""
    return value is None or value == "" or value == [] or value == {}


def as_list(value: Any) -> list[Any]:
    """A context value as a list: lists stay, None is empty, anything else is one item."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def to_text(value: Any) -> str:
    """How the server writes a context value into a string: lists comma-joined, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(to_text(item) for item in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _int_arg(args: Mapping[str, Any], name: str, default: int | None = None) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        if default is None:
            raise TransformerError(f"argument {name!r} is required")
        return default
    try:
        return int(str(raw).strip())
    except ValueError as error:
        raise TransformerError(f"argument {name!r} must be an integer, not {raw!r}") from error


def _text_arg(args: Mapping[str, Any], name: str, default: str) -> str:
    raw = args.get(name)
    return default if raw is None else to_text(raw)


def _per_item(function: Callable[[str], Any]) -> Transformer:
    """String transformers apply to each item of a list, as the server's do."""

    def apply(value: Any, _args: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [function(to_text(item)) for item in value]
        return function(to_text(value))

    return apply


def at_index(value: Any, args: Mapping[str, Any]) -> Any:
    """The item at `index` (negative counts from the end); nothing when out of range."""
    items = as_list(value)
    index = _int_arg(args, "index")
    try:
        return items[index]
    except IndexError:
        return None


def uniq(value: Any, _args: Mapping[str, Any]) -> Any:
    """The list without repeated items, first occurrence kept."""
    if not isinstance(value, list):
        return value
    seen: list[Any] = []
    for item in value:
        if item not in seen:
            seen.append(item)
    return seen


def join(value: Any, args: Mapping[str, Any]) -> Any:
    """The items joined by `separator` (default `,`)."""
    if value is None:
        return None
    return _text_arg(args, "separator", ",").join(to_text(item) for item in as_list(value))


def split(value: Any, args: Mapping[str, Any]) -> Any:
    """A string split on `delimiter` (default `,`); lists are split item by item and flattened."""
    delimiter = _text_arg(args, "delimiter", ",") or ","
    return [part for item in as_list(value) for part in to_text(item).split(delimiter)]


def replace(value: Any, args: Mapping[str, Any]) -> Any:
    """Replace `toReplace` with `replaceWith`, at most `limit` times (all when absent)."""
    old = _text_arg(args, "toReplace", "")
    if not old:
        raise TransformerError("argument 'toReplace' is required")
    new = _text_arg(args, "replaceWith", "")
    limit = _int_arg(args, "limit", -1)
    return _per_item(lambda text: text.replace(old, new, limit))(value, args)


def count(value: Any, _args: Mapping[str, Any]) -> Any:
    """How many items the value holds."""
    return len(as_list(value))


def first(value: Any, _args: Mapping[str, Any]) -> Any:
    """The first item."""
    items = as_list(value)
    return items[0] if items else None


def last(value: Any, _args: Mapping[str, Any]) -> Any:
    """The last item."""
    items = as_list(value)
    return items[-1] if items else None


def slice_items(value: Any, args: Mapping[str, Any]) -> Any:
    """Items `from` (inclusive) to `to` (exclusive)."""
    items = as_list(value)
    return items[_int_arg(args, "from", 0) : _int_arg(args, "to", len(items))]


def get_field(value: Any, args: Mapping[str, Any]) -> Any:
    """The `field` of an object, mapped over a list of objects."""
    name = _text_arg(args, "field", "")
    if not name:
        raise TransformerError("argument 'field' is required")
    if isinstance(value, list):
        return [item.get(name) for item in value if isinstance(item, Mapping)]
    return value.get(name) if isinstance(value, Mapping) else None


def stringify(value: Any, _args: Mapping[str, Any]) -> Any:
    """The value as JSON text (strings stay as they are)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


TRANSFORMERS: Mapping[str, Transformer] = {
    "atIndex": at_index,
    "uniq": uniq,
    "join": join,
    "split": split,
    "replace": replace,
    "count": count,
    "FirstArrayElement": first,
    "LastArrayElement": last,
    "slice": slice_items,
    "getField": get_field,
    "Stringify": stringify,
    "toLowerCase": _per_item(str.lower),
    "toUpperCase": _per_item(str.upper),
    "trim": _per_item(str.strip),
}


def apply_transformer(operator: str, value: Any, args: Mapping[str, Any]) -> Any:
    """Apply the transformer called `operator`; an unknown one is an error, never a no-op."""
    function = TRANSFORMERS.get(operator)
    if function is None:
        known = ", ".join(sorted(TRANSFORMERS))
        raise TransformerError(f"unknown transformer {operator!r} (supported: {known})")
    try:
        return function(value, args)
    except TransformerError as error:
        raise TransformerError(f"transformer {operator!r}: {error}") from error
