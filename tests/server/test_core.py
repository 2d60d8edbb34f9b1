"""The server core (seam #3) with a small test pack: warm but isolated commands, nested executeCommand,
uploads that are refused without changing anything, instance settings and their secrets."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.server.support import PROBE, pack_zip, wait_for_playbook
from xsoar_local.server.core import SECRET_MASK, ServerCore
from xsoar_local.server.errors import ServerError
from xsoar_local.server.serve import RunningServer, run_server


def instance_body(core: ServerCore, name: str = "probe_1", **values: Any) -> dict[str, Any]:
    """What demisto-sdk's create_integration_instance sends: the module configuration plus values."""
    configuration = next(item for item in core.search_integrations()["configurations"] if item["id"] == "Probe")
    data = []
    for param in configuration["configuration"]:
        entry = dict(param)
        if param["name"] in values:
            entry.update(value=values[param["name"]], hasvalue=True)
        elif param["defaultValue"]:
            entry["value"] = param["defaultValue"]
        data.append(entry)
    return {"brand": "Probe", "name": name, "enabled": "true", "data": data, "configuration": configuration}


@pytest.fixture
def core(tmp_path: Path) -> Iterator[ServerCore]:
    with ServerCore(tmp_path / "state") as opened:
        opened.upload_pack(pack_zip(), "Probe.zip")
        opened.save_instance(instance_body(opened, secret={"identifier": "", "password": "s3cret-value"}))
        yield opened


def outputs(entries: list[dict[str, Any]]) -> dict[str, Any]:
    assert [entry["type"] for entry in entries] == [1], f"expected one note entry: {entries}"
    context = entries[0]["entryContext"]
    return dict(next(iter(context.values())))


def test_commands_run_warm_but_isolated(core: ServerCore):
    """
    Given the Probe integration (it sets an environment variable and a sys.modules entry in its process)
    When running its command twice in the playground
    Then the second run sees neither (a fresh process state), yet both ran in forks of the same warm worker
    """
    playground = core.playground_id()
    first = outputs(core.execute(playground, "!probe-isolation"))
    second = outputs(core.execute(playground, "!probe-isolation"))
    assert (second["env"], second["module"]) == ("", "absent"), "the second command saw the first one's state"
    assert first["pid"] != second["pid"]
    assert first["parent"] == second["parent"], "the commands did not run in the same warm worker"
    assert first["parent"] != os.getpid(), "no warm worker was used: the command's parent is this process"


def test_cold_mode_runs_a_fresh_process(tmp_path: Path):
    """
    Given a core with warm=False
    When running the command twice
    Then each run is isolated too and no warm worker exists
    """
    with ServerCore(tmp_path / "cold", warm=False) as cold:
        cold.upload_pack(pack_zip(), "Probe.zip")
        cold.save_instance(instance_body(cold))
        runs = [outputs(cold.execute(cold.playground_id(), "!probe-isolation")) for _ in range(2)]
        assert runs[1]["env"] == ""
        assert runs[0]["parent"] == runs[1]["parent"] == os.getpid(), "a cold command is a child of this process"


def test_nested_execute_command_reaches_the_script(core: ServerCore):
    """
    Given the ProbeNested script, which calls the ProbeEcho script with demisto.executeCommand
    When running it through a warm worker
    Then ProbeEcho's answer comes back over the worker's channel
    """
    assert outputs(core.execute(core.playground_id(), '!ProbeNested value="over the channel"')) == {
        "answer": "echo: over the channel"
    }


def test_secrets_are_masked_and_kept(core: ServerCore):
    """
    Given an instance saved with a password
    When listing instances, and saving the listed instance back unchanged (as demisto-sdk's enable/disable does)
    Then the listing shows only a mask, and the command still receives the real password
    """
    listed = core.search_integrations()["instances"][0]
    secret = next(item for item in listed["data"] if item["name"] == "secret")
    assert secret["value"]["password"] == SECRET_MASK
    assert "s3cret-value" not in str(core.search_integrations())
    core.save_instance({**listed, "enabled": "true"})
    entries = core.execute(core.playground_id(), "!probe-secret")
    assert entries[0]["contents"] == hashlib.sha256(b"s3cret-value").hexdigest(), "the command got another secret"


URL_WITH_PASSWORD = "http://u:SeCrEtPW@127.0.0.1:18932/translate/"


@pytest.mark.parametrize(
    ("item", "secret", "real"),
    [
        pytest.param(
            {"name": "secret", "value": "PlainPW-123"}, "PlainPW-123", "PlainPW-123", id="credentials as a plain string"
        ),
        pytest.param(
            {"name": "secret", "value": {"identifier": "", "password": "DictPW-456"}},
            "DictPW-456",
            "DictPW-456",
            id="credentials without a type",
        ),
        pytest.param(
            {"name": "secret", "type": 0, "value": {"password": "LyingType-1"}},
            "LyingType-1",
            "LyingType-1",
            id="credentials with a wrong type",
        ),
        pytest.param({"name": "token", "value": "Encrypted-789"}, "Encrypted-789", "Encrypted-789", id="encrypted"),
        pytest.param({"name": "label", "value": URL_WITH_PASSWORD}, "SeCrEtPW", URL_WITH_PASSWORD, id="URL password"),
    ],
)
def test_secrets_are_masked_whatever_shape_the_body_gives(
    core: ServerCore, item: dict[str, Any], secret: str, real: str
):
    """
    Given a raw `PUT /settings/integration` body whose param items carry no type, or a wrong one (the YAML's counts)
    When saving it, listing the instances, and saving the listed instance back unchanged
    Then neither answer holds the secret, and the command still receives the real value
    """
    body = {"brand": "Probe", "name": "raw_1", "enabled": "true", "data": [item]}
    saved = core.save_instance(body)
    assert secret not in json.dumps(saved), f"the PUT answer shows the secret: {saved['data']}"
    listed = next(found for found in core.search_integrations()["instances"] if found["name"] == "raw_1")
    assert secret not in json.dumps(core.search_integrations()), f"the search shows the secret: {listed['data']}"
    core.save_instance({**listed, "enabled": "true"})
    entries = core.execute(core.playground_id(), f"!probe-secret param={item['name']} using=raw_1")
    assert entries[0]["contents"] == hashlib.sha256(real.encode()).hexdigest(), "the saved value changed"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        pytest.param("!no-such-command", "Unsupported Command", id="unknown command"),
        pytest.param('!probe-nested valu="x"', "unknown argument", id="unknown argument"),
        pytest.param('!probe-nested value="open', "unterminated", id="bad syntax"),
    ],
)
def test_bad_lines_are_error_entries(core: ServerCore, line: str, says: str):
    """
    Given a War Room line the server cannot run
    When executing it
    Then the answer is one error entry (Type 4) saying why, and it is in the War Room
    """
    entries = core.execute(core.playground_id(), line)
    assert [entry["type"] for entry in entries] == [4], entries
    assert says in entries[0]["contents"]
    assert core.investigation(core.playground_id())["entries"][-1]["id"] == entries[0]["id"]


def test_playbook_of_the_pack_runs(core: ServerCore):
    """
    Given the pack's playbook
    When an incident is created with it and createInvestigation
    Then the run completes and its task's outputs are in the incident's context
    """
    incident = core.create_incident({"name": "probe", "playbookId": "Probe Playbook", "createInvestigation": True})
    state = wait_for_playbook(core, incident["id"], timeout=60)
    assert state["state"] == "completed", state
    assert core.query_context(incident["id"], "${Probe.Isolation.module}") == "absent"


def test_unknown_playbook_is_refused(core: ServerCore):
    """
    Given no playbook of that id
    When creating an incident with it
    Then the server answers 400 naming the installed playbooks, and no incident is created
    """
    with pytest.raises(ServerError) as refused:
        core.create_incident({"name": "x", "playbookId": "Nope", "createInvestigation": True})
    assert refused.value.status == 400
    assert "Probe Playbook" in refused.value.detail
    assert core.search_investigations({"filter": {"type": [0]}})["total"] == 0


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    with run_server(tmp_path / "served", environ={"DEMISTO_API_KEY": "test-key-0123456789abcdef"}) as server:
        server.core.upload_pack(pack_zip(), "Probe.zip")
        yield server


def _upload(server: RunningServer, data: bytes, name: str = "pack.zip") -> requests.Response:
    return requests.post(
        server.url + "/contentpacks/installed/upload",
        headers={"Authorization": server.api_key},
        files={"file": (name, data, "application/zip")},
        timeout=30,
    )


def _installed_state(server: RunningServer) -> tuple[Any, list[str]]:
    packs_dir = server.core.state.packs_dir
    return server.core.installed_packs(), sorted(str(path.relative_to(packs_dir)) for path in packs_dir.rglob("*"))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(b"PK\x03\x04 this is not really a zip", "not a valid zip", id="corrupt zip"),
        pytest.param(pack_zip()[: len(pack_zip()) // 2], "not a valid zip", id="truncated zip"),
        pytest.param(b"", "empty", id="empty file"),
        pytest.param(pack_zip(drop=("pack_metadata.json",)), "no pack_metadata.json", id="no metadata"),
        pytest.param(pack_zip(extra={"../evil.py": b"x"}), "outside the pack folder", id="path traversal"),
        pytest.param(
            pack_zip(extra={"Integrations/integration-Broken.yml": b"name: Broken\nscript: {type: python}\n"}),
            "not a usable integration",
            id="broken integration",
        ),
        pytest.param(
            pack_zip(extra={"Playbooks/playbook-Broken.yml": b"id: Broken\nname: Broken\ntasks: {}\n"}),
            "not a usable playbook",
            id="broken playbook",
        ),
    ],
)
def test_a_bad_upload_gets_the_error_shape_and_changes_nothing(running: RunningServer, data: bytes, says: str):
    """
    Given an installed Probe pack
    When uploading a corrupt or unsound zip over HTTP
    Then the answer is 400 with the upload error body, naming the problem, and the installed packs are unchanged
    """
    before = _installed_state(running)
    response = _upload(running, data)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["id"] == "errUploadContentPacks"
    assert body["title"] == "Could not upload content packs"
    assert says in body["detail"], body["detail"]
    assert _installed_state(running) == before


def test_upload_replaces_the_installed_version(running: RunningServer):
    """
    Given Probe 1.2.0 installed
    When uploading a version 2.0.0 of it
    Then one Probe is installed, at 2.0.0
    """
    metadata = (PROBE / "pack_metadata.json").read_text(encoding="utf-8").replace("1.2.0", "2.0.0")
    changed = pack_zip(drop=("pack_metadata.json",), extra={"pack_metadata.json": metadata.encode()})
    assert _upload(running, changed, "Probe.zip").status_code == 200
    assert [(pack["id"], pack["currentVersion"]) for pack in running.core.installed_packs()] == [("Probe", "2.0.0")]


def test_a_war_room_line_torn_by_a_crash_is_dropped(tmp_path: Path):
    """
    Given a state folder whose War Room file ends in half a line (the server died mid-append)
    When the server opens it and runs another command in that investigation
    Then the whole entries are still there, the torn one is gone, and the new entry reads back after a restart
    """
    state = tmp_path / "state"
    with ServerCore(state) as first:
        playground = first.playground_id()
        first.execute(playground, "a chat line")
        first.execute(playground, "another chat line")
    warroom = next((state / "warroom").glob("*.jsonl"))
    with warroom.open("ab") as handle:
        handle.write(b'{"id": "99@torn", "investigationId": "')
    with ServerCore(state) as second:
        second.execute(playground, "after the crash")
    with ServerCore(state) as third:
        shown = [entry["contents"] for entry in third.investigation(playground)["entries"]]
    assert shown == ["a chat line", "another chat line", "after the crash"]


def _wait_for_task(core: ServerCore, inv_id: str, started: Path, timeout: float = 60.0) -> None:
    """Until the playbook's waiting command has started (it writes `started`)."""
    deadline = time.monotonic() + timeout
    while not started.exists():
        state = core.playbook_state(inv_id)
        assert state["state"] == "inprogress", f"the playbook ended before its task waited: {state}"
        assert time.monotonic() < deadline, f"{started} did not appear: the playbook's task never started"
        time.sleep(0.02)


def test_war_room_commands_during_a_playbook_run_are_kept(
    core: ServerCore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """
    Given a playbook whose first task waits at a gate (its command holds the run) and then runs Set
    When a built-in script and an integration command (another instance) run in its War Room meanwhile
    Then after the run the incident's context holds the War Room's results AND the playbook's (no lost update)
    """
    gate = tmp_path / "gates" / "gate"
    gate.parent.mkdir()
    monkeypatch.setenv("XSOAR_LOCAL_SANDBOX_SHARE", str(gate.parent))  # the command's one folder outside its box
    incident = core.create_incident(
        {"name": "race", "details": str(gate), "playbookId": "Probe Wait Playbook", "createInvestigation": True}
    )
    inv_id = incident["id"]
    _wait_for_task(core, inv_id, Path(f"{gate}.started"))
    # Another instance: the playbook's command holds probe_1 (one command per instance at a time).
    core.save_instance(instance_body(core, name="probe_2"))
    note = core.execute(inv_id, "!Set key=WarRoom.Note value=kept")
    command = core.execute(inv_id, "!probe-isolation using=probe_2")
    assert [entry["type"] for entry in command] == [1], command
    assert not [entry for entry in note if entry["type"] == 4], note
    assert core.playbook_state(inv_id)["state"] == "inprogress", "the playbook ended before the gate opened"
    gate.write_text("open")
    assert wait_for_playbook(core, inv_id, timeout=60)["state"] == "completed"
    context = core.context(inv_id)
    assert context.get("WarRoom", {}).get("Note") == "kept", f"the War Room's Set was lost: {context}"
    assert "Isolation" in context.get("Probe", {}), f"the War Room command's outputs were lost: {context}"
    assert context["Probe"].get("Wait") == {"released": True}, f"the playbook's command outputs are missing: {context}"
    assert context.get("Playbook", {}).get("After") == "done", f"the playbook's Set is missing: {context}"
    saved = json.loads(core.state.incident_path(inv_id).read_text(encoding="utf-8"))["context"]
    assert saved == context, "the saved state differs from what the server answers"


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8")
    return [int(item) for item in text.split()]


def test_a_waiting_fork_that_dies_is_replaced(core: ServerCore):
    """
    Given a warm worker with its fork for the next command already waiting
    When that fork is killed before any command reaches it
    Then the next command still runs, in a new fork of the same worker, isolated as before
    """
    first = outputs(core.execute(core.playground_id(), "!probe-isolation"))
    worker = int(first["parent"])
    deadline = time.monotonic() + 10
    while not (waiting := [pid for pid in _children(worker) if pid != first["pid"]]):
        assert time.monotonic() < deadline, "the worker made no fork for the next command"
        time.sleep(0.02)
    os.kill(waiting[0], signal.SIGKILL)
    while Path(f"/proc/{waiting[0]}").exists():  # reaped by the worker
        assert time.monotonic() < deadline, "the worker did not reap its killed fork"
        time.sleep(0.02)
    second = outputs(core.execute(core.playground_id(), "!probe-isolation"))
    assert second["parent"] == worker, "the command did not run in a fork of the same worker"
    assert second["pid"] not in (first["pid"], waiting[0])
    assert (second["env"], second["module"]) == ("", "absent"), "the command saw an earlier command's state"
