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
        pytest.param("Stringify", {"b": 1}, {}, '{"b": 1}', id="stringify"),
        pytest.param("trim", "  x ", {}, "x", id="trim"),
    ],
)
def test_transformer(operator: str, value: Any, args: dict[str, Any], expected: Any) -> None:
    """Given a value and resolved args, When the transformer applies, Then it gives the server's result."""
    result = apply_transformer(operator, value, args)
    assert result == expected, f"{operator}({value!r}, {args!r}) gave {result!r}, expected {expected!r}"


@pytest.mark.parametrize(
    ("operator", "args", "message"),
    [
        pytest.param("notATransformer", {}, "unknown transformer 'notATransformer'", id="unknown"),
        pytest.param("atIndex", {}, "'index' is required", id="atIndex-without-index"),
        pytest.param("atIndex", {"index": "one"}, "must be an integer", id="atIndex-bad-index"),
        pytest.param("replace", {}, "'toReplace' is required", id="replace-without-toReplace"),
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
