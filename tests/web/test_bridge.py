"""The web pages' calls over the real server core (no browser): completion details, errors, incidents, work plan."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import pytest

from tests.server.support import wait_for_playbook
from xsoar_local.errors import UsageError
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
            lambda b: b.create_incident("x", "", "No Such Playbook", 0), UsageError, "Yoda Speak", id="400-lists-known"
        ),
    ],
)
def test_server_errors_become_page_errors(
    bridge: ServerCoreBridge, call: Callable[[ServerCoreBridge], object], error: type[Exception], message: str
) -> None:
    """Given a bad id or playbook, When the pages call the core, Then 404 is a LookupError and 400 a UsageError with
    the server's message."""
    with pytest.raises(error, match=message):
        call(bridge)


def test_incidents_newest_first_and_work_plan_in_graph_order(bridge: ServerCoreBridge, server: RunningServer) -> None:
    """Given two incidents, When listed, Then the newest comes first; its run state carries the playbook's graph."""
    first = bridge.create_incident("First", "Hello there", "", 1)
    second = bridge.create_incident("Second", "General Kenobi", "Yoda Speak", 2)
    listed = [item["id"] for item in bridge.incidents()]
    assert listed.index(second["id"]) < listed.index(first["id"]), listed
    wait_for_playbook(server.core, second["id"], timeout=60)
    run = bridge.playbook_run(second["id"])
    assert run is not None
    assert run["state"] == "completed", run
    start = run["tasks"][run["startTaskId"]]
    assert start["nextTasks"], f"the start task leads nowhere: {start}"
    assert bridge.playbook_run(first["id"]) is None, "an incident without a playbook has no work plan"


SCRIPT_YAML = """commonfields:
  id: WebProbeGreet
  version: -1
name: WebProbeGreet
type: python
subtype: python3
comment: Greets someone.
script: |-
  return_results("hello " + demisto.args().get("who", ""))
args:
- name: who
  description: Whom to greet.
  required: true
  default: true
- name: tone
  description: How.
  auto: PREDEFINED
  predefined:
  - warm
  - formal
"""


def test_completion_lists_pack_scripts_with_their_arguments(bridge: ServerCoreBridge, server: RunningServer) -> None:
    """Given a pack with a script, When completion data is asked for, Then the script is offered with its
    description, its arguments' descriptions and flags, and its predefined values."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pack_metadata.json", json.dumps({"name": "Web Probe", "currentVersion": "1.0.0"}))
        archive.writestr("Scripts/script-WebProbeGreet.yml", SCRIPT_YAML)
    server.core.upload_pack(buffer.getvalue(), "WebProbe.zip")
    greet = {command["name"]: command for command in bridge.completions()}["WebProbeGreet"]
    assert (greet["kind"], greet["description"]) == ("script", "Greets someone."), greet
    arguments = {arg["name"]: arg for arg in greet["arguments"]}
    assert arguments["who"] == {
        "name": "who",
        "description": "Whom to greet.",
        "required": True,
        "default": True,
        "predefined": [],
    }
    assert arguments["tone"]["predefined"] == ["warm", "formal"], arguments["tone"]


def test_a_script_two_packs_hold_is_offered_once(bridge: ServerCoreBridge, server: RunningServer) -> None:
    """Given two installed packs that both hold the script WebProbeGreet, When completion data is asked for,
    Then the script is offered once (running it says which two packs clash)."""
    for name in ("Web Probe Twin", "Web Probe Other Twin"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("pack_metadata.json", json.dumps({"name": name, "currentVersion": "1.0.0"}))
            archive.writestr("Scripts/script-WebProbeGreet.yml", SCRIPT_YAML)
        server.core.upload_pack(buffer.getvalue(), f"{name.replace(' ', '')}.zip")
    names = [command["name"] for command in bridge.completions()]
    assert names.count("WebProbeGreet") == 1, names
