"""Normalising what `demisto.results` receives, as the engine's convert() does."""

from __future__ import annotations

from typing import Any

import pytest

from xsoar_local.engine.entries import is_error, normalise_results

ENTRY = {"Type": 4, "ContentsFormat": "text", "Contents": "boom", "EntryContext": None}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(ENTRY, [ENTRY], id="entry-passes-unchanged"),
        pytest.param({"a": 1}, [{"Type": 1, "Contents": '{"a": 1}', "ContentsFormat": "json"}], id="plain-dict"),
        pytest.param("ok", [{"Type": 1, "Contents": "ok", "ContentsFormat": "text"}], id="string"),
        pytest.param(3, [{"Type": 1, "Contents": "3", "ContentsFormat": "text"}], id="number"),
        pytest.param(
            [ENTRY, "x"], [ENTRY, {"Type": 1, "Contents": "x", "ContentsFormat": "text"}], id="list-is-several"
        ),
        pytest.param(
            {"Contents": "c"},
            [{"Type": 1, "Contents": '{"Contents": "c"}', "ContentsFormat": "json"}],
            id="contents-without-format-is-plain-dict",
        ),
    ],
)
def test_normalise_results(given: Any, expected: list[dict[str, Any]]) -> None:
    """Given a value passed to demisto.results, When normalised, Then it matches the engine's entries."""
    assert normalise_results(given) == expected, f"{given!r} normalised wrongly"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param({"Type": 4}, True, id="type-4"),
        pytest.param({"Type": "4"}, True, id="type-4-string"),
        pytest.param({"Type": 1}, False, id="note"),
        pytest.param({"Type": None}, False, id="odd-type"),
    ],
)
def test_is_error(entry: dict[str, Any], expected: bool) -> None:
    """Given an entry, When checked, Then only Type 4 is an error."""
    assert is_error(entry) is expected, f"is_error({entry}) should be {expected}"
