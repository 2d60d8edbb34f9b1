"""What every loopback HTTP server of the toolkit shares (the local server, the stand-ins): the request handler,
the loopback check and a TLS context from a throw-away local CA."""

from __future__ import annotations

import ipaddress
import logging
import ssl
from typing import Any, ClassVar

from werkzeug.serving import WSGIRequestHandler

__all__ = ["PlainLogHandler", "is_loopback", "local_tls"]


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
        self.logger.info('%s - "%s %s" %s', self.address_string(), self.command, self.path, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.WARNING if type == "error" else logging.INFO
        self.logger.log(level, "%s - %s", self.address_string(), message % args if args else message)


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
