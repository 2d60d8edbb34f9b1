"""Serve the API on a Werkzeug threaded server, over HTTP or TLS (a trustme CA), for the length of a `with` block.

with run_server(Path(".xsoar-local/server"), port=0) as server:
    server.url, server.api_key, server.ca_bundle, server.core
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from xsoar_local.engine import executors
from xsoar_local.errors import UsageError
from xsoar_local.httpserve import BoundedServer, ListenError, PlainLogHandler, is_loopback, local_tls
from xsoar_local.server.api import Api, SessionCheck, WSGIApp, make_app
from xsoar_local.server.core import ServerCore
from xsoar_local.server.state import write_atomically

_LOG = logging.getLogger("xsoar_local.server")
CA_FILE_NAME = "local-xsoar-ca.pem"
MAX_CONNECTIONS = 200  # open at once; when full, the connection idle longest is closed
IDLE_SECONDS = 30  # a connection that sends nothing for this long is closed
STOP_SECONDS = 30.0  # how long stopping waits for requests being answered (commands running) before cutting them
MIN_KEY_LENGTH = 16


class ServeError(UsageError):
    """The server cannot start as asked; the message says what to change."""


def check_key(api_key: str, source: str) -> None:
    """Refuse a key anyone could guess: the server runs commands for whoever holds it."""
    if len(api_key) < MIN_KEY_LENGTH:
        raise ServeError(
            f"the API key from {source} is {len(api_key)} characters long; use at least {MIN_KEY_LENGTH} random "
            "characters (e.g. `openssl rand -hex 16`), or unset it and let the server generate and keep one"
        )


@dataclass(frozen=True)
class RunningServer:
    """A running server: its base URL (what DEMISTO_BASE_URL should be), key, auth id and CA file."""

    url: str
    host: str
    port: int
    api_key: str
    key_source: str
    auth_id: str
    ca_bundle: Path | None
    core: ServerCore
    app: Api


class _Handler(PlainLogHandler):
    logger = _LOG
    timeout = IDLE_SECONDS
    keep_alive = True  # demisto-py, demisto-sdk (requests/urllib3 pools) and browsers reuse connections


class _Server(BoundedServer):
    max_connections = MAX_CONNECTIONS
    logger = _LOG


def _tls_context(host: str, folder: Path) -> tuple[ssl.SSLContext, Path]:
    context, ca_pem = local_tls(host)
    ca_bundle = folder / CA_FILE_NAME
    write_atomically(ca_bundle, ca_pem.decode("ascii"), mode=0o644)
    return context, ca_bundle


@contextlib.contextmanager
def run_server(
    state_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    allow_remote: bool = False,
    warm: bool = True,
    command_timeout: float | None = None,
    auth_id: str = "1",
    environ: Mapping[str, str] | None = None,
    engine_env: Mapping[str, str] | None = None,
    web_app_factory: Callable[[ServerCore], WSGIApp] | None = None,
    session_check: SessionCheck | None = None,
    allowed_hosts: Iterable[str] = (),
    max_connections: int = MAX_CONNECTIONS,
) -> Iterator[RunningServer]:
    """Open the state folder, serve until the block exits, then stop workers and free the folder.

    `allowed_hosts`: names besides loopback ones that the Host header may give (with `allow_remote`).
    """
    if not is_loopback(host) and not allow_remote:
        raise ServeError(
            f"{host} is not a loopback address: the local server listens on 127.0.0.1 unless you pass "
            "--allow-remote (anyone who can reach it and knows the key can run commands)"
        )
    if isinstance(port, bool) or not 0 <= int(port) <= 65535:
        raise ServeError(f"--port must be 0 (any free port) to 65535, not {port!r}")
    names = set(allowed_hosts) if allow_remote else set()
    if allow_remote and host not in ("0.0.0.0", "::"):
        names.add(host)
    environ = os.environ if environ is None else environ
    # the time limit: `command_timeout` (--timeout), else XSOAR_LOCAL_TIMEOUT, else the default
    timeout = executors.check_settings(environ, timeout=command_timeout).timeout
    core = ServerCore(state_dir, warm=warm, command_timeout=timeout, engine_env=engine_env)
    with core, contextlib.ExitStack() as restore:
        # Between a server's commands a core is usually idle: its warm workers' spares copy pages ahead there.
        restore.callback(executors.set_prefault_default, executors.set_prefault_default(True))
        api_key, key_source = core.state.api_key(dict(environ))
        check_key(api_key, key_source)
        app = make_app(
            core,
            api_key,
            auth_id=auth_id,
            web_app_factory=web_app_factory,
            session_check=session_check,
            allowed_hosts=names,
        )
        try:
            server = _Server(host, int(port), app, handler=_Handler)
        except ListenError as error:
            raise ServeError(str(error)) from None
        server.max_connections = max_connections
        ca_bundle = None
        if tls:
            context, ca_bundle = _tls_context(host, core.state.folder)
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
            server.ssl_context = context
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="xsoar-server")
        thread.start()
        shown = f"[{host}]" if ":" in host else host
        url = f"{'https' if tls else 'http'}://{shown}:{server.port}"
        try:
            yield RunningServer(url, host, server.port, api_key, key_source, auth_id, ca_bundle, core, app)
        finally:
            server.shutdown()
            thread.join()
            server.server_close()
            cut = server.close_connections(STOP_SECONDS)
            if cut:
                _LOG.warning("stopped %d request(s) still running after %.0f s", cut, STOP_SECONDS)
