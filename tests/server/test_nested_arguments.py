"""The Relay fixture pack on the server: `${...}` in nested executeCommand arguments (War Room and playbook), a
BigInt number reaching a Python transformer, getAllSupportedCommands over the installed content, and a JavaScript
integration's command in a playbook and in the War Room."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.support import pack_zip, wait_for_playbook
from xsoar_local.server.core import ServerCore

RELAY = Path(__file__).resolve().parents[1] / "fixtures" / "content" / "relay" / "Packs" / "Relay"


def beacon_instance(core: ServerCore) -> dict[str, Any]:
    """What demisto-sdk's create_integration_instance sends for RelayBeacon: its configuration with the defaults."""
    configuration = next(item for item in core.search_integrations()["configurations"] if item["id"] == "RelayBeacon")
    data = [{**param, "value": param["defaultValue"]} for param in configuration["configuration"]]
    return {"brand": "RelayBeacon", "name": "beacon_1", "enabled": "true", "data": data, "configuration": configuration}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerCore]:
    with ServerCore(tmp_path_factory.mktemp("relay") / "state") as opened:
        opened.upload_pack(pack_zip(RELAY), "Relay.zip")
        opened.save_instance(beacon_instance(opened))
        yield opened


def test_relay_test_playbook_completes_on_the_server(core: ServerCore) -> None:
    """
    Given the uploaded Relay pack
    When an incident is created with Relay_Test
    Then the run completes: the sub-playbook's scripts saw its id in their nested calls, and RlSum summed the
    BigInt 42 (an int, as the server's JSON hands a whole number to Python)
    """
    incident = core.create_incident({"name": "relay", "playbookId": "Relay_Test", "createInvestigation": True})
    state = wait_for_playbook(core, incident["id"], timeout=120)
    assert state["state"] == "completed", state
    assert core.query_context(incident["id"], "${Relay.Total}") == 42, "RlSum's total is not in context"
    assert core.query_context(incident["id"], "${Relay.Mark}") == "child", "the sub-playbook's script did not run"
    assert core.query_context(incident["id"], "${RelayBeacon.Reply.to}") == "playbook", "the JS integration did not run"


def test_war_room_nested_arguments_and_supported_commands(core: ServerCore) -> None:
    """
    Given the uploaded Relay pack
    When the playground runs RlWhereJs (nested calls with ${...} arguments) and RlCanRunPy
    Then Print got the resolved text (no playbook: an empty currentPlaybookID), and isCommandAvailable knows the
    installed scripts and the server's own commands
    """
    playground = core.playground_id()

    where = core.execute(playground, "!RlWhereJs mark=room")
    can_run = core.execute(playground, "!RlCanRunPy names=RlSum,getEntries,relay-beacon,no-such-command")

    assert [entry["rawContents"]["printed"] for entry in where] == ["where=;mark=room"], where
    assert [entry["rawContents"] for entry in can_run] == [
        {
            "RlSum": True,
            "getEntries": True,
            "relay-beacon": True,
            "no-such-command": False,
            "modules": ["Builtin", "RelayBeacon", "Scripts"],
        }
    ], can_run


def test_a_javascript_integration_command_in_the_war_room(core: ServerCore) -> None:
    """Given the uploaded Relay pack, When the playground runs `!relay-beacon`, Then the JavaScript integration's
    entry comes back as the server shows it (its HumanReadable as the contents)."""
    entries = core.execute(core.playground_id(), "!relay-beacon to=room")
    assert [entry["contents"] for entry in entries] == ["hello, room"], entries


def test_an_integration_without_an_instance_is_not_available(tmp_path: Path) -> None:
    """Given a server with the Relay pack but no RelayBeacon instance, When RlCanRunPy asks about relay-beacon, Then
    it is not available and its brand is not among the modules (the War Room would refuse the command too)."""
    with ServerCore(tmp_path / "state") as bare:
        bare.upload_pack(pack_zip(RELAY), "Relay.zip")
        entries = bare.execute(bare.playground_id(), "!RlCanRunPy names=relay-beacon,RlSum")
    assert [entry["rawContents"] for entry in entries] == [
        {"relay-beacon": False, "RlSum": True, "modules": ["Builtin", "Scripts"]}
    ], entries
