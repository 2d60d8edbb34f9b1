"""Fault spec parsing and the schedule that decides which faults each request gets."""

from __future__ import annotations

import pytest

from standins.funtranslations.faults import Fault, FaultSchedule, parse_fault


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("429", Fault("status", status=429), id="bare-status"),
        pytest.param("status=503", Fault("status", status=503), id="status-key"),
        pytest.param("status=503,times=2", Fault("status", status=503, times=2), id="status-times"),
        pytest.param(" 500 , times=1 ", Fault("status", status=500, times=1), id="spaces-tolerated"),
        pytest.param("latency=1.5", Fault("latency", latency=1.5), id="latency"),
        pytest.param("latency=0", Fault("latency", latency=0.0), id="zero-latency"),
        pytest.param("body=not-json", Fault("body", body="not-json"), id="not-json"),
        pytest.param("body=empty,times=3", Fault("body", body="empty", times=3), id="empty-body"),
        pytest.param("drop", Fault("drop"), id="drop"),
        pytest.param("drop,times=1", Fault("drop", times=1), id="drop-once"),
    ],
)
def test_accepted_specs_parse_to_faults(spec: str, expected: Fault) -> None:
    """Given an accepted fault spec
    When it is parsed
    Then it gives the matching Fault, whose canonical spec parses back to the same Fault."""
    fault = parse_fault(spec)
    assert fault == expected, f"{spec!r} parsed to {fault}, expected {expected}"
    assert parse_fault(fault.spec) == fault, f"canonical spec {fault.spec!r} does not round-trip"


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        pytest.param("", "accepted fault specs", id="empty"),
        pytest.param("teapot", "accepted fault specs", id="unknown-word"),
        pytest.param("status=700", "100 to 599", id="status-too-high"),
        pytest.param("99", "100 to 599", id="status-too-low"),
        pytest.param("status=abc", "accepted fault specs", id="status-not-a-number"),
        pytest.param("latency=soon", "number of seconds", id="latency-not-a-number"),
        pytest.param("latency=-1", "0 to 3600 seconds", id="negative-latency"),
        pytest.param("latency=1e308", "0 to 3600 seconds", id="latency-that-overflows-a-sleep"),
        pytest.param("latency=nan", "0 to 3600 seconds", id="nan-latency"),
        pytest.param("latency=", "accepted fault specs", id="latency-without-value"),
        pytest.param("body=xml", "accepted fault specs", id="unknown-body"),
        pytest.param("drop,times=0", "times=N", id="zero-times"),
        pytest.param("drop,times=x", "times=N", id="times-not-a-number"),
        pytest.param("drop,retries=2", "times=N", id="unknown-option"),
        pytest.param("drop,times=1,times=2", "times=N", id="two-options"),
    ],
)
def test_malformed_specs_are_refused_with_what_to_change(spec: str, hint: str) -> None:
    """Given a malformed fault spec
    When it is parsed
    Then ValueError quotes the spec and says what is accepted."""
    with pytest.raises(ValueError, match=hint) as raised:
        parse_fault(spec)
    assert repr(spec) in str(raised.value), f"the error should quote the spec {spec!r}: {raised.value}"


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        pytest.param({"kind": "drop", "status": 500}, "takes no status", id="drop-with-status"),
        pytest.param({"kind": "status"}, "100 to 599", id="status-without-code"),
        pytest.param({"kind": "latency", "latency": -2.0}, "0 to 3600 seconds", id="negative-latency"),
        pytest.param({"kind": "body", "body": "xml"}, "not-json", id="unknown-body"),
        pytest.param({"kind": "drop", "times": 0}, "times must be >= 1", id="zero-times"),
    ],
)
def test_inconsistent_faults_cannot_be_built(kwargs: dict[str, object], hint: str) -> None:
    """Given Fault fields that contradict each other
    When the Fault is built directly
    Then ValueError says what is wrong."""
    with pytest.raises(ValueError, match=hint):
        Fault(**kwargs)  # type: ignore[arg-type]


def _kinds(schedule: FaultSchedule, requests: int) -> list[list[str]]:
    return [[fault.spec for fault in schedule.next_request()] for _ in range(requests)]


def test_times_limits_a_fault_to_the_first_requests() -> None:
    """Given `status=503,times=2`
    When four requests arrive
    Then the first two get the 503 and the others none."""
    got = _kinds(FaultSchedule((parse_fault("status=503,times=2"),)), 4)
    assert got == [["status=503,times=2"], ["status=503,times=2"], [], []], f"wrong schedule {got}"


def test_outcomes_queue_up_and_latency_combines_with_them() -> None:
    """Given `latency=0.5`, `drop,times=1` and `status=503,times=2`
    When four requests arrive
    Then every request gets the latency, the first is dropped, the next two get 503, the last only latency."""
    faults = tuple(parse_fault(spec) for spec in ("latency=0.5", "drop,times=1", "status=503,times=2"))
    got = _kinds(FaultSchedule(faults), 4)
    expected = [
        ["latency=0.5", "drop,times=1"],
        ["latency=0.5", "status=503,times=2"],
        ["latency=0.5", "status=503,times=2"],
        ["latency=0.5"],
    ]
    assert got == expected, f"wrong schedule {got}"


def test_an_empty_schedule_never_faults() -> None:
    """Given no faults
    When requests arrive
    Then none gets a fault."""
    assert _kinds(FaultSchedule(()), 3) == [[], [], []], "no fault was configured"
