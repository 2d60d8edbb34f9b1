"""The web pages' calls over the real server core (no browser): completion details, errors, incidents, work plan."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from xsoar_local.server.serve import RunningServer
from xsoar_local.web import ServerCoreBridge


@pytest.fixture
def bridge(server: RunningServer) -> ServerCoreBridge:
    return ServerCoreBridge(server.core)


def test_completion_carries_the_yaml_argument_details(bridge: ServerCoreBridge) -> None:
    """Given the installed pack with an enabled instance, When completion data is asked for, Then the command's
    arguments carry their description, required and default flags, and built-in scripts their values."""
    commands = {command["name"]: command for command in bridge.completions()}
    translate = commands["yoda-speak-translate"]
    assert (translate["kind"], translate["source"]) == ("command", "YodaSpeak")
    text = {arg["name"]: arg for arg in translate["arguments"]}["text"]
    assert text["required"] is True, text
    assert text["default"] is True, text
    assert text["description"], text
    delete = {arg["name"]: arg for arg in commands["DeleteContext"]["arguments"]}
    assert commands["DeleteContext"]["kind"] == "script"
    assert delete["all"]["predefined"] == ["yes", "no"], delete["all"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        pytest.param(lambda b: b.entries("no-such-investigation"), LookupError, "no-such-investigation", id="404"),
        pytest.param(
            lambda b: b.create_incident("x", "", "No Such Playbook", 0), ValueError, "Yoda Speak", id="400-lists-known"
        ),
    ],
)
def test_server_errors_become_page_errors(
    bridge: ServerCoreBridge, call: Callable[[ServerCoreBridge], object], error: type[Exception], message: str
) -> None:
    """Given a bad id or playbook, When the pages call the core, Then 404 is a LookupError and 400 a ValueError with
    the server's message."""
    with pytest.raises(error, match=message):
        call(bridge)


def test_incidents_newest_first_and_work_plan_in_graph_order(bridge: ServerCoreBridge, server: RunningServer) -> None:
    """Given two incidents, When listed, Then the newest comes first; its run state carries the playbook's graph."""
    first = bridge.create_incident("First", "Hello there", "", 1)
    second = bridge.create_incident("Second", "General Kenobi", "Yoda Speak", 2)
    listed = [item["id"] for item in bridge.incidents()]
    assert listed.index(second["id"]) < listed.index(first["id"]), listed
    server.core.wait_for_playbook(second["id"], timeout=60)
    run = bridge.playbook_run(second["id"])
    assert run is not None
    assert run["state"] == "completed", run
    start = run["tasks"][run["startTaskId"]]
    assert start["nextTasks"], f"the start task leads nowhere: {start}"
    assert bridge.playbook_run(first["id"]) is None, "an incident without a playbook has no work plan"
