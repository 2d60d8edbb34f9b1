"""The server's `demisto` object as the engine implements it, one behaviour per function, through the CLI.

Each test varies the input and checks the answer follows it, so a function answering a constant (dt() -> None,
a fixed investigation id, an empty Incidents list, ...) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.incident.model import Incident, default_fields
from xsoar_local.incident.state import StateStore

from .support import probe, run_line, write_instances

NESTED = {"a": {"b": {"c": 7}, "list": [1, 2]}, "empty": {}, "zero": 0}


def with_incident(state: Path, fields: dict[str, Any], context: dict[str, Any] | None = None) -> None:
    """Save the local incident the next `run` works on."""
    incident_id = str(fields.get("id", "1"))
    with StateStore(state).update() as saved:
        saved.put_incident(incident_id, Incident(fields={**default_fields(), **fields}, context=context or {}))
        saved.current_id = incident_id


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param({"obj": NESTED, "field": "a.b.c"}, 7, id="nested-path"),
        pytest.param({"obj": NESTED, "field": "a.list"}, [1, 2], id="list-value"),
        pytest.param({"obj": NESTED, "field": "a.x", "default": "fallback"}, "fallback", id="missing-gives-default"),
        pytest.param({"obj": NESTED, "field": "empty.x", "default": 5}, 5, id="empty-step-gives-default"),
        pytest.param({"obj": NESTED, "field": "a.b.c.d"}, None, id="past-a-leaf-no-default"),
    ],
)
def test_get_follows_the_path_and_takes_default_param(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, payload: dict[str, Any], expected: Any
) -> None:
    """Given an object and a dotted field, When demisto.get(obj, field, defaultParam=...) is called,
    Then the value at the path comes back, or defaultParam when a step is missing (the stub has no defaultParam)."""
    assert probe(capsys, tmp_path, "get", payload) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("Alert.name", ["one", "two"], id="path-over-a-list"),
        pytest.param("Alert(val.id == 2).name", "two", id="selector"),
        pytest.param("Alert.[0].id", 1, id="index"),
        pytest.param("${Alert(val.id === 1).name}", "one", id="dollar-braces"),
        pytest.param("Alert.nothing", None, id="missing"),
    ],
)
def test_dt_evaluates_the_expression(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, expression: str, expected: Any
) -> None:
    """Given an object, When demisto.dt(obj, expression) is called, Then the DT expression is evaluated on it."""
    obj = {"Alert": [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}]}
    assert probe(capsys, tmp_path, "dt", {"obj": obj, "expr": expression}) == expected


def test_context_is_the_incident_context_and_set_context_is_seen(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given an incident whose context holds a value, When context() and setContext are called,
    Then context() is that incident's context, and a setContext is visible at once and kept after the run."""
    with_incident(tmp_path, {}, {"Seen": {"value": "from the incident"}})
    assert probe(capsys, tmp_path, "context") == {"Seen": {"value": "from the incident"}}
    after = probe(capsys, tmp_path, "setContext", {"path": "Probe.Set", "value": [3, 4]})
    assert after == {"Seen": {"value": "from the incident"}, "Probe": {"Set": [3, 4]}}, "setContext is seen at once"
    assert probe(capsys, tmp_path, "context")["Probe"] == {"Set": [3, 4]}, "and kept in the incident after the run"


@pytest.mark.parametrize("incident_id", ["17", "230"])
def test_incident_incidents_and_investigation_are_the_current_incident(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, incident_id: str
) -> None:
    """Given an incident with an id and a name, When incident(), incidents(), investigation() and the calling context
    are read, Then all name that incident (never a fixed id, never an empty Incidents list)."""
    with_incident(tmp_path, {"id": incident_id, "name": f"Phishing {incident_id}", "CustomFields": {"gate": "n"}})
    answer = probe(capsys, tmp_path, "incident")
    assert answer["incident"]["name"] == f"Phishing {incident_id}", answer
    assert answer["incident"]["CustomFields"] == {"gate": "n"}, "custom fields are under CustomFields"
    assert [item["id"] for item in answer["incidents"]] == [incident_id], "incidents() holds the current incident"
    assert [item["name"] for item in answer["calling_incidents"]] == [f"Phishing {incident_id}"], (
        "callingContext.context.Incidents holds the current incident"
    )
    assert answer["investigation"]["id"] == incident_id, "the investigation is the incident's"


@pytest.mark.parametrize("label", ["red", "blue"])
def test_params_are_the_instance_params(capsys: pytest.CaptureFixture[str], tmp_path: Path, label: str) -> None:
    """Given an instance file with a label, When params() is read, Then it holds the file's params."""
    file = write_instances(tmp_path / "i.yml", [{"brand": "Probe", "name": "p", "params": {"label": label}}])
    assert probe(capsys, tmp_path, "params", instances=file) == {"label": label}, "unset params stay unset"


@pytest.mark.parametrize(("label", "value"), [("red", 7), ("blue", "seven")])
def test_getters_follow_args_params_and_instance(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, label: str, value: object
) -> None:
    """Given an instance and a payload, When getArg, getParam, gets, integrationInstance and demistoUrls are read,
    Then each answers from them."""
    file = write_instances(
        tmp_path / "i.yml", [{"brand": "Probe", "name": f"probe_{label}", "params": {"label": label}}]
    )
    with_incident(tmp_path, {"id": f"4{len(label)}"})
    answer = probe(capsys, tmp_path, "getters", {"a": {"b": value}}, instances=file)
    assert answer["getArg"] == "getters", answer
    assert answer["getParam"] == label, answer
    assert answer["gets"] == str(value), answer
    assert answer["instance"] == f"probe_{label}", answer
    investigation = f"4{len(label)}"
    assert answer["urls"] == {
        "server": "http://localhost",
        "investigation": f"http://localhost/#/Details/{investigation}",
        "warRoom": f"http://localhost/#/WarRoom/{investigation}",
        "workPlan": f"http://localhost/#/WorkPlan/{investigation}",
        "evidenceBoard": f"http://localhost/#/EvidenceBoard/{investigation}",
        "relatedIncidents": f"http://localhost/#/Cluster/{investigation}",
    }, "every link names the current investigation"


def test_args_are_the_checked_args(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a War Room line, When args() is read, Then it holds the given args plus defaultValues, as strings."""
    outcome = run_line(capsys, tmp_path, "!probe-call args")
    assert outcome.contents == {"function": "args", "payload": "{}"}, "positional arg named, defaultValue filled"


@pytest.mark.parametrize(("line", "expected"), [("!probe-call command", "probe-call"), ("!probe-other", "probe-other")])
def test_command_is_the_command_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str, expected: str
) -> None:
    """Given two commands, When command() is read, Then each sees its own name."""
    assert run_line(capsys, tmp_path, line).contents == expected


def test_calling_context_names_brand_instance_and_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given an instance in the file, When the calling context is read, Then it names the brand, instance, image."""
    file = write_instances(tmp_path / "i.yml", [{"brand": "Probe", "name": "probe_prod", "params": {}}])
    answer = probe(capsys, tmp_path, "calling", instances=file)
    assert answer == {
        "IntegrationBrand": "Probe",
        "IntegrationInstance": "probe_prod",
        "DockerImage": "demisto/python3:3.11.10.116949",
    }


def test_results_log_debug_info_error_and_print(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given an integration that logs at every level and prints, When run, Then each line is a log entry at its level
    and results() writes the entry."""
    outcome = run_line(capsys, tmp_path, '!probe-call logs payload=\'{"text": "t-93"}\'')
    assert outcome.contents == "logged", "results() wrote the entry"
    logs = {(log["level"], log["message"]) for log in outcome.document["logs"]}
    expected = {("log", "log t-93"), ("debug", "debug t-93"), ("info", "info t-93"), ("error", "error t-93")}
    assert expected <= logs, f"missing log lines: {expected - logs}"
    assert ("log", "print t-93") in logs, "print writes a log line, as on the server"


def test_demisto_version_gates_csp_features(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given CommonServerPython's version checks, When demistoVersion() is used, Then 6.0.0 is met and 99 is not."""
    answer = probe(capsys, tmp_path, "version")
    assert (answer["ge_6"], answer["ge_99"]) == (True, False), answer
    assert answer["version"]["version"].count(".") == 2, answer


def test_unique_file_names_differ_and_file_result_writes_a_file_entry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given two uniqueFile() calls and a fileResult, When run, Then the names differ and a file entry is written."""
    first, second = probe(capsys, tmp_path, "unique")
    assert first != second, "uniqueFile() must not repeat a name"
    assert len(first) >= 32, first
    outcome = run_line(capsys, tmp_path, '!probe-call file payload=\'{"name": "a.txt", "data": "hello"}\'')
    assert outcome.entries[0]["Type"] == 3, outcome.entries
    assert outcome.entries[0]["File"] == "a.txt", outcome.entries
    assert not list(Path.cwd().glob(f"*_{outcome.entries[0]['FileID']}")), "the file is written in the run's own folder"


def test_integration_context_versions_persist_between_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given two runs that each write the versioned integration context, When the second reads it,
    Then it sees the first run's context and version, and writes the next version."""
    first = probe(capsys, tmp_path, "context-versioned", {"a": 1})
    second = probe(capsys, tmp_path, "context-versioned", {"b": 2})
    assert first["before"] == {"context": {}, "version": 0}, first
    assert first["after"] == {"context": {"a": 1}, "version": 1}, first
    assert second["before"] == {"context": {"a": 1}, "version": 1}, "the first run's write persisted with its version"
    assert second["after"] == {"context": {"a": 1, "b": 2}, "version": 2}, second


def test_plain_integration_context_replaces_and_persists(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given setIntegrationContext in one run, When the next run reads it, Then it gets that dict back."""
    probe(capsys, tmp_path, "context-plain", {"token": "t1"})
    answer = probe(capsys, tmp_path, "context-plain", {"token": "t2"})
    assert answer == {"before": {"token": "t1"}, "after": {"token": "t2"}}, answer


@pytest.mark.parametrize("claimed", [pytest.param(0, id="behind"), pytest.param(2, id="ahead")])
def test_a_version_other_than_the_stored_one_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, claimed: int
) -> None:
    """Given the stored context at version 1, When a write claims version 0 (stale) or 2 (ahead of the store),
    Then it fails as on the server, and the stored context is unchanged."""
    probe(capsys, tmp_path, "context-versioned", {"a": 1})
    outcome = run_line(capsys, tmp_path, f"!probe-call stale-version payload='{{\"version\": {claimed}}}'")
    assert outcome.status == 1, f"version {claimed} was accepted: {outcome.entries}"
    assert "DB Version" in outcome.contents, outcome.contents
    assert f"not {claimed}" in outcome.contents, outcome.contents
    after = probe(capsys, tmp_path, "context-versioned", {})
    assert after["before"] == {"context": {"a": 1}, "version": 1}, "the refused write changed the stored context"


def test_execute_command_from_a_script_returns_server_entries(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given a script calling executeCommand on another script, When run, Then it gets the script's entries in the
    server's shape (Type, Contents, Brand, ModuleName, ID, Metadata)."""
    payload = '{"command": "GkEnrich", "args": {"ip": "5.6.7.8"}}'
    entries = run_line(capsys, tmp_path, f"!ProbeScript execute payload='{payload}'").contents["entries"]
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry["Contents"]["ip"] == "5.6.7.8", entry
    assert entry["Type"] == 1, entry
    assert (entry["Brand"], entry["ModuleName"]) == ("Scripts", "GkEnrich"), entry
    assert entry["ID"].endswith("@1"), entry
    assert entry["Metadata"]["parentContent"].startswith("!GkEnrich"), entry
    assert "Gatekeeper.Enrichment(val.ip && val.ip == obj.ip)" in entry["EntryContext"], entry


@pytest.mark.parametrize(
    "cold",
    [pytest.param(False, id="warm worker"), pytest.param(True, id="fresh process")],
)
def test_an_integration_has_no_execute_command(capsys: pytest.CaptureFixture[str], tmp_path: Path, cold: bool) -> None:
    """Given an integration command that calls demisto.executeCommand, When run (warm or cold),
    Then it fails as on a server, where integrations have no executeCommand: the error names it as scripts only."""
    payload = '{"command": "GkEnrich", "args": {"ip": "5.6.7.8"}}'
    extra = ("--cold",) if cold else ()
    outcome = run_line(capsys, tmp_path, f"!probe-call execute payload='{payload}'", *extra)
    assert outcome.status == 1, f"an integration ran executeCommand: {outcome.entries}"
    text = json.dumps(outcome.entries)
    assert "executeCommand" in text, text
    assert "scripts only" in text, text


def test_last_run_starts_empty(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given an instance that never fetched, When getLastRun() is read, Then it is {} (fetch tests cover the rest)."""
    assert probe(capsys, tmp_path, "last-run") == {}


@pytest.mark.parametrize("name", ["getFilePath", "searchIndicators", "createIndicators", "getLicenseID"])
def test_unimplemented_functions_fail_naming_themselves(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    """Given a documented function the local engine does not provide, When called, Then it fails naming it."""
    outcome = run_line(capsys, tmp_path, f'!probe-call missing payload=\'{{"name": "{name}"}}\'')
    assert outcome.status == 1, outcome.entries
    assert outcome.contents == f"NotImplementedError: demisto.{name}() is not implemented by the local engine"


def test_set_last_run_none_is_an_empty_last_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a command, When it calls setLastRun(None), Then getLastRun() gives {} (never None). (setLastRun({})
    clearing a stored lastRun is in test_fetch.py, where lastRun is stored.)"""
    assert probe(capsys, tmp_path, "set-last-run", {"value": None}) == {}, "getLastRun() after setLastRun(None)"
    assert probe(capsys, tmp_path, "set-last-run", {"value": {"time": "t1"}}) == {"time": "t1"}


def test_getters_hand_out_copies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a stored integration context, When a command edits what getLastRun() and getIntegrationContext()
    returned without calling set..., Then the getters still answer the stored values and nothing edited is saved."""
    probe(capsys, tmp_path, "context-plain", {"token": "t1"})
    answer = probe(capsys, tmp_path, "edit-copies")
    assert answer == {"last_run": {}, "context": {"token": "t1"}}, f"an edit reached what the getters hold: {answer}"
    assert probe(capsys, tmp_path, "context-plain", {"token": "t2"})["before"] == {"token": "t1"}, (
        "the edit of getIntegrationContext()'s dict was saved"
    )
