"""The server's state through its REST API: input that cannot be stored, saves that fail, size caps, many
incidents, playbook entries in task order and context keys content makes that no path can address."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.server.support import PROBE, pack_zip, wait_for_playbook
from tests.server.test_core import instance_body
from xsoar_local import atomicfile
from xsoar_local.atomicfile import commit_files
from xsoar_local.server.errors import ServerError
from xsoar_local.server.repository import MAX_ENTRY_BYTES, MAX_RECORD_BYTES
from xsoar_local.server.serve import RunningServer, run_server

KEY = "k" * 32


class Client:
    """The REST calls a client such as demisto-py makes, against one running server."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = server.api_key

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.server.url + path, json=body, timeout=120)

    def put(self, path: str, body: Any) -> requests.Response:
        return self.session.put(self.server.url + path, json=body, timeout=120)

    def upload(self, data: bytes) -> requests.Response:
        files = {"file": ("pack.zip", data, "application/zip")}
        return self.session.post(self.server.url + "/contentpacks/installed/upload", files=files, timeout=120)

    def playground(self) -> str:
        found = self.post("/investigations/search", {"filter": {"type": [9], "page": 0}}).json()
        return str(found["data"][0]["id"])

    def execute(self, inv_id: str, line: str) -> requests.Response:
        return self.post("/entry/execute/sync", {"investigationId": inv_id, "data": line})

    def entries(self, inv_id: str) -> list[dict[str, Any]]:
        return list(self.post(f"/investigation/{inv_id}", {"pageSize": 1000}).json()["entries"])

    def context(self, inv_id: str) -> dict[str, Any]:
        return dict(self.post(f"/investigation/{inv_id}/context", {"query": "${.}"}).json())

    def seen(self) -> dict[str, Any]:
        """Everything a client can see of the state: incidents, War Rooms, contexts, instances, packs."""
        found = self.post("/investigations/search", {"filter": {"page": 0, "size": 1000}}).json()["data"]
        ids = sorted(str(item["id"]) for item in found)
        return {
            "investigations": ids,
            "entries": {inv_id: [entry["contents"] for entry in self.entries(inv_id)] for inv_id in ids},
            "contexts": {inv_id: self.context(inv_id) for inv_id in ids},
            "instances": sorted(
                item["name"] for item in self.post("/settings/integration/search", {}).json()["instances"]
            ),
            "packs": self.session.get(self.server.url + "/contentpacks/metadata/installed", timeout=30).json(),
        }


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A state folder with the Probe pack and one instance of it."""
    folder = tmp_path / "state"
    with run_server(folder, environ={"DEMISTO_API_KEY": KEY}) as server:
        server.core.upload_pack(pack_zip(), "Probe.zip")
        server.core.save_instance(instance_body(server.core))
    return folder


@pytest.fixture
def serve(state_dir: Path) -> Iterator[Callable[[], Any]]:
    """Start the server on the state folder (again after a stop, as a restart)."""
    opened: list[Any] = []

    def start() -> Client:
        for context in opened:
            context.__exit__(None, None, None)
        opened.clear()
        context = run_server(state_dir, environ={"DEMISTO_API_KEY": KEY})
        opened.append(context)
        return Client(context.__enter__())

    yield start
    for context in opened:
        context.__exit__(None, None, None)


def _metadata_with_name(name: str) -> bytes:
    text = (PROBE / "pack_metadata.json").read_text(encoding="utf-8")
    metadata = json.loads(text)
    metadata["name"] = name
    return json.dumps(metadata).encode("ascii")  # a lone surrogate is written as its \ud800 escape


LONE = "\ud800"
UNSTORABLE = [
    pytest.param(lambda client: client.post("/incident", {"name": LONE}), id="incident name"),
    pytest.param(lambda client: client.execute(client.playground(), f"a note {LONE}"), id="War Room note"),
    pytest.param(lambda client: client.execute(client.playground(), f"!Set key=Bad value={LONE}"), id="!Set value"),
    pytest.param(lambda client: client.put("/settings/integration", {"brand": "Probe", "name": LONE}), id="instance"),
    pytest.param(
        lambda client: client.upload(
            pack_zip(drop=("pack_metadata.json",), extra={"pack_metadata.json": _metadata_with_name(f"P{LONE}")})
        ),
        id="pack_metadata.json name",
    ),
]


@pytest.mark.parametrize("send", UNSTORABLE)
def test_text_that_cannot_be_stored_is_refused_and_later_saves_work(
    serve: Callable[[], Client], send: Callable[[Client], requests.Response]
):
    """
    Given a running server with the Probe pack
    When a request carries a lone surrogate ("\\ud800") that no UTF-8 file can hold
    Then it answers 400 saying so, nothing changed, and later saves (incident, !Set) work and survive a restart
    """
    client = serve()
    before = client.seen()
    refused = send(client)
    assert refused.status_code == 400, f"expected 400 for unstorable text: {refused.status_code} {refused.text}"
    assert "surrogate" in refused.json()["detail"], refused.json()
    assert client.seen() == before, "a refused request changed the state"
    created = client.post("/incident", {"name": "after"})
    assert created.status_code == 200, f"a later save failed: {created.text}"
    assert client.execute(client.playground(), "!Set key=After value=1").status_code == 200
    restarted = serve()
    assert restarted.context(restarted.playground())["After"] == "1", "the later !Set was lost at restart"
    kept = restarted.post("/investigations/search", {"filter": {"id": [created.json()["id"]]}}).json()
    assert kept["total"] == 0, "an incident without an investigation is not listed"
    assert restarted.post("/incident", {"name": "again"}).status_code == 200


FAILING_REQUESTS = [
    pytest.param(lambda client: client.post("/incident", {"name": "lost"}), id="POST /incident"),
    pytest.param(lambda client: client.execute(client.playground(), "!Print value=lost"), id="!Print"),
    pytest.param(lambda client: client.execute(client.playground(), "a lost note"), id="note"),
    pytest.param(lambda client: client.execute(client.playground(), "!probe-isolation"), id="integration command"),
    pytest.param(
        lambda client: client.put("/settings/integration", {"brand": "Probe", "name": "lost_1", "data": []}),
        id="PUT /settings/integration",
    ),
]


@pytest.mark.parametrize("send", FAILING_REQUESTS)
@pytest.mark.parametrize(
    ("code", "status"),
    [pytest.param(errno.ENOSPC, 507, id="disk full"), pytest.param(errno.EMFILE, 503, id="no file handles")],
)
def test_a_save_that_fails_changes_nothing(
    serve: Callable[[], Client],
    monkeypatch: pytest.MonkeyPatch,
    send: Callable[[Client], requests.Response],
    code: int,
    status: int,
):
    """
    Given a running server whose writes fail (the disk is full, or no file handle is left)
    When a request that changes the state is sent
    Then it answers an error saying nothing was saved, and neither the server nor the folder (after the
    writes work again and after a restart) shows anything of it: a client's retry makes no duplicate
    """
    client = serve()
    before = client.seen()

    def fail(*_: Any, **__: Any) -> Any:
        raise OSError(code, os.strerror(code))

    with monkeypatch.context() as patched:
        patched.setattr(atomicfile, "_stage", fail)
        patched.setattr(atomicfile, "_append", fail)
        answer = send(client)
    assert answer.status_code == status, f"expected {status}: {answer.status_code} {answer.text}"
    assert answer.json()["id"] == "errStateNotSaved", answer.json()
    assert "nothing changed" in answer.json()["detail"]
    assert client.seen() == before, "the failed request changed what the server shows"
    assert serve().seen() == before, "the failed request's change appeared after a restart"


def test_the_writer_leaves_every_file_as_it_was_when_one_write_fails(tmp_path: Path):
    """
    Given two files to replace and one War Room file to append to, one of the replacements in a folder that is gone
    When they are committed together
    Then the call raises, the other file and the appended file are unchanged, and no temporary file is left
    """
    kept, log = tmp_path / "kept.json", tmp_path / "log.jsonl"
    kept.write_bytes(b"old\n")
    log.write_bytes(b"line 1\n")
    with pytest.raises(FileNotFoundError):
        commit_files({kept: b"new\n", tmp_path / "gone" / "x.json": b"x"}, {log: b"line 2\n"})
    with pytest.raises(FileNotFoundError):
        commit_files({kept: b"new\n"}, {log: b"line 2\n", tmp_path / "gone" / "y.jsonl": b"y\n"})
    assert (kept.read_bytes(), log.read_bytes()) == (b"old\n", b"line 1\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept.json", "log.jsonl"]


def test_a_huge_war_room_line_is_refused(serve: Callable[[], Client]):
    """
    Given a running server
    When a War Room line would write an entry over the entry cap (`!Print` of a 4 MB value)
    Then the answer is 413 naming the limit, the context and War Room are unchanged, and the next command works
    """
    client = serve()
    playground = client.playground()
    before = client.seen()
    answer = client.execute(playground, f"!Print value={'x' * (MAX_ENTRY_BYTES + 1024)}")
    assert answer.status_code == 413, f"expected 413: {answer.status_code} {answer.text[:300]}"
    body = answer.json()
    assert body["id"] == "errStateTooLarge", body
    assert "War Room" in body["detail"], body["detail"]
    assert "MB limit" in body["detail"], body["detail"]
    assert client.seen() == before
    assert client.execute(playground, "!Set key=Small value=xxx").status_code == 200
    assert client.context(playground)["Small"] == "xxx"


def test_a_command_output_over_the_entry_cap_is_refused(serve: Callable[[], Client]):
    """
    Given a running server with an integration instance
    When a short War Room line runs a command whose entry's Contents is over the 4 MB entry cap
    Then the answer is 413 naming the entry and the limit, nothing is saved (also after a restart), and the
    next command works
    """
    client = serve()
    playground = client.playground()
    before = client.seen()
    answer = client.execute(playground, f"!probe-output key=Huge size=2 contents_size={MAX_ENTRY_BYTES + 1024}")
    assert answer.status_code == 413, f"expected 413: {answer.status_code} {answer.text[:300]}"
    body = answer.json()
    assert body["id"] == "errStateTooLarge", body
    assert "War Room entry" in body["detail"], body["detail"]
    assert "4 MB limit" in body["detail"], body["detail"]
    assert client.seen() == before, "the refused command's entry or context was kept"
    client = serve()
    assert client.seen() == before, "the refused command's entry or context appeared after a restart"
    answer = client.execute(playground, "!probe-output key=Small size=3")
    assert answer.status_code == 200, f"a later command failed: {answer.status_code} {answer.text[:300]}"
    assert client.context(playground)["Small"] == "xxx"


def test_command_outputs_past_the_incident_cap_are_refused(serve: Callable[[], Client]):
    """
    Given a running server with an integration instance
    When commands each put 3 MB in the incident's context (each entry under its cap) until the incident would
    pass the 16 MB cap
    Then the command that would pass it answers 413 naming the incident and the limit, and its context key and
    entry are not saved (also after a restart)
    """
    client = serve()
    playground = client.playground()
    size = 3 * 1024 * 1024
    statuses: list[int] = []
    for number in range(MAX_RECORD_BYTES // size + 1):
        before = client.seen()
        answer = client.execute(playground, f"!probe-output key=Part{number} size={size}")
        statuses.append(answer.status_code)
        if answer.status_code != 200:
            break
    assert statuses[-1] == 413, f"expected a 413 once the incident passes 16 MB: {statuses} {answer.text[:300]}"
    assert len(statuses) > 1, "the first 3 MB value was refused: the cap is not the incident's 16 MB"
    body = answer.json()
    assert body["id"] == "errStateTooLarge", body
    assert f"incident {playground}" in body["detail"], body["detail"]
    assert "16 MB limit" in body["detail"], body["detail"]
    refused = f"Part{len(statuses) - 1}"
    assert refused not in client.context(playground)
    assert client.seen() == before, "the refused command's entry or context was kept"
    assert serve().seen() == before, "the refused command's entry or context appeared after a restart"


def test_a_context_value_over_the_incident_cap_is_refused(serve: Callable[[], Client]):
    """
    Given a running server and an incident
    When a playbook task's result would grow the incident's context over the 16 MB cap
    Then the update is refused with 413 naming the limit, and the stored context is unchanged
    """
    client = serve()
    investigations = client.server.core.investigations
    playground = client.playground()
    with pytest.raises(ServerError) as refused:
        investigations.update_incident(
            playground, lambda incident: incident.with_context_value("Big", "x" * (MAX_RECORD_BYTES + 1024))
        )
    assert refused.value.status == 413
    assert "incident" in refused.value.detail
    assert "MB limit" in refused.value.detail
    assert "Big" not in client.context(playground)
    assert "Big" not in serve().context(playground)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("a..b", id="empty segment"),
        pytest.param("a(b", id="open parenthesis"),
        pytest.param("Path(val.x == '\\')", id="escaped quote"),
    ],
)
def test_a_context_key_no_path_can_address_is_refused_cleanly(serve: Callable[[], Client], key: str):
    """
    Given a command whose entry puts its output at an EntryContext key no context path can address
    When it runs in the playground
    Then the answer is 200 with an error entry saying the outputs were not saved (no 500); the context is
    unchanged and later commands still save theirs
    """
    client = serve()
    playground = client.playground()
    before = client.context(playground)
    answer = client.execute(playground, f"!probe-output key={json.dumps(key)} size=2")
    assert answer.status_code == 200, f"expected the entries: {answer.status_code} {answer.text}"
    entries = answer.json()
    assert [entry["type"] for entry in entries] == [4], entries
    assert "not saved to the context" in entries[0]["contents"], entries[0]
    assert client.context(playground) == before
    assert client.execute(playground, "!Set key=After value=2").status_code == 200
    assert client.context(playground)["After"] == "2"


def test_playbook_entries_are_in_the_order_the_tasks_ran(serve: Callable[[], Client]):
    """
    Given a playbook mixing built-in tasks (Print, DeleteContext, closeInvestigation) and script tasks
    When an incident runs it on the server
    Then the War Room shows each task's entry in the order the tasks ran
    """
    client = serve()
    created = client.post(
        "/incident", {"name": "order", "playbookId": "Probe Order Playbook", "createInvestigation": True}
    )
    assert created.status_code == 200, created.text
    inv_id = created.json()["id"]
    assert wait_for_playbook(client.server.core, inv_id, timeout=120)["state"] == "completed"
    shown = [(entry["entryTask"] or {}).get("taskName") for entry in client.entries(inv_id)]
    assert shown == ["Print first", "Echo second", "Clear the context", "Echo fourth", "Close"], shown


MANY = 10_000


def _write_incidents(folder: Path, count: int) -> None:
    """`count` incidents as the server stores them (one file each), as a long-used server's folder holds them."""
    incidents = folder / "incidents"
    incidents.mkdir(parents=True, exist_ok=True)
    settings = json.loads((folder / "server.json").read_text(encoding="utf-8"))
    first = int(settings["counters"]["incident"]) + 1
    for number in range(first, first + count):
        record = {
            "id": str(number),
            "fields": {"id": str(number), "name": f"Incident {number}", "status": 1, "type": "Unclassified"},
            "context": {"Seen": {"Number": number}},
            "investigation": {"type": 0, "status": 0, "created": "2026-01-01T00:00:00.000Z", "closed": None},
            "playbook_run": None,
        }
        (incidents / f"{number}.json").write_text(json.dumps(record), encoding="utf-8")
    settings["counters"]["incident"] = first + count - 1
    (folder / "server.json").write_text(json.dumps(settings), encoding="utf-8")


def test_a_server_with_ten_thousand_incidents_serves_and_writes_one_file_per_change(
    state_dir: Path, serve: Callable[[], Client]
):
    """
    Given a state folder with 10,000 incidents
    When War Room commands run in one of them and in the playground, and a new incident is created
    Then each answers, the incidents are all listed, and only the changed incident's file was written
    """
    _write_incidents(state_dir, MANY)
    client = serve()
    files = {path.name: path.stat().st_ino for path in (state_dir / "incidents").glob("*.json")}
    listed = client.post("/investigations/search", {"filter": {"type": [0], "page": 0, "size": 5}}).json()
    assert listed["total"] == MANY
    target = "5000"
    answer = client.execute(target, "!Set key=Seen.Again value=yes")
    assert answer.status_code == 200, answer.text
    assert client.context(target)["Seen"] == {"Number": 5000, "Again": "yes"}
    assert client.execute(client.playground(), "!probe-isolation").status_code == 200
    created = client.post("/incident", {"name": "one more"}).json()
    assert created["id"] == str(MANY + 1)
    rewritten = sorted(name for name, inode in files.items() if (state_dir / "incidents" / name).stat().st_ino != inode)
    assert rewritten == sorted([f"{target}.json", f"{client.playground()}.json"]), rewritten[:10]
    assert serve().context(target)["Seen"]["Again"] == "yes"


def test_a_format_1_folder_is_split_into_incident_files(tmp_path: Path, serve: Callable[[], Client], state_dir: Path):
    """
    Given a state folder as earlier versions wrote it (every incident inside server.json)
    When the server opens it
    Then every incident, its context and playbook run are served, and each is kept in a file of its own
    """
    document = json.loads((state_dir / "server.json").read_text(encoding="utf-8"))
    document.update(version=1, incidents={}, playbook_runs={"7": {"state": "completed", "playbookId": "P"}})
    document["counters"] = {"incident": 7, "entry": 3, "instance": 0}
    for path in (state_dir / "incidents").glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        document["incidents"][record["id"]] = {key: record[key] for key in ("fields", "context", "investigation")}
        path.unlink()
    document["incidents"]["7"] = {
        "fields": {"id": "7", "name": "old", "status": 1},
        "context": {"Old": True},
        "investigation": {"type": 0, "status": 0, "created": "2026-01-01T00:00:00.000Z"},
    }
    (state_dir / "server.json").write_text(json.dumps(document), encoding="utf-8")
    client = serve()
    assert client.context("7") == {"Old": True}
    assert client.session.get(client.server.url + "/inv-playbook/7", timeout=30).json()["state"] == "completed"
    assert (state_dir / "incidents" / "7.json").exists()
    assert client.post("/incident", {"name": "new"}).json()["id"] == "8"


@pytest.mark.parametrize(
    ("line", "rewritten", "value"),
    [
        pytest.param("!Set key=Kept value=1", False, "1", id="incident unchanged"),
        pytest.param("!Set key=Kept value=2", True, "2", id="context changed"),
    ],
)
def test_an_incident_file_is_replaced_only_when_the_incident_changed(
    serve: Callable[[], Client], state_dir: Path, line: str, rewritten: bool, value: str
):
    """
    Given a running server whose playground's context holds Kept=1
    When a command leaves the incident as it was, or changes its context
    Then the incident's file is replaced only when it changed, and after a restart the context is what was shown
    """
    client = serve()
    playground = client.playground()
    assert client.execute(playground, "!Set key=Kept value=1").status_code == 200
    path = state_dir / "incidents" / f"{playground}.json"
    before = path.stat().st_ino
    assert client.execute(playground, line).status_code == 200
    assert (path.stat().st_ino != before) is rewritten
    assert client.context(playground)["Kept"] == value
    assert serve().context(playground)["Kept"] == value


def test_an_incident_is_written_again_after_a_save_that_failed_after_its_rename(
    serve: Callable[[], Client], state_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    """
    Given a running server whose playground's context holds Kept=1, and a save that fails once the incident file
    was already replaced (its new bytes on disk, the server still showing the old ones)
    When a command then leaves the incident as the server shows it
    Then the file is written again: after a restart the context is Kept=1, as the server showed
    """
    client = serve()
    playground = client.playground()
    assert client.execute(playground, "!Set key=Kept value=1").status_code == 200
    replace = os.replace

    def replace_then_fail(source: Any, target: Any) -> None:
        replace(source, target)
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with monkeypatch.context() as patched:
        patched.setattr(atomicfile.os, "replace", replace_then_fail)
        assert client.execute(playground, "!Set key=Kept value=2").status_code == 503
    assert '"Kept": "2"' in (state_dir / "incidents" / f"{playground}.json").read_text(encoding="utf-8")
    assert client.context(playground)["Kept"] == "1"
    assert client.execute(playground, "!Set key=Kept value=1").status_code == 200
    assert serve().context(playground)["Kept"] == "1"


@pytest.mark.parametrize(
    ("exists", "synced"),
    [pytest.param(False, ["log"], id="append creates the file"), pytest.param(True, [], id="append to a file")],
)
def test_the_folder_of_a_file_an_append_created_is_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exists: bool, synced: list[str]
):
    """
    Given a War Room file that does not exist yet, or one with lines
    When a line is appended to it
    Then its folder is synced only when the append created the file (a new name is durable once its folder is)
    """
    folder = tmp_path / "log"
    folder.mkdir()
    if exists:
        (folder / "w.jsonl").write_bytes(b"line 1\n")
    seen: list[str] = []
    monkeypatch.setattr(atomicfile, "_fsync_folder", lambda path: seen.append(Path(path).name))
    commit_files({}, {folder / "w.jsonl": b"line 2\n"})
    assert seen == synced
