"""XSOAR lists on the local server: the REST endpoints demisto-sdk and demisto-py call, War Room list commands, and
scripts that keep a list, all over the one store in the server's state folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from tests.server.support import ServerProcess, pack_zip, wait_for_playbook
from xsoar_local.server.api import make_app
from xsoar_local.server.core import ServerCore
from xsoar_local.server.errors import ServerError

LEDGER = Path(__file__).resolve().parents[1] / "fixtures" / "content" / "lists" / "Packs" / "Ledger"
KEY = "lists-test-key"
SEEDED = ["Ledger Seed", "Ledger Thresholds"]  # the lists the Ledger pack ships


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[ServerCore, Client]]:
    """A server core with the Ledger pack installed, and a client of its REST API."""
    with ServerCore(tmp_path / "state", warm=False) as core:
        core.upload_pack(pack_zip(LEDGER), "Ledger.zip")
        yield core, Client(make_app(core, KEY))


def _call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = client.open(path, method=method, json=body, headers={"Authorization": KEY})
    text = response.get_data(as_text=True)
    if response.mimetype == "application/json" and text:
        return response.status_code, json.loads(text)
    return response.status_code, text


def _war_room(client: Client, core: ServerCore, line: str) -> list[dict[str, Any]]:
    status, entries = _call(
        client, "POST", "/entry/execute/sync", {"investigationId": core.playground_id(), "data": line}
    )
    assert status == 200, f"{line} answered {status}: {entries}"
    assert isinstance(entries, list), entries
    return entries


def test_list_endpoints_and_war_room_share_one_store_that_survives_a_restart(
    opened: tuple[ServerCore, Client], tmp_path: Path
) -> None:
    """
    Given a server with the Ledger pack
    When a list is saved over REST, appended to by a War Room line, kept by a script, and the server restarts
    Then every path sees the same list, the entries carry the Builtin brand, and the list is still there after
    """
    core, client = opened
    status, saved = _call(client, "POST", "/lists/save", {"name": "Watch", "data": "a", "type": "plain_text"})
    assert (status, saved["id"], saved["data"], saved["version"]) == (200, "Watch", "a", 1), saved
    added = _war_room(client, core, "!addToList listName=Watch listData=b separator=|")
    assert (added[0]["type"], added[0]["contents"], added[0]["brand"]) == (1, "Done: list Watch was updated", "Builtin")
    read = _war_room(client, core, "!getList Watch")
    assert read[0]["contents"] == "a|b", f"getList did not see the War Room's addToList: {read}"
    kept = _war_room(client, core, '!LedgerLists listName="Kept by a script"')
    assert kept[0]["type"] == 1, f"the script failed: {kept}"
    assert kept[0]["rawContents"]["after_remove"] == "beta", kept[0]["rawContents"]
    core.close()
    with ServerCore(tmp_path / "state", warm=False) as again:
        status, every = _call(Client(make_app(again, KEY)), "GET", "/lists/")
    assert status == 200, every
    kept = {item["name"]: item["data"] for item in every if item["name"] not in SEEDED}
    assert kept == {"Kept by a script": "beta", "Watch": "a|b"}, "the lists did not survive the restart"


def test_a_missing_list_is_item_not_found_everywhere(opened: tuple[ServerCore, Client]) -> None:
    """
    Given no list named Ghost
    When a War Room line reads it, setList writes it, and REST downloads and deletes it
    Then the War Room answers error entries `Item not found (8)` and REST answers 404 naming the list
    """
    core, client = opened
    for line in ("!getList listName=Ghost", "!setList listName=Ghost listData=x", "!removeFromList listName=Ghost"):
        entries = _war_room(client, core, line)
        assert [(entry["type"], entry["contents"]) for entry in entries] == [(4, "Item not found (8)")], (line, entries)
    for method, path, body in (("GET", "/lists/download/Ghost", None), ("POST", "/lists/delete", {"id": "Ghost"})):
        status, answer = _call(client, method, path, body)
        assert status == 404, f"{method} {path} answered {status}: {answer}"
        assert "Item not found (8)" in answer["detail"], answer
        assert "Ghost" in answer["detail"], f"the error does not name the list: {answer}"
    assert _call(client, "GET", "/lists/names") == (200, SEEDED), "a failed write created a list"


def test_a_packs_lists_are_created_once_and_keep_what_was_written(opened: tuple[ServerCore, Client]) -> None:
    """
    Given the Ledger pack installed (a split list, and a unified JSON list)
    When a script changes one, and the pack is uploaded again
    Then both lists came with their data and type, and the reinstall kept the changed data
    """
    core, client = opened
    status, every = _call(client, "GET", "/lists/")
    assert status == 200, every
    shipped = {item["name"]: (item["data"], item["type"]) for item in every}
    assert shipped == {
        "Ledger Seed": ("seed-1,seed-2", "plain_text"),
        "Ledger Thresholds": ('{"high": 80, "low": 20}', "json"),
    }, shipped
    assert _war_room(client, core, '!addToList listName="Ledger Seed" listData=seed-3')[0]["type"] == 1
    core.upload_pack(pack_zip(LEDGER), "Ledger.zip")
    assert _call(client, "GET", "/lists/download/Ledger%20Seed") == (200, "seed-1,seed-2,seed-3"), (
        "reinstalling the pack overwrote what was written into its list"
    )


def test_a_pack_with_a_broken_list_is_refused_whole(tmp_path: Path) -> None:
    """
    Given a pack whose Lists/ holds a list named with a `/`
    When it is uploaded
    Then the upload is refused naming the file and why, and neither the pack nor any of its lists is installed
    """
    broken = {"Lists/list-Bad.json": json.dumps({"name": "a/b", "data": "x", "allRead": False, "type": "plain_text"})}
    with ServerCore(tmp_path / "state", warm=False) as core:
        with pytest.raises(ServerError) as refused:
            core.upload_pack(pack_zip(LEDGER, broken), "Ledger.zip")
        assert (refused.value.status, refused.value.error_id) == (400, "errUploadContentPacks"), refused.value
        assert "Lists/list-Bad.json" in str(refused.value), refused.value
        assert "'/'" in str(refused.value), refused.value
        assert (core.installed_packs(), core.lists.names()) == ([], []), "a refused upload installed something"


def test_a_playbook_on_the_server_keeps_a_list(opened: tuple[ServerCore, Client]) -> None:
    """
    Given the Ledger pack's test playbook (a script task and a `Builtin|||addToList` task)
    When an incident runs it on the server
    Then it completes and the list it kept is served by /lists/download
    """
    core, client = opened
    incident = core.create_incident({"name": "lists", "playbookId": "Ledger_Lists_Test", "createInvestigation": True})
    state = wait_for_playbook(core, incident["id"], timeout=120)
    assert state["state"] == "completed", f"the playbook did not complete: {state.get('message')} {state['tasks']}"
    assert _call(client, "GET", "/lists/download/Ledger%20Playbook") == (200, "beta;gamma")


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        pytest.param({"data": "x"}, 400, "needs `name`", id="no-name"),
        pytest.param({"name": "a/b", "data": "x"}, 400, "'/'", id="slash-in-name"),
        pytest.param({"name": " padded", "data": "x"}, 400, "blanks", id="blank-padded-name"),
        pytest.param({"name": "Big", "data": "x" * (1024 * 1024 + 1)}, 400, "1,048,576-character limit", id="too-big"),
        pytest.param({"name": "Typed", "data": "x", "type": "yaml"}, 400, "plain_text", id="unknown-type"),
        pytest.param({"name": "Obj", "data": {"a": 1}}, 400, "send a string", id="data-not-text"),
        pytest.param({"id": "Old", "name": "New", "data": "x"}, 400, "not renamed", id="rename"),
    ],
)
def test_save_refuses_what_cannot_be_kept(
    opened: tuple[ServerCore, Client], body: dict[str, Any], status: int, says: str
) -> None:
    """
    Given a server
    When /lists/save gets a list it cannot keep
    Then it answers the server's error body saying what to change, and no list is saved
    """
    _, client = opened
    answered, answer = _call(client, "POST", "/lists/save", body)
    assert answered == status, f"expected {status}, got {answered}: {answer}"
    assert says in answer["detail"], f"the error does not say {says!r}: {answer['detail']}"
    assert _call(client, "GET", "/lists/names") == (200, SEEDED), "a refused save created a list"


def test_save_with_a_stale_version_is_a_conflict(opened: tuple[ServerCore, Client]) -> None:
    """
    Given a list saved twice (version 2)
    When a client saves it with version 1, then with -1
    Then the first is 409 and changes nothing, the second overwrites (as demisto-sdk's upload does)
    """
    _, client = opened
    for data in ("one", "two"):
        assert _call(client, "POST", "/lists/save", {"name": "Versioned", "data": data})[0] == 200
    status, answer = _call(client, "POST", "/lists/save", {"name": "Versioned", "data": "stale", "version": 1})
    assert (status, answer["id"]) == (409, "errVersionConflict"), answer
    assert _call(client, "GET", "/lists/download/Versioned") == (200, "two"), "the stale save changed the list"
    status, saved = _call(client, "POST", "/lists/save", {"name": "Versioned", "data": "forced", "version": -1})
    assert (status, saved["data"], saved["version"]) == (200, "forced", 3), saved


def test_official_clients_upload_read_change_and_delete_a_list(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """
    Given `python -m xsoar_local.server` running
    When demisto-py uploads a list the way demisto-sdk does (POST lists/save), reads it (lists/, lists/names,
    lists/download), changes it with War Room lines in the playground, and deletes it (lists/delete)
    Then each call answers as the client expects, and the deleted list is gone (404)
    """
    server = start_server(tmp_path / "state")
    found = server.drive("lists", "NeverIsolate")
    assert (found["save_status"], found["saved"]["name"], found["saved"]["version"]) == (200, "NeverIsolate", 1), found
    assert found["saved"]["description"] == "Hosts never to isolate", found["saved"]
    assert [item["name"] for item in found["all"]] == ["NeverIsolate"], found["all"]
    assert found["names"] == ["NeverIsolate"], found["names"]
    assert found["!addToList"][0]["contents"] == "Done: list NeverIsolate was updated", found["!addToList"]
    assert found["!getList"][0]["contents"] == "10.0.0.1,10.0.0.2", found["!getList"]
    assert found["download"] == "10.0.0.1,10.0.0.2", f"lists/download answered {found['download']!r}"
    assert found["delete_status"] == 200, found
    assert found["after_delete"]["status"] == 404, found["after_delete"]
    assert server.stop()[0] == 0
