"""The Relay fixture pack on the server: `${...}` in nested executeCommand arguments (War Room and playbook), a
BigInt number reaching a Python transformer, and getAllSupportedCommands over the installed content."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsoar_local.server.core import ServerCore

RELAY = Path(__file__).resolve().parents[1] / "fixtures" / "content" / "relay" / "Packs" / "Relay"


def pack_zip(folder: Path) -> bytes:
    """The folder zipped as `demisto-sdk zip-packs` lays a pack out (files at the root)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerCore]:
    with ServerCore(tmp_path_factory.mktemp("relay") / "state") as opened:
        opened.upload_pack(pack_zip(RELAY), "Relay.zip")
        yield opened


def test_relay_test_playbook_completes_on_the_server(core: ServerCore) -> None:
    """
    Given the uploaded Relay pack
    When an incident is created with Relay_Test
    Then the run completes: the sub-playbook's scripts saw its id in their nested calls, and RlSum summed the
    BigInt 42 (a float, as the server hands a context number to Python)
    """
    incident = core.create_incident({"name": "relay", "playbookId": "Relay_Test", "createInvestigation": True})
    state = core.wait_for_playbook(incident["id"], timeout=120)
    assert state["state"] == "completed", state
    assert core.query_context(incident["id"], "${Relay.Total}") == 42, "RlSum's total is not in context"
    assert core.query_context(incident["id"], "${Relay.Mark}") == "child", "the sub-playbook's script did not run"


def test_war_room_nested_arguments_and_supported_commands(core: ServerCore) -> None:
    """
    Given the uploaded Relay pack
    When the playground runs RlWhereJs (nested calls with ${...} arguments) and RlCanRunPy
    Then Print got the resolved text (no playbook: an empty currentPlaybookID), and isCommandAvailable knows the
    installed scripts and the server's own commands
    """
    playground = core.playground_id()

    where = core.execute(playground, "!RlWhereJs mark=room")
    can_run = core.execute(playground, "!RlCanRunPy names=RlSum,getEntries,no-such-command")

    assert [entry["rawContents"]["printed"] for entry in where] == ["where=;mark=room"], where
    assert [entry["rawContents"] for entry in can_run] == [
        {"RlSum": True, "getEntries": True, "no-such-command": False, "modules": ["Builtin", "Scripts"]}
    ], can_run
