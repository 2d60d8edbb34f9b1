"""Fault injection: the spec strings, the Fault model and which faults the next request gets.

Accepted specs (CLI `--fault`, repeatable): `429` or `status=429` (any status 100-599 with its
error envelope), `latency=1.5` (seconds added before answering), `body=not-json` (a 200 with an
HTML body) or `body=empty` (a 200 with no body), `drop` (close the connection without any
response); each optionally followed by `,times=N` so that only the first N requests get it.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["status", "latency", "body", "drop"]
BodyKind = Literal["not-json", "empty"]
BODY_KINDS: tuple[BodyKind, ...] = ("not-json", "empty")

ACCEPTED_FORMS = (
    "accepted fault specs: '429' or 'status=429' (any HTTP status 100-599), 'latency=1.5' (seconds, 0 to 3600), "
    "'body=not-json' or 'body=empty', 'drop'; each may end with ',times=N' (N >= 1) to fault only the first N requests"
)
_STATUS = re.compile(r"^(?:status=)?(\d+)$")
# Longer than any client waits; a larger number (1e308) would overflow the sleep and is surely a typo.
MAX_LATENCY_SECONDS = 3600.0


@dataclass(frozen=True)
class Fault:
    """One injected fault; `times=None` means every request gets it."""

    kind: FaultKind
    status: int | None = None
    latency: float | None = None
    body: BodyKind | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        wanted = {"status": self.status, "latency": self.latency, "body": self.body, "drop": None}
        extras = [name for name, value in wanted.items() if name != self.kind and value is not None]
        if extras:
            raise ValueError(f"a {self.kind!r} fault takes no {', '.join(extras)}; {ACCEPTED_FORMS}")
        if self.kind == "status" and (self.status is None or not 100 <= self.status <= 599):
            raise ValueError(f"a status fault needs a status from 100 to 599 (got {self.status!r}); {ACCEPTED_FORMS}")
        if self.kind == "latency" and (
            self.latency is None or not math.isfinite(self.latency) or not 0 <= self.latency <= MAX_LATENCY_SECONDS
        ):
            raise ValueError(f"a latency fault needs 0 to {MAX_LATENCY_SECONDS:g} seconds (got {self.latency!r})")
        if self.kind == "body" and self.body not in BODY_KINDS:
            raise ValueError(f"a body fault needs one of {', '.join(BODY_KINDS)} (got {self.body!r})")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 (got {self.times!r}); leave it out to fault every request")

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. `status=503,times=2`."""
        if self.kind == "status":
            value = f"status={self.status}"
        elif self.kind == "latency":
            value = f"latency={self.latency:g}"
        else:
            value = "drop" if self.kind == "drop" else f"body={self.body}"
        return value if self.times is None else f"{value},times={self.times}"


def parse_fault(spec: str) -> Fault:
    """Parse a fault spec such as `status=503,times=2`; ValueError lists the accepted forms."""
    head, *options = [part.strip() for part in spec.strip().split(",")]
    times = _parse_times(spec, options)
    key, _, value = head.partition("=")
    status = _STATUS.match(head)
    try:
        if status:
            return Fault("status", status=int(status.group(1)), times=times)
        if head == "drop":
            return Fault("drop", times=times)
        if key == "latency" and value:
            return Fault("latency", latency=_seconds(value), times=times)
        if key == "body" and value in BODY_KINDS:
            return Fault("body", body=value, times=times)
    except ValueError as error:
        raise ValueError(f"invalid fault spec {spec!r}: {error}") from None
    raise ValueError(f"invalid fault spec {spec!r}; {ACCEPTED_FORMS}")


def _parse_times(spec: str, options: list[str]) -> int | None:
    if not options:
        return None
    name, _, value = options[0].partition("=")
    if len(options) > 1 or name != "times" or not value.isdigit() or int(value) < 1:
        raise ValueError(f"invalid fault spec {spec!r}: only ',times=N' (N >= 1) may follow; {ACCEPTED_FORMS}")
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"latency must be a number of seconds, e.g. latency=1.5 (got {value!r})") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_LATENCY_SECONDS:
        raise ValueError(f"latency must be 0 to {MAX_LATENCY_SECONDS:g} seconds, e.g. latency=1.5 (got {value!r})")
    return seconds


class FaultSchedule:
    """Thread-safe: decides which faults each incoming request gets.

    Every active latency fault applies (their delays add up); of the other faults, the first
    still active in the configured order wins. A fault's `times` counts only the requests it
    was actually applied to, so `drop,times=1` then `status=503,times=2` gives drop, 503, 503.
    """

    def __init__(self, faults: tuple[Fault, ...]) -> None:
        self._faults = faults
        self._used = [0] * len(faults)
        self._lock = threading.Lock()

    def next_request(self) -> tuple[Fault, ...]:
        """The faults for the next request, in order: latencies first, then at most one outcome."""
        with self._lock:
            active = [i for i, fault in enumerate(self._faults) if fault.times is None or self._used[i] < fault.times]
            chosen = [i for i in active if self._faults[i].kind == "latency"]
            chosen += [i for i in active if self._faults[i].kind != "latency"][:1]
            for i in chosen:
                self._used[i] += 1
        return tuple(self._faults[i] for i in chosen)
