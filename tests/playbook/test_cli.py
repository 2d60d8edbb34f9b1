"""End to end: the pack's playbooks on the real engine and the embedded FunTranslations service, through the CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from xsoar_local.cli import main
from xsoar_local.incident.state import StateStore
from xsoar_local.runtime import REPO_ROOT

PACKS = REPO_ROOT / "Packs"
SENTENCE = "The prequel movies are more entertaining than the new Disney movies"
GOOD_PATH = "YodaSpeak.TheForce.Translation"
BUGGY_PATH = "YodaSpeak.Phrase.Translation"  # the classic mistake: a path the integration does not write


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at the terminal width; a wide one keeps each message on one line for the assertions."""
    monkeypatch.setenv("COLUMNS", "250")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command line; return its exit status, stdout and stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """Run the command line with --json; return its exit status and document."""
    status, out, err = run_cli(capsys, *argv, "--json")
    assert out.strip(), f"--json printed nothing (stderr: {err})"
    return status, json.loads(out)


def replace_once(path: Path, old: str, new: str) -> None:
    """Edit a copied playbook, making sure the edit really happened."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} should contain {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def packs_copy(tmp_path: Path) -> Path:
    """A copy of the pack, for tests that put the classic context-path mistake into its playbooks."""
    packs = tmp_path / "Packs"
    shutil.copytree(PACKS / "YodaSpeak", packs / "YodaSpeak")
    return packs


def main_playbook(packs: Path) -> Path:
    """The copied pack's "Yoda Speak" playbook."""
    return next((packs / "YodaSpeak" / "Playbooks").glob("*.yml"))


def copied_test_playbook(packs: Path) -> Path:
    """The copied pack's test playbook."""
    return next((packs / "YodaSpeak" / "TestPlaybooks").glob("*.yml"))


def add_print_after_translate(path: Path, context_path: str) -> None:
    """Insert a Print of `${context_path}` between the test playbook's translate task (2) and its check (3)."""
    book = yaml.safe_load(path.read_text(encoding="utf-8"))
    tasks = book["tasks"]
    assert tasks["2"]["nexttasks"] == {"#none#": ["3"]}, f"the test playbook changed shape: {tasks['2']['nexttasks']}"
    tasks["2"]["nexttasks"] = {"#none#": ["90"]}
    tasks["90"] = {
        "id": "90",
        "type": "regular",
        "task": {"name": "Print the translation", "scriptName": "Print", "iscommand": False, "brand": ""},
        "scriptarguments": {"value": {"simple": f"${{{context_path}}}"}},
        "nexttasks": {"#none#": ["3"]},
    }
    path.write_text(yaml.safe_dump(book, sort_keys=False), encoding="utf-8")


def test_yoda_speak_playbook_prints_a_translation(capsys: pytest.CaptureFixture[str]) -> None:
    """Given an incident with details, When the pack's Yoda Speak playbook runs, Then every task succeeds
    and Print shows the Yoda translation the integration put in the context."""
    status, document = run_json(capsys, "playbook", "--playbook", "Yoda Speak", "--incident", f"details={SENTENCE}")
    assert status == 0, f"the run should exit 0, got {status}: {document['error']}"
    assert document["completed"], document["error"]
    assert {task["status"] for task in document["tasks"]} == {"success"}, document["tasks"]
    translation = document["context"]["YodaSpeak"]["TheForce"]["Translation"]
    assert translation, "the integration should have written a translation"
    assert translation != SENTENCE, "the translation should differ from the English text"
    printed = [
        item["entry"]["Contents"] for item in document["war_room"] if item["task_name"] == "Print the translation"
    ]
    assert printed == [translation], f"Print should show the translation, War Room: {document['war_room']}"


def test_work_plan_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    """Given the Yoda Speak playbook, When run without --json, Then the work plan names each task and its status."""
    status, out, _ = run_cli(capsys, "playbook", "--playbook", "Yoda Speak", "--incident", f"details={SENTENCE}")
    assert status == 0, out
    for task_id, name in (("1", "Translate the incident details"), ("2", "Print the translation")):
        line = rf"✔ success +[\d.]+s \[{task_id}\] {name}"
        assert re.search(line, out), f"no work-plan line {line!r} in the output:\n{out}"
    for part in ("War Room", "Context"):
        assert part in out, f"{part!r} missing from the output:\n{out}"
    assert "✔ Playbook 'Yoda Speak' completed" in out, out


def test_wrong_print_path_fails_the_playbook(capsys: pytest.CaptureFixture[str], packs_copy: Path) -> None:
    """Given the playbook printing ${YodaSpeak.Phrase.Translation}, a path the integration does not write,
    When run, Then the Print task fails because its mandatory value is empty, the error says which path came out
    empty and what the context has instead, the work plan and summary show it, and the command exits 1."""
    replace_once(main_playbook(packs_copy), GOOD_PATH, BUGGY_PATH)
    argv = ("playbook", "--packs", str(packs_copy), "--playbook", "Yoda Speak", "--incident", f"details={SENTENCE}")
    status, document = run_json(capsys, *argv)
    assert status == 1, f"a playbook whose Print value is empty must exit 1, got {status}"
    assert not document["completed"], "the playbook must not complete"
    expected = (
        "task 2 'Print the translation' failed: Print's mandatory argument 'value' is empty: "
        f"${{{BUGGY_PATH}}} resolved to nothing (the context has YodaSpeak.TheForce.Original, {GOOD_PATH})"
    )
    assert document["error"] == expected, f"the error should report the empty value: {document['error']!r}"
    print_task = next(task for task in document["tasks"] if task["name"] == "Print the translation")
    assert (print_task["status"], print_task["empty_references"]) == ("error", [BUGGY_PATH]), print_task
    status, out, _ = run_cli(capsys, *argv)
    assert status == 1, f"the text output run should exit 1 too, got {status}"
    flat = " ".join(out.split())  # rich may wrap the long error; compare it with the line breaks folded
    failed_line = r"✘ error +[\d.]+s \[2\] Print the translation"
    assert re.search(failed_line, out), f"the work plan should show the failure:\n{out}"
    assert f"did NOT complete: {expected}" in flat, f"the summary should carry the error:\n{out}"


@pytest.mark.parametrize(
    ("mistake", "failing_task"),
    [
        pytest.param("print", "Print the translation", id="print-of-a-path-the-integration-does-not-write"),
        pytest.param("condition", "Fail the test", id="condition-on-a-path-the-integration-does-not-write"),
    ],
)
def test_test_playbook_with_a_wrong_path_fails(
    capsys: pytest.CaptureFixture[str], packs_copy: Path, mistake: str, failing_task: str
) -> None:
    """Given a test playbook reading YodaSpeak.Phrase instead of YodaSpeak.TheForce (in a Print, or in its check),
    When the test playbooks run, Then it fails at that task and the command exits 1."""
    if mistake == "print":
        add_print_after_translate(copied_test_playbook(packs_copy), BUGGY_PATH)
    else:
        replace_once(
            copied_test_playbook(packs_copy),
            "root: YodaSpeak.TheForce\n                accessor: Translation",
            "root: YodaSpeak.Phrase\n                accessor: Translation",
        )
    status, document = run_json(capsys, "test-playbooks", "--packs", str(packs_copy))
    assert status == 1, f"a failing test playbook must fail the command, got {status}"
    assert (document["passed"], document["failed"]) == (0, 1), document
    run = document["runs"][0]
    assert not run["completed"], "the test playbook must not complete"
    assert failing_task in run["error"], f"it should fail in {failing_task!r}: {run['error']}"
    if mistake == "print":
        assert f"${{{BUGGY_PATH}}} resolved to nothing" in run["error"], f"the empty value is reported: {run['error']}"


def test_test_playbook_with_a_right_print_path_passes(capsys: pytest.CaptureFixture[str], packs_copy: Path) -> None:
    """Given the test playbook with a Print of the path the integration does write (the control for the test above),
    When the test playbooks run, Then it completes and prints the translation."""
    add_print_after_translate(copied_test_playbook(packs_copy), GOOD_PATH)
    status, document = run_json(capsys, "test-playbooks", "--packs", str(packs_copy))
    run = document["runs"][0]
    assert status == 0, f"the test playbook should pass: {run['error']}"
    printed = [item["entry"]["Contents"] for item in run["war_room"] if item["task_name"] == "Print the translation"]
    assert printed == [run["context"]["YodaSpeak"]["TheForce"]["Translation"]], (
        f"Print shows the translation: {printed}"
    )


def test_pack_test_playbook_reaches_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    """Given the pack's test playbooks, When they run against the service, Then each completes at its last task."""
    status, document = run_json(capsys, "test-playbooks")
    assert status == 0, f"test-playbooks should pass: {document}"
    assert document["failed"] == 0, document
    run = next(item for item in document["runs"] if item["playbook"]["id"] == "YodaSpeak_Test")
    assert [task["name"] for task in run["tasks"]][-1] == "Test Done", f"work plan: {run['tasks']}"


def test_incident_file_sets_the_incident(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given an incident file with details, When the playbook runs, Then the command translates those details
    and --state-dir keeps the final incident."""
    incident = tmp_path / "incident.json"
    incident.write_text(json.dumps({"details": "Hello there", "name": "From a file"}), encoding="utf-8")
    state = tmp_path / "state"
    argv = ("playbook", "--playbook", "Yoda Speak", "--incident-file", str(incident), "--state-dir", str(state))
    status, document = run_json(capsys, *argv)
    assert status == 0, document["error"]
    assert document["context"]["YodaSpeak"]["TheForce"]["Original"] == "Hello there", document["context"]
    saved = StateStore(state).read().incidents
    assert [item.fields["name"] for item in saved.values()] == ["From a file"], f"the incident should be saved: {saved}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ("--playbook", "No Such Playbook"),
            "no playbook file or playbook named 'No Such Playbook'",
            id="unknown-playbook",
        ),
        pytest.param(("--playbook", "Yoda Speak", "--incident", "details"), "expected key=value", id="bad-incident"),
        pytest.param(
            ("--playbook", "Yoda Speak", "--incident-file", "/nonexistent.json"),
            "does not exist",
            id="missing-incident-file",
        ),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str) -> None:
    """Given options that cannot run, When the command starts, Then it exits 2 with a message."""
    status, _, err = run_cli(capsys, "playbook", *argv)
    assert status == 2, f"expected exit status 2, got {status}"
    assert message in err, f"expected {message!r} in stderr: {err}"


def test_failing_playbook_exits_non_zero(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a playbook whose command is missing its required argument, When run, Then it does not complete: exit 1."""
    book = tmp_path / "broken.yml"
    book.write_text(
        "id: Broken\nname: Broken\nstarttaskid: '0'\ntasks:\n"
        "  '0': {id: '0', type: start, task: {name: go}, nexttasks: {'#none#': ['1']}}\n"
        "  '1': {id: '1', type: regular, task: {name: Translate, script: '|||yoda-speak-translate'},\n"
        "        scriptarguments: {text: {simple: '${incident.details}'}}}\n",
        encoding="utf-8",
    )
    status, document = run_json(capsys, "playbook", "--playbook", str(book))
    assert status == 1, f"expected exit status 1, got {status}"
    assert "missing required argument 'text'" in document["error"], document["error"]
