"""One masking function for every path: a secret in an error is masked alike by `run`, `playbook`,
`test-playbooks`, the server's answers and the page (xsoar_local.redact.mask)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from werkzeug.test import Client

from xsoar_local.cli import main
from xsoar_local.redact import MASK
from xsoar_local.server.cli import web_war_room
from xsoar_local.server.serve import RunningServer, run_server

SECRET = "Sup3rSecretPw"
# A vault address with its password, as a user pastes it where it does not belong.
LEAKY = f"https://agent:{SECRET}@vault.example"
API_KEY = "masking-test-key-5b7d1c"


def _playbook(folder: Path) -> Path:
    """A playbook whose start task is the leaky address: every playbook path refuses it, naming it."""
    path = folder / "Masked.yml"
    document = {
        "id": "Masked",
        "name": "Masked",
        "starttaskid": LEAKY,
        "tasks": {"0": {"id": "0", "type": "start", "task": {"id": "t0", "name": "start"}}},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _assert_masked(shown: str, where: str) -> None:
    assert SECRET not in shown, f"{where} shows the password unmasked:\n{shown}"
    assert f"agent:{MASK}@vault.example" in shown, f"{where} should name the address with its password masked:\n{shown}"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["run", "--command", f"!{LEAKY}"], id="run"),
        pytest.param(["playbook", "--playbook", "{playbook}"], id="playbook"),
        pytest.param(["test-playbooks", "--packs", "{packs}"], id="test-playbooks"),
        pytest.param(["test-playbooks", "--packs", "{packs}", "--json"], id="test-playbooks-json"),
    ],
)
def test_the_command_line_masks_the_secret_in_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """Given a command whose error names an address with a password, When it runs, Then what it prints shows the
    address with the password masked."""
    monkeypatch.setenv("XSOAR_LOCAL_STATE_DIR", str(tmp_path / "state"))
    tests = tmp_path / "Packs" / "Masked" / "TestPlaybooks"
    tests.mkdir(parents=True)
    playbook = _playbook(tests)
    argv = [part.format(playbook=playbook, packs=tmp_path / "Packs") for part in command]

    status = main(argv)

    captured = capsys.readouterr()
    assert status != 0, f"the command should fail: {captured}"
    _assert_masked(captured.out + captured.err, f"`xsoar-local {command[0]}`")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The local server as `xsoar-local server` runs it, the page mounted."""
    state = tmp_path_factory.mktemp("server-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEMISTO_API_KEY", API_KEY)
        with run_server(state, port=0, web_app_factory=web_war_room) as running:
            yield running


def _api(server: RunningServer, path: str, body: dict[str, object]) -> requests.Response:
    return requests.post(server.url + path, json=body, headers={"Authorization": API_KEY}, timeout=60)


def test_the_servers_error_entry_masks_the_secret(server: RunningServer) -> None:
    """Given a War Room line naming the leaky address, When /entry/execute/sync runs it, Then its error entry
    shows the address with the password masked."""
    response = _api(
        server, "/entry/execute/sync", {"investigationId": server.core.playground_id(), "data": f"!{LEAKY}"}
    )

    assert response.status_code == 200, response.text
    _assert_masked(response.text, "the server's error entry")


def test_the_servers_error_answer_masks_the_secret(server: RunningServer) -> None:
    """Given a DT query that is the leaky address, When the server refuses it, Then the 400 answer's detail shows
    the address with the password masked."""
    response = _api(server, f"/investigation/{server.core.playground_id()}/context", {"query": LEAKY})

    assert response.status_code == 400, response.text
    _assert_masked(response.text, "the server's error answer")


def test_the_page_masks_the_secret(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the page logged in, When a War Room line naming the leaky address runs there, Then the War Room it
    shows names the address with the password masked."""
    monkeypatch.setenv("DEMISTO_API_KEY", API_KEY)
    web = web_war_room(server.core)
    client = Client(web)
    page = client.post(
        "/ui/login", data={"key": API_KEY}, headers={"Origin": "http://localhost"}, follow_redirects=True
    )
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert csrf, page.text[:500]

    response = client.post(
        f"{web.sessions.root}/api/investigations/{server.core.playground_id()}/execute",
        data=json.dumps({"command": f"!{LEAKY}"}),
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf.group(1), "Origin": "http://localhost"},
    )

    assert response.status_code == 200, response.text
    _assert_masked(html.unescape(response.json["entries"]), "the page's War Room")
