"""Tests of get_path, set_path and delete_path: DT reads, setContext and DeleteContext."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from xsoar_local.incident import ContextPathError, delete_path, get_path, set_path

CONTEXT: dict[str, Any] = {
    "YodaSpeak": {
        "TheForce": [
            {"Original": "Hello there", "Translation": "There, hello"},
            {"Original": "I am your father", "Translation": "Your father, I am"},
        ],
        "Single": {"Original": "Hmm", "Translation": "Hmm, yes"},
    },
    "URLScan": {
        "Certificates": [
            {"SubjectName": ["a.example", "b.example"]},
            {"SubjectName": "c.example"},
            {"Other": 1},
        ]
    },
    "Incident": {"severity": 3},
    "Zero": 0,
    "Nothing": None,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("YodaSpeak.Single.Translation", "Hmm, yes", id="dotted"),
        pytest.param("YodaSpeak.TheForce.Translation", ["There, hello", "Your father, I am"], id="maps-over-list"),
        pytest.param("YodaSpeak.TheForce.[1].Original", "I am your father", id="dot-bracket-index"),
        pytest.param("YodaSpeak.TheForce[0].Original", "Hello there", id="bracket-index"),
        pytest.param("YodaSpeak.TheForce.1.Original", "I am your father", id="numeric-segment-on-list"),
        pytest.param("YodaSpeak.TheForce.[-1].Original", "I am your father", id="negative-index"),
        pytest.param("YodaSpeak.TheForce.[5]", None, id="index-out-of-range"),
        pytest.param("Incident.[0].severity", 3, id="single-object-is-item-0"),
        pytest.param(
            "URLScan.Certificates.SubjectName", ["a.example", "b.example", "c.example"], id="flattens-one-level"
        ),
        pytest.param("YodaSpeak.Missing.Deeper", None, id="missing"),
        pytest.param("Zero", 0, id="falsy-value-returned"),
        pytest.param("Nothing", None, id="null"),
        pytest.param("Zero.deeper", None, id="through-a-scalar"),
        pytest.param("Nothing.deeper", None, id="through-null"),
        pytest.param(
            "YodaSpeak.TheForce(val.Original == 'I am your father').Translation",
            "Your father, I am",
            id="filter-one-match-is-the-item",
        ),
        pytest.param(
            "YodaSpeak.TheForce(val.Translation).Original",
            ["Hello there", "I am your father"],
            id="filter-several-matches",
        ),
        pytest.param('YodaSpeak.TheForce(val.Original == "Nope").Original', None, id="filter-no-match"),
        pytest.param("YodaSpeak.Single(val.Original == 'Hmm').Translation", "Hmm, yes", id="filter-single-object"),
        pytest.param(
            "YodaSpeak.TheForce(val.Original == 'a.b(c)' || val.Original == 'Hello there').[0].Translation",
            "There, hello",
            id="filter-with-dots-and-parens-in-strings",
        ),
        pytest.param(
            r"YodaSpeak.TheForce(val.Original == 'it\'s.(x)' || val.Original == 'Hmm').Original",
            None,
            id="filter-with-escaped-quote",
        ),
        pytest.param(
            "URLScan.Certificates(val.SubjectName).SubjectName",
            ["a.example", "b.example", "c.example"],
            id="filter-then-map",
        ),
    ],
)
def test_get_path(path: str, expected: Any) -> None:
    """
    Given a context with objects, lists and scalars
    When a DT path is read
    Then lists are mapped and flattened one level, and [N] indexes
    """
    assert get_path(CONTEXT, path) == expected, f"get_path({path!r}) should be {expected!r}"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("", id="empty"),
        pytest.param("A..B", id="empty-segment"),
        pytest.param("A.[x]", id="bad-index"),
        pytest.param("A(val.x == 1", id="unclosed-filter"),
        pytest.param("A)(", id="reversed-parens"),
        pytest.param("YodaSpeak.TheForce(val.x * 1)", id="unsupported-filter"),
    ],
)
def test_get_path_rejects_malformed_paths(path: str) -> None:
    """
    Given a malformed path
    When it is read
    Then ContextPathError (UnsupportedSelectorError for a bad filter is one) says so
    """
    with pytest.raises(ContextPathError):
        get_path(CONTEXT, path)


def test_set_path_overwrites_and_creates_parents_without_mutating() -> None:
    """
    Given a context
    When setContext-style writes overwrite a list and create a new branch
    Then the new context has them, and the original is unchanged
    """
    before = copy.deepcopy(CONTEXT)
    updated = set_path(CONTEXT, "YodaSpeak.TheForce", {"Original": "x"})
    updated = set_path(updated, "New.Branch.Leaf", [1, 2])
    assert updated["YodaSpeak"]["TheForce"] == {"Original": "x"}, "set_path should overwrite, not merge"
    assert updated["New"] == {"Branch": {"Leaf": [1, 2]}}, "set_path should create parent objects"
    assert before == CONTEXT, "set_path mutated its input"


def test_set_path_ignores_a_trailing_selector() -> None:
    """
    Given a setContext key carrying a DT selector
    When it is written
    Then the selector is ignored and the value overwrites the path
    """
    updated = set_path(CONTEXT, "YodaSpeak.TheForce(val.Original == obj.Original)", {"Original": "x"})
    assert updated["YodaSpeak"]["TheForce"] == {"Original": "x"}, f"expected an overwrite: {updated['YodaSpeak']}"


@pytest.mark.parametrize(
    ("path", "error"),
    [pytest.param("Zero.x", "'Zero' holds a int", id="through-scalar"), pytest.param("A.[0]", "read-only", id="index")],
)
def test_set_path_refuses_impossible_writes(path: str, error: str) -> None:
    """
    Given a path through a scalar, or with an index
    When it is written
    Then ContextPathError explains why
    """
    with pytest.raises(ContextPathError, match=error):
        set_path(CONTEXT, path, 1)


@pytest.mark.parametrize(
    ("path", "check"),
    [
        pytest.param("YodaSpeak.Single", lambda c: "Single" not in c["YodaSpeak"], id="key"),
        pytest.param(
            "YodaSpeak.TheForce.Translation",
            lambda c: all("Translation" not in item for item in c["YodaSpeak"]["TheForce"]),
            id="over-a-list",
        ),
        pytest.param("YodaSpeak", lambda c: "YodaSpeak" not in c and "URLScan" in c, id="top-level"),
        pytest.param("No.Such.Key", lambda c: c == CONTEXT, id="missing-is-noop"),
    ],
)
def test_delete_path(path: str, check: Any) -> None:
    """
    Given a context
    When DeleteContext key=<path> runs
    Then the key is gone (from every element when the path crosses a list) and the input is untouched
    """
    before = copy.deepcopy(CONTEXT)
    result = delete_path(CONTEXT, path)
    assert check(result), f"delete_path({path!r}) gave {result}"
    assert before == CONTEXT, "delete_path mutated its input"
