"""The `server` command line: options, the banner with URL and key, and a clean stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from xsoar_local.engine.confine import DEFAULT_TIMEOUT, TIMEOUT_VARIABLE, ConfineError, parse_timeout
from xsoar_local.httpserve import is_loopback
from xsoar_local.runtime import REPO_ROOT
from xsoar_local.server.core import ServerCore
from xsoar_local.server.serve import ServeError, run_server
from xsoar_local.server.state import StateFolderError
from xsoar_local.web import WebApp, make_web_app

DEFAULT_STATE_DIR = REPO_ROOT / ".xsoar-local" / "server"
DEFAULT_PORT = 8080


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="the server's state folder (default .xsoar-local/server)",
    )
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a certificate from a local CA (its path is printed)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a --host that is not a loopback address")
    parser.add_argument(
        "--auth-id",
        default=os.environ.get("XSIAM_AUTH_ID") or "1",
        help="the API key's id for XSOAR 8 clients (x-xdr-auth-id; default $XSIAM_AUTH_ID or 1)",
    )
    parser.add_argument("--cold", action="store_true", help="run each command in a fresh process (no warm workers)")
    parser.add_argument(
        "--timeout",
        type=parse_timeout,
        metavar="SECONDS",
        help=f"stop a command that runs longer (default ${TIMEOUT_VARIABLE}, else {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")


def banner(
    server_url: str, api_key: str, key_source: str, auth_id: str, ca_bundle: Path | None, state_dir: Path
) -> str:
    where = "from DEMISTO_API_KEY" if key_source == "DEMISTO_API_KEY" else f"kept in {key_source}"
    lines = [
        f"Local XSOAR server at {server_url}  (state: {state_dir})",
        f"API key ({where}): {api_key}",
        "",
        "Point demisto-sdk and demisto-py at it:",
        f"  export DEMISTO_BASE_URL={server_url}",
        f"  export DEMISTO_API_KEY={api_key}",
    ]
    if ca_bundle is not None:
        lines += [
            f"  export DEMISTO_VERIFY_SSL=true SSL_CERT_FILE={ca_bundle}",
            f"TLS: the CA certificate is {ca_bundle}",
        ]
    lines += [
        f"XSOAR 8 style (/xsoar paths, x-xdr-auth-id): also export XSIAM_AUTH_ID={auth_id}",
        f"War Room in a browser: {server_url}/?token={api_key}",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make server", description="A local XSOAR server for demisto-sdk and demisto-py."
    )
    add_server_arguments(parser)
    options = parser.parse_args(argv)
    return serve_foreground(options)


def web_war_room(core: ServerCore) -> WebApp:
    """The War Room pages (xsoar_local.web) over this server's core; log-ins are checked against its API key."""
    return make_web_app(core, core.state.api_key(os.environ)[0])


def serve_foreground(options: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if options.verbose else logging.WARNING, format="%(message)s")
    if not is_loopback(options.host) and options.allow_remote:
        print(
            f"WARNING: listening on {options.host}, not loopback: anyone who reaches it with the key can run "
            "commands and read the state.",
            file=sys.stderr,
        )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Before anything is started or printed, so that no Ctrl-C is lost: one during start-up stops the server as
    # soon as it is up. SIGINT explicitly: a shell starts a background job (and CI may start us) with it ignored.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        with run_server(
            options.state_dir,
            host=options.host,
            port=options.port,
            tls=options.tls,
            allow_remote=options.allow_remote,
            warm=not options.cold,
            command_timeout=getattr(options, "timeout", None),
            auth_id=options.auth_id,
            web_app_factory=web_war_room,
        ) as server:
            print(
                banner(
                    server.url, server.api_key, server.key_source, server.auth_id, server.ca_bundle, options.state_dir
                ),
                flush=True,
            )
            while not stop.wait(0.5):
                pass
            print("Stopping: waiting for running commands, then saving.", flush=True)
    except (ServeError, StateFolderError, ConfineError) as error:
        print(f"make server: {error}", file=sys.stderr)
        return 2
    print("Stopped.", flush=True)
    return 0
