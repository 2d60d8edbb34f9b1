"""Condition operators and the evaluation of a condition task's branches, as pure functions."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xsoar_local.errors import ContentError
from xsoar_local.playbook.transformers import as_list, is_empty, to_text

if TYPE_CHECKING:  # a Resolver evaluates filters with this module: the type alone goes the other way
    from xsoar_local.playbook.expressions import Resolver

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


def _any_pair(test: Callable[[Any, Any], bool]) -> Operator:
    """Compare item by item: a list on either side holds when any of its items does (as the server does)."""

    def operator(left: Any, right: Any, ignore_case: bool) -> bool:
        del ignore_case  # the wrapped test does not look at case
        return any(test(a, b) for a in as_list(left) for b in as_list(right))

    return operator


def _strings(test: Callable[[str, str], bool]) -> Operator:
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


def _boolean(expected: bool) -> Operator:
    def operator(left: Any, _right: Any, _ignore_case: bool) -> bool:
        return any(
            (item is expected) if isinstance(item, bool) else to_text(item).strip().lower() == str(expected).lower()
            for item in as_list(left)
        )

    return operator


def _negate(operator: Operator) -> Operator:
    return lambda left, right, ignore_case: not operator(left, right, ignore_case)


_IS_EQUAL_STRING = _strings(lambda a, b: a == b)
_CONTAINS_STRING = _strings(lambda a, b: b in a)
_IS_EQUAL_NUMBER = _numbers(lambda a, b: a == b)

OPERATORS: Mapping[str, Operator] = {
    "isEqualString": _IS_EQUAL_STRING,
    "isNotEqualString": _negate(_IS_EQUAL_STRING),
    "containsString": _CONTAINS_STRING,
    "notContainsString": _negate(_CONTAINS_STRING),
    "startWith": _strings(lambda a, b: a.startswith(b)),
    "endWith": _strings(lambda a, b: a.endswith(b)),
    "isExists": lambda left, _right, _case: left is not None,
    "isNotExists": lambda left, _right, _case: left is None,
    "isEmpty": lambda left, _right, _case: is_empty(left),
    "isNotEmpty": lambda left, _right, _case: not is_empty(left),
    "isEqualNumber": _IS_EQUAL_NUMBER,
    "isNotEqualNumber": _negate(_IS_EQUAL_NUMBER),
    "greaterThan": _numbers(lambda a, b: a > b),
    "greaterThanOrEqual": _numbers(lambda a, b: a >= b),
    "lessThan": _numbers(lambda a, b: a < b),
    "lessThanOrEqual": _numbers(lambda a, b: a <= b),
    "isTrue": _boolean(True),
    "isFalse": _boolean(False),
}

# The server's operators accept a `general.` or `string.` style prefix in some exports.
_PREFIXES = ("general.", "string.", "number.", "boolean.")


def operator_for(name: str) -> Operator:
    """The operator called `name`; an unknown one is an error, never a silent false."""
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    found = OPERATORS.get(name)
    if found is None:
        raise ConditionError(f"unknown condition operator {name!r} (supported: {', '.join(sorted(OPERATORS))})")
    return found


def evaluate_check(check: Mapping[str, Any], resolver: Resolver) -> bool:
    """One `{operator, left, right, ignorecase}` check."""
    if not isinstance(check, Mapping) or not check.get("operator"):
        raise ConditionError(f"a condition needs an `operator`, got {check!r}")
    name = str(check["operator"])
    scripts = resolver.scripts
    operator = None if scripts is not None and scripts.has(name, "filter") else operator_for(name)
    try:
        left = resolver.operand(check.get("left") or {})
        right = resolver.operand(check.get("right") or {})
    except ContentError as error:  # the operand cannot be resolved (an ExpressionError)
        raise ConditionError(str(error)) from error
    if operator is None:
        assert scripts is not None
        return scripts.filter(name, left, right)
    return operator(left, right, bool(check.get("ignorecase")))


def evaluate_condition(groups: Sequence[Any], resolver: Resolver) -> bool:
    """The outer list is ANDed, each inner list ORed. Every check is evaluated, so unknown operators always fail."""
    if not isinstance(groups, list) or not groups:
        raise ConditionError(f"a branch's `condition` must be a non-empty list of lists, got {groups!r}")
    results = []
    for group in groups:
        checks = group if isinstance(group, list) else [group]
        if not checks:
            raise ConditionError("a branch's `condition` has an empty group")
        results.append(any([evaluate_check(check, resolver) for check in checks]))
    return all(results)


def choose_branch(branches: Sequence[Mapping[str, Any]], resolver: Resolver) -> str | None:
    """The label of the first branch whose condition holds; None when none does."""
    for branch in branches:
        label = branch.get("label")
        if not label:
            raise ConditionError(f"a branch needs a `label`, got {dict(branch)!r}")
        if evaluate_condition(branch.get("condition") or [], resolver):
            return str(label)
    return None
