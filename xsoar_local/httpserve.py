"""What every loopback HTTP server of the toolkit shares (the local server, the stand-ins): the request handler,
the loopback check, a bind that fails in one line, and a TLS context from a throw-away local CA.

`BoundedServer` is the server of both: connections are capped (when full, the one idle longest is closed), a
connection that sends no request within `timeout` is closed, and stopping never waits on a client.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from typing import Any, ClassVar

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from xsoar_local.errors import UsageError

__all__ = ["BoundedServer", "ExplainedBind", "ListenError", "PlainLogHandler", "is_loopback", "local_tls", "mask_query"]

_QUERY = re.compile(r"\?[^\s\"']*")


class ListenError(UsageError):
    """The server cannot listen on the address asked for (a port in use, an address not of this machine)."""


def mask_query(text: str) -> str:
    """`text` with every query string hidden: a login code or key a client put in a URL stays out of logs."""
    return _QUERY.sub("?<query hidden>", text)


class _RequestInput:
    """A connection's input as one request at a time sees it. Werkzeug, which closes every connection after one
    answer, reads whatever is left on the socket after each answer and discards it; on a connection kept open
    that would be the client's next request. Once the current request's body has been read whole and its answer
    begun (`end`), reads give nothing until the next request begins."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._body_left: int | None = None  # bytes of the body not read yet; None: the head is being read
        self._ended = False

    def begin(self) -> None:
        """A new request: its line and headers come next."""
        self._body_left, self._ended = None, False

    def expect_body(self, length: int) -> None:
        self._body_left = length

    @property
    def body_read(self) -> bool:
        return self._body_left == 0

    def end(self) -> None:
        self._ended = True

    def _took(self, data: bytes) -> bytes:
        if self._body_left is not None:
            self._body_left = max(0, self._body_left - len(data))
        return data

    def read(self, size: int | None = -1) -> bytes:
        return b"" if self._ended else self._took(self._stream.read(size))

    def read1(self, size: int = -1) -> bytes:
        return b"" if self._ended else self._took(self._stream.read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        return b"" if self._ended else self._took(self._stream.readline(size))

    def readinto(self, buffer: Any) -> int:
        if self._ended:
            return 0
        count = int(self._stream.readinto(buffer) or 0)
        if self._body_left is not None:
            self._body_left = max(0, self._body_left - count)
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class PlainLogHandler(WSGIRequestHandler):
    """Werkzeug's handler with plain log lines to `logger`, and the TLS handshake done under `timeout`.

    Subclasses set `logger` and `timeout`: a client that connects and never speaks must not hold a
    shutdown (which joins handler threads) for longer than that. With `keep_alive`, an HTTP/1.1 connection
    stays open for the client's next request when the request's body was read whole (else it is closed after
    the answer, as before: what was not read is drained and discarded); small answers then leave at once
    (TCP_NODELAY), and the connection counts as idle between requests.
    """

    logger: ClassVar[logging.Logger] = logging.getLogger("xsoar_local.http")
    timeout = 60
    keep_alive: ClassVar[bool] = False

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # The handshake is deferred out of the accept loop (do_handshake_on_connect=False); do it here.
            self.connection.do_handshake()
        if self.keep_alive:
            self.protocol_version = "HTTP/1.1"
            with contextlib.suppress(OSError):  # not a TCP socket
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.rfile = _RequestInput(self.rfile)  # type: ignore[assignment]

    def handle_one_request(self) -> None:
        if isinstance(self.rfile, _RequestInput):
            self.rfile.begin()
        super().handle_one_request()
        mark = getattr(self.server, "mark_idle", None)
        if mark is not None and not self.close_connection:
            mark(self.request)  # answered: idle until the next request line

    def send_header(self, keyword: str, value: str) -> None:
        # Werkzeug asks to close after every answer: kept open when the client did not ask to close and the
        # request's body was read whole; its leftover-draining then reads nothing of the next request.
        closing = keyword.lower() == "connection" and value.lower() == "close"
        if closing and isinstance(self.rfile, _RequestInput) and not self.close_connection and self.rfile.body_read:
            self.rfile.end()
            return
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Werkzeug's own access line is ANSI-coloured; a plain one reads better in files and test output.
        self.logger.info('%s - "%s %s" %s', self.address_string(), self.command, mask_query(self.path), code)

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.WARNING if type == "error" else logging.INFO
        text = mask_query(message % args if args else message)
        self.logger.log(level, "%s - %s", self.address_string(), text)

    def parse_request(self) -> bool:
        # The request line has arrived: from here on the connection is busy, not idle.
        mark = getattr(self.server, "mark_busy", None)
        if mark is not None:
            mark(self.request)
        parsed = bool(super().parse_request())
        if parsed and isinstance(self.rfile, _RequestInput):
            length = self.headers.get("Content-Length", "0").strip()
            if "Transfer-Encoding" in self.headers or not length.isdigit():
                self.close_connection = True  # a body whose end this handler cannot tell: closed after the answer
            else:
                self.rfile.expect_body(int(length))
        return parsed


class ExplainedBind(ThreadedWSGIServer):
    """A failed bind raises ListenError with one line to show (Werkzeug prints lines of its own and exits)."""

    def server_bind(self) -> None:
        # Werkzeug prints its own lines and exits when the bind fails; one line from the command is enough.
        try:
            super().server_bind()
        except OSError as error:
            address = self.server_address
            host, port = (address[0], address[1]) if isinstance(address, tuple) else (str(address), "")
            if isinstance(host, bytes):
                host = host.decode()
            raise ListenError(
                f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port (0 = any free)"
            ) from None


class BoundedServer(ExplainedBind):
    """Werkzeug's threaded server with a cap on connections and a stop that no client can hold up.

    A connection is idle from accept until its request line arrives, and again after each answer when it is kept
    open (`PlainLogHandler.keep_alive`). When `max_connections` are open, a new one closes the connection idle
    longest (or is itself closed when every one is busy), so idle sockets cannot use up the process's file
    handles.
    """

    daemon_threads = True
    block_on_close = False  # close_connections() joins the handlers, with a deadline
    max_connections = 200
    STOP_POLL = 0.02  # seconds between two looks at the connections while stopping
    STOP_GRACE = 0.5  # seconds a cut connection's handler is given to end, past the deadline if need be
    logger: ClassVar[logging.Logger] = logging.getLogger("xsoar_local.http")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: dict[Any, tuple[threading.Thread, float | None]] = {}
        # every handler not known to have ended: one leaves `_open` (shutdown_request) a moment before it ends
        self._handlers: set[threading.Thread] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self._open_lock:
            full = len(self._open) >= self.max_connections
            idle = [(since, sock) for sock, (_, since) in self._open.items() if since is not None] if full else []
            if not full or idle:
                if idle:
                    _, oldest = min(idle, key=lambda item: item[0])
                    self._open.pop(oldest)
                    _cut(oldest)
                self._open[request] = (thread, time.monotonic())
                self._handlers = {handler for handler in self._handlers if handler.is_alive()}
                self._handlers.add(thread)
        if full and not idle:  # every connection is busy: this one is closed (outside the lock it takes itself)
            self.shutdown_request(request)
            return
        thread.start()

    def mark_idle(self, request: Any) -> None:
        """An answered request on a connection kept open: idle until the next request line."""
        with self._open_lock:
            if request in self._open:
                self._open[request] = (self._open[request][0], time.monotonic())

    def mark_busy(self, request: Any) -> None:
        with self._open_lock:
            if request in self._open:
                self._open[request] = (self._open[request][0], None)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self, seconds: float) -> int:
        """Close idle connections now, give busy ones `seconds` to answer, then cut them; how many were cut.

        A connection whose answer is out turns idle a moment later (its handler finishes with the answer first):
        while waiting, any connection that has turned idle is closed too, so none is waited on for nothing."""
        deadline = time.monotonic() + seconds
        while True:
            with self._open_lock:
                idle = [sock for sock, (_, since) in self._open.items() if since is not None]
                busy = [thread for thread, since in self._open.values() if since is None]
            for sock in idle:
                _cut(sock)  # its handler wakes, closes the connection and ends
            if not busy or time.monotonic() >= deadline:
                break
            busy[0].join(min(self.STOP_POLL, max(0.0, deadline - time.monotonic())))
        with self._open_lock:
            left = [sock for sock, (_, since) in self._open.items() if since is None]
        for sock in left:
            _cut(sock)
        with self._open_lock:
            handlers = set(self._handlers)
        ended_by = max(deadline, time.monotonic() + self.STOP_GRACE)
        for thread in handlers:  # the cut ones, and those closing their connection as this began
            thread.join(max(0.0, ended_by - time.monotonic()))
        return len(left)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that drops its connection mid-answer is routine on loopback, not a traceback on stderr
        self.logger.debug("connection from %s failed", client_address, exc_info=True)


def _cut(sock: Any) -> None:
    """Wake the handler blocked on this connection (it then ends); the handler closes the socket itself."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_tls(host: str) -> tuple[ssl.SSLContext, bytes]:
    """A server context with a certificate for `host` and localhost, and the PEM of the new CA that signed it."""
    import trustme  # only for TLS: it imports most of cryptography, which a plain-HTTP stand-in never needs

    authority = trustme.CA()
    certificate = authority.issue_cert(*sorted({host, "127.0.0.1", "localhost"}))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    return context, authority.cert_pem.bytes()
