"""Parsing the playbook YAML into tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsoar_local.playbook.model import PlaybookError, load_playbook, load_playbook_text

DATA = Path(__file__).parent / "data"


def test_parses_the_server_format() -> None:
    """Given a playbook written like the server exports it, When loaded, Then its tasks carry what the runner needs."""
    book = load_playbook(DATA / "branching.yml")
    assert (book.id, book.name, book.start_task_id) == ("Branching", "Branching", "0")
    verify = book.tasks["3"]
    assert verify.type == "condition", "the task type comes from the task's `type`"
    assert verify.next_tasks == {"yes": ("4",), "#default#": ("5",)}, f"branches: {verify.next_tasks}"
    assert verify.conditions[0]["label"] == "yes", "conditions are kept as written"
    command = book.tasks["2"]
    assert (command.script, command.brand, command.is_command) == (
        "YodaSpeak|||yoda-speak-translate",
        "YodaSpeak",
        True,
    )
    assert command.arguments == {"text": {"simple": "${incident.details}"}}, f"arguments: {command.arguments}"
    assert book.tasks["1"].script == "DeleteContext", "`scriptName` is read as the script"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("just: text", "no `tasks` map", id="not-a-playbook"),
        pytest.param("tasks: [", "not valid YAML", id="bad-yaml"),
        pytest.param("starttaskid: '9'\ntasks: {'0': {id: '0', type: start}}", "starttaskid '9'", id="bad-start"),
        pytest.param("tasks: {'0': {id: '0', type: start, nexttasks: [1]}}", "must be a map", id="nexttasks-not-a-map"),
        pytest.param("tasks: {'0': {id: '0', type: regular, conditions: 3}}", "`conditions` must be", id="conditions"),
        pytest.param("tasks: {'0': {id: '0', scriptarguments: [1]}}", "`scriptarguments` must be", id="arguments"),
        pytest.param("tasks: {'0': 5}", "task 0 is not a map", id="task-not-a-map"),
    ],
)
def test_unusable_playbooks_are_refused(text: str, message: str) -> None:
    """Given a playbook the runner cannot walk, When loaded, Then the error says what is wrong."""
    with pytest.raises(PlaybookError, match=message):
        load_playbook_text(text)


def test_missing_file() -> None:
    """Given a path that does not exist, When loaded, Then the error names it."""
    with pytest.raises(PlaybookError, match=r"Cannot read .*nope\.yml"):
        load_playbook(DATA / "nope.yml")


@pytest.mark.parametrize(
    ("loop", "expected"),
    [
        pytest.param("{iscommand: false, exitCondition: '', wait: 1, max: 100}", False, id="export-default-block"),
        pytest.param("{scriptId: Sleep, exitCondition: '', max: 3}", True, id="run-until-script"),
        pytest.param("{forEach: true}", True, id="for-each"),
    ],
)
def test_loop_blocks(loop: str, expected: bool) -> None:
    """Given a task's `loop` block, When loaded, Then only a real loop (for each, or until a script or condition)
    makes the task loop; the all-default block exports write on every task does not."""
    book = load_playbook_text(f"tasks: {{'0': {{id: '0', type: regular, loop: {loop}}}}}")
    assert (book.tasks["0"].loop is not None) is expected, f"loop {loop} should loop: {expected}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: [unclosed\n  - :\n", "not valid YAML: line 2: did not find expected ',' or ']'", id="syntax"),
        pytest.param("\x00binary", "not valid YAML: unacceptable character #x0000", id="binary"),
    ],
)
def test_bad_yaml_is_one_line(text: str, message: str) -> None:
    """Given a file that is not YAML, When loaded, Then the error is one line with the line and the problem."""
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(text)
    assert message in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value), f"a multi-line error: {caught.value!r}"
