"""The stand-in stays stoppable and bounded whatever clients do: signals, huge bodies, endless requests."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from standins.funtranslations.app import (
    MAX_BODY_BYTES,
    MAX_LOG_ENTRIES,
    MAX_LOGGED_VALUE,
    RecordedRequest,
    RequestLog,
)
from standins.funtranslations.server import ServiceConfig, serve

REPO_ROOT = Path(__file__).resolve().parents[3]


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def _silent_after_a_partial_request(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"POST /translate/yoda HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
    return connection


def _trickling_a_body(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(
        b"POST /translate/yoda HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 1000\r\n\r\ntext=a"
    )
    return connection


def _held_by_latency(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"POST /translate/yoda HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 6\r\n\r\ntext=a")
    return connection


CLIENTS: dict[str, Callable[[int], socket.socket]] = {
    "silent-after-partial-headers": _silent_after_a_partial_request,
    "trickling-a-body": _trickling_a_body,
    "held-by-a-latency-fault": _held_by_latency,
}


@pytest.fixture
def service_process() -> Iterator[Callable[..., tuple[subprocess.Popen[str], int]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], int]:
        process = subprocess.Popen(
            [sys.executable, "-m", "standins.funtranslations", *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Started as a shell starts a `&` job, with SIGINT ignored: the service must still stop on it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        started.append(process)
        assert process.stdout is not None
        return process, _port(process.stdout.readline().strip())

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize(
    "signum", [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]
)
@pytest.mark.parametrize("client", [pytest.param(name, id=name) for name in CLIENTS])
def test_the_service_stops_within_2_seconds_of_a_signal_whatever_clients_do(
    service_process: Callable[..., tuple[subprocess.Popen[str], int]], signum: signal.Signals, client: str
) -> None:
    """Given the stand-in with a client holding a connection (silent, trickling, or waiting on a 600 s latency),
    When it gets SIGTERM or SIGINT, Then it exits 0 within 2 s, without a traceback."""
    process, port = service_process("--fault", "latency=600")
    connection = CLIENTS[client](port)
    time.sleep(0.3)  # the handler thread has taken the connection
    started = time.monotonic()
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=10)
    finally:
        connection.close()
    elapsed = time.monotonic() - started
    assert elapsed < 2, f"the service took {elapsed:.1f} s to stop"
    assert process.returncode == 0, f"exit status {process.returncode}: {stderr}"
    assert "Traceback" not in stderr, stderr


def test_a_body_over_the_limit_gets_413_in_the_error_envelope() -> None:
    """Given the stand-in, When a client posts a 10 MB body, Then 413 in the API's envelope, the body unread."""
    with serve(ServiceConfig(rate_limit=None)) as service:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        connection.putrequest("POST", "/translate/yoda")
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(10 * 1024 * 1024))
        connection.endheaders(b"text=" + b"a" * 1000)
        response = connection.getresponse()
        document = json.loads(response.read())
        connection.close()
        recorded = service.requests
    assert response.status == 413, response.status
    assert document["error"]["code"] == 413, document
    assert str(MAX_BODY_BYTES) in document["error"]["message"], document
    assert [request.status for request in recorded] == [413], "the refused request is logged, without its body"


def test_the_request_log_keeps_the_latest_entries_only_and_clips_bodies() -> None:
    """Given more requests than the log holds, each with a long text, When logged,
    Then only the latest MAX_LOG_ENTRIES stay and each logged text is clipped."""
    log = RequestLog()
    for number in range(MAX_LOG_ENTRIES + 500):
        log.append(RecordedRequest("POST", "/translate/yoda", {}, {}, {"n": str(number)}, "127.0.0.1", 200))
    entries = log.snapshot()
    assert len(entries) == MAX_LOG_ENTRIES, len(entries)
    assert entries[0].body == {"n": "500"}, "the oldest entries are dropped first"
    with serve(ServiceConfig(rate_limit=None)) as service:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        body = b"text=" + b"b" * (MAX_BODY_BYTES - 100)
        connection.request("POST", "/translate/yoda", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert connection.getresponse().status == 200
        connection.close()
        logged = service.requests[0].body["text"]
    assert len(logged) < MAX_LOGGED_VALUE + 100, f"a {len(logged)}-character text was kept whole in the log"
