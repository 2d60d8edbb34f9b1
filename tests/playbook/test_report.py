"""The work plan as a person reads it: each task line keeps its status and time together in a narrow terminal."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from xsoar_local.playbook.report import task_line
from xsoar_local.playbook.runner import CONTINUED, SUCCESS, TASK_ERROR, WARNING, TaskResult

LONG_NAME = "Translate the incident details into the speech of a small green Jedi master"
LONG_MESSAGE = (
    "Print's mandatory argument 'value' is empty: ${YodaSpeak.Phrase.Translation} resolved to nothing "
    "(the context has YodaSpeak.TheForce.Original, YodaSpeak.TheForce.Translation)"
)


def lines_at(width: int, result: TaskResult) -> list[str]:
    """The task line as printed in a terminal `width` columns wide, one string per screen line."""
    console = Console(record=True, width=width, color_system=None)
    console.print(task_line(result))
    return [line.rstrip() for line in console.export_text().splitlines()]


@pytest.mark.parametrize("width", [pytest.param(80, id="80-columns"), pytest.param(50, id="50-columns")])
@pytest.mark.parametrize(
    ("status", "message"),
    [
        pytest.param(SUCCESS, "", id="success"),
        pytest.param(WARNING, "${Nope} is empty", id="warning"),
        pytest.param(TASK_ERROR, LONG_MESSAGE, id="error"),
        pytest.param(CONTINUED, LONG_MESSAGE, id="error-continued"),
    ],
)
def test_status_and_time_stay_on_the_first_line(width: int, status: str, message: str) -> None:
    """Given a task with a long name and command, When its line is printed in a narrow terminal, Then its first
    screen line holds the mark, status, time and task id together, and the name, command and message all show."""
    result = TaskResult("12", LONG_NAME, "regular", "YodaSpeak|||yoda-speak-translate", status, 0.23, message)
    lines = lines_at(width, result)
    assert re.match(rf"^. {re.escape(status)} +0\.23s \[12\]", lines[0]), f"status and time split apart: {lines}"
    assert all(len(line) <= width for line in lines), f"a line is wider than {width} columns: {lines}"
    flat = " ".join(" ".join(lines).split())
    for part in (LONG_NAME, "YodaSpeak|||yoda-speak-translate", message):
        # The command may fold mid-word in a narrow column: compare without the folding spaces.
        assert part.replace(" ", "") in flat.replace(" ", ""), f"{part!r} is missing from the line: {lines}"


def test_message_goes_under_the_name_not_under_the_status() -> None:
    """Given a failed task with a long error, When printed at 80 columns, Then the error's lines are indented
    under the task name, so the status column stays readable."""
    result = TaskResult("2", "Print the translation", "regular", "Print", TASK_ERROR, 0.0, LONG_MESSAGE)
    lines = lines_at(80, result)
    indent = lines[0].index("[2]")
    assert len(lines) > 2, f"the long error should wrap onto lines of its own: {lines}"
    for line in lines[1:]:
        assert line[:indent].strip() == "", f"a message line starts left of the task name: {line!r} in {lines}"
