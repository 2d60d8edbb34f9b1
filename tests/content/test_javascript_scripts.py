"""JavaScript scripts through the CLI: War Room commands and playbook tasks, calling Python scripts and called by them.

The content root is tests/fixtures/javascript (the JsKit pack): JsTally (JavaScript) runs PyDouble (Python),
PyAsksJs (Python) runs JsUpper (a JavaScript transformer), and the JsKit playbook uses both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import FIXTURES, run_line, xsoar

JS_PACKS = FIXTURES.parent / "javascript" / "Packs"


def test_javascript_script_calling_a_python_script(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """
    Given JsTally, a JavaScript script that runs the Python script PyDouble and then calls setContext
    When it runs as `!JsTally 21`
    Then its entry holds the doubled number it read back with dq, and the incident keeps both scripts' context
    """
    outcome = run_line(capsys, tmp_path, "!JsTally 21", packs=JS_PACKS, instances=None)

    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.contents == {"doubled": 42}, outcome.entries
    assert outcome.entries[0]["HumanReadable"] == "### Tally\ndoubled|input\n---|---\n42 | 21\n", outcome.entries
    assert outcome.document["context"] == {"Doubled": {"value": 42}, "Tally": {"input": 21, "doubled": 42}}


def test_python_script_calling_a_javascript_script(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """
    Given PyAsksJs, a Python script that runs the JavaScript script JsUpper through demisto.executeCommand
    When it runs
    Then it gets JsUpper's entry, as the server's Scripts brand, holding the returned text
    """
    outcome = run_line(capsys, tmp_path, "!PyAsksJs text=hey", packs=JS_PACKS, instances=None)

    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.contents == '{"from_js": "HEY!", "brand": "Scripts"}', outcome.entries


@pytest.mark.parametrize(
    ("name", "branch", "ran"),
    [
        pytest.param("phish", "yes", ["JsTally", "", "PyAsksJs"], id="filter-holds"),
        pytest.param("spam", "#default#", ["JsTally", ""], id="filter-fails"),
    ],
)
def test_javascript_in_a_playbook(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, branch: str, ran: list[str]
) -> None:
    """
    Given the JsKit playbook: a JavaScript script task, a condition decided by a JavaScript filter, then a task
    whose argument goes through a JavaScript transformer
    When it runs on an incident with details 5 and the given name
    Then it completes, the filter picked the branch, and the JavaScript task's context is kept
    """
    argv = ["playbook", "--packs", str(JS_PACKS), "--playbook", "JsKit", "--state-dir", str(tmp_path)]
    outcome = xsoar(capsys, *argv, "--incident", "details=5", "--incident", f"name={name}", "--json")

    document = outcome.document
    assert outcome.status == 0, document.get("error") or outcome.err
    assert document["completed"] is True, document
    assert [task["action"] for task in document["tasks"][1:]] == ran, document["tasks"]
    assert document["tasks"][2]["branch"] == branch, document["tasks"]
    assert document["war_room"][0]["entry"]["Contents"] == {"doubled": 10}, document["war_room"]
    assert document["context"]["Tally"] == {"input": 5, "doubled": 10}, document["context"]


def test_a_javascript_transformer_feeds_a_python_task(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """
    Given the JsKit playbook on an incident named phish
    When its last task's argument goes through the JavaScript transformer JsUpper (suffix '?')
    Then the Python task got the transformed text and its call back into JsUpper answered
    """
    argv = ["playbook", "--packs", str(JS_PACKS), "--playbook", "JsKit", "--state-dir", str(tmp_path)]
    document = xsoar(capsys, *argv, "--incident", "details=5", "--incident", "name=phish", "--json").document

    assert document["tasks"][-1]["args"] == {"text": "PHISH?"}, document["tasks"]
    assert document["war_room"][-1]["entry"]["Contents"] == '{"from_js": "PHISH?!", "brand": "Scripts"}', document


@pytest.mark.parametrize(
    ("details", "completed", "last_entry"),
    [
        pytest.param("4", True, "even", id="yes-branch"),
        pytest.param("7", True, "odd", id="default-branch"),
        pytest.param("x", False, "not a number: x", id="thrown-fails-the-task"),
    ],
)
def test_a_condition_decided_by_a_javascript_script(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, details: str, completed: bool, last_entry: str
) -> None:
    """
    Given the JsKitCondition playbook, whose condition task runs the JavaScript script JsIsEven
    When it runs on an incident whose details are even, odd, or not a number
    Then the returned 'yes' or 'no' picks the branch, and a thrown error fails the task with its text
    """
    argv = ["playbook", "--packs", str(JS_PACKS), "--playbook", "JsKitCondition", "--state-dir", str(tmp_path)]
    document = xsoar(capsys, *argv, "--incident", f"details={details}", "--json").document

    assert document["completed"] is completed, document
    assert document["war_room"][-1]["entry"]["Contents"] == last_entry, document["war_room"]
