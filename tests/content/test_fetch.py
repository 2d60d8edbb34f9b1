"""`fetch`: fetch-incidents of an instance creates incidents and moves its lastRun on; a failure changes nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from xsoar_local.incident.state import StateStore

from .support import INSTANCES, PACKS, Outcome, write_instances, xsoar


def fetch(capsys: pytest.CaptureFixture[str], state: Path, *extra: str, instances: Path = INSTANCES) -> Outcome:
    """`fetch --packs PACKS --instances FILE --instance Gatekeeper_main --state-dir STATE ...`."""
    argv = ["fetch", "--packs", str(PACKS), "--instances", str(instances), "--state-dir", str(state), *extra]
    if "--instance" not in extra:
        argv += ["--instance", "Gatekeeper_main"]
    return xsoar(capsys, *argv)


def with_outage(tmp_path: Path, outage: bool, param: str = "simulate_outage") -> Path:
    """The fixture instances file with one of the Gatekeeper instance's switches set."""
    document = yaml.safe_load(INSTANCES.read_text(encoding="utf-8"))
    instances: list[dict[str, Any]] = copy.deepcopy(document["instances"])
    instances[0]["params"][param] = outage
    return write_instances(tmp_path / f"instances-{param}-{outage}.yml", instances)


def test_set_last_run_with_an_empty_dict_starts_over(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a fetch that stored lastRun {"last_id": 2}, When the next fetch calls setLastRun({}), Then the stored
    lastRun is cleared (a server saves an empty one), and the fetch after it starts from the first alert again."""
    assert fetch(capsys, tmp_path, "--json").document["last_run"] == {"last_id": 2}
    cleared = fetch(capsys, tmp_path, "--json", instances=with_outage(tmp_path, True, "start_over"))
    assert cleared.status == 0, cleared.err
    assert cleared.document["last_run"] == {}, cleared.document
    assert StateStore(tmp_path).read().last_run("Gatekeeper_main") == {}, "setLastRun({}) was not saved"
    again = fetch(capsys, tmp_path, "--json")
    assert [item["name"] for item in again.document["incidents"]] == ["Alert 1", "Alert 2"], again.document


def test_two_fetches_continue_where_the_first_stopped(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given max_fetch 2 and five alerts, When fetched twice, Then alerts 1-2 then 3-4 become incidents, shaped as a
    server keeps them, and lastRun follows."""
    first = fetch(capsys, tmp_path, "--json")
    second = fetch(capsys, tmp_path, "--json")
    assert (first.status, second.status) == (0, 0), first.err + second.err
    assert [item["name"] for item in first.document["incidents"]] == ["Alert 1", "Alert 2"], first.document
    assert [item["name"] for item in second.document["incidents"]] == ["Alert 3", "Alert 4"], second.document
    assert (first.document["last_run"], second.document["last_run"]) == ({"last_id": 2}, {"last_id": 4})
    incident = second.document["incidents"][0]
    assert incident["occurred"] == "2026-11-01T12:00:00Z", incident
    assert incident["severity"] == 2, incident
    assert incident["type"] == "Gate Alert", "the instance's incidentType param gives the type"
    assert incident["labels"] == [{"type": "gate", "value": "east"}], incident
    assert json.loads(incident["rawJSON"])["gate"] == "east", "rawJSON is kept"
    stored = StateStore(tmp_path).read().incidents
    assert [(key, item.fields["name"]) for key, item in stored.items()] == [
        ("1", "Alert 1"),
        ("2", "Alert 2"),
        ("3", "Alert 3"),
        ("4", "Alert 4"),
    ], "every fetched incident is in the local store, with its own id"


def test_a_failed_fetch_keeps_the_old_last_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given one good fetch, When the next fails (the source is down), Then it exits 1 naming the error, creates
    nothing, keeps lastRun; and the fetch after the outage continues from the good one."""
    assert fetch(capsys, tmp_path, "--json").status == 0
    failed = fetch(capsys, tmp_path, "--json", instances=with_outage(tmp_path, True))
    assert failed.status == 1, failed.out
    assert failed.document["incidents"] == [], failed.document
    assert failed.document["last_run"] == {"last_id": 2}, failed.document
    assert "Gate log unavailable" in failed.document["error"], failed.document
    assert "lastRun kept" in failed.err, failed.err
    recovered = fetch(capsys, tmp_path, "--json", instances=with_outage(tmp_path, False))
    assert [item["name"] for item in recovered.document["incidents"]] == ["Alert 3", "Alert 4"], recovered.document
    assert len(StateStore(tmp_path).read().incidents) == 4, "the failed fetch created nothing"


def test_last_run_belongs_to_the_instance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given two instances of one brand, When one fetches, Then the other still starts from the beginning."""
    document = yaml.safe_load(INSTANCES.read_text(encoding="utf-8"))
    second = {**document["instances"][0], "name": "Gatekeeper_second"}
    file = write_instances(tmp_path / "two.yml", [document["instances"][0], second])
    assert fetch(capsys, tmp_path, "--json", instances=file).document["last_run"] == {"last_id": 2}
    other = fetch(capsys, tmp_path, "--json", "--instance", "Gatekeeper_second", instances=file)
    assert [item["name"] for item in other.document["incidents"]] == ["Alert 1", "Alert 2"], other.document


def test_human_output_lists_the_incidents(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a fetch without --json, When it runs, Then it says how many incidents and lists them."""
    outcome = fetch(capsys, tmp_path)
    assert outcome.status == 0, outcome.err
    assert "Gatekeeper_main: fetched 2 incident(s)" in outcome.out, outcome.out
    assert "#2 Alert 2" in outcome.out, outcome.out


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        pytest.param("Lighthouse_main", "cannot fetch: its integration's YAML does not set script.isfetch", id="no"),
        pytest.param("Nobody", "no instance named 'Nobody' in", id="unknown-instance"),
    ],
)
def test_fetch_misconfiguration_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, instance: str, message: str
) -> None:
    """Given an instance that cannot fetch or does not exist, When fetch runs, Then exit 2 with one line."""
    outcome = fetch(capsys, tmp_path, "--instance", instance)
    assert outcome.status == 2, outcome.out
    assert len(outcome.err.strip().splitlines()) == 1, outcome.err
    assert message in outcome.err, outcome.err
