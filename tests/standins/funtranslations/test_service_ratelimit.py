"""The service's rate limit over real HTTP, with the window driven by a fake clock."""

from __future__ import annotations

import pytest
import requests

from standins.funtranslations.server import RunningService
from tests.standins.funtranslations.conftest import FakeClock, StartService

KEY_HEADER = "X-Funtranslations-Api-Secret"


def _translate(service: RunningService, key: str | None = None) -> requests.Response:
    headers = {KEY_HEADER: key} if key else {}
    return requests.post(service.url + "yoda", data={"text": "I have the high ground!"}, headers=headers, timeout=10)


def _use_up(service: RunningService, count: int, key: str | None = None) -> None:
    for attempt in range(1, count + 1):
        response = _translate(service, key)
        assert response.status_code == 200, f"request {attempt} of {count} should pass, got {response.status_code}"


@pytest.mark.parametrize(
    ("elapsed", "wait"),
    [
        pytest.param(186, "56 minutes and 54 seconds", id="reference-capture"),
        pytest.param(59, "59 minutes and 1 second", id="singular-second"),
        pytest.param(3597, "3 seconds", id="seconds-only"),
        pytest.param(0, "1 hour", id="whole-hour"),
    ],
)
def test_the_sixth_request_in_an_hour_gets_the_real_429(
    start_service: StartService, clock: FakeClock, elapsed: float, wait: str
) -> None:
    """Given the default free tier (5 an hour)
    When a client makes 5 requests, then a 6th `elapsed` seconds after its first
    Then the 6th gets 429 with the real sentence and the wait left in the window."""
    service = start_service()
    _use_up(service, 5)
    clock.advance(elapsed)
    response = _translate(service)
    assert response.status_code == 429, f"the 6th request should be refused, got {response.status_code}"
    expected = f"Too Many Requests: Rate limit of 5 requests per hour exceeded. Please wait for {wait}."
    assert response.json() == {"error": {"code": 429, "message": expected}}, f"wrong body: {response.text}"
    assert "Retry-After" not in response.headers, "the real service sends no Retry-After header"


def test_the_window_reopens_and_refused_requests_do_not_count(start_service: StartService, clock: FakeClock) -> None:
    """Given a client that has used its 5 and been refused twice
    When the hour has passed
    Then it has a full 5 again, and the 6th is refused once more."""
    service = start_service()
    _use_up(service, 5)
    for _ in range(2):
        assert _translate(service).status_code == 429, "over the limit within the hour"
    clock.advance(3600)
    _use_up(service, 5)
    assert _translate(service).status_code == 429, "the new window also allows only 5"


def test_a_custom_limit_and_window_are_used_in_the_sentence(start_service: StartService, clock: FakeClock) -> None:
    """Given a limit of 2 per 10 seconds
    When a client makes 3 requests within 3 seconds
    Then the 3rd is told the limit per 10 seconds and to wait 7 seconds."""
    service = start_service(rate_limit=2, window_seconds=10)
    _use_up(service, 2)
    clock.advance(3)
    response = _translate(service)
    expected = "Too Many Requests: Rate limit of 2 requests per 10 seconds exceeded. Please wait for 7 seconds."
    assert response.json()["error"]["message"] == expected, f"wrong message: {response.text}"


def test_each_key_and_the_keyless_client_have_their_own_limit(start_service: StartService) -> None:
    """Given a limit of 2 and two known free keys
    When the keyless client, then each key, make 2 requests
    Then all pass, and a 3rd from any of them is refused."""
    service = start_service(rate_limit=2, known_keys={"alpha", "beta"})
    for key in (None, "alpha", "beta"):
        _use_up(service, 2, key)
    for key in (None, "alpha", "beta"):
        assert _translate(service, key).status_code == 429, f"client {key or 'without key'} should be over its limit"


def test_paid_keys_are_never_limited(start_service: StartService) -> None:
    """Given a limit of 1 and a paid key
    When the paid key makes 10 requests
    Then all pass, while a keyless client is still limited."""
    service = start_service(rate_limit=1, paid_keys={"gold"})
    _use_up(service, 10, "gold")
    _use_up(service, 1)
    assert _translate(service).status_code == 429, "the keyless client should still be limited"


def test_the_limit_can_be_turned_off(start_service: StartService) -> None:
    """Given a service started with rate_limit=None
    When a keyless client makes 12 requests
    Then all pass."""
    service = start_service(rate_limit=None)
    _use_up(service, 12)


def test_404_and_401_do_not_use_up_the_limit(start_service: StartService) -> None:
    """Given a limit of 1
    When a client gets a 404 and an unknown key gets a 401
    Then the client's one allowed translation still passes."""
    service = start_service(rate_limit=1)
    assert requests.post(service.url + "pirate", data={"text": "x"}, timeout=10).status_code == 404
    assert _translate(service, "unknown").status_code == 401
    _use_up(service, 1)
