"""The per-client rate limit and the sentence the service answers with once it is exceeded.

Each client gets a fixed window that opens with its first counted request; within it at most
`limit` requests pass, and a refused request is told how long until the window closes, in the
service's own words: "Too Many Requests: Rate limit of 5 requests per hour exceeded. Please
wait for 56 minutes and 54 seconds." The decision (`check`) and the wording are pure; the
`RateLimiter` only keeps the windows and reads the injected clock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

_UNITS = (("hour", 3600), ("minute", 60), ("second", 1))
_NAMED_WINDOWS = {86400: "day", 3600: "hour", 60: "minute", 1: "second"}


@dataclass(frozen=True)
class Window:
    """One client's current window: when it opened and how many requests it has counted."""

    started: float
    count: int


@dataclass(frozen=True)
class Verdict:
    """Whether a request may pass and, if not, how many seconds until it may."""

    allowed: bool
    wait_seconds: float = 0.0


def check(window: Window | None, now: float, limit: int, window_seconds: float) -> tuple[Window, Verdict]:
    """Count one request against `window`; return the updated window and the verdict."""
    if window is None or now >= window.started + window_seconds or now < window.started:
        # No window yet, the last one closed, or the clock went backwards: start afresh.
        window = Window(started=now, count=0)
    if window.count < limit:
        return Window(window.started, window.count + 1), Verdict(allowed=True)
    return window, Verdict(allowed=False, wait_seconds=window.started + window_seconds - now)


def format_duration(seconds: float) -> str:
    """Spell a wait the service's way: `1 hour`, `59 minutes and 1 second`, `3 seconds`.

    Partial seconds round up, so a refused client is never told to wait 0 seconds.
    """
    remaining = max(1, math.ceil(seconds - 1e-9))
    parts: list[str] = []
    for unit, size in _UNITS:
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount} {unit}{'' if amount == 1 else 's'}")
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def window_phrase(window_seconds: float) -> str:
    """Name a window for the sentence: `hour` for 3600 s, otherwise e.g. `10 seconds` or `2 hours`."""
    if window_seconds in _NAMED_WINDOWS:
        return _NAMED_WINDOWS[int(window_seconds)]
    if window_seconds != int(window_seconds):
        return f"{window_seconds:g} seconds"
    return format_duration(window_seconds)


def rate_limit_message(limit: int, window_seconds: float, wait_seconds: float) -> str:
    """The 429 message, e.g. `Too Many Requests: Rate limit of 5 requests per hour exceeded. Please wait for 1 hour.`"""
    requests = "request" if limit == 1 else "requests"
    return (
        f"Too Many Requests: Rate limit of {limit} {requests} per {window_phrase(window_seconds)} exceeded. "
        f"Please wait for {format_duration(wait_seconds)}."
    )


def validate_limit(limit: int, window_seconds: float) -> None:
    """Raise ValueError, saying what to change, unless the limit and window are usable."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"rate limit must be a whole number of requests >= 1 (got {limit!r}); to disable it use None")
    if not math.isfinite(window_seconds) or window_seconds <= 0:
        raise ValueError(f"rate-limit window must be a positive number of seconds (got {window_seconds!r})")


class RateLimiter:
    """Thread-safe per-client limiter over `check`, reading time from an injected clock."""

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float]) -> None:
        validate_limit(limit, window_seconds)
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._windows: dict[str, Window] = {}
        self._lock = threading.Lock()

    def hit(self, client: str) -> Verdict:
        """Count one request from `client` and say whether it may pass."""
        with self._lock:
            window, verdict = check(self._windows.get(client), self._clock(), self.limit, self.window_seconds)
            self._windows[client] = window
        return verdict

    def message(self, verdict: Verdict) -> str:
        """The 429 message for a refused request."""
        return rate_limit_message(self.limit, self.window_seconds, verdict.wait_seconds)
