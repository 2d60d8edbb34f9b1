"""The common transformers of `complex` arguments, as pure functions of a value and resolved args."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from xsoar_local.errors import ContentError
from xsoar_local.incident.references import to_text as to_text  # re-exported: conditions and flow read it here

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


_Parsed = TypeVar("_Parsed", int, float)


def _parsed_arg(
    args: Mapping[str, Any], name: str, default: _Parsed | None, parse: Callable[[Any], _Parsed], kind: str
) -> _Parsed:
    raw = args.get(name)
    if raw is None or raw == "":
        if default is None:
            raise TransformerError(f"argument {name!r} is required")
        return default
    try:
        return parse(raw)
    except ValueError as error:
        raise TransformerError(f"argument {name!r} must be {kind}, not {raw!r}") from error


def _int_arg(args: Mapping[str, Any], name: str, default: int | None = None) -> int:
    return _parsed_arg(args, name, default, lambda raw: int(str(raw).strip()), "an integer")


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
    """The value as JSON text, as the server writes it: compact, keys sorted, text unescaped (strings stay as they
    are)."""
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )


def _number_arg(args: Mapping[str, Any], name: str, default: float | None = None) -> float:
    return _parsed_arg(args, name, default, lambda raw: float(to_text(raw).strip()), "a number")


def _as_number(value: Any) -> float:
    try:
        return float(to_text(value).strip())
    except ValueError as error:
        raise TransformerError(f"{value!r} is not a number") from error


def _tidy(number: float) -> int | float:
    """Whole results as integers, as the server's JSON numbers print."""
    return int(number) if math.isfinite(number) and number.is_integer() else number


def _per_number(function: Callable[[float, Mapping[str, Any]], float]) -> Transformer:
    def apply(value: Any, args: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [_tidy(function(_as_number(item), args)) for item in value]
        return _tidy(function(_as_number(value), args))

    return apply


def _per_text(function: Callable[[str, Mapping[str, Any]], Any]) -> Transformer:
    def apply(value: Any, args: Mapping[str, Any]) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [function(to_text(item), args) for item in value]
        return function(to_text(value), args)

    return apply


def split_and_trim(value: Any, args: Mapping[str, Any]) -> Any:
    """split, then each part stripped of surrounding white space."""
    return [part.strip() for part in split(value, args)]


def replace_match(value: Any, args: Mapping[str, Any]) -> Any:
    """Replace every match of the regular expression `regex` with `replaceWith`."""
    pattern = _text_arg(args, "regex", "")
    if not pattern:
        raise TransformerError("argument 'regex' is required")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise TransformerError(f"{pattern!r} is not a regular expression: {error}") from error
    new = _text_arg(args, "replaceWith", "")
    return _per_text(lambda text, _args: compiled.sub(new, text))(value, args)


def sort_items(value: Any, args: Mapping[str, Any]) -> Any:
    """The list sorted (numbers numerically, else as text); `descending=true` reverses it."""
    items = as_list(value)
    descending = _text_arg(args, "descending", "false").strip().lower() == "true"
    numbers = all(isinstance(item, int | float) and not isinstance(item, bool) for item in items)
    return sorted(items, key=(lambda item: item) if numbers else to_text, reverse=descending)


def index_of(value: Any, args: Mapping[str, Any]) -> Any:
    """The position of `item` in the list, -1 when absent."""
    wanted = _text_arg(args, "item", "")
    texts = [to_text(item) for item in as_list(value)]
    return texts.index(wanted) if wanted in texts else -1


def slice_by_item(value: Any, args: Mapping[str, Any]) -> Any:
    """The items from the first one equal to `item` on."""
    position = index_of(value, args)
    return as_list(value)[position:] if position >= 0 else []


def splice(value: Any, args: Mapping[str, Any]) -> Any:
    """Remove `deleteCount` items at `index` and insert `item` (when given) there."""
    items = as_list(value)
    index = _int_arg(args, "index", 0)
    delete = _int_arg(args, "deleteCount", 0)
    inserted = [] if args.get("item") is None else as_list(args.get("item"))
    return items[:index] + inserted + items[index + delete :]


def append(value: Any, args: Mapping[str, Any]) -> Any:
    """The list with `item` (or its items) added at the end."""
    return as_list(value) + as_list(args.get("item"))


def quadratic(value: Any, args: Mapping[str, Any]) -> Any:
    """a*x^2 + b*x + c of the value x."""
    a, b, c = (_number_arg(args, name, 0) for name in ("a", "b", "c"))
    return _per_number(lambda x, _args: a * x * x + b * x + c)(value, args)


def to_unix(value: Any, _args: Mapping[str, Any]) -> Any:
    """A date (ISO 8601 text) as epoch seconds."""

    def convert(text: str, _args: Mapping[str, Any]) -> Any:
        try:
            parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError as error:
            raise TransformerError(f"{text!r} is not an ISO 8601 date") from error
        return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())

    return _per_text(convert)(value, _args)


def _table_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def table_keys(value: Any, _args: Mapping[str, Any]) -> Any:
    """An object's keys as grid-field column names: lower case, letters and digits only."""
    if isinstance(value, list):
        return [table_keys(item, _args) for item in value]
    if isinstance(value, Mapping):
        return {_table_key(str(key)): item for key, item in value.items()}
    return value


def _division(x: float, args: Mapping[str, Any]) -> float:
    by = _number_arg(args, "by")
    if by == 0:
        raise TransformerError("division by zero")
    return x / by


def _modulo(x: float, args: Mapping[str, Any]) -> float:
    by = _number_arg(args, "by")
    if by == 0:
        raise TransformerError("modulo by zero")
    return x % by


def _substring(text: str, args: Mapping[str, Any]) -> str:
    start = _int_arg(args, "from", 0)
    end = args.get("to")
    return text[start:] if end in (None, "") else text[start : _int_arg(args, "to")]


def _substring_from(text: str, args: Mapping[str, Any]) -> str:
    """The text after the first `from` string (nothing when absent)."""
    marker = _text_arg(args, "from", "")
    position = text.find(marker)
    return text[position + len(marker) :] if position >= 0 else ""


def _substring_to(text: str, args: Mapping[str, Any]) -> str:
    """The text before the first `to` string (all of it when absent)."""
    marker = _text_arg(args, "to", "")
    position = text.find(marker) if marker else -1
    return text[:position] if position >= 0 else text


TRANSFORMERS: Mapping[str, Transformer] = {
    # list
    "atIndex": at_index,
    "uniq": uniq,
    "join": join,
    "count": count,
    "FirstArrayElement": first,
    "LastArrayElement": last,
    "slice": slice_items,
    "sliceByItem": slice_by_item,
    "splice": splice,
    "append": append,
    "indexOf": index_of,
    "sort": sort_items,
    "getField": get_field,
    "Stringify": stringify,
    "ConvertKeysToTableFieldFormat": table_keys,
    # string
    "split": split,
    "splitAndTrim": split_and_trim,
    "replace": replace,
    "replaceMatch": replace_match,
    "toLowerCase": _per_item(str.lower),
    "toUpperCase": _per_item(str.upper),
    "trim": _per_item(str.strip),
    "toString": _per_item(str),
    "strLength": _per_item(len),
    "substring": _per_text(_substring),
    "substringFrom": _per_text(_substring_from),
    "substringTo": _per_text(_substring_to),
    "concat": _per_text(lambda text, args: _text_arg(args, "prefix", "") + text + _text_arg(args, "suffix", "")),
    # number
    "addition": _per_number(lambda x, args: x + _number_arg(args, "by")),
    "subtraction": _per_number(lambda x, args: x - _number_arg(args, "by")),
    "multiply": _per_number(lambda x, args: x * _number_arg(args, "by")),
    "division": _per_number(_division),
    "modulo": _per_number(_modulo),
    "abs": _per_number(lambda x, _args: abs(x)),
    "round": _per_number(lambda x, _args: float(math.floor(x + 0.5))),
    "floor": _per_number(lambda x, _args: float(math.floor(x))),
    "ceil": _per_number(lambda x, _args: float(math.ceil(x))),
    "precision": _per_number(lambda x, args: round(x, _int_arg(args, "by", 0))),
    "toPercent": _per_number(lambda x, args: x / _number_arg(args, "total", 1) * 100),
    "quadraticEquation": quadratic,
    # date
    "toUnix": to_unix,
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
