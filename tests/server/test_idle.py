"""When the server counts as idle (`executors.ACTIVITY`, which lets a warm worker's waiting process copy its pages):
only once a request's answer is out, never between a command's end and its entry being stored."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.server.support import pack_zip
from xsoar_local.engine.executors import ACTIVITY
from xsoar_local.server.serve import RunningServer, run_server

KEY = "idle-test-key-0123456789abcdef"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    with run_server(tmp_path / "served", environ={"DEMISTO_API_KEY": KEY}, warm=False) as server:
        server.core.upload_pack(pack_zip(), "Probe.zip")
        yield server


@pytest.mark.parametrize(
    ("line", "stored"),
    [
        pytest.param("!ProbeEcho value=first", "echo: first", id="script-command"),
        pytest.param("a note in the War Room", "a note in the War Room", id="note"),
    ],
)
def test_the_server_is_idle_once_per_request_with_its_entry_stored(
    running: RunningServer, line: str, stored: str
) -> None:
    """Given a running server and a listener on the engine's idle signal,
    When a client runs a War Room line through `POST /entry/execute/sync`,
    Then the listener is told once for the request, and by then the line's entry is in the War Room (a command's
    process ending does not make the server idle while it still stores the result and writes the answer)."""
    playground = running.core.playground_id()
    seen: list[list[str]] = []
    told = threading.Event()

    def listener() -> None:
        seen.append([str(entry.get("contents")) for entry in running.core.entries(playground)])
        told.set()

    ACTIVITY.listen(listener)
    try:
        response = requests.post(
            running.url + "/entry/execute/sync",
            json={"investigationId": playground, "data": line},
            headers={"Authorization": KEY},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert told.wait(10), "the server never became idle after the request"
        time.sleep(0.2)  # a second signal for the same request would come now
    finally:
        ACTIVITY.forget(listener)
    assert len(seen) == 1, f"told {len(seen)} times for one request"
    assert stored in seen[0], f"idle before the entry was stored; the War Room held {seen[0]}"


def _wait_for_idle_count(counts: list[int], expected: int) -> None:
    deadline = time.monotonic() + 10
    while len(counts) < expected and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", id="refused-without-key"),
        pytest.param(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", id="public-endpoint"),
        pytest.param(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", id="unknown-path"),
    ],
)
def test_every_request_ends_in_idle_even_when_the_client_hangs_up(running: RunningServer, request_bytes: bytes) -> None:
    """Given a running server and a listener on the engine's idle signal,
    When one client reads its answer and another sends the same request and hangs up at once,
    Then the server is idle after each (an answer refused, or never read, still ends the request's work)."""
    counts: list[int] = []

    def listener() -> None:
        counts.append(1)

    ACTIVITY.listen(listener)
    try:
        with socket.create_connection((running.host, running.port), timeout=30) as client:
            client.sendall(request_bytes)
            assert client.recv(1 << 16).startswith(b"HTTP/1.1 "), "no answer"
        _wait_for_idle_count(counts, 1)
        assert len(counts) == 1, "not idle after an answered request"
        with socket.create_connection((running.host, running.port), timeout=30) as client:
            client.sendall(request_bytes)
        _wait_for_idle_count(counts, 2)
        assert len(counts) == 2, "not idle after a request whose client hung up"
    finally:
        ACTIVITY.forget(listener)
