"""One registry behind every entry point: a script that calls each server-native command and Set, DeleteContext and
Print through `demisto.executeCommand` leaves the same entries and context through `run --command`, a playbook task,
`test-playbooks`, the server's `/entry/execute/sync` and the page's execute call, with and without a content root
that has its own CommonScripts (Print and Set as Python scripts)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.test import Client

from xsoar_local.cli import main
from xsoar_local.incident.state import StateStore
from xsoar_local.server.api import make_app
from xsoar_local.server.core import ServerCore
from xsoar_local.web import create_app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "content" / "NativeCommands"
KEY = "native-commands-test-key-0123456789"
ORIGIN = "http://localhost"

# What the NativeProbe script reports (its ProbeReport output) and leaves in the context, wherever it runs: the
# fallbacks' and CommonScripts' entries carry brand Scripts, the server's own commands brand Builtin.
EXPECTED_REPORT = {
    "set": [],
    "delete": [[1, "Context keys deleted: Probe.Deleted", "Scripts"]],
    "delContext": [],
    "print": [[1, "hello from the probe", "Scripts"]],
    "setIncident": [],
    "getEntries": [],
    "getEntry": True,
    "close": [[1, "Investigation closed", "Builtin"]],
    "context": {"Kept": "one"},
}
EXPECTED_CONTEXT = {"Probe": {"Kept": "one"}, "ProbeReport": EXPECTED_REPORT}


def content_root(tmp_path: Path, with_common_scripts: bool) -> Path:
    """A content root holding the NativeProbe pack, and the fixture CommonScripts pack when asked."""
    root = tmp_path / "Packs"
    packs = ["NativeProbe", "CommonScripts"] if with_common_scripts else ["NativeProbe"]
    for pack in packs:
        shutil.copytree(FIXTURES / pack, root / pack)
    return root


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """Run the command line in this process; its --json output."""
    status = main([*argv, "--json"])
    output = capsys.readouterr()
    assert status == 0, f"xsoar-local {' '.join(argv)} exited {status}: {output.err}{output.out}"
    return json.loads(output.out)


def via_run(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    document = cli_json(capsys, "run", "--packs", str(root), "--command", "!NativeProbe", "--state-dir",
                        str(tmp_path / "state"), "--reset")  # fmt: skip
    _incident_id, stored = StateStore(tmp_path / "state").read().current_incident()
    return document["context"], dict(stored.fields)


def via_playbook(
    root: Path, _tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    document = cli_json(capsys, "playbook", "--packs", str(root), "--playbook", "NativeProbe_Test")
    assert document["completed"], document
    return document["context"], document["incident"]


def via_test_playbooks(
    root: Path, _tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    document = cli_json(capsys, "test-playbooks", "--packs", str(root))
    assert document["failed"] == 0, document
    (run,) = document["runs"]
    return run["context"], run["incident"]


def _server(root: Path, tmp_path: Path) -> ServerCore:
    core = ServerCore(tmp_path / "server").open()
    for pack in sorted(root.iterdir()):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(pack.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(pack).as_posix())
        core.upload_pack(buffer.getvalue(), f"{pack.name}.zip")
    return core


def _after(core: ServerCore, inv_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return core.context(inv_id), core.incident(inv_id)


def via_server_api(
    root: Path, tmp_path: Path, _capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    core = _server(root, tmp_path)
    try:
        inv_id = core.create_incident({"name": "probe", "createInvestigation": True})["id"]
        client = Client(make_app(core, KEY))
        response = client.post(
            "/entry/execute/sync",
            json={"investigationId": inv_id, "data": "!NativeProbe"},
            headers={"Authorization": KEY},
        )
        assert response.status_code == 200, response.text
        return _after(core, inv_id)
    finally:
        core.close()


def via_page(root: Path, tmp_path: Path, _capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    core = _server(root, tmp_path)
    try:
        inv_id = core.create_incident({"name": "probe", "createInvestigation": True})["id"]
        app = create_app(core, KEY)  # type: ignore[arg-type]
        client = Client(app)
        page = client.post("/ui/login", data={"key": KEY}, headers={"Origin": ORIGIN}, follow_redirects=True)
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert csrf, page.text[:300]
        response = client.post(
            f"{app.sessions.root}/api/investigations/{inv_id}/execute",
            data=json.dumps({"command": "!NativeProbe"}),
            headers={"Content-Type": "application/json", "X-CSRF-Token": csrf.group(1), "Origin": ORIGIN},
        )
        assert response.status_code == 200, response.text
        return _after(core, inv_id)
    finally:
        core.close()


Path_ = Callable[[Path, Path, pytest.CaptureFixture[str]], tuple[dict[str, Any], dict[str, Any]]]


@pytest.mark.parametrize(
    "with_common_scripts", [pytest.param(False, id="fallbacks"), pytest.param(True, id="commonscripts")]
)
@pytest.mark.parametrize(
    "entry_point",
    [
        pytest.param(via_run, id="run-command"),
        pytest.param(via_playbook, id="playbook-task"),
        pytest.param(via_test_playbooks, id="test-playbooks"),
        pytest.param(via_server_api, id="server-execute-sync"),
        pytest.param(via_page, id="page-execute"),
    ],
)
def test_native_commands_behave_alike_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry_point: Path_, with_common_scripts: bool
) -> None:
    """Given the NativeProbe script (executeCommand on Set, DeleteContext, delContext, Print, setIncident, getEntries,
    getEntry and closeInvestigation), with or without the content's own CommonScripts,
    When it runs through an entry point,
    Then the entries it got back and the context it left are the same as everywhere else, and the incident fields
    setIncident and closeInvestigation changed are stored (where the entry point keeps the incident)."""
    context, fields = entry_point(content_root(tmp_path, with_common_scripts), tmp_path, capsys)
    assert context == EXPECTED_CONTEXT, f"{entry_point.__name__}: the context differs: {json.dumps(context)}"
    if fields:
        assert (fields.get("details"), fields.get("status"), fields.get("closeReason")) in (
            ("set by the probe", "Closed", "Resolved"),
            ("set by the probe", 2, "Resolved"),
        ), f"{entry_point.__name__}: setIncident/closeInvestigation did not reach the incident: {fields}"


@pytest.mark.parametrize(
    ("flags", "environment", "cold"),
    [
        pytest.param((), None, False, id="warm-by-default"),
        pytest.param(("--cold",), None, True, id="cold-flag"),
        pytest.param((), "off", True, id="XSOAR_LOCAL_WARM-off"),
    ],
)
def test_cold_flag_and_environment_run_the_command_in_a_fresh_process(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: tuple[str, ...],
    environment: str | None,
    cold: bool,
) -> None:
    """Given `run` with or without --cold or XSOAR_LOCAL_WARM=off, When a script reports the process that started
    it, Then a cold run is a fresh child of the CLI's process, and a warm one a fork of a worker."""
    if environment is None:
        monkeypatch.delenv("XSOAR_LOCAL_WARM", raising=False)
    else:
        monkeypatch.setenv("XSOAR_LOCAL_WARM", environment)
    root = content_root(tmp_path, with_common_scripts=False)
    document = cli_json(capsys, "run", "--packs", str(root), "--command", "!ProcessProbe", "--state-dir",
                        str(tmp_path / "state"), *flags)  # fmt: skip
    parent = document["context"]["ProcessProbe"]["parent"]
    assert (parent == os.getpid()) is cold, f"parent {parent}, this process {os.getpid()}, expected cold={cold}"


def test_a_playbook_script_sees_the_entries_earlier_tasks_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a playbook whose first task prints a note and whose second runs NativeProbe, When it runs without a
    server, Then the probe's getEntries sees the note (the run's War Room so far), with its own id."""
    root = content_root(tmp_path, with_common_scripts=False)
    book = root / "NativeProbe" / "TestPlaybooks" / "playbook-NativeProbe_Test.yml"
    playbook = yaml.safe_load(book.read_text(encoding="utf-8"))
    playbook["tasks"]["0"]["nexttasks"] = {"#none#": ["2"]}
    playbook["tasks"]["2"] = {
        "id": "2",
        "taskid": "7b0c9a52-0000-4000-8000-000000000002",
        "type": "regular",
        "task": {"id": "7b0c9a52-0000-4000-8000-000000000002", "name": "Print first", "scriptName": "Print"},
        "scriptarguments": {"value": {"simple": "first"}},
        "nexttasks": {"#none#": ["1"]},
    }
    book.write_text(yaml.safe_dump(playbook), encoding="utf-8")
    document = cli_json(capsys, "playbook", "--packs", str(root), "--playbook", "NativeProbe_Test")
    assert document["completed"], document
    assert document["context"]["ProbeReport"]["getEntries"] == [1], document["context"]["ProbeReport"]
