"""What a warm worker runs once, before its first fork, so that every command's first HTTP request starts warm.

A command's fork runs the HTTP client code of its integration (requests, urllib3, http.client and the email
parser under it, json both ways) for the first time in that process. CPython adapts each function's bytecode to
the types it meets only after a function has run a few times, and libraries fill caches on first use (protocol
and ABC checks, parsed URL pieces, header classes); a fresh fork would redo that work, and write the pages it
changes, on every command. So the worker rehearses: it builds a request without sending it, then sends a few
real requests with `requests` to a listener of its own on the loopback address, and reads the answers. After
that each fork starts from a worker whose client code has run.

Nothing of the rehearsal is kept: sessions, pools, the listener and its thread are closed before the worker
forks, no environment setting (proxies, `.netrc`) is read by the requests sent, and nothing leaves the machine.
Every step is only a help: any failure ends the rehearsal and the worker serves as before.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Final

ROUNDS: Final = 12  # enough for CPython to adapt the functions each request runs (it does so after a few runs)
_TIMEOUT: Final = 2.0  # seconds: a rehearsal that stalls is given up, it never holds the worker's start
_ANSWER: Final = json.dumps({"status": "ok", "data": {"items": [{"id": 1, "name": "rehearsal"}], "total": 1}}).encode()


def warm_requests() -> bool:
    """Build one request with requests and its connection pool, without sending anything, so the process-wide
    caches they fill on first use (ABC and typing protocol checks, parsed URL pieces) are already filled in
    every fork. Nothing of it is kept: the session and pool are closed, no environment value is stored."""
    try:
        import requests
        from requests.adapters import HTTPAdapter
    except ImportError:
        return False
    with requests.Session() as session, contextlib.closing(HTTPAdapter()) as adapter:
        request = requests.Request(
            "POST", "http://127.0.0.1/warm-up", params={"q": "1"}, json={"text": "x"}, headers={"Accept": "*/*"}
        )
        prepared = session.prepare_request(request)
        with contextlib.suppress(Exception):  # older requests lack this method; the warm-up is only a help
            adapter.get_connection_with_tls_context(prepared, verify=True)
        # What Session.request does with the settings before sending: its Mapping checks walk every subclass
        # of Mapping once per type (thousands once CommonServerPython is loaded) unless cached here.
        with contextlib.suppress(Exception):
            session.merge_environment_settings(prepared.url, {}, None, None, None)
            session.merge_environment_settings(prepared.url, {"http": ""}, False, True, None)
    return True


def _answer(listener: socket.socket, rounds: int) -> None:
    """Answer `rounds` requests on `listener`, one connection each, with a small JSON body (as an API would)."""
    with contextlib.suppress(OSError):
        for _ in range(rounds):
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(_TIMEOUT)
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                head, _, body = received.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(body) < length and (chunk := connection.recv(65536)):
                    body += chunk
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(_ANSWER)}\r\n\r\n".encode()
                    + _ANSWER
                )


def rehearse_requests(rounds: int = ROUNDS) -> int:
    """Send `rounds` requests with `requests` to a listener of this process on loopback, alternating a form POST
    and a GET with a query, and read each JSON answer. Returns how many answers came back (0: `requests` is not
    installed or the loopback address is not usable)."""
    try:
        import requests
    except ImportError:
        return 0
    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return 0
    answered = 0
    with listener:
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(rounds)
            listener.settimeout(_TIMEOUT)
        except OSError:
            return 0
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1/rehearsal"
        server = threading.Thread(target=_answer, args=(listener, rounds), name="rehearsal", daemon=True)
        server.start()
        with contextlib.suppress(Exception):
            for turn in range(rounds):
                with requests.Session() as session:
                    session.trust_env = False  # no proxy, no .netrc: the request stays on loopback
                    if turn % 2:
                        response = session.get(url, params={"query": "warm up"}, timeout=_TIMEOUT)
                    else:
                        response = session.post(url, data={"query": "warm up"}, timeout=_TIMEOUT)
                    response.json()
                    answered += 1
        listener.close()  # a stalled rehearsal: the thread's accept fails now
        server.join(_TIMEOUT)
    return answered
