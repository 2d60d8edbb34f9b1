"""Condition operators, `ignorecase`, and the AND/OR structure of a branch's condition."""

from __future__ import annotations

from typing import Any

import pytest

from xsoar_local.incident.model import Incident, view_for_expressions
from xsoar_local.playbook.conditions import ConditionError, choose_branch, evaluate_condition, operator_for
from xsoar_local.playbook.expressions import Resolver

from .helpers import branch, check


@pytest.mark.parametrize(
    ("operator", "left", "right", "ignore_case", "expected"),
    [
        pytest.param("isEqualString", "Yoda", "Yoda", False, True, id="isEqualString-equal"),
        pytest.param("isEqualString", "Yoda", "yoda", False, False, id="isEqualString-case-matters"),
        pytest.param("isEqualString", "Yoda", "yoda", True, True, id="isEqualString-ignorecase"),
        pytest.param("isEqualString", ["Luke", "Yoda"], "Yoda", False, True, id="isEqualString-any-item-of-a-list"),
        pytest.param("isEqualString", None, "Yoda", False, False, id="isEqualString-nothing"),
        pytest.param("isNotEqualString", "Yoda", "Luke", False, True, id="isNotEqualString-different"),
        pytest.param("isNotEqualString", "Yoda", "YODA", True, False, id="isNotEqualString-ignorecase"),
        pytest.param("containsString", "Hello there", "there", False, True, id="containsString"),
        pytest.param("containsString", "Hello there", "THERE", False, False, id="containsString-case"),
        pytest.param("containsString", "Hello there", "THERE", True, True, id="containsString-ignorecase"),
        pytest.param("notContainsString", "Hello", "x", False, True, id="notContainsString"),
        pytest.param("startWith", "Hello", "He", False, True, id="startWith"),
        pytest.param("endWith", "Hello", "lo", False, True, id="endWith"),
        pytest.param("isExists", "", None, False, True, id="isExists-empty-string-exists"),
        pytest.param("isExists", None, None, False, False, id="isExists-nothing"),
        pytest.param("isNotExists", None, None, False, True, id="isNotExists-nothing"),
        pytest.param("isNotExists", "x", None, False, False, id="isNotExists-something"),
        pytest.param("isEmpty", "", None, False, True, id="isEmpty-empty-string"),
        pytest.param("isEmpty", [], None, False, True, id="isEmpty-empty-list"),
        pytest.param("isEmpty", "x", None, False, False, id="isEmpty-text"),
        pytest.param("isNotEmpty", "x", None, False, True, id="isNotEmpty-text"),
        pytest.param("isNotEmpty", None, None, False, False, id="isNotEmpty-nothing"),
        pytest.param("isNotEmpty", {}, None, False, False, id="isNotEmpty-empty-object"),
        pytest.param("isEqualNumber", "3", 3, False, True, id="isEqualNumber-text-and-number"),
        pytest.param("isEqualNumber", "3.0", "3", False, True, id="isEqualNumber-float"),
        pytest.param("isEqualNumber", "three", "3", False, False, id="isEqualNumber-not-a-number"),
        pytest.param("isNotEqualNumber", 2, 3, False, True, id="isNotEqualNumber"),
        pytest.param("greaterThan", "10", "9", False, True, id="greaterThan-numeric-not-lexical"),
        pytest.param("greaterThan", 3, 3, False, False, id="greaterThan-equal"),
        pytest.param("greaterThanOrEqual", 3, 3, False, True, id="greaterThanOrEqual"),
        pytest.param("lessThan", "9", "10", False, True, id="lessThan"),
        pytest.param("lessThan", None, "10", False, False, id="lessThan-nothing"),
        pytest.param("lessThanOrEqual", 3, 3, False, True, id="lessThanOrEqual"),
        pytest.param("isTrue", True, None, False, True, id="isTrue-bool"),
        pytest.param("isTrue", "TRUE", None, False, True, id="isTrue-text"),
        pytest.param("isTrue", "yes", None, False, False, id="isTrue-other-text"),
        pytest.param("isFalse", False, None, False, True, id="isFalse-bool"),
        pytest.param("isFalse", "false", None, False, True, id="isFalse-text"),
        pytest.param("isFalse", None, None, False, False, id="isFalse-nothing"),
        pytest.param("general.isEqualString", "a", "a", False, True, id="prefixed-operator"),
        # Regressions a plain `!=`, a None-sensitive string test or an unspread list would let through:
        pytest.param("isNotEqualNumber", [1, 2], 1, False, False, id="isNotEqualNumber-list-holding-the-number"),
        pytest.param("isNotEqualNumber", "3", 3, False, False, id="isNotEqualNumber-text-and-number-are-equal"),
        pytest.param("isNotEqualNumber", "3.0", "3", False, False, id="isNotEqualNumber-3.0-is-3"),
        pytest.param("isNotEqualNumber", "abc", 3, False, True, id="isNotEqualNumber-not-a-number"),
        pytest.param("containsString", "abc", None, False, True, id="containsString-nothing-on-the-right"),
        pytest.param("notContainsString", "abc", None, False, False, id="notContainsString-nothing-on-the-right"),
        pytest.param("startWith", "abc", None, False, True, id="startWith-nothing-on-the-right"),
        pytest.param("isEqualString", "", None, False, True, id="isEqualString-empty-and-nothing"),
        pytest.param("greaterThan", [1, 5], 3, False, True, id="greaterThan-any-item-of-a-list"),
        pytest.param("greaterThan", [1, 2], 3, False, False, id="greaterThan-no-item-of-a-list"),
        pytest.param("lessThan", 2, [1, 5], False, True, id="lessThan-list-on-the-right"),
        pytest.param("isEqualNumber", ["7", "8"], 8, False, True, id="isEqualNumber-any-item"),
        # The rest of the server's built-in filters:
        pytest.param("isEqual", {"a": 1}, {"a": 1.0}, False, True, id="isEqual-objects"),
        pytest.param("isEqual", "1", 1, False, True, id="isEqual-text-and-number"),
        pytest.param("isNotEqual", "a", "b", False, True, id="isNotEqual"),
        pytest.param("isEqualCase", "Yoda", "yoda", True, False, id="isEqualCase-ignores-ignorecase"),
        pytest.param("isNotEqualCase", "Yoda", "yoda", False, True, id="isNotEqualCase"),
        pytest.param("notStartWith", "Hello", "He", False, False, id="notStartWith"),
        pytest.param("notEndWith", "Hello", "x", False, True, id="notEndWith"),
        pytest.param("inList", "b", "a, b ,c", False, True, id="inList-comma-separated"),
        pytest.param("inList", "B", "a,b", True, True, id="inList-ignorecase"),
        pytest.param("notInList", "d", ["a", "b"], False, True, id="notInList-list"),
        pytest.param("match", "abc-123", r"\d{3}$", False, True, id="match-regex"),
        pytest.param("match", "ABC", "^abc$", True, True, id="match-ignorecase"),
        pytest.param("stringHasLength", "abcd", "4", False, True, id="stringHasLength"),
        pytest.param("stringHasLength", ["ab", "abcd"], 4, False, True, id="stringHasLength-any-item"),
        pytest.param("stringHasLength", "abc", "x", False, False, id="stringHasLength-not-a-number"),
        pytest.param("hasLength", ["a", "b"], "2", False, True, id="hasLength-list"),
        pytest.param("hasLength", "single", "1", False, True, id="hasLength-single-value-is-one-item"),
        pytest.param("containsGeneral", ["a", "b"], "b", False, True, id="containsGeneral-list-item"),
        pytest.param("containsGeneral", "Hello", "ell", False, True, id="containsGeneral-substring"),
        pytest.param("containsGeneral", {"k": 1}, "k", False, True, id="containsGeneral-object-key"),
        pytest.param("notContainsGeneral", ["a"], "b", False, True, id="notContainsGeneral"),
        pytest.param("contains", ["x", "y"], "y", False, True, id="contains"),
        pytest.param("notContains", ["x", "y"], "y", False, False, id="notContains"),
        pytest.param("in", "b", ["a", "b"], False, True, id="in-list"),
        pytest.param("in", "ell", "Hello", False, True, id="in-text"),
        pytest.param("notIn", "z", ["a", "b"], False, True, id="notIn"),
        pytest.param("isAfter", "2024-05-01T10:00:00Z", "2024-05-01T09:59:59Z", False, True, id="isAfter"),
        pytest.param("isBefore", "2024-05-01", "2024-05-02T00:00:00+00:00", False, True, id="isBefore-date-only"),
        pytest.param("isSame", 1714557600, "2024-05-01T10:00:00Z", False, True, id="isSame-epoch-and-iso"),
        pytest.param("isAfter", "not a date", "2024-05-01", False, False, id="isAfter-not-a-date"),
        pytest.param("date.isBefore", ["2030-01-01", "2000-01-01"], "2020-01-01", False, True, id="isBefore-any-item"),
    ],
)
def test_operator(operator: str, left: Any, right: Any, ignore_case: bool, expected: bool) -> None:
    """Given two operand values, When the operator compares them, Then it answers as the server does."""
    result = operator_for(operator)(left, right, ignore_case)
    assert result is expected, f"{operator}({left!r}, {right!r}, ignorecase={ignore_case}) gave {result}"


def test_unknown_operator_is_an_error() -> None:
    """Given an operator the runner does not know, When looked up, Then it is an error naming it, not a false."""
    with pytest.raises(ConditionError, match="unknown condition operator 'isPrime'"):
        operator_for("isPrime")


RESOLVER_VIEW = view_for_expressions(Incident(context={"A": "yes", "B": "no"}))
TRUE = check("isEqualString", "A", "yes")
FALSE = check("isEqualString", "B", "yes")


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        pytest.param([[TRUE], [TRUE]], True, id="and-of-trues"),
        pytest.param([[TRUE], [FALSE]], False, id="outer-list-is-and"),
        pytest.param([[FALSE, TRUE]], True, id="inner-list-is-or"),
        pytest.param([[FALSE, FALSE], [TRUE]], False, id="or-group-false-fails-the-and"),
    ],
)
def test_and_of_ors(groups: list[list[dict[str, Any]]], expected: bool) -> None:
    """Given groups of checks, When evaluated, Then the outer list is ANDed and each inner list ORed."""
    result = evaluate_condition(groups, Resolver(RESOLVER_VIEW))
    assert result is expected, f"{groups} gave {result}"


def test_unknown_operator_fails_even_after_a_true_check() -> None:
    """Given an OR group whose first check holds, When its second uses an unknown operator, Then it still fails."""
    with pytest.raises(ConditionError, match="isPrime"):
        evaluate_condition([[TRUE, check("isPrime", "A")]], Resolver(RESOLVER_VIEW))


def test_first_matching_branch_wins() -> None:
    """Given several branches, When more than one holds, Then the first one's label is taken."""
    branches = [branch("no", [FALSE]), branch("first", [TRUE]), branch("second", [TRUE])]
    assert choose_branch(branches, Resolver(RESOLVER_VIEW)) == "first", "the first branch that holds should win"


def test_no_branch_matches() -> None:
    """Given branches none of which holds, When one is chosen, Then there is none (the runner decides what follows)."""
    assert choose_branch([branch("yes", [FALSE])], Resolver(RESOLVER_VIEW)) is None, "no branch should be chosen"


@pytest.mark.parametrize(
    ("branches", "message"),
    [
        pytest.param([{"condition": [[TRUE]]}], "needs a `label`", id="no-label"),
        pytest.param([branch("yes")], "non-empty list", id="no-condition"),
        pytest.param([branch("yes", [])], "empty group", id="empty-group"),
        pytest.param([branch("yes", [{"left": {}}])], "needs an `operator`", id="no-operator"),
    ],
)
def test_malformed_conditions(branches: list[dict[str, Any]], message: str) -> None:
    """Given a malformed condition, When evaluated, Then the error says what is missing."""
    with pytest.raises(ConditionError, match=message):
        choose_branch(branches, Resolver(RESOLVER_VIEW))
