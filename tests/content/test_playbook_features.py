"""`test-playbooks` and `playbook` on the Flowlab fixture pack (tests/fixtures/content/playbook-features): unified
scripts kept in TestPlaybooks, sub-playbooks, loops, polling, script-decided conditions, playbook inputs."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from xsoar_local.cli import main

from .support import FIXTURES, xsoar

FEATURES = FIXTURES / "playbook-features" / "Packs"
FLOWLAB = FEATURES / "Flowlab"
TESTS = FLOWLAB / "TestPlaybooks"


def runs_by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The runs of a `test-playbooks --json` document, by playbook id."""
    return {run["playbook"]["id"]: run for run in document["runs"]}


def task(run: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The (last) work-plan line of a task."""
    lines = [line for line in run["tasks"] if line["task_id"] == task_id]
    assert lines, f"task {task_id} did not run: {[line['task_id'] for line in run['tasks']]}"
    return lines[-1]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """`test-playbooks --json` on the Flowlab pack, run once for the tests that only read it."""
    out = io.StringIO()  # a module-scoped fixture cannot take capsys: the output is captured here
    with contextlib.redirect_stdout(out):
        status = main(["test-playbooks", "--packs", str(FEATURES), "--json"])
    parsed: dict[str, Any] = json.loads(out.getvalue())
    parsed["status"] = status
    return parsed


def test_every_flowlab_test_playbook_completes(document: dict[str, Any]) -> None:
    """Given the Flowlab pack (two test-only scripts kept as unified YAMLs in TestPlaybooks), When test-playbooks
    runs, Then exactly the four playbook YAMLs run (the scripts are recognised as scripts) and all complete."""
    runs = runs_by_id(document)
    failures = {name: run.get("error") for name, run in runs.items() if not run["completed"]}
    assert document["status"] == 0, f"failed runs: {failures}"
    assert set(runs) == {
        "Flowlab_Conditions_Test",
        "Flowlab_Inputs_Test",
        "Flowlab_Loop_Polling_Test",
        "Flowlab_Subplaybook_Test",
    }, f"script-*.yml in TestPlaybooks must not be run as playbooks: {sorted(runs)}"


def test_script_decided_conditions_take_the_returned_label(document: dict[str, Any]) -> None:
    """Given condition tasks decided by a script, When run, Then the returned value picks the branch whatever its case
    ('YES' takes `yes`), a value that is no branch takes #default#, and the built-in filters all hold."""
    run = runs_by_id(document)["Flowlab_Conditions_Test"]
    assert task(run, "1")["branch"] == "yes", task(run, "1")
    assert task(run, "2")["branch"] == "#default#", task(run, "2")
    assert task(run, "3")["branch"] == "yes", "stringHasLength, inList, isAfter, match, notContainsGeneral"
    assert run["context"]["Flowlab"]["Decided"] == "maybe", "the condition script's context change is kept"


def test_sub_playbooks_private_and_shared_context_and_for_each(document: dict[str, Any]) -> None:
    """Given a sub-playbook run with a private context, then once per word with the shared context, When run, Then
    only the declared output leaves the private run, each word is kept, and the sub-playbook's tasks are in the
    work plan under their parent task."""
    run = runs_by_id(document)["Flowlab_Subplaybook_Test"]
    context = run["context"]["Flowlab"]
    assert context["Child"] == ["HUSH", "ALPHA", "BETA"], context
    assert context["Scratch"] == "seen beta", "the shared-context runs write straight into the parent's context"
    ids = [line["task_id"] for line in run["tasks"]]
    assert ids[:5] == ["0", "1.0", "1.1", "1.2", "1"], ids
    assert ids.count("3.1") == 2, f"the for-each loop runs the sub-playbook once per word: {ids}"
    assert task(run, "1")["args"] == {"word": "hush"}, "the task's arguments are the sub-playbook's inputs"


def test_loop_until_and_polling(document: dict[str, Any]) -> None:
    """Given a task looped until Flowlab.Count >= 3 and a polling script done at its third run, When run, Then the
    loop stops at 3 and the polling task re-runs twice, counting the server's seconds."""
    run = runs_by_id(document)["Flowlab_Loop_Polling_Test"]
    assert run["context"]["Flowlab"] == {"Count": 3, "Polled": 3}, run["context"]
    assert "exit condition met after 3 iteration(s)" in task(run, "1")["message"], task(run, "1")
    assert "polled: 2 more run(s), 40 s of server time" in task(run, "2")["message"], task(run, "2")


def test_inputs_entries_transformers_and_skipunavailable(document: dict[str, Any]) -> None:
    """Given playbook inputs passed to a script's list argument, ${lastCompletedTaskEntries}, a content transformer
    given an empty value, and a skipunavailable task, When run, Then each works as on a server."""
    run = runs_by_id(document)["Flowlab_Inputs_Test"]
    context = run["context"]["Flowlab"]
    assert [host["Name"] for host in context["Host"]] == [
        "db1.corp.example",
        "mail.other.example",
        "www.other.example",
    ], "the comma-separated input reached hostName"
    assert len(context["LastEntries"]) == 1, context["LastEntries"]
    assert context["Tail"] == "WWW", "splitAndTrim, the FlTail transformer, substringTo and toUpperCase"
    assert context["Nothing"] == "", "FlTail got `value` even though it was empty, and returned []"
    assert "skipped" in task(run, "3")["message"], task(run, "3")


def test_test_script_is_callable_from_the_war_room(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a unified script kept in TestPlaybooks, When run as a War Room command, Then it runs (it is a script)."""
    outcome = xsoar(
        capsys,
        "run",
        "--packs",
        str(FEATURES),
        "--state-dir",
        str(tmp_path),
        "--command",
        "!FlCounter step=2",
        "--json",
    )
    assert outcome.status == 0, outcome.err or outcome.out
    assert outcome.contents == "count is 2", outcome.entries


def copy_pack(tmp_path: Path) -> Path:
    """A writable copy of the Flowlab pack; returns the content root."""
    root = tmp_path / "Packs"
    shutil.copytree(FLOWLAB, root / "Flowlab")
    return root


def edit_playbook(root: Path, name: str, change: Any) -> Path:
    """Apply `change` to one test playbook's parsed YAML and write it back."""
    path = root / "Flowlab" / "TestPlaybooks" / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_polling_past_its_timeout_fails_the_task(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a polling script that needs 100 runs 300 s apart (past its 600 s timeout), When run, Then the task
    fails with the timeout after the runs the server would make, and the run does not complete."""
    root = copy_pack(tmp_path)

    def slow(data: dict[str, Any]) -> None:
        data["tasks"]["2"]["scriptarguments"] = {"until": {"simple": "100"}, "every": {"simple": "300"}}

    path = edit_playbook(root, "playbook-Flowlab_Loop_Polling_Test.yml", slow)
    outcome = xsoar(capsys, "playbook", "--playbook", str(path), "--packs", str(root), "--json")
    assert outcome.status == 1, outcome.out
    error = json.loads(outcome.out)["error"]
    assert "polling FlPoll timed out: still scheduled after 600 s" in error, error


def test_a_failing_sub_playbook_fails_its_task(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a sub-playbook whose task fails, When its parent runs, Then the parent's task fails naming the
    sub-playbook and its failed task, and the sub-playbook's work plan is still shown."""
    root = copy_pack(tmp_path)
    child = root / "Flowlab" / "Playbooks" / "playbook-Flowlab_Child.yml"
    data = yaml.safe_load(child.read_text(encoding="utf-8"))
    data["tasks"]["2"]["task"]["scriptName"] = "PrintErrorEntry"
    data["tasks"]["2"]["scriptarguments"] = {"message": {"simple": "child broke"}}
    child.write_text(yaml.safe_dump(data), encoding="utf-8")
    path = root / "Flowlab" / "TestPlaybooks" / "playbook-Flowlab_Subplaybook_Test.yml"
    outcome = xsoar(capsys, "playbook", "--playbook", str(path), "--packs", str(root), "--json")
    assert outcome.status == 1, outcome.out
    document = json.loads(outcome.out)
    assert "sub-playbook 'Flowlab Child': task 2 'Scratch' failed: child broke" in document["error"], document["error"]
    assert [line["task_id"] for line in document["tasks"]][-2:] == ["1.2", "1"], document["tasks"]


def test_a_condition_script_answering_no_branch_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a script-decided condition without #default#, When its script returns no branch's label, Then the task
    fails saying what the script returned and which branches there are."""
    root = copy_pack(tmp_path)

    def no_default(data: dict[str, Any]) -> None:
        del data["tasks"]["2"]["nexttasks"]["#default#"]

    path = edit_playbook(root, "playbook-Flowlab_Conditions_Test.yml", no_default)
    outcome = xsoar(capsys, "playbook", "--playbook", str(path), "--packs", str(root), "--json")
    assert outcome.status == 1, outcome.out
    error = json.loads(outcome.out)["error"]
    assert "the script 'FlDecide' returned 'maybe', which is none of the branches ('yes')" in error, error
