"""The Relay fixture pack (tests/fixtures/content/relay) from the command line: `${...}` in the arguments of nested
`executeCommand` calls, a BigInt number handed to a Python transformer, `getAllSupportedCommands`, and a JavaScript
integration."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.cli import main

from .support import FIXTURES, run_line, xsoar

RELAY_ROOT = FIXTURES / "relay" / "Packs"


def _run(capsys: pytest.CaptureFixture[str], state: Path, line: str) -> Any:
    outcome = run_line(capsys, state, line, packs=RELAY_ROOT, instances=None)
    assert outcome.status == 0, f"{line} failed: {outcome.err or outcome.entries}"
    return outcome.contents


@pytest.fixture(scope="module")
def relay_run() -> dict[str, Any]:
    """`test-playbooks --json` on the Relay pack, run once for the tests that read it."""
    out = io.StringIO()  # a module-scoped fixture cannot take capsys
    with contextlib.redirect_stdout(out):
        status = main(["test-playbooks", "--packs", str(RELAY_ROOT), "--json"])
    document: dict[str, Any] = json.loads(out.getvalue())
    runs = [run for run in document["runs"] if run["playbook"]["id"] == "Relay_Test"]
    assert status == 0, f"Relay_Test did not complete: {document.get('results')}"
    assert len(runs) == 1, f"expected one Relay_Test run: {document.get('results')}"
    return runs[0]


def _entries_of(run: dict[str, Any], task_id: str) -> list[Any]:
    return [item["entry"]["Contents"] for item in run["war_room"] if item["task_id"] == task_id]


@pytest.mark.parametrize(
    ("task_id", "expected"),
    [
        pytest.param(
            "2",
            {"printed": "where=;mark=top", "items": {"type": "list", "value": ["a", "b"]}},
            id="javascript-top-level",
        ),
        pytest.param("3.1", "where=Relay_Child", id="python-in-sub-playbook"),
        pytest.param(
            "3.2",
            {"printed": "where=Relay_Child;mark=child", "items": {"type": "list", "value": ["a", "b"]}},
            id="javascript-in-sub-playbook",
        ),
    ],
)
def test_nested_command_arguments_resolve_like_task_arguments(
    relay_run: dict[str, Any], task_id: str, expected: Any
) -> None:
    """
    Given Relay_Test: RlWhereJs at the top level, then the Relay_Child sub-playbook running RlWherePy and RlWhereJs
    When they call Print with 'where=${currentPlaybookID};mark=${Relay.Mark}' and a script with '${Relay.Items}'
    Then the server's resolution reaches the commands: the sub-playbook's id inside it and "" at the top level (how
    content's DeleteContext tells a sub-playbook), the value the script had just set, and a whole reference as the
    list it names
    """
    assert _entries_of(relay_run, task_id) == [expected], f"task {task_id}: {relay_run['war_room']}"


def test_a_bigint_number_reaches_a_python_transformer_as_the_server_sends_it(relay_run: dict[str, Any]) -> None:
    """
    Given Relay_Test storing 42 with RlSetNumber (JavaScript, BigInt, as CommonScripts' Set does)
    When the RlSum transformer (Python, isArray value; one int is its own sum, a lone float fails) sums it
    Then it got an int, as the server's JSON gives a whole number, and the total (42) is in context for the
    condition that checks it
    """
    context = relay_run["context"]["Relay"]
    assert (context["Count"], context["Total"]) == (42, 42), context
    assert isinstance(context["Total"], int), f"RlSum did not get an int: {context}"


@pytest.mark.parametrize(
    "script", [pytest.param("RlCanRunJs", id="javascript"), pytest.param("RlCanRunPy", id="python")]
)
def test_get_all_supported_commands_answers_is_command_available(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, script: str
) -> None:
    """
    Given the Relay pack (scripts and the RelayBeacon integration) and the server's own commands
    When a script asks its language's isCommandAvailable (built on getAllSupportedCommands) about five names
    Then a content script, a fallback script, a server-native command and an integration command are available and
    an unknown name is not, in the modules the server lists them under (the integration's brand among them)
    """
    contents = _run(capsys, tmp_path, f"!{script} names=RlSum,Print,getEntries,relay-beacon,no-such-command")
    assert contents == {
        "RlSum": True,
        "Print": True,
        "getEntries": True,
        "relay-beacon": True,
        "no-such-command": False,
        "modules": ["Builtin", "RelayBeacon", "Scripts"],
    }, contents


def test_a_war_room_script_resolves_its_nested_arguments_on_the_incident(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """
    Given a state folder whose incident has Relay.Items set by an earlier War Room command
    When `run --command '!RlWhereJs mark=cli'` runs (no playbook)
    Then its nested calls see the incident's context and an empty currentPlaybookID
    """
    stored = run_line(capsys, tmp_path, """!Set key=Relay.Items value='["x"]'""", packs=RELAY_ROOT, instances=None)
    assert stored.status == 0, stored.err
    contents = _run(capsys, tmp_path, "!RlWhereJs mark=cli")
    assert contents == {"printed": "where=;mark=cli", "items": {"type": "list", "value": ["x"]}}, contents


def test_a_javascript_integration_runs_its_commands_and_keeps_its_context(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """
    Given the RelayBeacon integration (JavaScript: `params`, `args`, `command`, the integration context calls)
    When `run --command` runs test-module, then relay-beacon twice on one state folder
    Then test-module passes, each call greets with the param's default, and the count it keeps in the integration
    context goes on from one run to the next
    """
    assert _run(capsys, tmp_path, "!test-module using-brand=RelayBeacon") == "ok"
    first = _run(capsys, tmp_path, "!relay-beacon to=you")
    second = _run(capsys, tmp_path, "!relay-beacon to=them")
    assert first == {"greeting": "hello", "to": "you", "count": 1}, first
    assert second == {"greeting": "hello", "to": "them", "count": 2}, "the integration context was not kept"


def test_a_javascript_integration_command_runs_as_a_playbook_task(relay_run: dict[str, Any]) -> None:
    """Given Relay_Test's `RelayBeacon|||relay-beacon` task, When the playbook runs, Then the command's EntryContext
    is in the incident's context."""
    assert relay_run["context"]["RelayBeacon"]["Reply"] == {"to": "playbook", "count": 1}, relay_run["context"]


@pytest.mark.parametrize(
    ("playbook", "task_id", "expected"),
    [
        pytest.param("Relay_Child", "1", "where=", id="run-at-the-top-level"),
        pytest.param("Relay_Test", "3.1", "where=Relay_Child", id="run-as-a-sub-playbook"),
    ],
)
def test_the_playbook_command_gives_the_sub_playbook_id_to_nested_calls(
    capsys: pytest.CaptureFixture[str], playbook: str, task_id: str, expected: str
) -> None:
    """
    Given Relay_Child (RlWherePy asks Print for 'where=${currentPlaybookID}')
    When `playbook` runs it on its own, and as Relay_Test's sub-playbook
    Then the id is empty at the top level and the sub-playbook's id inside its parent
    """
    outcome = xsoar(capsys, "playbook", "--packs", str(RELAY_ROOT), "--playbook", playbook, "--json")
    assert outcome.status == 0, outcome.err or outcome.out
    assert _entries_of(outcome.document, task_id) == [expected], outcome.document["war_room"]
