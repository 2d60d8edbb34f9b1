"""Run the service on loopback in a background thread, over HTTP or TLS, for the length of a `with` block.

    with serve(ServiceConfig(rate_limit=5, window_seconds=3600, tls=True)) as svc:
        requests.post(svc.url + "yoda", data={"text": "..."}, verify=str(svc.ca_bundle))

On exit the listening socket is closed, idle connections are cut at once, requests being answered get half a
second (a latency fault wakes up early) before they are cut too, so no client, however slow, holds the stop;
then the generated CA file is removed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from standins.funtranslations.app import RecordedRequest, RequestLog, TranslationService
from standins.funtranslations.faults import Fault
from standins.funtranslations.ratelimit import RateLimiter, validate_limit
from xsoar_local.httpserve import BoundedServer, ListenError, PlainLogHandler, is_loopback, local_tls

__all__ = ["RecordedRequest", "RunningService", "ServiceConfig", "serve"]

_LOG = logging.getLogger("standins.funtranslations")


@dataclass(frozen=True)
class ServiceConfig:
    """How to run the service. `rate_limit=None` turns the limit off; keys in `paid_keys` are never limited.

    A key sent in `X-Funtranslations-Api-Secret` that is in neither `paid_keys` nor `known_keys`
    gets 401. Requests without a key are limited per client IP, known keys per key. `clock`
    (seconds, monotonic) drives the rate-limit windows, so tests can move time by hand.
    """

    rate_limit: int | None = 5
    window_seconds: float = 3600.0
    paid_keys: frozenset[str] = frozenset()
    known_keys: frozenset[str] = frozenset()
    faults: tuple[Fault, ...] = ()
    tls: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Accept any iterable of keys or faults, but store the immutable forms.
        object.__setattr__(self, "paid_keys", frozenset(self.paid_keys))
        object.__setattr__(self, "known_keys", frozenset(self.known_keys))
        object.__setattr__(self, "faults", tuple(self.faults))
        if self.rate_limit is not None:
            validate_limit(self.rate_limit, self.window_seconds)
        elif not math.isfinite(self.window_seconds) or self.window_seconds <= 0:
            raise ValueError(f"window_seconds must be a positive number of seconds (got {self.window_seconds!r})")
        if not is_loopback(self.host):
            raise ValueError(f"host must be a loopback address such as 127.0.0.1 (got {self.host!r}): offline only")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0 (any free port) to 65535 (got {self.port!r})")
        for key in self.paid_keys | self.known_keys:
            if not isinstance(key, str) or not key.strip() or key != key.strip():
                raise ValueError(f"API keys must be non-empty strings without surrounding spaces (got {key!r})")
        for fault in self.faults:
            if not isinstance(fault, Fault):
                raise ValueError(f"faults must be Fault objects; turn {fault!r} into one with parse_fault()")


@dataclass(frozen=True)
class RunningService:
    """A running service: `url` is the API base (`.../translate/`) for the integration's `url` parameter."""

    url: str
    base_url: str
    host: str
    port: int
    ca_bundle: Path | None
    config: ServiceConfig
    _log: RequestLog = field(repr=False)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request seen so far, faulted and dropped ones included."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Forget the requests seen so far."""
        self._log.clear()


class _Handler(PlainLogHandler):
    logger = _LOG
    # A client that connects and never speaks must not hold shutdown (which joins handlers) forever.
    timeout = 10


# How long stopping may give requests being answered (a latency fault wakes at once): then they are cut, and
# their handlers get the server's grace to end, so no client holds the stop for much more than a second.
STOP_SECONDS = 0.5


class _Server(BoundedServer):
    logger = _LOG


@contextlib.contextmanager
def serve(config: ServiceConfig | None = None) -> Iterator[RunningService]:
    """Serve until the block exits; port 0 picks a free port."""
    config = config or ServiceConfig()
    stopping = threading.Event()
    log = RequestLog()
    limiter = None if config.rate_limit is None else RateLimiter(config.rate_limit, config.window_seconds, config.clock)
    app = TranslationService(
        limiter=limiter,
        paid_keys=config.paid_keys,
        known_keys=config.known_keys,
        faults=config.faults,
        wait=stopping.wait,
        log=log,
    )
    with contextlib.ExitStack() as cleanup:
        ca_bundle = None
        context = None
        if config.tls:
            folder = Path(tempfile.mkdtemp(prefix="funtranslations-tls-"))
            cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
            context, ca_bundle = _tls_context(config.host, folder)
        server = _bind(config, app)
        if context is not None:
            # Wrapped here, not by Werkzeug, so the handshake runs in the handler thread.
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
            server.ssl_context = context
        # shutdown() waits for the loop's next poll, and `make run` stops its embedded service on its way out:
        # a short interval keeps that wait out of every run (an idle poll costs microseconds).
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.005}, name=f"funtranslations:{server.port}"
        )
        thread.start()
        host = f"[{config.host}]" if ":" in config.host else config.host
        base_url = f"{'https' if config.tls else 'http'}://{host}:{server.port}"
        try:
            yield RunningService(f"{base_url}/translate/", base_url, config.host, server.port, ca_bundle, config, log)
        finally:
            stopping.set()
            server.shutdown()  # serve_forever then closes the listening socket
            thread.join()
            server.close_connections(STOP_SECONDS)  # and no client, however slow, holds the stop


def _bind(config: ServiceConfig, app: TranslationService) -> _Server:
    try:
        return _Server(config.host, config.port, app, handler=_Handler)
    except ListenError as error:
        raise OSError(str(error)) from None


def _tls_context(host: str, folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for `host` and localhost, and the PEM file of the CA that signed it."""
    context, ca_pem = local_tls(host)
    ca_bundle = folder / "funtranslations-ca.pem"
    ca_bundle.write_bytes(ca_pem)
    return context, ca_bundle
