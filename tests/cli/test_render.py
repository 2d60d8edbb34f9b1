"""Rendering War Room entries and the context for a person."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from xsoar_local.engine.entries import LogEntry
from xsoar_local.render import render_run

TABLE = "### Yoda Says...\n|Original|Translation|\n|---|---|\n| Hello there | There, hello |\n"


def text_of(entries: list[dict[str, Any]], context: dict[str, Any] | None = None, **options: Any) -> str:
    console = Console(record=True, width=100, color_system=None)
    console.print(render_run(entries, context or {}, **options))
    return console.export_text()


def test_markdown_table_is_rendered_not_raw() -> None:
    """Given a note with a markdown table, When rendered, Then cells show as a table, not as pipes and dashes."""
    output = text_of([{"Type": 1, "ContentsFormat": "json", "Contents": {}, "HumanReadable": TABLE}], title="!t")
    assert "Hello there" in output, f"the cell should be shown:\n{output}"
    assert "There, hello" in output, f"the cell should be shown:\n{output}"
    assert "|---|" not in output, f"the markdown should be rendered, not printed raw:\n{output}"
    assert "Yoda Says..." in output, f"the table title should be shown:\n{output}"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param({"Type": 4, "ContentsFormat": "text", "Contents": "boom"}, ["Error", "boom"], id="error"),
        pytest.param(
            {"Type": 4, "ContentsFormat": "text", "Contents": "x", "EngineCrash": True},
            ["Error", "engine-side crash"],
            id="crash",
        ),
        pytest.param({"Type": 11, "ContentsFormat": "text", "Contents": "careful"}, ["Warning", "careful"], id="warn"),
        pytest.param({"Type": 1, "ContentsFormat": "json", "Contents": '{"answer": 42}'}, ['"answer": 42'], id="json"),
        pytest.param({"Type": 1, "ContentsFormat": "text", "Contents": "ok"}, ["ok"], id="text"),
    ],
)
def test_entry_kinds(entry: dict[str, Any], expected: list[str]) -> None:
    """Given an entry of some kind, When rendered, Then the words a reader needs are there."""
    output = text_of([entry])
    for word in expected:
        assert word in output, f"{word!r} missing from:\n{output}"


def test_context_and_logs() -> None:
    """Given a context and logs, When rendered with and without verbose, Then logs only show when verbose."""
    logs = [LogEntry("debug", "secretless debug line")]
    context = {"YodaSpeak": {"TheForce": {"Original": "Hello"}}}
    quiet = text_of([], context, logs=logs)
    assert '"Original": "Hello"' in quiet, f"the context should be shown as JSON:\n{quiet}"
    assert "no entry" in quiet, f"a command without entries should say so:\n{quiet}"
    assert "secretless debug line" not in quiet, "logs are only for --verbose"
    assert "secretless debug line" in text_of([], context, logs=logs, verbose=True), "--verbose shows the logs"
