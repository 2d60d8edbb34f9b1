"""Each injected fault over real HTTP: statuses with their envelopes, latency, non-JSON bodies, dropped connections."""

from __future__ import annotations

import time

import pytest
import requests

from standins.funtranslations.faults import parse_fault
from standins.funtranslations.server import RunningService
from tests.standins.funtranslations.conftest import StartService

TEXT = "You must unlearn what you have learned."
TRANSLATED = "Unlearn what you have learned,  you must."


def _translate(service: RunningService, timeout: float = 10) -> requests.Response:
    return requests.post(service.url + "yoda", data={"text": TEXT}, timeout=timeout)


@pytest.mark.parametrize(
    ("spec", "status", "message"),
    [
        pytest.param("400", 400, "Bad Request: text is missing.", id="400-real-message"),
        pytest.param("status=401", 401, "Unauthorized", id="401-real-message"),
        pytest.param("404", 404, "Not Found", id="404-real-message"),
        pytest.param(
            "429",
            429,
            "Too Many Requests: Rate limit of 5 requests per hour exceeded. Please wait for 1 hour.",
            id="429-real-sentence",
        ),
        pytest.param("403", 403, "Forbidden", id="403-reason-phrase"),
        pytest.param("status=500", 500, "Internal Server Error", id="500"),
        pytest.param("503", 503, "Service Unavailable", id="503"),
        pytest.param("418", 418, "I'm a Teapot", id="418"),
        pytest.param("599", 599, "HTTP Error 599", id="unnamed-status"),
    ],
)
def test_a_status_fault_answers_with_its_envelope(
    start_service: StartService, spec: str, status: int, message: str
) -> None:
    """Given a service with a status fault
    When a valid translation request arrives
    Then it gets that status with the error envelope and the status's message."""
    service = start_service(faults=(parse_fault(spec),))
    response = _translate(service)
    assert response.status_code == status, f"{spec} should answer {status}, got {response.status_code}"
    assert response.json() == {"error": {"code": status, "message": message}}, f"wrong body: {response.text}"
    assert [r.status for r in service.requests] == [status], "the faulted request should be recorded"
    assert service.requests[0].faults == (parse_fault(spec).spec,), "the record should name the fault"


def test_an_injected_429_uses_the_configured_limit(start_service: StartService) -> None:
    """Given a service limited to 10 per minute with a 429 fault
    When a request arrives
    Then the injected 429 quotes 10 per minute and a wait of the whole window."""
    service = start_service(rate_limit=10, window_seconds=60, faults=(parse_fault("429"),))
    expected = "Too Many Requests: Rate limit of 10 requests per minute exceeded. Please wait for 1 minute."
    assert _translate(service).json()["error"]["message"] == expected


def test_times_limits_a_status_fault_and_faulted_requests_use_no_quota(start_service: StartService) -> None:
    """Given `status=503,times=2` and a limit of 1
    When four requests arrive
    Then they get 503, 503, 200 (the faults used no quota), then 429."""
    service = start_service(rate_limit=1, faults=(parse_fault("status=503,times=2"),))
    statuses = [_translate(service).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 429], f"wrong sequence {statuses}"


def test_latency_delays_the_normal_answer(start_service: StartService) -> None:
    """Given a `latency=0.4` fault
    When a request arrives
    Then the normal translation comes back, no sooner than 0.4 s after sending."""
    service = start_service(faults=(parse_fault("latency=0.4"),))
    started = time.monotonic()
    response = _translate(service)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.4, f"the answer came after {elapsed:.3f} s, before the 0.4 s of added latency"
    assert response.json()["contents"]["translated"] == TRANSLATED, (
        f"latency alone must not change the answer: {response.text}"
    )


def test_latency_beyond_the_client_timeout_makes_it_time_out(start_service: StartService) -> None:
    """Given a `latency=3,times=1` fault
    When a client with a 0.3 s read timeout calls, then calls again
    Then the first call times out and the second is answered normally."""
    service = start_service(faults=(parse_fault("latency=3,times=1"),))
    with pytest.raises(requests.exceptions.ReadTimeout):
        _translate(service, timeout=0.3)
    assert _translate(service).status_code == 200, "the latency fault was for the first request only"


def test_latency_combines_with_a_status(start_service: StartService) -> None:
    """Given `latency=0.3` and `status=503` faults
    When a request arrives
    Then it gets the 503 envelope, no sooner than 0.3 s after sending."""
    service = start_service(faults=(parse_fault("latency=0.3"), parse_fault("503")))
    started = time.monotonic()
    response = _translate(service)
    assert time.monotonic() - started >= 0.3, "the 503 came before the added latency"
    assert response.status_code == 503, f"expected 503, got {response.status_code}"
    assert service.requests[0].faults == ("latency=0.3", "status=503"), service.requests[0].faults


def test_a_not_json_body_fault_returns_html_with_200(start_service: StartService) -> None:
    """Given a `body=not-json` fault
    When a request arrives
    Then it gets 200 with an HTML body that does not parse as JSON."""
    service = start_service(faults=(parse_fault("body=not-json"),))
    response = _translate(service)
    assert response.status_code == 200, f"expected 200, got {response.status_code}"
    assert response.headers["Content-Type"].startswith("text/html"), response.headers["Content-Type"]
    assert response.text.lstrip().startswith("<!DOCTYPE html>"), f"expected an HTML page: {response.text!r}"
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_an_empty_body_fault_returns_nothing_with_200(start_service: StartService) -> None:
    """Given a `body=empty` fault
    When a request arrives
    Then it gets 200 with an empty body."""
    service = start_service(faults=(parse_fault("body=empty"),))
    response = _translate(service)
    assert (response.status_code, response.content) == (200, b""), f"got {response.status_code} {response.content!r}"


def test_a_drop_fault_closes_the_connection_without_an_answer(start_service: StartService) -> None:
    """Given a `drop,times=1` fault
    When two requests arrive
    Then the first fails with a connection error, is recorded without status, and the second is answered."""
    service = start_service(faults=(parse_fault("drop,times=1"),))
    with pytest.raises(requests.exceptions.ConnectionError):
        _translate(service)
    assert _translate(service).status_code == 200, "only the first request was to be dropped"
    statuses = [(r.status, r.faults) for r in service.requests]
    assert statuses == [(None, ("drop,times=1",)), (200, ())], f"wrong log {statuses}"


def test_faults_apply_to_any_path(start_service: StartService) -> None:
    """Given a `status=503,times=1` fault
    When the first request goes to an unknown path
    Then it gets the fault's 503, and the next request to that path gets the normal 404."""
    service = start_service(faults=(parse_fault("status=503,times=1"),))
    first = requests.get(service.url + "pirate", timeout=10)
    second = requests.get(service.url + "pirate", timeout=10)
    assert (first.status_code, second.status_code) == (503, 404), f"got {first.status_code}, {second.status_code}"
