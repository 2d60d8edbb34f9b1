"""Side-by-side timing: calls measured in turn, so a busy moment of the machine hits each of them alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from standins.funtranslations.server import RunningService


def interleaved(
    calls: Mapping[str, Callable[[], object]],
    runs: int,
    warm_up: int,
    service: RunningService | None,
    *,
    settle: float = 0.0,
) -> dict[str, list[float]]:
    """Seconds per call of each of `calls`, `runs` times each, in turn, after `warm_up` untimed rounds.

    Every call must reach `service` exactly once (the cache is off); anything else means a call was answered
    some other way and its time is not what the benchmark claims, so it raises. `service` None: calls that reach
    no service (nothing to count).

    `settle`: seconds left between one call and the next, untimed, so that what a call leaves running after its
    answer (a server's work between commands) ends before the next call is timed instead of landing on it.
    """
    for _ in range(warm_up):
        for call in calls.values():
            call()
            _settle(settle)
    if service is not None:
        service.clear_requests()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - started)
            _settle(settle)
    expected = len(calls) * runs
    if service is not None and len(service.requests) != expected:
        raise RuntimeError(f"expected {expected} service requests with the cache off, saw {len(service.requests)}")
    return samples


def _settle(seconds: float) -> None:
    """Let `seconds` pass with the core awake (a sleeping core wakes slower, which would slow the next call) and
    the interpreter free for other threads (a server running in this process's threads finishes its work)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        time.sleep(0)
