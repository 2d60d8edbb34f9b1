"""The pure rate-limit decision, the wait sentence in the service's words, and the clocked limiter."""

from __future__ import annotations

import math

import pytest

from standins.funtranslations.ratelimit import (
    RateLimiter,
    Verdict,
    Window,
    check,
    format_duration,
    rate_limit_message,
    window_phrase,
)
from tests.standins.funtranslations.conftest import FakeClock


def test_requests_within_the_limit_pass_and_are_counted() -> None:
    """Given no window yet
    When three requests arrive under a limit of 3
    Then all pass and the window, opened by the first, has counted three."""
    window = None
    for now in (100.0, 101.0, 102.0):
        window, verdict = check(window, now, limit=3, window_seconds=60)
        assert verdict == Verdict(allowed=True), f"request at {now} should pass, got {verdict}"
    assert window == Window(started=100.0, count=3), f"window should open at 100 with 3 counted, got {window}"


def test_a_request_over_the_limit_is_told_when_the_window_closes() -> None:
    """Given a full window opened at t=100 for 3600 s
    When a request arrives at t=286
    Then it is refused, not counted, and must wait the 3414 s left."""
    full = Window(started=100.0, count=5)
    window, verdict = check(full, 286.0, limit=5, window_seconds=3600)
    assert verdict == Verdict(allowed=False, wait_seconds=3414.0), f"wrong verdict {verdict}"
    assert window == full, "a refused request must not change the window"


@pytest.mark.parametrize(
    ("now", "why"),
    [pytest.param(3700.0, "window closed", id="window-closed"), pytest.param(50.0, "clock went back", id="clock-back")],
)
def test_a_new_window_opens_when_the_old_one_no_longer_applies(now: float, why: str) -> None:
    """Given a full window opened at t=100 for 3600 s
    When a request arrives after it closed (or the clock went backwards)
    Then a fresh window opens at that moment and the request passes."""
    window, verdict = check(Window(started=100.0, count=5), now, limit=5, window_seconds=3600)
    assert verdict.allowed, f"{why}: the request should pass"
    assert window == Window(started=now, count=1), f"{why}: a fresh window should open at {now}, got {window}"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(3414, "56 minutes and 54 seconds", id="reference-capture"),
        pytest.param(3413.2, "56 minutes and 54 seconds", id="fraction-rounds-up"),
        pytest.param(3541, "59 minutes and 1 second", id="singular-second"),
        pytest.param(3, "3 seconds", id="seconds-only"),
        pytest.param(1, "1 second", id="one-second"),
        pytest.param(0.001, "1 second", id="never-zero"),
        pytest.param(3600, "1 hour", id="one-hour"),
        pytest.param(60, "1 minute", id="one-minute"),
        pytest.param(7200, "2 hours", id="hours"),
        pytest.param(3661, "1 hour, 1 minute and 1 second", id="three-units"),
        pytest.param(3720, "1 hour and 2 minutes", id="zero-seconds-omitted"),
    ],
)
def test_waits_are_spelled_like_the_real_service(seconds: float, expected: str) -> None:
    """Given a remaining wait in seconds
    When it is spelled out
    Then units are singular for 1, zero units are left out, and parts are joined with ', ' and ' and '."""
    assert format_duration(seconds) == expected, f"{seconds} s gave {format_duration(seconds)!r}"


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        pytest.param(3600, "hour", id="hour"),
        pytest.param(60, "minute", id="minute"),
        pytest.param(1, "second", id="second"),
        pytest.param(86400, "day", id="day"),
        pytest.param(10, "10 seconds", id="ten-seconds"),
        pytest.param(7200, "2 hours", id="two-hours"),
        pytest.param(90, "1 minute and 30 seconds", id="mixed"),
        pytest.param(2.5, "2.5 seconds", id="fractional"),
    ],
)
def test_the_window_is_named_clearly(window: float, expected: str) -> None:
    """Given a window length
    When it is named for the sentence
    Then a single unit reads 'per hour', anything else 'per <duration>'."""
    assert window_phrase(window) == expected, f"window {window} s gave {window_phrase(window)!r}"


@pytest.mark.parametrize(
    ("limit", "window", "wait", "expected"),
    [
        pytest.param(
            5,
            3600,
            3414,
            "Too Many Requests: Rate limit of 5 requests per hour exceeded. Please wait for 56 minutes and 54 seconds.",
            id="reference-capture",
        ),
        pytest.param(
            10,
            3600,
            3600,
            "Too Many Requests: Rate limit of 10 requests per hour exceeded. Please wait for 1 hour.",
            id="ten-per-hour",
        ),
        pytest.param(
            1,
            10,
            3,
            "Too Many Requests: Rate limit of 1 request per 10 seconds exceeded. Please wait for 3 seconds.",
            id="singular-request-custom-window",
        ),
    ],
)
def test_the_429_sentence_has_the_real_form(limit: int, window: float, wait: float, expected: str) -> None:
    """Given a limit, a window and a wait
    When the 429 message is built
    Then it reads exactly like the real capture, with the numbers filled in."""
    assert rate_limit_message(limit, window, wait) == expected


def test_limiter_counts_each_client_separately_on_the_injected_clock() -> None:
    """Given a limiter of 2 per 60 s on a fake clock
    When client A uses its 2, then tries again 15 s later, while client B makes its first request
    Then A is told to wait 45 s, B passes, and A passes again once the window has closed."""
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(2, 60, clock)
    for attempt in (1, 2):
        assert limiter.hit("A").allowed, f"A's request {attempt} of 2 should pass"
    clock.advance(15)
    refused = limiter.hit("A")
    assert refused == Verdict(allowed=False, wait_seconds=45.0), f"A should wait 45 s, got {refused}"
    assert limiter.message(refused).endswith("Please wait for 45 seconds."), limiter.message(refused)
    assert limiter.hit("B").allowed, "B has its own window and should pass"
    clock.advance(45)
    assert limiter.hit("A").allowed, "A's window has closed, so A should pass again"


@pytest.mark.parametrize(
    ("limit", "window", "complaint"),
    [
        pytest.param(0, 3600, "rate limit", id="zero-limit"),
        pytest.param(-1, 3600, "rate limit", id="negative-limit"),
        pytest.param(True, 3600, "rate limit", id="bool-limit"),
        pytest.param(5, 0, "window", id="zero-window"),
        pytest.param(5, math.inf, "window", id="infinite-window"),
    ],
)
def test_unusable_limits_are_refused_with_a_clear_error(limit: int, window: float, complaint: str) -> None:
    """Given a limit or window that cannot work
    When a limiter is made
    Then ValueError says which setting to change."""
    with pytest.raises(ValueError, match=complaint):
        RateLimiter(limit, window, FakeClock())
