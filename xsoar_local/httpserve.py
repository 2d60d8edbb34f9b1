"""What every loopback HTTP server of the toolkit shares (the local server, the stand-ins): the request handler,
the loopback check, a bind that fails in one line, and a TLS context from a throw-away local CA.

`BoundedServer` is the local server's: connections are capped (when full, the one idle longest is closed), a
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


class PlainLogHandler(WSGIRequestHandler):
    """Werkzeug's handler with plain log lines to `logger`, and the TLS handshake done under `timeout`.

    Subclasses set `logger` and `timeout`: a client that connects and never speaks must not hold a
    shutdown (which joins handler threads) for longer than that.
    """

    logger: ClassVar[logging.Logger] = logging.getLogger("xsoar_local.http")
    timeout = 60

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # The handshake is deferred out of the accept loop (do_handshake_on_connect=False); do it here.
            self.connection.do_handshake()

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
        return bool(super().parse_request())


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

    A connection is idle from accept until its request line arrives (Werkzeug closes every connection after one
    answer). When `max_connections` are open, a new one closes the connection idle longest (or is itself closed
    when every one is busy), so idle sockets cannot use up the process's file handles.
    """

    daemon_threads = True
    block_on_close = False  # close_connections() joins the handlers, with a deadline
    max_connections = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: dict[Any, tuple[threading.Thread, float | None]] = {}
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self._open_lock:
            if len(self._open) >= self.max_connections:
                idle = [(since, sock) for sock, (_, since) in self._open.items() if since is not None]
                if not idle:
                    self.shutdown_request(request)
                    return
                _, oldest = min(idle, key=lambda item: item[0])
                self._open.pop(oldest)
                _cut(oldest)
            self._open[request] = (thread, time.monotonic())
        thread.start()

    def mark_busy(self, request: Any) -> None:
        with self._open_lock:
            if request in self._open:
                self._open[request] = (self._open[request][0], None)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self, seconds: float) -> int:
        """Close idle connections now, give busy ones `seconds` to answer, then cut them; how many were cut."""
        deadline = time.monotonic() + seconds
        with self._open_lock:
            idle = [sock for sock, (_, since) in self._open.items() if since is not None]
        for sock in idle:
            _cut(sock)
        with self._open_lock:
            busy = dict(self._open)
        for thread, _ in busy.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._open_lock:
            left = list(self._open)
        for sock in left:
            _cut(sock)
        return len(left)


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
