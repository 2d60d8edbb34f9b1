"""The official clients against the local server: make upload (demisto-sdk upload), demisto-sdk's XsoarClient,
demisto-py, and the demisto-sdk `run` and `run-playbook` commands; then a restart that must lose nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from standins.funtranslations.server import RunningService
from tests.server.support import REPO_ROOT, ServerProcess

TEXT = "Hello there, General Kenobi"
INCIDENT_TEXT = "You were the chosen one"


@pytest.fixture(scope="module")
def uploaded(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`make upload` (demisto-sdk upload -z, with the test playbook: -tpb) against the server."""
    dist = tmp_path_factory.mktemp("dist")
    return subprocess.run(
        ["make", "--no-print-directory", "upload", f"PACK_DIST={dist}", "PACK_UPLOAD_ARGS=-tpb"],
        cwd=REPO_ROOT,
        env=server.client_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def journey(server: ServerProcess, service: RunningService, uploaded: Any) -> dict[str, Any]:
    """demisto-sdk's XsoarClient: instance + test-module, War Room in playground and incident, both playbooks."""
    return server.drive("journey", service.url)


def translations(context: dict[str, Any]) -> list[dict[str, Any]]:
    force = (context.get("YodaSpeak") or {}).get("TheForce") or []
    return force if isinstance(force, list) else [force]


def test_make_upload_installs_the_pack(uploaded: subprocess.CompletedProcess[str], journey: dict[str, Any]):
    """
    Given a running local server and DEMISTO_BASE_URL / DEMISTO_API_KEY as its banner prints them
    When running `make upload` (the real demisto-sdk upload)
    Then it succeeds and the server lists YodaSpeak among its installed packs
    """
    assert uploaded.returncode == 0, f"make upload failed:\n{uploaded.stdout}\n{uploaded.stderr}"
    assert "SUCCESSFUL UPLOADS" in uploaded.stdout, f"demisto-sdk did not report the upload:\n{uploaded.stdout}"
    assert "YodaSpeak" in journey["installed"], f"installed packs: {journey['installed']}"


def test_instance_is_created_and_passes_test_module(journey: dict[str, Any]):
    """
    Given the installed pack
    When demisto-sdk's XsoarClient creates an instance pointing at the stand-in, with should_test=True
    Then the client is the on-premises one, test-module passes (it would raise) and the instance is listed
    """
    assert journey["client"] == "XsoarClient"
    assert journey["instances"] == ["yoda_1"]


def test_translate_in_the_playground(journey: dict[str, Any], service: RunningService):
    """
    Given the instance
    When running !yoda-speak-translate in the playground (run_cli_command: DeleteContext, the command, ${.})
    Then a note entry shows the translation and the playground context holds the original and the translation
    """
    entries = journey["playground_entries"]
    assert [entry["type"] for entry in entries] == [1], f"entries: {entries}"
    assert TEXT in entries[0]["contents"]
    assert entries[0]["parent"].startswith("!yoda-speak-translate")
    items = translations(journey["playground_context"])
    assert [item["Original"] for item in items] == [TEXT]
    assert items[0]["Translation"], "the translation is empty"
    assert any(request.body.get("text") == TEXT for request in service.requests), "the stand-in was never asked"


def test_blank_text_is_an_error_entry(journey: dict[str, Any]):
    """
    Given the instance
    When running the command with a blank text through /entry/execute/sync
    Then the answer is one error entry (Type 4) that says the text is empty, as a server answers
    """
    entries = journey["blank_entries"]
    assert [entry["type"] for entry in entries] == [4], f"entries: {entries}"
    assert "text" in entries[0]["contents"].lower()


def test_translate_in_an_incident_and_read_it_with_dt(journey: dict[str, Any]):
    """
    Given an incident created with demisto-py (createInvestigation)
    When running the command in it and querying its context with DT expressions
    Then `${YodaSpeak.TheForce.Translation}` is the translation and `${.}` the whole context
    """
    items = translations(journey["incident_context"])
    assert [item["Original"] for item in items] == [INCIDENT_TEXT]
    assert journey["dt_translation"] == items[0]["Translation"]
    assert journey["dt_whole"] == journey["incident_context"]
    assert journey["incident"] != journey["playground"]


@pytest.mark.parametrize(
    ("playbook", "original"),
    [
        pytest.param("Yoda Speak", "The prequel movies are great", id="playbook"),
        pytest.param("YodaSpeak_Test", "Test playbooks are used to test integration functionality", id="test playbook"),
    ],
)
def test_playbooks_run_to_completed(journey: dict[str, Any], playbook: str, original: str):
    """
    Given incidents created with playbookId and createInvestigation
    When polling /inv-playbook with demisto-sdk's poll_playbook_state
    Then each run reaches `completed`, no task is in Error, and the translation is in the incident's context
    """
    run = journey["playbooks"][playbook]
    assert run["state"] == "completed", f"{playbook}: {run}"
    assert run["playbookId"] == playbook
    assert "Error" not in run["tasks"].values(), f"tasks: {run['tasks']}"
    assert [item["Original"] for item in translations(run["context"])] == [original]


def test_demisto_sdk_run_prints_the_translation(server: ServerProcess, journey: dict[str, Any]):
    """
    Given the configured instance
    When running `demisto-sdk run -q '!yoda-speak-translate text="..."'`
    Then it exits 0 and prints the War Room entry with the original text
    """
    result = server.sdk("run", "-q", '!yoda-speak-translate text="Do or do not, there is no try"')
    assert result.returncode == 0, f"demisto-sdk run failed:\n{result.stdout}\n{result.stderr}"
    assert "Do or do not, there is no try" in result.stdout + result.stderr


def test_demisto_sdk_run_playbook_waits_for_completed(server: ServerProcess, journey: dict[str, Any]):
    """
    Given the uploaded test playbook
    When running `demisto-sdk run-playbook -p YodaSpeak_Test --wait`
    Then it exits 0 and says the playbook completed its run
    """
    result = server.sdk("run-playbook", "-p", "YodaSpeak_Test", "--wait", "-t", "120")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"demisto-sdk run-playbook failed:\n{output}"
    assert "completed its run successfully" in output


def test_eight_concurrent_commands_all_reach_the_context(server: ServerProcess, journey: dict[str, Any]):
    """
    Given one incident
    When 8 War Room commands are sent into it at the same time (demisto-py, 8 threads)
    Then each answers with its note entry and the incident's context holds all 8 translations
    """
    found = server.drive("concurrent", "8")
    assert all([entry["type"] for entry in result] == [1] for result in found["results"]), found["results"]
    originals = sorted(item["Original"] for item in translations(found["context"]))
    assert originals == sorted(found["texts"]), "some concurrent results were lost from the context"


def test_xsoar8_clients_use_the_xsoar_prefix(server: ServerProcess, journey: dict[str, Any]):
    """
    Given XSIAM_AUTH_ID set to the server's auth id (1 unless --auth-id or XSIAM_AUTH_ID says otherwise)
    When demisto-py and demisto-sdk connect
    Then every path goes under /xsoar with x-xdr-auth-id, /about says SaaS, and War Room lines run
    """
    found = server.drive("saas", XSIAM_AUTH_ID="1")
    assert found["host"].endswith("/xsoar")
    assert found["about"]["deploymentMode"] == "saas"
    assert found["client"] == "XsoarSaasClient"
    assert [entry["contents"] for entry in found["entries"]] == ["through /xsoar"]


def test_restart_finds_everything(server: ServerProcess, journey: dict[str, Any], service: RunningService):
    """
    Given packs, an instance, incidents with context, playbook runs and a warm translation cache
    When the server is stopped with Ctrl-C and started again on the same state folder
    Then it stopped cleanly, keeps its generated key, and everything is there; the cache answers without a call
    """
    incidents = [journey["incident"], *(run["incident"] for run in journey["playbooks"].values())]
    before = server.drive("inspect", ",".join(incidents))
    key = server.api_key
    status, said = server.stop()
    assert status == 0, f"the server did not stop cleanly:\n{said}"
    assert "Stopped." in said
    server.start()
    assert server.api_key == key, "the generated API key changed across a restart"
    after = server.drive("inspect", ",".join(incidents))
    assert after == before
    assert after["installed"] == ["YodaSpeak"]
    assert after["instances"] == ["yoda_1"]
    assert [after["playbooks"][run["incident"]] for run in journey["playbooks"].values()] == ["completed"] * 2
    assert all(after["entries"][incident] > 0 for incident in incidents), after["entries"]
    service.clear_requests()
    rerun = server.sdk("run", "-q", f'!yoda-speak-translate text="{TEXT}"')
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert service.requests == [], "the integration context (translation cache) was lost in the restart"


def test_state_folder_has_no_half_written_files(server: ServerProcess, journey: dict[str, Any]):
    """
    Given a server that has done all of the above
    When listing its state folder
    Then no temporary file is left over from the atomic writes
    """
    leftovers = [path.name for path in Path(server.state_dir).rglob("*.tmp")]
    assert leftovers == []
