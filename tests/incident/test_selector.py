"""Tests of the DT selector language: splitting keys, and the JavaScript subset CSP emits, evaluated without eval."""

from __future__ import annotations

from typing import Any

import pytest

import xsoar_local.incident
from xsoar_local.incident.selector import UnsupportedSelectorError, evaluate_selector, split_dt_key

HELLO = {"Original": "Hello", "Translation": "Hello, hmm", "Count": 2, "Meta": {"Lang": "en"}}


@pytest.mark.parametrize(
    ("selector", "val", "obj", "expected"),
    [
        pytest.param("val.Original == obj.Original", HELLO, {"Original": "Hello"}, True, id="equal-fields"),
        pytest.param("val.Original == obj.Original", HELLO, {"Original": "Bye"}, False, id="different-fields"),
        pytest.param("val.Original && val.Original == obj.Original", {}, {}, False, id="undefined-guard"),
        pytest.param("val.Missing == obj.Missing", {}, {}, True, id="undefined-equals-undefined"),
        pytest.param("val.Meta.Lang == 'en'", HELLO, {}, True, id="dotted-and-single-quotes"),
        pytest.param('val.Meta.Lang === "en"', HELLO, {}, True, id="strict-string"),
        pytest.param("val.Count == '2'", HELLO, {}, True, id="loose-number-string"),
        pytest.param("val.Count === '2'", HELLO, {}, False, id="strict-number-string"),
        pytest.param("val.Count != 3", HELLO, {}, True, id="not-equal"),
        pytest.param("val.Count !== 2", HELLO, {}, False, id="strict-not-equal"),
        pytest.param("val.Count == 2.0", HELLO, {}, True, id="int-float"),
        pytest.param("val.x == -1", {"x": -1}, {}, True, id="negative-number"),
        pytest.param("val.flag == 1", {"flag": True}, {}, True, id="loose-true-is-1"),
        pytest.param("val.flag === 1", {"flag": True}, {}, False, id="strict-true-is-not-1"),
        pytest.param("val.x == null", {"x": None}, {}, True, id="null-loose"),
        pytest.param("val.y == null", {}, {}, True, id="undefined-loose-null"),
        pytest.param("val.y === null", {}, {}, False, id="undefined-strict-not-null"),
        pytest.param("val.Meta == obj.Meta", HELLO, {"Meta": {"Lang": "en"}}, False, id="objects-by-identity"),
        pytest.param("val.Zero", {"Zero": 0}, {}, False, id="zero-falsy"),
        pytest.param("val.Empty", {"Empty": ""}, {}, False, id="empty-string-falsy"),
        pytest.param("val.List", {"List": []}, {}, True, id="empty-array-truthy"),
        pytest.param("val.Obj", {"Obj": {}}, {}, True, id="empty-object-truthy"),
        pytest.param("!val.Missing", {}, {}, True, id="not"),
        pytest.param("false || val.Count == 2", HELLO, {}, True, id="or"),
        pytest.param("(val.Count == 1 || val.Count == 2) && val.Original == 'Hello'", HELLO, {}, True, id="parens"),
        pytest.param("val.Count == 1 || val.Count == 2 && false", HELLO, {}, False, id="and-binds-tighter"),
        pytest.param("true", {}, {}, True, id="true"),
        pytest.param("val == obj", "a", "a", True, id="whole-primitive-items"),
        pytest.param(r"val.q == 'it\'s'", {"q": "it's"}, {}, True, id="escaped-quote"),
        pytest.param("val.Empty == 0", {"Empty": ""}, {}, True, id="loose-empty-string-is-0"),
        pytest.param("val.Word == 0", {"Word": "zero"}, {}, False, id="loose-non-numeric-string-is-nan"),
        pytest.param("val.Meta === obj.Meta", HELLO, HELLO, True, id="strict-same-object"),
        pytest.param("val.Meta === obj.Meta", HELLO, {"Meta": {"Lang": "en"}}, False, id="strict-other-object"),
        pytest.param("  val.Count == 2  ", HELLO, {}, True, id="surrounding-whitespace"),
        # The forms the server's DT documentation shows in selectors:
        pytest.param("val.Count > 1", HELLO, {}, True, id="greater-than"),
        pytest.param("val.Count >= '3'", HELLO, {}, False, id="greater-or-equal-text-as-number"),
        pytest.param("val.Original < 'Zebra'", HELLO, {}, True, id="strings-compare-as-strings"),
        pytest.param("val.Missing < 1", {}, {}, False, id="undefined-compares-false"),
        pytest.param("val.indexOf('www') == 0", "www.example.com", {}, True, id="indexOf-on-the-item"),
        pytest.param("val.indexOf('click') >= 0", "ad.doubleclick.net", {}, True, id="indexOf-contains"),
        pytest.param("val.toUpperCase().indexOf('IE') >= 0", "ie", {}, True, id="method-chain"),
        pytest.param(
            "val.Name.indexOf('de') == val.Name.length-2", {"Name": "www.example.de"}, {}, True, id="length-arithmetic"
        ),
        pytest.param("val.Tags.includes('x')", {"Tags": ["x", "y"]}, {}, True, id="array-includes"),
        pytest.param(
            "val.Name.startsWith('ww') && !val.Name.endsWith('.com')", {"Name": "www.de"}, {}, True, id="starts"
        ),
        pytest.param("-val.Count == -2", HELLO, {}, True, id="unary-minus-of-a-value"),
        pytest.param("val.Original + '!' == 'Hello!'", HELLO, {}, True, id="string-concatenation"),
        pytest.param("val.Count + 1 == 3", HELLO, {}, True, id="number-addition"),
        # `a ? b : c`, lowest of all, right to left, JavaScript's truthiness deciding:
        pytest.param("val.Count == 2 ? val.Original == 'Hello' : false", HELLO, {}, True, id="ternary-then"),
        pytest.param("val.Count == 3 ? true : val.Zero", {"Count": 2, "Zero": 0}, {}, False, id="ternary-otherwise"),
        pytest.param("val.Missing ? false : val.Count ? true : false", HELLO, {}, True, id="ternary-nested-right"),
        pytest.param("val.List ? [val.Count] : []", {"List": [], "Count": 1}, {}, True, id="ternary-array-truthy"),
    ],
)
def test_selector_semantics(selector: str, val: Any, obj: Any, expected: bool) -> None:
    """
    Given a selector, a stored item val and an incoming item obj
    When the selector is evaluated
    Then it follows JavaScript truthiness and equality
    """
    result = evaluate_selector(selector, val, obj)
    assert result is expected, f"{selector!r} with val={val!r}, obj={obj!r} should be {expected}, got {result}"


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param("val.x * 2 > 1", id="multiplication"),
        pytest.param("val['x'] == 1", id="brackets"),
        pytest.param("__import__('os')", id="python-injection"),
        pytest.param("val.x = 1", id="assignment"),
        pytest.param("(val.x == 1", id="unclosed"),
        pytest.param("val.", id="dangling-dot"),
        pytest.param("val.'x' == 1", id="quoted-member"),
        pytest.param("== 1", id="leading-operator"),
        pytest.param("val.x == 1)", id="extra-paren"),
        pytest.param("val.x.replace('a', 'b') == 1", id="unknown-method"),
        pytest.param("val.x ? 1", id="ternary-without-colon"),
        pytest.param("val.x : 1", id="colon-without-question"),
        pytest.param("[val.x, 1", id="unclosed-array"),
    ],
)
def test_unsupported_selectors_raise(selector: str) -> None:
    """
    Given a selector outside the supported subset
    When it is evaluated
    Then UnsupportedSelectorError names the selector
    """
    with pytest.raises(UnsupportedSelectorError, match="Unsupported DT selector") as raised:
        evaluate_selector(selector, {"x": 1}, {"x": 1})
    assert repr(selector) in str(raised.value), f"the message should quote the selector: {raised.value}"


# ---- splitting keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("YodaSpeak.TheForce", ("YodaSpeak.TheForce", None), id="plain-dotted"),
        pytest.param(
            "YodaSpeak.TheForce(val.Original && val.Original == obj.Original)",
            ("YodaSpeak.TheForce", "val.Original && val.Original == obj.Original"),
            id="dt",
        ),
        pytest.param("A(true)", ("A", "true"), id="overwrite"),
        pytest.param("A.B((val.x == obj.x) || val.y)", ("A.B", "(val.x == obj.x) || val.y"), id="nested-parens"),
        pytest.param('A(val.x == "a)")', ("A", 'val.x == "a)"'), id="paren-inside-string"),
        pytest.param("A(val.x", ("A(val.x", None), id="unbalanced-is-plain"),
        pytest.param("Odd)", ("Odd)", None), id="closing-paren-only-is-plain"),
        pytest.param("A('x)", ("A('x)", None), id="unterminated-string-is-plain"),
        pytest.param('A(val.x == "a\\")")', ("A", 'val.x == "a\\")"'), id="escaped-quote-in-string"),
        pytest.param(" Padded (true) ", ("Padded", "true"), id="whitespace-trimmed"),
    ],
)
def test_split_dt_key(key: str, expected: tuple[str, str | None]) -> None:
    """
    Given an EntryContext key
    When it is split
    Then the path and the selector are separated at the ( whose ) ends the key
    """
    assert split_dt_key(key) == expected, f"split_dt_key({key!r}) should give {expected}"


def test_the_package_reexports_the_selector_names() -> None:
    """
    Given the selector language in its own module
    When its names are imported from xsoar_local.incident
    Then they are the same objects, and a bad selector is still a ContextPathError
    """
    assert xsoar_local.incident.evaluate_selector is evaluate_selector, "evaluate_selector should be re-exported"
    assert xsoar_local.incident.split_dt_key is split_dt_key, "split_dt_key should be re-exported"
    assert xsoar_local.incident.UnsupportedSelectorError is UnsupportedSelectorError, "the error should be re-exported"
    assert issubclass(UnsupportedSelectorError, xsoar_local.incident.ContextPathError), "callers catch ContextPathError"
