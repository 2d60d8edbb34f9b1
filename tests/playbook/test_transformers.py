"""Transformers of `complex` arguments."""

from __future__ import annotations

from typing import Any

import pytest

from xsoar_local.playbook.transformers import TransformerError, apply_transformer, to_text


@pytest.mark.parametrize(
    ("operator", "value", "args", "expected"),
    [
        pytest.param("atIndex", ["a", "b", "c"], {"index": "1"}, "b", id="atIndex-middle"),
        pytest.param("atIndex", ["a", "b", "c"], {"index": "-1"}, "c", id="atIndex-negative"),
        pytest.param("atIndex", ["a"], {"index": "5"}, None, id="atIndex-out-of-range-is-nothing"),
        pytest.param("atIndex", {"k": 1}, {"index": "0"}, {"k": 1}, id="atIndex-single-object-is-a-list-of-one"),
        pytest.param("uniq", ["a", "b", "a", "c", "b"], {}, ["a", "b", "c"], id="uniq-keeps-first-order"),
        pytest.param("uniq", "a", {}, "a", id="uniq-scalar-unchanged"),
        pytest.param("toLowerCase", "HeLLo", {}, "hello", id="toLowerCase-string"),
        pytest.param("toLowerCase", ["A", "B"], {}, ["a", "b"], id="toLowerCase-each-item"),
        pytest.param("toLowerCase", None, {}, None, id="toLowerCase-nothing-stays-nothing"),
        pytest.param("toUpperCase", "yoda", {}, "YODA", id="toUpperCase"),
        pytest.param("join", ["a", "b"], {}, "a,b", id="join-default-comma"),
        pytest.param("join", ["a", "b"], {"separator": " | "}, "a | b", id="join-separator"),
        pytest.param("join", None, {"separator": "-"}, None, id="join-nothing"),
        pytest.param("split", "a;b", {"delimiter": ";"}, ["a", "b"], id="split"),
        pytest.param("replace", "a-b-c", {"toReplace": "-", "replaceWith": "+"}, "a+b+c", id="replace-all"),
        pytest.param("replace", "a-b-c", {"toReplace": "-", "replaceWith": "", "limit": "1"}, "ab-c", id="replace-1"),
        pytest.param("count", ["a", "b"], {}, 2, id="count"),
        pytest.param("FirstArrayElement", ["x", "y"], {}, "x", id="first"),
        pytest.param("LastArrayElement", ["x", "y"], {}, "y", id="last"),
        pytest.param("slice", [1, 2, 3, 4], {"from": "1", "to": "3"}, [2, 3], id="slice"),
        pytest.param("getField", [{"a": 1}, {"a": 2}], {"field": "a"}, [1, 2], id="getField-list"),
        pytest.param("Stringify", {"b": 1, "a": ["é", 2]}, {}, '{"a":["é",2],"b":1}', id="stringify-compact"),
        pytest.param("trim", "  x ", {}, "x", id="trim"),
        pytest.param("splitAndTrim", " a , b ,c", {"delimiter": ","}, ["a", "b", "c"], id="splitAndTrim"),
        pytest.param("substring", "abcdef", {"from": "1", "to": "3"}, "bc", id="substring"),
        pytest.param("substring", "abcdef", {"from": "2"}, "cdef", id="substring-to-the-end"),
        pytest.param("substringFrom", "user@example.com", {"from": "@"}, "example.com", id="substringFrom"),
        pytest.param("substringTo", "user@example.com", {"to": "@"}, "user", id="substringTo"),
        pytest.param("replaceMatch", "a1b22", {"regex": r"\d+", "replaceWith": "#"}, "a#b#", id="replaceMatch"),
        pytest.param("concat", "mid", {"prefix": "<", "suffix": ">"}, "<mid>", id="concat"),
        pytest.param("strLength", ["ab", "abc"], {}, [2, 3], id="strLength-each-item"),
        pytest.param("toString", 5, {}, "5", id="toString"),
        pytest.param("addition", "2", {"by": "3"}, 5, id="addition-text-number"),
        pytest.param("subtraction", 2, {"by": "0.5"}, 1.5, id="subtraction"),
        pytest.param("multiply", [1, 2], {"by": "3"}, [3, 6], id="multiply-each-item"),
        pytest.param("division", 7, {"by": "2"}, 3.5, id="division"),
        pytest.param("modulo", 7, {"by": "4"}, 3, id="modulo"),
        pytest.param("abs", "-4", {}, 4, id="abs"),
        pytest.param("round", 2.5, {}, 3, id="round-half-up"),
        pytest.param("floor", 2.7, {}, 2, id="floor"),
        pytest.param("ceil", 2.1, {}, 3, id="ceil"),
        pytest.param("precision", 3.14159, {"by": "2"}, 3.14, id="precision"),
        pytest.param("toPercent", 1, {"total": "4"}, 25, id="toPercent"),
        pytest.param("quadraticEquation", 2, {"a": "1", "b": "2", "c": "3"}, 11, id="quadraticEquation"),
        pytest.param("toUnix", "2024-05-01T10:00:00Z", {}, 1714557600, id="toUnix"),
        pytest.param("sort", [3, 1, 2], {}, [1, 2, 3], id="sort-numbers"),
        pytest.param("sort", ["b", "a"], {"descending": "true"}, ["b", "a"], id="sort-descending"),
        pytest.param("indexOf", ["a", "b"], {"item": "b"}, 1, id="indexOf"),
        pytest.param("indexOf", ["a"], {"item": "z"}, -1, id="indexOf-absent"),
        pytest.param("sliceByItem", ["a", "b", "c"], {"item": "b"}, ["b", "c"], id="sliceByItem"),
        pytest.param(
            "splice", ["a", "b", "c"], {"index": "1", "deleteCount": "1", "item": "x"}, ["a", "x", "c"], id="splice"
        ),
        pytest.param("append", ["a"], {"item": "b"}, ["a", "b"], id="append"),
        pytest.param("append", None, {"item": ["b", "c"]}, ["b", "c"], id="append-to-nothing"),
        pytest.param(
            "ConvertKeysToTableFieldFormat",
            {"Full Name": 1, "e-mail": 2},
            {},
            {"fullname": 1, "email": 2},
            id="table-keys",
        ),
    ],
)
def test_transformer(operator: str, value: Any, args: dict[str, Any], expected: Any) -> None:
    """Given a value and resolved args, When the transformer applies, Then it gives the server's result."""
    result = apply_transformer(operator, value, args)
    assert result == expected, f"{operator}({value!r}, {args!r}) gave {result!r}, expected {expected!r}"


@pytest.mark.parametrize(
    ("operator", "args", "message"),
    [
        pytest.param("division", {"by": "0"}, "division by zero", id="division-by-zero"),
        pytest.param("modulo", {"by": "0"}, "modulo by zero", id="modulo-by-zero"),
        pytest.param("addition", {}, "'by' is required", id="addition-without-by"),
        pytest.param("multiply", {"by": "x"}, "'by' must be a number", id="multiply-by-text"),
    ],
)
def test_number_transformer_errors(operator: str, args: dict[str, Any], message: str) -> None:
    """Given a number transformer with a missing or unusable `by`, When applied, Then the error says so."""
    with pytest.raises(TransformerError, match=message):
        apply_transformer(operator, [4], args)


@pytest.mark.parametrize(
    ("operator", "args", "message"),
    [
        pytest.param("notATransformer", {}, "unknown transformer 'notATransformer'", id="unknown"),
        pytest.param("atIndex", {}, "'index' is required", id="atIndex-without-index"),
        pytest.param("atIndex", {"index": "one"}, "must be an integer", id="atIndex-bad-index"),
        pytest.param("replace", {}, "'toReplace' is required", id="replace-without-toReplace"),
        pytest.param("addition", {"by": "1"}, "'a' is not a number", id="addition-on-text"),
        pytest.param("replaceMatch", {"regex": "("}, "not a regular expression", id="replaceMatch-bad-regex"),
    ],
)
def test_transformer_errors(operator: str, args: dict[str, Any], message: str) -> None:
    """Given an unknown transformer or bad args, When applied, Then the error says what is wrong (never a no-op)."""
    with pytest.raises(TransformerError, match=message):
        apply_transformer(operator, ["a"], args)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "", id="nothing"),
        pytest.param(True, "true", id="bool"),
        pytest.param(["a", 1], "a,1", id="list-comma-joined"),
        pytest.param({"a": 1}, '{"a": 1}', id="object-as-json"),
    ],
)
def test_to_text(value: Any, expected: str) -> None:
    """Given a context value, When written into text, Then it reads as the server writes it."""
    assert to_text(value) == expected, f"to_text({value!r}) gave {to_text(value)!r}"
