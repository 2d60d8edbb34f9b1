"""Condition operators (the server's built-in filters) and the evaluation of a condition task's branches.

As the server documents its filters: a list on the left passes when any of its items passes, a single value is
read as a one-item list where a list is expected, and a value that cannot be read as the operator's type (a
number, a date) fails the check rather than the task.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from xsoar_local.errors import ContentError
from xsoar_local.incident.context import json_equal
from xsoar_local.playbook.transformers import as_list, to_text
from xsoar_local.playbook.values import ExpressionError, Operands, is_empty

Operator = Callable[[Any, Any, bool], bool]


class ConditionError(ContentError):
    """A condition is malformed or uses an operator the local runner does not know."""


def _text(value: Any, ignore_case: bool) -> str:
    text = to_text(value)
    return text.lower() if ignore_case else text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(to_text(value).strip())
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _date(value: Any) -> datetime | None:
    """A date as the server reads one: ISO 8601 / RFC 3339 text, or epoch seconds (milliseconds when huge)."""
    if value is None or isinstance(value, bool):
        return None
    number = _number(value)
    if number is not None:
        seconds = number / 1000 if abs(number) > 10**11 else number
        return datetime.fromtimestamp(seconds, UTC)
    text = to_text(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _any_pair(test: Callable[[Any, Any], bool]) -> Operator:
    """Compare item by item: a list on either side holds when any of its items does (as the server does)."""

    def operator(left: Any, right: Any, ignore_case: bool) -> bool:
        del ignore_case  # the wrapped test does not look at case
        return any(test(a, b) for a in as_list(left) for b in as_list(right))

    return operator


def _strings(test: Callable[[str, str], bool]) -> Operator:
    """A string test; nothing on the right is the empty string (so `containsString(x, nothing)` holds)."""

    def operator(left: Any, right: Any, ignore_case: bool) -> bool:
        return any(
            test(_text(a, ignore_case), _text(b, ignore_case)) for a in as_list(left) for b in as_list(right or "")
        )

    return operator


def _numbers(test: Callable[[float, float], bool]) -> Operator:
    def compare(a: Any, b: Any) -> bool:
        x, y = _number(a), _number(b)
        return x is not None and y is not None and test(x, y)

    return _any_pair(compare)


def _dates(test: Callable[[datetime, datetime], bool]) -> Operator:
    def compare(a: Any, b: Any) -> bool:
        x, y = _date(a), _date(b)
        return x is not None and y is not None and test(x, y)

    return _any_pair(compare)


def _boolean(expected: bool) -> Operator:
    def operator(left: Any, _right: Any, _ignore_case: bool) -> bool:
        return any(
            (item is expected) if isinstance(item, bool) else to_text(item).strip().lower() == str(expected).lower()
            for item in as_list(left)
        )

    return operator


def _negate(operator: Operator) -> Operator:
    return lambda left, right, ignore_case: not operator(left, right, ignore_case)


def _equal(left: Any, right: Any, ignore_case: bool) -> bool:
    """General equality: the same JSON value, or (for scalars) the same text."""
    if json_equal(left, right):
        return True
    if isinstance(left, list) and not isinstance(right, list):
        return any(_equal(item, right, ignore_case) for item in left)
    if isinstance(left, Mapping | list) or isinstance(right, Mapping | list):
        return False
    return left is not None and right is not None and _text(left, ignore_case) == _text(right, ignore_case)


def _contains_general(left: Any, right: Any, ignore_case: bool) -> bool:
    """The left value contains the right one: an item of a list, a key of an object, a substring of a text."""
    if right is None:
        return False
    if isinstance(left, list):
        return any(_equal(item, right, ignore_case) for item in left) or any(
            isinstance(item, str) and _contains_general(item, right, ignore_case) for item in left
        )
    if isinstance(left, Mapping):
        return to_text(right) in left
    if left is None:
        return False
    return _text(right, ignore_case) in _text(left, ignore_case)


def _in(left: Any, right: Any, ignore_case: bool) -> bool:
    """The left value is contained in the right one (the mirror of containsGeneral)."""
    return any(_contains_general(right, item, ignore_case) for item in as_list(left))


def _in_list(left: Any, right: Any, ignore_case: bool) -> bool:
    """The left string is one of the right side's comma-separated items (or list items)."""
    choices = [part.strip() for item in as_list(right) for part in _text(item, ignore_case).split(",")]
    return any(_text(item, ignore_case).strip() in choices for item in as_list(left))


def _match(left: Any, right: Any, ignore_case: bool) -> bool:
    """The left string matches the regular expression on the right."""
    try:
        pattern = re.compile(to_text(right), re.IGNORECASE if ignore_case else 0)
    except re.error as error:
        raise ConditionError(f"match: {to_text(right)!r} is not a regular expression: {error}") from error
    return any(pattern.search(to_text(item)) is not None for item in as_list(left))


def _length(right: Any) -> int | None:
    number = _number(right)
    return int(number) if number is not None and number.is_integer() else None


def _string_has_length(left: Any, right: Any, _ignore_case: bool) -> bool:
    wanted = _length(right)
    return wanted is not None and any(len(to_text(item)) == wanted for item in as_list(left))


def _has_length(left: Any, right: Any, _ignore_case: bool) -> bool:
    wanted = _length(right)
    return wanted is not None and len(as_list(left)) == wanted


def _identical_incident(_left: Any, _right: Any, _ignore_case: bool) -> bool:
    raise ConditionError(
        "isIdenticalIncident compares incidents by the server's similarity index, which the local runner does not "
        "keep; decide the branch with a script instead"
    )


_IS_EQUAL_STRING = _strings(lambda a, b: a == b)
_CONTAINS_STRING = _strings(lambda a, b: b in a)
_STARTS = _strings(lambda a, b: a.startswith(b))
_ENDS = _strings(lambda a, b: a.endswith(b))
_IS_EQUAL_NUMBER = _numbers(lambda a, b: a == b)
_IS_SAME = _dates(lambda a, b: a == b)

OPERATORS: Mapping[str, Operator] = {
    # general
    "isEqual": _equal,
    "isNotEqual": _negate(_equal),
    "isExists": lambda left, _right, _case: left is not None,
    "isNotExists": lambda left, _right, _case: left is None,
    "isEmpty": lambda left, _right, _case: is_empty(left),
    "isNotEmpty": lambda left, _right, _case: not is_empty(left),
    "contains": _contains_general,
    "notContains": _negate(_contains_general),
    "containsGeneral": _contains_general,
    "notContainsGeneral": _negate(_contains_general),
    "in": _in,
    "notIn": _negate(_in),
    "hasLength": _has_length,
    "isIdenticalIncident": _identical_incident,
    "isNotIdenticalIncident": _identical_incident,
    # string
    "isEqualString": _IS_EQUAL_STRING,
    "isNotEqualString": _negate(_IS_EQUAL_STRING),
    "isEqualCase": lambda left, right, _case: _IS_EQUAL_STRING(left, right, False),
    "isNotEqualCase": lambda left, right, _case: not _IS_EQUAL_STRING(left, right, False),
    "containsString": _CONTAINS_STRING,
    "notContainsString": _negate(_CONTAINS_STRING),
    "startWith": _STARTS,
    "notStartWith": _negate(_STARTS),
    "endWith": _ENDS,
    "notEndWith": _negate(_ENDS),
    "inList": _in_list,
    "notInList": _negate(_in_list),
    "match": _match,
    "stringHasLength": _string_has_length,
    # number
    "isEqualNumber": _IS_EQUAL_NUMBER,
    "isNotEqualNumber": _negate(_IS_EQUAL_NUMBER),
    "greaterThan": _numbers(lambda a, b: a > b),
    "greaterThanOrEqual": _numbers(lambda a, b: a >= b),
    "lessThan": _numbers(lambda a, b: a < b),
    "lessThanOrEqual": _numbers(lambda a, b: a <= b),
    # date
    "isSame": _IS_SAME,
    "isBefore": _dates(lambda a, b: a < b),
    "isAfter": _dates(lambda a, b: a > b),
    # boolean
    "isTrue": _boolean(True),
    "isFalse": _boolean(False),
}

# The server's operators accept a `general.` or `string.` style prefix in some exports.
_PREFIXES = ("general.", "string.", "number.", "boolean.", "date.")


def operator_for(name: str) -> Operator:
    """The operator called `name`; an unknown one is an error, never a silent false."""
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    found = OPERATORS.get(name)
    if found is None:
        raise ConditionError(f"unknown condition operator {name!r} (supported: {', '.join(sorted(OPERATORS))})")
    return found


def evaluate_check(check: Mapping[str, Any], operands: Operands) -> bool:
    """One `{operator, left, right, ignorecase}` check."""
    if not isinstance(check, Mapping) or not check.get("operator"):
        raise ConditionError(f"a condition needs an `operator`, got {check!r}")
    name = str(check["operator"])
    scripts = operands.scripts
    operator = None if scripts is not None and scripts.has(name, "filter") else operator_for(name)
    try:
        left = operands.operand(check.get("left") or {})
        right = operands.operand(check.get("right") or {})
    except ExpressionError as error:
        raise ConditionError(str(error)) from error
    if operator is None:
        assert scripts is not None
        return scripts.filter(name, left, right)
    return operator(left, right, bool(check.get("ignorecase")))


def evaluate_condition(groups: Sequence[Any], operands: Operands) -> bool:
    """The outer list is ANDed, each inner list ORed. Every check is evaluated, so unknown operators always fail."""
    if not isinstance(groups, list) or not groups:
        raise ConditionError(f"a branch's `condition` must be a non-empty list of lists, got {groups!r}")
    results = []
    for group in groups:
        checks = group if isinstance(group, list) else [group]
        if not checks:
            raise ConditionError("a branch's `condition` has an empty group")
        results.append(any([evaluate_check(check, operands) for check in checks]))
    return all(results)


def choose_branch(branches: Sequence[Mapping[str, Any]], operands: Operands) -> str | None:
    """The label of the first branch whose condition holds; None when none does."""
    for branch in branches:
        label = branch.get("label")
        if not label:
            raise ConditionError(f"a branch needs a `label`, got {dict(branch)!r}")
        if evaluate_condition(branch.get("condition") or [], operands):
            return str(label)
    return None
