"""Argument values: `simple` literals with `${path}`, `complex` root/accessor/transformers, condition operands."""

from __future__ import annotations

from typing import Any

import pytest

from xsoar_local.incident.model import Incident, view_for_expressions
from xsoar_local.playbook.expressions import ExpressionError, Resolver, nearby_paths

VIEW = view_for_expressions(
    Incident(
        fields={"details": "Hello there", "name": "Case 1", "CustomFields": {"team": "blue"}},
        context={
            "YodaSpeak": {"TheForce": {"Original": "Hello", "Translation": "Hello, it is"}},
            "Hosts": [{"Name": "A", "IP": "1.1.1.1"}, {"Name": "B", "IP": "1.1.1.1"}],
            "Empty": "",
        },
    )
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param({"simple": "plain text"}, "plain text", id="literal"),
        pytest.param({"simple": 3}, 3, id="non-string-literal"),
        pytest.param({"simple": "${incident.details}"}, "Hello there", id="incident-details"),
        pytest.param({"simple": "${incident.team}"}, "blue", id="custom-field-flattened"),
        pytest.param({"simple": "${YodaSpeak.TheForce.Translation}"}, "Hello, it is", id="context-path"),
        pytest.param({"simple": "${Hosts.Name}"}, ["A", "B"], id="whole-reference-keeps-the-list"),
        pytest.param({"simple": "Hosts: ${Hosts.Name}!"}, "Hosts: A,B!", id="reference-in-text-is-joined"),
        pytest.param({"simple": "${incident.name} / ${incident.details}"}, "Case 1 / Hello there", id="two-references"),
        pytest.param({}, None, id="not-set"),
        pytest.param(None, None, id="null"),
        pytest.param({"complex": {"root": "YodaSpeak.TheForce", "accessor": "Original"}}, "Hello", id="complex"),
        pytest.param({"complex": {"root": "incident", "accessor": "details"}}, "Hello there", id="complex-incident"),
        pytest.param(
            {"complex": {"root": "Hosts", "accessor": "IP", "transformers": [{"operator": "uniq"}]}},
            ["1.1.1.1"],
            id="complex-uniq",
        ),
        pytest.param(
            {
                "complex": {
                    "root": "Hosts",
                    "accessor": "Name",
                    "transformers": [
                        {"operator": "toLowerCase"},
                        {"operator": "join", "args": {"separator": {"value": {"simple": "+"}}}},
                    ],
                }
            },
            "a+b",
            id="complex-transformers-in-order",
        ),
        pytest.param(
            {
                "complex": {
                    "root": "Hosts",
                    "transformers": [{"operator": "atIndex", "args": {"index": {"value": {"simple": "1"}}}}],
                }
            },
            {"Name": "B", "IP": "1.1.1.1"},
            id="complex-atIndex",
        ),
        pytest.param(
            {
                "complex": {
                    "root": "Hosts",
                    "accessor": "Name",
                    "transformers": [
                        {
                            "operator": "join",
                            "args": {"separator": {"value": {"simple": "incident.team"}, "iscontext": True}},
                        }
                    ],
                }
            },
            "AblueB",
            id="transformer-arg-from-context",
        ),
        # The DT forms of the server's documentation: index ranges, selectors with methods, mutators.
        pytest.param({"simple": "${Hosts.[0:1].Name}"}, ["A", "B"], id="range-includes-both-ends"),
        pytest.param({"simple": "${Hosts.[1:].Name}"}, ["B"], id="range-open-end"),
        pytest.param({"simple": "${Hosts(val.Name.indexOf('B') >= 0).Name}"}, "B", id="selector-with-indexOf"),
        pytest.param({"simple": "${Hosts(val.Name.length == 1).Name}"}, ["A", "B"], id="selector-with-length"),
        pytest.param({"simple": "${Hosts.Name=val.toLowerCase()}"}, ["a", "b"], id="mutator-on-each-item"),
        pytest.param({"simple": "${incident.name=val.toUpperCase()}"}, "CASE 1", id="mutator-on-one-value"),
        pytest.param(
            {"simple": "${Hosts=val.Name + ': ' + val.IP}"}, ["A: 1.1.1.1", "B: 1.1.1.1"], id="mutator-concat"
        ),
        pytest.param(
            {"simple": "${Hosts(val.IP == '1.1.1.1' && val.Name != 'A')=val.Name}"}, "B", id="selector-then-mutator"
        ),
        # `.` is the whole context (the scripts If-Elif and GetValuesOfMultipleFields ask for `${.}`, `${.=[]}`).
        pytest.param({"simple": "${.=val.YodaSpeak.TheForce.Original}"}, "Hello", id="whole-context-mutated"),
        pytest.param({"simple": "${.=[]}"}, [], id="whole-context-to-an-empty-list"),
        pytest.param({"simple": "${.=[val.Empty, 1]}"}, ["", 1], id="array-literal"),
        pytest.param(
            {"simple": "${Hosts=val.Name == 'A' ? 'first' : 'other'}"}, ["first", "other"], id="mutator-with-a-choice"
        ),
        pytest.param({"complex": {"root": ".", "accessor": "Hosts.Name"}}, ["A", "B"], id="complex-root-dot"),
        pytest.param({"complex": {"root": "${", "accessor": "=[]}"}}, [], id="reference-split-over-root-and-accessor"),
        pytest.param(
            {
                "complex": {
                    "root": "${",
                    "accessor": "}",
                    "transformers": [{"operator": "getField", "args": {"field": {"value": {"simple": "Empty"}}}}],
                }
            },
            "",
            id="whole-context-split-then-transformed",
        ),
    ],
)
def test_argument_values(raw: Any, expected: Any) -> None:
    """Given an argument value, When resolved against the incident view, Then it gives what the server would pass."""
    resolver = Resolver(VIEW)
    value = resolver.argument(raw)
    assert value == expected, f"{raw!r} resolved to {value!r}, expected {expected!r}"
    assert resolver.unresolved == [], f"nothing should be flagged empty, got {resolver.unresolved}"


@pytest.mark.parametrize(
    ("raw", "expected", "flagged"),
    [
        pytest.param(
            {"simple": "${YodaSpeak.Phrase.Translation}"}, None, ["YodaSpeak.Phrase.Translation"], id="missing"
        ),
        pytest.param({"simple": "Says: ${Nope}"}, "Says: ", ["Nope"], id="missing-inside-text"),
        pytest.param({"simple": "${Empty}"}, "", ["Empty"], id="empty-string"),
        pytest.param(
            {"complex": {"root": "YodaSpeak.Phrase", "accessor": "Translation"}},
            None,
            ["YodaSpeak.Phrase.Translation"],
            id="complex-missing",
        ),
        pytest.param({"simple": "${Nope=val.toLowerCase()}"}, None, ["Nope"], id="missing-under-a-mutator"),
    ],
)
def test_empty_references_are_recorded(raw: Any, expected: Any, flagged: list[str]) -> None:
    """Given a reference to nothing, When resolved, Then the value is empty and the path is recorded."""
    resolver = Resolver(VIEW)
    assert resolver.argument(raw) == expected, f"{raw!r} should resolve to {expected!r}"
    assert resolver.unresolved == flagged, f"expected {flagged} flagged, got {resolver.unresolved}"


@pytest.mark.parametrize(
    ("operand", "expected"),
    [
        pytest.param({"value": {"simple": "incident.details"}, "iscontext": True}, "Hello there", id="context-path"),
        pytest.param({"value": {"simple": "${incident.details}"}, "iscontext": True}, "Hello there", id="context-ref"),
        pytest.param({"value": {"simple": "incident.details"}}, "incident.details", id="literal-without-iscontext"),
        pytest.param(
            {"value": {"complex": {"root": "Hosts", "accessor": "Name"}}, "iscontext": True}, ["A", "B"], id="complex"
        ),
        pytest.param({}, None, id="absent"),
    ],
)
def test_operands(operand: dict[str, Any], expected: Any) -> None:
    """Given a condition operand, When resolved, Then `iscontext` decides whether `simple` is a path or a literal."""
    assert Resolver(VIEW).operand(operand) == expected, f"{operand!r} should resolve to {expected!r}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param({"complex": {"accessor": "x"}}, "needs a `root`", id="complex-without-root"),
        pytest.param(
            {"complex": {"root": "Hosts", "filters": [[{"operator": "isPrime", "left": {"value": {"simple": "x"}}}]]}},
            "filter: unknown condition operator 'isPrime'",
            id="filter-with-unknown-operator",
        ),
        pytest.param({"complex": {"root": "Hosts", "filters": {"a": 1}}}, "must be a list", id="filters-not-a-list"),
        pytest.param(
            {"complex": {"root": "Hosts", "transformers": [{"operator": "nope"}]}},
            "unknown transformer 'nope'",
            id="unknown-transformer",
        ),
        pytest.param({"complex": {"root": "Hosts", "transformers": [{}]}}, "needs an `operator`", id="no-operator"),
        pytest.param({"weird": 1}, "must be `simple` or `complex`", id="unknown-form"),
        pytest.param({"simple": "${A..B}"}, "Malformed context path", id="malformed-path"),
    ],
)
def test_expression_errors(raw: Any, message: str) -> None:
    """Given a value the runner cannot resolve, When resolved, Then the error says why instead of passing nothing."""
    with pytest.raises(ExpressionError, match=message):
        Resolver(VIEW).argument(raw)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(
            "YodaSpeak.Phrase.Translation",
            ["YodaSpeak.TheForce.Original", "YodaSpeak.TheForce.Translation"],
            id="sibling-of-a-mistyped-key",
        ),
        pytest.param("Hosts.Address", ["Hosts.Name", "Hosts.IP"], id="keys-of-list-items-once"),
        pytest.param("Nothing.Here", [], id="no-existing-prefix"),
        pytest.param("Missing", [], id="single-segment"),
    ],
)
def test_nearby_paths(path: str, expected: list[str]) -> None:
    """Given a path that holds nothing, When hints are asked for, Then the filled paths under its longest prefix are."""
    assert nearby_paths(VIEW, path) == expected, f"hints for {path}: {nearby_paths(VIEW, path)}"


def _host_filter(operator: str, field: str, right: str) -> list[list[dict[str, Any]]]:
    return [
        [
            {
                "operator": operator,
                "left": {"value": {"simple": f"Hosts.{field}"}, "iscontext": True},
                "right": {"value": {"simple": right}},
            }
        ]
    ]


@pytest.mark.parametrize(
    ("complex_value", "expected"),
    [
        pytest.param(
            {"root": "Hosts", "accessor": "Name", "filters": _host_filter("isEqualString", "Name", "B")},
            ["B"],
            id="keeps-matching-items-then-accessor",
        ),
        pytest.param(
            {"root": "Hosts", "filters": _host_filter("isEqualString", "Name", "A")},
            [{"Name": "A", "IP": "1.1.1.1"}],
            id="without-accessor-the-items",
        ),
        pytest.param(
            {"root": "Hosts", "accessor": "Name", "filters": _host_filter("isEqualString", "IP", "1.1.1.1")},
            ["A", "B"],
            id="every-item-matches",
        ),
        pytest.param(
            {
                "root": "Hosts",
                "accessor": "Name",
                "filters": [
                    *_host_filter("isEqualString", "IP", "1.1.1.1"),
                    *_host_filter("isNotEqualString", "Name", "A"),
                ],
            },
            ["B"],
            id="groups-are-anded",
        ),
        pytest.param(
            {"root": "Hosts", "accessor": "Name", "filters": _host_filter("isEqualString", "Name", "Z")},
            None,
            id="nothing-matches",
        ),
    ],
)
def test_complex_filters(complex_value: dict[str, Any], expected: Any) -> None:
    """Given a complex value with filters, When resolved, Then only the root's items that pass are used."""
    value = Resolver(VIEW).argument({"complex": complex_value})
    assert value == expected, f"filtered value {value!r}, expected {expected!r}"
