"""Fixtures for the FunTranslations-compatible service: a hand-moved clock and services that stop after each test."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from standins.funtranslations.server import RunningService, ServiceConfig, serve


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


StartService = Callable[..., RunningService]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start_service(clock: FakeClock) -> Iterator[StartService]:
    """Start a service with ServiceConfig overrides (the fake clock by default); all stop when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> RunningService:
            overrides.setdefault("clock", clock)
            return stack.enter_context(serve(ServiceConfig(**overrides)))

        yield start
