"""Tests of the local incident: Incident, the default state folder and the user-input parsers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.incident import (
    DEFAULT_STATE_DIR,
    Incident,
    IncidentInputError,
    incident_from_overrides,
    load_incident_file,
    parse_incident_fields,
    view_for_expressions,
)

FORCE_KEY = "YodaSpeak.TheForce(val.Original && val.Original == obj.Original)"


def translated() -> Incident:
    """An incident after one translation, with an integration context for one instance."""
    return (
        Incident()
        .with_fields({"details": "Hello there", "severity": 2})
        .with_entry_context({FORCE_KEY: {"Original": "Hello there", "Translation": "There, hello"}})
        .with_integration_context("YodaSpeak_instance_1", {"last_call": "2026-11-27T21:00:00Z"})
    )


# ---- Incident ---------------------------------------------------------------------------------


def test_fresh_incident_has_sane_defaults() -> None:
    """
    Given nothing
    When an Incident is created
    Then it has the default fields and empty contexts
    """
    incident = Incident()
    identity = (incident.fields["id"], incident.fields["name"], incident.fields["details"])
    assert identity == ("1", "Local incident", ""), f"unexpected default fields {incident.fields}"
    assert incident.context == {}, "a fresh incident has an empty context"
    assert incident.integration_contexts == {}, "a fresh incident has no integration contexts"


def test_with_methods_return_copies() -> None:
    """
    Given an incident
    When it is updated through every with_* method
    Then the original is unchanged (Incident is immutable by convention and frozen)
    """
    original = translated()
    snapshot = original.to_json()
    original.with_fields({"name": "x"}).with_context({"A": 1}).with_context_value("B", 2).with_entry_context(
        {"C": 3}
    ).with_integration_context("other", {"k": 1})
    original.integration_context("YodaSpeak_instance_1")["last_call"] = "mutated"
    assert original.to_json() == snapshot, "a with_* method or integration_context() mutated the incident"
    with pytest.raises(AttributeError):
        original.context = {}  # type: ignore[misc]


def test_context_helpers_follow_the_merge_rules() -> None:
    """
    Given an incident with one translation
    When the same phrase is translated again and a value is set
    Then the DT key updated in place and setContext wrote the path
    """
    incident = (
        translated()
        .with_entry_context({FORCE_KEY: {"Original": "Hello there", "Translation": "Hello there, hmm"}})
        .with_context_value("Scratch.Value", 1)
    )
    assert incident.context == {
        "YodaSpeak": {"TheForce": {"Original": "Hello there", "Translation": "Hello there, hmm"}},
        "Scratch": {"Value": 1},
    }, f"unexpected context {incident.context}"


def test_integration_context_defaults_to_empty() -> None:
    """
    Given an incident without an integration context for an instance
    When it is read
    Then it is an empty dict
    """
    assert translated().integration_context("unknown_instance") == {}, "missing instance should give {}"


def test_view_for_expressions_exposes_context_and_incident() -> None:
    """
    Given an incident with a custom field and a context key named 'incident'
    When the expression view is built
    Then context paths resolve, the incident (with custom fields flattened) lives under 'incident'
    """
    incident = translated().with_fields({"CustomFields": {"xdrincidentid": "42", "details": "custom loses"}})
    incident = incident.with_context_value("incident", "shadowed")
    view = view_for_expressions(incident)
    assert view["YodaSpeak"]["TheForce"]["Translation"] == "There, hello", "context keys should be at the top"
    assert view["incident"]["details"] == "Hello there", "${incident.details} should be the details field"
    assert view["incident"]["xdrincidentid"] == "42", "custom fields should be flattened under incident"
    view["incident"]["details"] = "mutated"
    assert incident.fields["details"] == "Hello there", "the view must be a copy"


# ---- the state folder's default location --------------------------------------------------------


def test_default_state_dir_is_the_git_ignored_folder() -> None:
    """
    Given the repository
    When the default state location is read
    Then it is .xsoar-local at the repository root, which .gitignore lists
    """
    assert DEFAULT_STATE_DIR.name == ".xsoar-local", f"unexpected state dir {DEFAULT_STATE_DIR}"
    gitignore = (DEFAULT_STATE_DIR.parent / ".gitignore").read_text(encoding="utf-8")
    assert ".xsoar-local/" in gitignore.splitlines(), "the state folder must be git-ignored"


# ---- user input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param(["details=Hello there"], {"details": "Hello there"}, id="spaces"),
        pytest.param(["details=a=b"], {"details": "a=b"}, id="equals-in-value"),
        pytest.param(["details="], {"details": ""}, id="empty-value"),
        pytest.param(["name=x", "name=y"], {"name": "y"}, id="last-wins"),
        pytest.param(["severity=3"], {"severity": 3}, id="severity-number"),
        pytest.param(["severity=High"], {"severity": 3}, id="severity-name"),
        pytest.param(["severity=0.5"], {"severity": 0.5}, id="severity-info"),
        pytest.param(["xdrincidentid=42"], {"xdrincidentid": "42"}, id="other-fields-stay-strings"),
    ],
)
def test_parse_incident_fields(pairs: list[str], expected: dict[str, Any]) -> None:
    """
    Given --incident key=value arguments
    When they are parsed
    Then they become incident fields
    """
    assert parse_incident_fields(pairs) == expected, f"parse_incident_fields({pairs}) should be {expected}"


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        pytest.param("details", "expected key=value", id="no-equals"),
        pytest.param("=x", "Invalid incident field name ''", id="empty-name"),
        pytest.param("two words=x", "Invalid incident field name", id="bad-name"),
        pytest.param("severity=urgent", "Invalid severity 'urgent'", id="bad-severity"),
        pytest.param("severity=7", "Invalid severity '7'", id="out-of-range-severity"),
    ],
)
def test_parse_incident_fields_rejects_malformed_input(pair: str, message: str) -> None:
    """
    Given a malformed --incident argument
    When it is parsed
    Then IncidentInputError explains it
    """
    with pytest.raises(IncidentInputError, match=message):
        parse_incident_fields([pair])


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_load_incident_file_reads_fields_and_context(tmp_path: Path) -> None:
    """
    Given a JSON file with incident fields and a context object
    When it is loaded
    Then the fields overlay the defaults and the context is set
    """
    path = write_json(
        tmp_path / "incident.json", {"details": "I am your father", "severity": "low", "context": {"A": 1}}
    )
    incident = load_incident_file(path)
    assert incident.fields["details"] == "I am your father", "details should come from the file"
    assert incident.fields["severity"] == 1, "a severity name should be converted"
    assert incident.fields["name"] == "Local incident", "unspecified fields keep their defaults"
    assert "context" not in incident.fields, "'context' is not an incident field"
    assert incident.context == {"A": 1}, "the context should come from the file"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "does not exist", id="missing"),
        pytest.param("{", "is not valid JSON", id="invalid-json"),
        pytest.param("[1]", "must hold a JSON object", id="not-an-object"),
        pytest.param('{"context": [1]}', "'context' must be a JSON object", id="bad-context"),
        pytest.param("DIRECTORY", "Cannot read incident file", id="a-directory"),
    ],
)
def test_load_incident_file_errors(tmp_path: Path, content: str | None, message: str) -> None:
    """
    Given a missing or malformed incident file
    When it is loaded
    Then IncidentInputError names the file and the problem
    """
    path = tmp_path / "incident.json"
    if content == "DIRECTORY":
        path.mkdir()
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(IncidentInputError, match=message) as raised:
        load_incident_file(path)
    assert str(path) in str(raised.value), f"the error should name the file: {raised.value}"


def test_overrides_apply_file_then_pairs_and_keep_the_rest(tmp_path: Path) -> None:
    """
    Given a saved incident, an incident file without context, and --incident pairs
    When the overrides are applied
    Then the file overrides the base fields, the pairs override the file, and the context is kept
    """
    path = write_json(tmp_path / "incident.json", {"details": "from file", "name": "File incident"})
    incident = incident_from_overrides(translated(), incident_file=path, field_pairs=["details=from pair"])
    assert incident.fields["details"] == "from pair", "pairs should win over the file"
    assert incident.fields["name"] == "File incident", "the file should win over the base"
    assert incident.context == translated().context, "a file without context keeps the base context"
    assert incident.integration_contexts == translated().integration_contexts, "integration contexts are kept"


def test_overrides_with_a_file_context_replace_the_context(tmp_path: Path) -> None:
    """
    Given a saved incident and an incident file with a context object
    When the overrides are applied
    Then the file's context replaces the saved one
    """
    path = write_json(tmp_path / "incident.json", {"context": {"Fresh": True}})
    incident = incident_from_overrides(translated(), incident_file=path)
    assert incident.context == {"Fresh": True}, f"the file context should replace the base: {incident.context}"


def test_overrides_without_base_start_fresh() -> None:
    """
    Given no base incident
    When only --incident pairs are given
    Then they apply to a fresh incident
    """
    incident = incident_from_overrides(field_pairs=["details=Hello there"])
    assert incident == Incident().with_fields({"details": "Hello there"}), f"unexpected incident {incident}"
