"""Connections kept open (HTTP/1.1 keep-alive): what demisto-py, demisto-sdk and browsers do with their connection
pools. A connection serves request after request while each body is read whole; the leftovers of a body the
server did not read never turn into a request; a kept connection counts as idle between requests."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.httpserve import BoundedServer, PlainLogHandler
from xsoar_local.server.serve import RunningServer, run_server

KEY = "keep-alive-test-key-0123456789"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    with run_server(tmp_path / "served", environ={"DEMISTO_API_KEY": KEY}, warm=False, max_connections=2) as server:
        yield server


def _connection(server: RunningServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=30)


def _read_answers(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """`count` HTTP answers read from `sock` in order: each one's status and its Content-Length body."""
    reader = sock.makefile("rb")
    answers = []
    for _ in range(count):
        status = int(reader.readline().split()[1])
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answers.append((status, reader.read(length)))
    return answers


def _about_when_there_is_room(server: RunningServer, never: str) -> int:
    """The status of `GET /about` from a new client, trying again (10 s at most) while the server turns new
    connections away because every one it holds is busy; fails the test with `never` when it keeps doing so."""
    deadline = time.monotonic() + 10
    while True:
        client = _connection(server)
        try:
            client.request("GET", "/about", headers={"Authorization": KEY})
            return client.getresponse().status
        except (ConnectionError, http.client.RemoteDisconnected):
            assert time.monotonic() < deadline, never
            time.sleep(0.05)
        finally:
            client.close()


def test_one_connection_serves_request_after_request(running: RunningServer) -> None:
    """Given a client with one HTTP/1.1 connection (as a connection pool keeps)
    When it sends a GET, a POST with a JSON body, and another GET
    Then each is answered on that same connection, which the server leaves open"""
    connection = _connection(running)
    investigation = running.core.playground_id()
    requests_made = [
        ("GET", "/about", None),
        ("POST", "/entry/execute/sync", f'{{"investigationId": "{investigation}", "data": "a note"}}'),
        ("GET", "/about", None),
    ]
    sockets = []
    for method, path, body in requests_made:
        headers = {"Authorization": KEY, "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, f"{method} {path}: {response.status}"
        assert not response.will_close, f"{method} {path}: the server closed the connection (Connection: close)"
        sockets.append(connection.sock)
    assert sockets[0] is not None, "the connection was closed"
    assert all(sock is sockets[0] for sock in sockets), "a new connection was opened"


def test_requests_sent_back_to_back_are_each_answered(running: RunningServer) -> None:
    """Given two requests written at once on one connection, the first with a body (pipelined)
    When the server answers the first
    Then the second is still read as a request and answered: nothing of it is discarded as the first's leftovers"""
    body = f'{{"investigationId": "{running.core.playground_id()}", "data": "first"}}'.encode()
    first = (
        b"POST /entry/execute/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    second = f"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {KEY}\r\n\r\n".encode()
    with socket.create_connection((running.host, running.port), timeout=30) as sock:
        sock.sendall(first + second)
        answers = _read_answers(sock, 2)
    assert [status for status, _ in answers] == [200, 200], f"answers: {answers}"
    assert b'"first"' in answers[0][1], answers[0]
    assert b"demistoVersion" in answers[1][1], answers[1]


@pytest.mark.parametrize(
    ("start", "why"),
    [
        pytest.param(
            "GET /about HTTP/1.1\r\nConnection: close", "the client asked to close", id="client-asks-to-close"
        ),
        pytest.param(
            "POST /incidents/search HTTP/1.1\r\nContent-Length: 99999999",
            "the body was not read (413)",
            id="unread-body",
        ),
    ],
)
def test_the_connection_is_closed_after_the_answer_when(running: RunningServer, start: str, why: str) -> None:
    """Given a request that asks to close, or whose body the server refuses without reading it
    When it is answered
    Then the answer says Connection: close and the server closes the connection"""
    request = f"{start}\r\nHost: 127.0.0.1\r\nAuthorization: {KEY}\r\n\r\n"
    with socket.create_connection((running.host, running.port), timeout=30) as sock:
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    header_block = received.split(b"\r\n\r\n", 1)[0].lower()
    assert b"connection: close" in header_block, f"{why}: {received[:300]!r}"


def test_a_kept_connection_counts_as_idle_between_requests(running: RunningServer) -> None:
    """Given a server allowing 2 connections: one kept open after its answer, one in the middle of a request
    When a third client makes a request
    Then it is answered: the kept connection was idle, so it was the one closed to make room"""
    kept = _connection(running)
    kept.request("GET", "/about", headers={"Authorization": KEY})
    kept.getresponse().read()
    with socket.create_connection((running.host, running.port), timeout=30) as busy:
        busy.sendall(b"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Unfinished: ")  # headers never end
        # The kept connection turns idle once the server has finished with its answer (just after the client
        # has it): until then a new client finds every connection busy and is turned away, so it tries again.
        status = _about_when_there_is_room(running, "the kept connection never counted as idle: no room was made")
        assert status == 200, status


def test_a_client_finding_every_connection_busy_is_turned_away_and_the_server_goes_on(
    running: RunningServer,
) -> None:
    """Given a server allowing 2 connections, both in the middle of a request
    When a third client connects
    Then it is closed at once (not left hanging, and the server does not lock up), and once one of the busy
    clients leaves, a new client is answered"""
    first = socket.create_connection((running.host, running.port), timeout=30)
    second = socket.create_connection((running.host, running.port), timeout=30)
    try:
        for busy in (first, second):
            busy.sendall(b"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Unfinished: ")
        time.sleep(0.5)  # both request lines have been read by now: both connections are busy
        with socket.create_connection((running.host, running.port), timeout=30) as turned_away:
            assert turned_away.recv(1) == b"", "the third connection was not closed"
    finally:
        first.close()
    status = _about_when_there_is_room(running, "no client was answered after a busy one left")
    second.close()
    assert status == 200, status


class _SlowClose:
    """A WSGI body whose `close()` (called by the server after the answer is written) takes a while: the moment
    between an answer going out and its connection counting as idle again, made long enough to stop the server in."""

    def __init__(self, body: bytes, closing: threading.Event) -> None:
        self._body = body
        self._closing = closing

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        self._closing.set()
        time.sleep(0.3)


class _KeepAliveHandler(PlainLogHandler):
    keep_alive = True
    timeout = 60  # a silent kept connection would hold its handler this long if nothing cut it


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], BoundedServer]]:
    """Serve a WSGI app with keep-alive on a free loopback port; any server still serving is stopped at the end."""
    started: list[BoundedServer] = []

    def start(app: Any) -> BoundedServer:
        server = BoundedServer("127.0.0.1", 0, app, handler=_KeepAliveHandler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        _stop(server, 0)


def _stop(server: BoundedServer, seconds: float) -> int:
    """Stop as the local server does (no new connections, then the open ones); how many were cut as running."""
    server.shutdown()  # returns once serve_forever has ended (at once if it already had)
    server.server_close()
    return server.close_connections(seconds)


def test_a_stop_right_after_an_answer_does_not_wait_for_the_kept_connection(
    serve_app: Callable[[Any], BoundedServer],
) -> None:
    """Given a server with keep-alive whose last answer is out but whose connection has not turned idle yet
    When the server stops at that moment, allowing busy requests 2 s
    Then the stop closes the connection once it turns idle instead of waiting it out as a running request:
    nothing counts as still running, and no handler thread is left"""
    closing = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> _SlowClose:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return _SlowClose(b"ok", closing)

    server = serve_app(app)
    threads_before = set(threading.enumerate())
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        client.request("GET", "/")
        response = client.getresponse()
        assert response.read() == b"ok"
        assert not response.will_close, "the connection was not kept open: the test proves nothing"
        assert closing.wait(10), "the server never closed the answer's body"
        cut = _stop(server, 2)
    finally:
        client.close()
    assert cut == 0, f"{cut} idle connection(s) waited on until the deadline and counted as requests still running"
    left = {thread for thread in set(threading.enumerate()) - threads_before if thread.is_alive()}
    assert not left, f"handler threads left running: {left}"


def test_a_stop_waits_for_a_request_being_answered_only_as_long_as_allowed(
    serve_app: Callable[[Any], BoundedServer],
) -> None:
    """Given a server whose one request is still being answered (its application has not returned)
    When the server stops allowing busy requests 0.5 s
    Then the stop gives up on it and counts it as a request still running"""
    release = threading.Event()
    entered = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(30)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = serve_app(app)
    client = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert entered.wait(10), "the request never reached the application"
        cut = _stop(server, 0.5)
    finally:
        release.set()
        client.close()
    assert cut == 1, f"{cut} request(s) counted as still running, expected the one being answered"
