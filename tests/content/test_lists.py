"""XSOAR lists from the command line: a script keeping a list through executeCommand, War Room list commands and
a playbook, all over the lists kept in the --state-dir folder."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine.native_lists import add_to_list
from xsoar_local.incident.lists import StateListStore
from xsoar_local.incident.state import StateStore

from .support import FIXTURES, run_line, xsoar

LEDGER_ROOT = FIXTURES / "lists" / "Packs"
SEEDED = {"Ledger Seed": "seed-1,seed-2", "Ledger Thresholds": '{"high": 80, "low": 20}'}  # the pack's Lists/


def _run(capsys: pytest.CaptureFixture[str], state: Path, line: str) -> Any:
    return run_line(capsys, state, line, packs=LEDGER_ROOT, instances=None)


def _stored(state: Path) -> dict[str, str]:
    """The lists the state folder holds, by name."""
    return {item.name: item.data for item in StateListStore(StateStore(state)).all()}


def test_a_script_keeps_a_list_through_execute_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """
    Given the LedgerLists script (getList, createList when missing, setList, addToList, removeFromList)
    When it runs as a War Room command, and again in a later run that only reads the list
    Then it saw the server's answers (a missing list is an error entry `Item not found (8)`, entries of brand
    Builtin), and the later run reads what the first left in the state folder
    """
    outcome = _run(capsys, tmp_path, '!LedgerLists listName="Blocked IPs" first=1.1.1.1 second=2.2.2.2')
    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.contents == {
        "name": "Blocked IPs",
        "created": True,
        "missing_answer": {"type": 4, "contents": "Item not found (8)"},
        "after_add": "1.1.1.1,2.2.2.2",
        "after_remove": "2.2.2.2",
        "brand": "Builtin",
    }, outcome.contents
    later = _run(capsys, tmp_path, '!LedgerLists listName="Blocked IPs" action=read')
    assert later.contents == {"name": "Blocked IPs", "data": "2.2.2.2"}, "the list did not survive the run"


def test_the_lists_a_pack_ships_are_there_and_keep_what_runs_wrote(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """
    Given the Ledger pack's Lists/ (a split list and a unified JSON list) and an empty state folder
    When getList reads one, addToList changes it, and a later run reads it again
    Then the shipped text is there from the first run, and the later run sees the change (not the shipped text)
    """
    assert _run(capsys, tmp_path, '!getList "Ledger Thresholds"').contents == SEEDED["Ledger Thresholds"]
    assert _run(capsys, tmp_path, '!addToList listName="Ledger Seed" listData=seed-3').status == 0
    assert _run(capsys, tmp_path, '!getList "Ledger Seed"').contents == "seed-1,seed-2,seed-3", (
        "a later run put the shipped text back over what was written"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("Ledger Seed", {"Type": 1, "Contents": {"data": "seed-1,seed-2,js-1", "error": False}}, id="kept"),
        pytest.param("Nope", {"Type": 4, "Contents": "addToList failed: Item not found (8)"}, id="missing"),
    ],
)
def test_a_javascript_script_keeps_a_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, expected: dict[str, Any]
) -> None:
    """
    Given LedgerJsAppend (JavaScript: executeCommand('addToList'), then 'getList')
    When it appends to the pack's list, and to a list that does not exist
    Then the list commands answer JavaScript as they answer Python: the text after the append, or the error entry
    """
    outcome = _run(capsys, tmp_path, f'!LedgerJsAppend listName="{name}" item=js-1')
    entry = outcome.entries[0]
    assert {"Type": entry["Type"], "Contents": entry["Contents"]} == expected, outcome.entries


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            ["!createList listName=Shifts listData=alice", "!addToList listName=Shifts listData=bob"],
            "alice,bob",
            id="add-with-the-default-separator",
        ),
        pytest.param(
            ["!createList listName=Shifts", "!addToList listName=Shifts listData=bob separator=;"],
            "bob",
            id="add-to-an-empty-list-has-no-separator",
        ),
        pytest.param(
            ["!createList listName=Shifts listData=a;b;a;c", "!removeFromList listName=Shifts listData=a separator=;"],
            "b;c",
            id="remove-every-equal-item",
        ),
        pytest.param(
            ["!createList listName=Shifts listData=old", '!setList listName=Shifts listData="new, whole"'],
            "new, whole",
            id="set-replaces-the-text",
        ),
        pytest.param(
            ["!createList listName=Shifts listData=a,b", "!createList listName=Shifts listData=fresh"],
            "fresh",
            id="create-again-starts-the-list-afresh",
        ),
    ],
)
def test_war_room_list_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lines: list[str], expected: str
) -> None:
    """
    Given an empty state folder
    When list commands run as War Room lines, one run each
    Then each answers a note, and getList reads the text they left
    """
    for line in lines:
        outcome = _run(capsys, tmp_path, line)
        assert outcome.status == 0, f"{line}: {outcome.err or outcome.entries}"
        assert outcome.entries[0]["Contents"].startswith("Done: list Shifts was"), outcome.entries
    read = _run(capsys, tmp_path, "!getList Shifts")
    assert read.contents == expected, f"after {lines}: {read.contents!r}"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        pytest.param('!createList listName="" listData=x', "listName", id="empty-name"),
        pytest.param("!createList listName=../etc listData=x", "'/'", id="path-in-name"),
        pytest.param('!createList listName="tab\there" listData=x', "'\\t'", id="control-character"),
        pytest.param(f"!createList listName={'n' * 257} listData=x", "keep it to 256", id="name-too-long"),
        pytest.param('!createList listName="txt.\u202eexe" listData=x', "'\\u202e'", id="bidi-override"),
        pytest.param("!getList listName=Missing", "Item not found (8)", id="missing-list"),
        pytest.param("!getList listName=x bogus=1", "no argument(s) ['bogus']", id="unknown-argument"),
    ],
)
def test_refused_list_commands_say_why_and_save_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str, says: str
) -> None:
    """
    Given an empty state folder
    When a list command names a list no server can keep, a missing list, or an argument the command lacks
    Then the run fails with an error that says so, and no list is saved
    """
    outcome = _run(capsys, tmp_path, line)
    assert outcome.status != 0, f"{line} was accepted: {outcome.out}"
    said = outcome.err + " ".join(str(entry["Contents"]) for entry in (outcome.entries if outcome.out else []))
    assert says in said, f"{line}: the error does not say {says!r}: {said}"
    assert _stored(tmp_path) == SEEDED, "a refused command saved a list"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param("x" * (1024 * 1024 + 1), "1,048,576-character limit", id="over-the-size-cap"),
        pytest.param("bad \udc80 text", "lone surrogate", id="lone-surrogate"),
    ],
)
def test_data_that_cannot_be_kept_is_an_error_entry(tmp_path: Path, data: str, says: str) -> None:
    """
    Given a list in a state folder
    When addToList (as executeCommand calls it) would make it too big, or adds text that is not Unicode
    Then it answers one error entry saying why, and the list keeps its text
    """
    store = StateListStore(StateStore(tmp_path))
    store.save("Kept", "before")
    entries = add_to_list({"listName": "Kept", "listData": data}, store)
    assert [entry["Type"] for entry in entries] == [4], entries
    assert says in entries[0]["Contents"], entries[0]["Contents"]
    assert _stored(tmp_path) == {"Kept": "before"}, "a refused change was saved"


def test_concurrent_appends_all_land(tmp_path: Path) -> None:
    """
    Given one list and 16 writers, each with its own store on the same state folder (as separate runs have)
    When they all addToList at once
    Then every item is in the list exactly once
    """
    StateListStore(StateStore(tmp_path)).save("Crowd", "")
    items = [f"host-{number}" for number in range(16)]

    def append(item: str) -> None:
        entries = add_to_list({"listName": "Crowd", "listData": item}, StateListStore(StateStore(tmp_path)))
        assert entries[0]["Type"] == 1, entries

    threads = [threading.Thread(target=append, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(_stored(tmp_path)["Crowd"].split(",")) == sorted(items), "an append was lost"


def test_a_playbook_keeps_a_list_in_the_state_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """
    Given Ledger_Lists_Test (a LedgerLists script task, a `Builtin|||addToList` task with separator `;`, a read)
    When `xsoar-local playbook` runs it with a state folder
    Then it completes, the last task read `beta;gamma`, and the list is in the state folder
    """
    outcome = xsoar(
        capsys,
        "playbook",
        "--packs",
        str(LEDGER_ROOT),
        "--state-dir",
        str(tmp_path),
        "--playbook",
        "Ledger_Lists_Test",
        "--json",
    )
    document = json.loads(outcome.out)
    assert outcome.status == 0, f"the playbook failed: {document.get('error')} {outcome.err}"
    assert document["completed"], document["error"]
    assert document["context"]["Ledger"]["List"]["data"] == "beta;gamma", document["context"]
    assert _stored(tmp_path) == {**SEEDED, "Ledger Playbook": "beta;gamma"}, "the playbook's list is not kept"
