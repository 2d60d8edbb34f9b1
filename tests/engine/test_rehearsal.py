"""A warm worker's rehearsal (`executors.rehearsal`): real requests on loopback before its first fork, which must
stay on loopback whatever the environment says and leave nothing behind for the forks to inherit."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from xsoar_local.engine.executors.rehearsal import rehearse_requests


def _open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _closed_port() -> int:
    """A loopback port nothing listens on (bound and released: no server answers there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("rounds", [pytest.param(1, id="one-round"), pytest.param(5, id="five-rounds")])
def test_every_round_is_answered_and_nothing_is_left_open(rounds: int) -> None:
    """Given a process about to fork its commands
    When it rehearses `rounds` requests
    Then each one got its answer, and no thread, socket or file it opened is still open afterwards"""
    threads = threading.active_count()
    descriptors = _open_descriptors()
    answered = rehearse_requests(rounds)
    assert answered == rounds, f"{answered} of {rounds} rehearsed requests were answered"
    assert threading.active_count() == threads, "the rehearsal left a thread running (a fork would not have it)"
    left = _open_descriptors() - descriptors
    assert not left, f"the rehearsal left descriptors open: {sorted(left)}"


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_in_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """Given a proxy setting in the worker's environment that points at a closed port (and no NO_PROXY)
    When the worker rehearses
    Then the requests still reach its own listener: the rehearsal reads no proxy (nor .netrc) settings"""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, f"http://127.0.0.1:{_closed_port()}")
    assert rehearse_requests(2) == 2, f"the rehearsal went through {variable}"
