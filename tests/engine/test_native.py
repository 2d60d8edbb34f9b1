"""The engine's own commands (native.py): the toolkit's fallbacks Print, PrintErrorEntry, DeleteContext and Set,
and the server-native closeInvestigation, run on an incident."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from xsoar_local.engine.entries import ERROR, NOTE
from xsoar_local.engine.native import NATIVE_COMMANDS, run_native
from xsoar_local.engine.native import EmptyArgumentError as MandatoryArgumentError
from xsoar_local.engine.native import NativeArgumentError as ScriptError
from xsoar_local.incident.model import Incident


@dataclass(frozen=True)
class Ran:
    """What a native command left: its entries, and the incident's context and fields after it."""

    entries: tuple[Mapping[str, Any], ...]
    context: Mapping[str, Any]
    fields: Mapping[str, Any]
    warnings: tuple[str, ...] = ()


def run_script(name: str, args: dict[str, Any], fields: Mapping[str, Any], context: Mapping[str, Any]) -> Ran:
    """Check the args and run the engine's command `name` on an incident with those fields and context."""
    native = NATIVE_COMMANDS[name]
    run = run_native(native, native.check(args), Incident(fields=dict(fields), context=dict(context)))
    return Ran(tuple(run.entries), run.incident.context, run.incident.fields)


CONTEXT = {"A": {"B": 1, "C": 2}, "D": "keep", "E": [1]}
FIELDS = {"details": "x", "status": 1}


def test_print_writes_a_note() -> None:
    """Given a value, When Print runs, Then the War Room gets a note holding it and nothing is flagged."""
    result = run_script("Print", {"value": "Hello"}, FIELDS, CONTEXT)
    assert [entry["Contents"] for entry in result.entries] == ["Hello"], "Print should write its value"
    assert result.entries[0]["Type"] == NOTE, "Print writes a note"
    assert result.warnings == (), "a non-empty value is not flagged"
    assert result.context == CONTEXT, "Print writes no context"


@pytest.mark.parametrize(
    ("name", "args", "empty"),
    [
        pytest.param("Print", {"value": None}, ("value",), id="print-value-nothing"),
        pytest.param("Print", {"value": ""}, ("value",), id="print-value-empty-string"),
        pytest.param("Print", {"value": []}, ("value",), id="print-value-empty-list"),
        pytest.param("Print", {}, ("value",), id="print-value-not-set"),
        pytest.param("Set", {"value": "v"}, ("key",), id="set-key-not-set"),
        pytest.param("Set", {"key": "", "value": "v"}, ("key",), id="set-key-empty"),
        pytest.param("DeleteContext", {}, ("all", "key"), id="delete-context-neither-all-nor-key"),
        pytest.param("DeleteContext", {"all": "", "key": None}, ("all", "key"), id="delete-context-both-empty"),
        pytest.param("PrintErrorEntry", {"message": ""}, ("message",), id="print-error-entry-message-empty"),
    ],
)
def test_empty_mandatory_argument_fails(name: str, args: dict[str, Any], empty: tuple[str, ...]) -> None:
    """Given a mandatory argument (or each of a one-of group) that is empty, When the script runs,
    Then it refuses with an error naming the script and the argument(s), and writes nothing."""
    with pytest.raises(MandatoryArgumentError) as raised:
        run_script(name, args, FIELDS, CONTEXT)
    assert (raised.value.command, raised.value.arguments) == (name, empty), f"wrong script/arguments: {raised.value}"
    for argument in empty:
        assert repr(argument) in str(raised.value), f"the error should name {argument!r}: {raised.value}"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        pytest.param("DeleteContext", {"key": "D"}, id="delete-context-key-alone"),
        pytest.param("DeleteContext", {"all": "yes"}, id="delete-context-all-alone"),
        pytest.param("Set", {"key": "K", "value": "v"}, id="set-key-and-value"),
        pytest.param("closeInvestigation", {}, id="close-investigation-no-arguments"),
        pytest.param("Print", {"value": 0}, id="print-zero-is-not-empty"),
    ],
)
def test_given_mandatory_arguments_let_the_script_run(name: str, args: dict[str, Any]) -> None:
    """Given every mandatory argument (or one of a one-of group), When the script runs, Then it does not refuse."""
    try:
        run_script(name, args, FIELDS, CONTEXT)
    except MandatoryArgumentError as error:
        pytest.fail(f"{name} {args} should run, but was refused: {error}")


def test_print_error_entry_writes_an_error() -> None:
    """Given a message, When PrintErrorEntry runs, Then it writes an error entry (which fails the task)."""
    result = run_script("PrintErrorEntry", {"message": "broken"}, FIELDS, CONTEXT)
    assert [(entry["Type"], entry["Contents"]) for entry in result.entries] == [(ERROR, "broken")]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param({"all": "yes"}, {}, id="all-yes"),
        pytest.param({"all": "yes", "keysToKeep": "D"}, {"D": "keep"}, id="all-but-keysToKeep"),
        pytest.param({"key": "A.B"}, {"A": {"C": 2}, "D": "keep", "E": [1]}, id="nested-key"),
        pytest.param({"key": "A,D"}, {"E": [1]}, id="comma-separated-keys"),
        pytest.param({"key": "Missing"}, CONTEXT, id="missing-key-is-a-no-op"),
        pytest.param({"all": "no", "key": "E"}, {"A": {"B": 1, "C": 2}, "D": "keep"}, id="all-no-with-key"),
    ],
)
def test_delete_context(args: dict[str, Any], expected: dict[str, Any]) -> None:
    """Given a context, When DeleteContext runs, Then exactly the asked-for keys are gone."""
    result = run_script("DeleteContext", args, FIELDS, CONTEXT)
    assert result.context == expected, f"DeleteContext {args} left {result.context}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param({"key": "D", "value": "new"}, "new", id="overwrite"),
        pytest.param({"key": "E", "value": "2", "append": "true"}, [1, "2"], id="append"),
        pytest.param({"key": "E", "value": "1", "append": "false"}, "1", id="append-false-overwrites"),
        pytest.param({"key": "D", "value": '{"k": [1, 2]}'}, {"k": [1, 2]}, id="json-object-parsed"),
        pytest.param({"key": "D", "value": '{"k": 1}', "stringify": "true"}, '{"k": 1}', id="stringify-keeps-text"),
        pytest.param({"key": "D", "value": "[1, 2"}, "[1, 2", id="bad-json-stays-text"),
    ],
)
def test_set(args: dict[str, Any], expected: Any) -> None:
    """Given a key and value, When Set runs, Then the context holds the value (appended when asked)."""
    result = run_script("Set", args, FIELDS, CONTEXT)
    assert result.context[args["key"]] == expected, f"Set {args} stored {result.context[args['key']]!r}"


def test_set_nested_key_creates_parents() -> None:
    """Given a dotted key, When Set runs, Then the parents are created."""
    result = run_script("Set", {"key": "New.Deep", "value": "v"}, FIELDS, {})
    assert result.context == {"New": {"Deep": "v"}}, f"got {result.context}"


def test_set_append_with_dt_key_updates_the_matching_item() -> None:
    """Given a DT key, When Set appends, Then the item whose ID matches is updated, as an EntryContext would be."""
    context = {"Data": {"ID": "1", "Value": "old"}}
    result = run_script(
        "Set",
        {"key": "Data(val.ID == obj.ID)", "value": '{"ID": "1", "Value": "new"}', "append": "true"},
        FIELDS,
        context,
    )
    assert result.context == {"Data": {"ID": "1", "Value": "new"}}, f"got {result.context}"


def test_close_investigation() -> None:
    """Given an open incident, When closeInvestigation runs, Then the incident is closed with its reason and notes."""
    result = run_script("closeInvestigation", {"closeReason": "Resolved", "closeNotes": "done"}, FIELDS, CONTEXT)
    assert result.fields["status"] == "Closed", "the incident should be closed"
    assert (result.fields["closeReason"], result.fields["closeNotes"]) == ("Resolved", "done")
    assert result.fields["details"] == "x", "other fields are kept"


@pytest.mark.parametrize(
    ("args", "severity"),
    [
        pytest.param({"severity": "4"}, 4, id="number-as-text"),
        pytest.param({"severity": "0.5"}, 0.5, id="fraction-as-text"),
        pytest.param({"severity": "high"}, 3, id="name"),
        pytest.param({"severity": 2}, 2, id="number"),
        pytest.param({"severity": "", "details": None}, 1, id="empty-arguments-change-nothing"),
    ],
)
def test_set_incident_stores_severity_as_the_server_does(args: dict[str, Any], severity: float) -> None:
    """Given an incident of severity 1, When setIncident runs with a playbook's text (or nothing) for severity,
    Then the incident holds the number the server stores, and empty arguments leave their fields alone"""
    result = run_script("setIncident", args, {**FIELDS, "severity": 1}, CONTEXT)
    assert result.fields["severity"] == severity, result.fields
    assert type(result.fields["severity"]) is type(severity), f"severity is {result.fields['severity']!r}"
    assert result.fields["details"] == "x", f"an empty argument changed a field: {result.fields}"


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        pytest.param("Print", {"valeu": "typo"}, r"Print has no argument\(s\) \['valeu'\]", id="unknown-argument"),
        pytest.param("DeleteContext", {"all": "no"}, "needs `all=yes` or `key=", id="delete-context-all-no-no-key"),
        pytest.param("DeleteContext", {"all": "maybe"}, "yes/no or true/false", id="delete-context-bad-flag"),
        pytest.param("Set", {"key": "  ", "value": "v"}, "needs a `key`", id="set-blank-key"),
        pytest.param("Set", {"key": "k"}, "needs a `value`", id="set-without-value"),
        pytest.param("Set", {"key": "D.X", "value": "v"}, "holds a str", id="set-into-a-string"),
        pytest.param("setIncident", {"severity": "9"}, r"setIncident: Invalid severity '9'", id="bad-severity"),
    ],
)
def test_script_errors(name: str, args: dict[str, Any], message: str) -> None:
    """Given a script or arguments that cannot run, When run, Then the error says why."""
    with pytest.raises(ScriptError, match=message):
        run_script(name, args, FIELDS, CONTEXT)


@pytest.mark.parametrize(
    ("key", "playbook_id", "expected"),
    [
        pytest.param("subplaybook-Child.A.B", "Child", {"A": {"C": 2}, "D": "keep", "E": [1]}, id="own-sub-playbook"),
        pytest.param("subplaybook-.D", "", {"A": {"B": 1, "C": 2}, "E": [1]}, id="top-level-empty-id"),
        pytest.param("D", "Child", {"A": {"B": 1, "C": 2}, "E": [1]}, id="plain-key-in-a-sub-playbook"),
        pytest.param("subplaybook-Other.D", "Child", CONTEXT, id="another-playbooks-key-is-not-this-context's"),
    ],
)
def test_del_context_reads_subplaybook_keys_as_the_running_playbooks_own(
    key: str, playbook_id: str, expected: Mapping[str, Any]
) -> None:
    """
    Given the context a task of the playbook `playbook_id` sees (a private sub-playbook's own copy inside one)
    When delContext gets a key as content's DeleteContext sends it (`subplaybook-${currentPlaybookID}.<key>`, the
    server having resolved the id; "" at the top level)
    Then the prefix of the running playbook names its own context, and any other key is a plain path
    """
    native = NATIVE_COMMANDS["delContext"]
    run = run_native(native, native.check({"key": key}), Incident(context=dict(CONTEXT)), playbook_id=playbook_id)
    assert run.incident.context == expected, f"delContext {key!r} in {playbook_id!r} left {run.incident.context}"
