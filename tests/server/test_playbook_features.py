"""The Flowlab fixture pack's test playbooks run by the server: sub-playbooks, loops, polling, script-decided
conditions and playbook inputs, on an incident created with the playbook (as demisto-sdk run-playbook does)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.support import pack_zip, wait_for_playbook
from xsoar_local.server.core import ServerCore

FLOWLAB = Path(__file__).resolve().parents[1] / "fixtures" / "content" / "playbook-features" / "Packs" / "Flowlab"


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerCore]:
    with ServerCore(tmp_path_factory.mktemp("flowlab") / "state") as opened:
        opened.upload_pack(pack_zip(FLOWLAB), "Flowlab.zip")
        yield opened


@pytest.mark.parametrize(
    ("playbook", "path", "expected"),
    [
        pytest.param("Flowlab_Conditions_Test", "${Flowlab.Decided}", "maybe", id="script-decided-conditions"),
        pytest.param("Flowlab_Subplaybook_Test", "${Flowlab.Child}", ["HUSH", "ALPHA", "BETA"], id="sub-playbooks"),
        pytest.param("Flowlab_Loop_Polling_Test", "${Flowlab.Polled}", 3, id="loop-and-polling"),
        pytest.param("Flowlab_Inputs_Test", "${Flowlab.Tail}", "WWW", id="inputs-and-transformers"),
    ],
)
def test_flowlab_playbooks_complete_on_the_server(core: ServerCore, playbook: str, path: str, expected: object) -> None:
    """Given the uploaded Flowlab pack (its test-only scripts kept in TestPlaybooks), When an incident is created
    with each test playbook, Then the run completes and its checks' context is in the incident."""
    incident = core.create_incident({"name": playbook, "playbookId": playbook, "createInvestigation": True})
    state = wait_for_playbook(core, incident["id"], timeout=120)
    assert state["state"] == "completed", state
    assert core.query_context(incident["id"], path) == expected, path


def test_test_only_scripts_are_scripts_not_broken_playbooks(core: ServerCore) -> None:
    """Given the uploaded Flowlab pack, When the War Room runs a test-only script kept in TestPlaybooks, Then it runs
    as a script (it was not read as a broken playbook)."""
    entries = core.execute(core.playground_id(), "!FlCounter step=5")
    assert [entry["contents"] for entry in entries] == ["count is 5"], entries
