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


# What CommonServerPython's tableToMarkdown returns for
# {"Original": "Hello there\nGeneral Kenobi", "Translation": "**Bold**\n# not a heading | pipe"}: newlines become <br>.
TABLE_WITH_BREAKS = (
    "### Yoda Says...\n|Original|Translation|\n|---|---|\n"
    "| Hello there<br>General Kenobi | **Bold**<br># not a heading \\| pipe |\n"
)


def cell_lines(output: str) -> list[list[str]]:
    """The lines inside the panels of rendered output, each split into its (stripped) column texts."""
    inner = (line.strip().strip("│") for line in output.splitlines())  # drop the panel's borders
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in inner]


def test_br_in_a_table_cell_is_a_line_break() -> None:
    """Given a tableToMarkdown table whose cells held newlines (written as <br>), When rendered, Then each cell shows
    its lines one under the other, not glued together, and no <br> is printed."""
    output = text_of([{"Type": 1, "ContentsFormat": "json", "Contents": {}, "HumanReadable": TABLE_WITH_BREAKS}])
    rows = cell_lines(output)
    assert ["Hello there", "Bold"] in rows, f"the first line of each cell should share a row:\n{output}"
    assert ["General Kenobi", "# not a heading | pipe"] in rows, f"the second lines should be below them:\n{output}"
    assert "Bold#" not in output, f"the cell's lines were joined:\n{output}"
    assert "<br>" not in output, f"<br> should be rendered as a line break, not printed:\n{output}"


@pytest.mark.parametrize(
    ("markdown", "expected", "unexpected"),
    [
        pytest.param("one<br>two", ["one", "two"], "onetwo", id="br-in-a-paragraph"),
        pytest.param("one<BR/>two", ["one", "two"], "onetwo", id="self-closing-upper-case-br"),
        pytest.param("`a<br>b`", ["a<br>b"], None, id="br-in-code-is-kept-as-text"),
    ],
)
def test_br_outside_tables(markdown: str, expected: list[str], unexpected: str | None) -> None:
    """Given a markdown note with <br> outside a table, When rendered, Then it breaks the line, except inside code."""
    output = text_of([{"Type": 1, "ContentsFormat": "markdown", "Contents": markdown}])
    lines = [line.strip(" │") for line in output.splitlines()]
    for line in expected:
        assert line in lines, f"{line!r} should be a line of its own:\n{output}"
    if unexpected:
        assert unexpected not in output, f"{unexpected!r} means the break was lost:\n{output}"


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
