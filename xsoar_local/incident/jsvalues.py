"""JavaScript value semantics for DT selectors and mutators over JSON values: `undefined`, truthiness, loose and
strict equality, relational and `+`/`-` operators, member access (`.length`), and the string and array methods
DT expressions call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "UNDEFINED",
    "arithmetic",
    "call_method",
    "js_string",
    "loose_equals",
    "member",
    "relate",
    "strict_equals",
    "to_number",
    "truthy",
]


class _Undefined:
    """JavaScript ``undefined``: a missing key. Distinct from JSON ``null`` (None) for ``===``."""

    __slots__ = ()


UNDEFINED: Final = _Undefined()


def member(value: Any, name: str) -> Any:
    """`value.name` in JavaScript: an object's field, or a string's or array's `length`."""
    if isinstance(value, Mapping):
        return value.get(name, UNDEFINED)
    if name == "length" and isinstance(value, str | list):
        return len(value)
    return UNDEFINED


def js_string(value: Any) -> str:
    """JavaScript `String(value)` for a JSON value."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None or item is UNDEFINED else js_string(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def call_method(target: Any, method: str, arguments: list[Any]) -> Any:
    """A string or array method, as JavaScript answers it (calling one on anything else is undefined)."""
    first = arguments[0] if arguments else UNDEFINED
    if isinstance(target, list):
        if method == "indexOf":
            return next((index for index, item in enumerate(target) if strict_equals(item, first)), -1)
        if method == "includes":
            return any(strict_equals(item, first) for item in target)
        return js_string(target) if method == "toString" else UNDEFINED
    if not isinstance(target, str):
        return js_string(target) if method == "toString" and target is not UNDEFINED else UNDEFINED
    text = js_string(first)
    answers: dict[str, Any] = {
        "indexOf": target.find(text) if arguments else -1,
        "includes": text in target,
        "startsWith": target.startswith(text),
        "endsWith": target.endswith(text),
        "toLowerCase": target.lower(),
        "toUpperCase": target.upper(),
        "trim": target.strip(),
        "toString": target,
    }
    return answers[method]


def relate(operator: str, a: Any, b: Any) -> bool:
    """JavaScript `<`, `>`, `<=`, `>=`: strings compare as strings, anything else as numbers (NaN: false)."""
    if isinstance(a, str) and isinstance(b, str):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[operator]
    x = float("nan") if a is UNDEFINED else to_number(a) if a is not None else 0.0
    y = float("nan") if b is UNDEFINED else to_number(b) if b is not None else 0.0
    return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[operator]


def arithmetic(operator: str, a: Any, b: Any) -> Any:
    """JavaScript `+` (text when either side is text) and `-`."""
    if operator == "+" and (isinstance(a, str | list | Mapping) or isinstance(b, str | list | Mapping)):
        return js_string(a) + js_string(b)
    x = float("nan") if a is UNDEFINED else to_number(a) if a is not None else 0.0
    y = float("nan") if b is UNDEFINED else to_number(b) if b is not None else 0.0
    result = x + y if operator == "+" else x - y
    return int(result) if result == result and result.is_integer() else result


def truthy(value: Any) -> bool:
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


def to_number(value: Any) -> float:
    """JavaScript ``Number(value)`` for the primitives a context holds."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text == "":
        return 0.0
    return float(text) if _JS_NUMBER.fullmatch(text) else float("nan")


def loose_equals(left: Any, right: Any) -> bool:
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
    return to_number(left) == to_number(right)


def strict_equals(left: Any, right: Any) -> bool:
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
