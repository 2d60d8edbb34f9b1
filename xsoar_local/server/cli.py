"""The `server` command: the banner with URL and key, and a clean stop on Ctrl-C or SIGTERM.

Its flags are defined in `xsoar_local.cli_args`; `xsoar_local.cli.main` runs it and maps what stops it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from xsoar_local.exitstatus import ExitStatus
from xsoar_local.httpserve import is_loopback
from xsoar_local.server.core import ServerCore
from xsoar_local.server.serve import RunningServer, run_server
from xsoar_local.web import WebApp, make_web_app


def banner(
    server_url: str,
    api_key: str,
    key_source: str,
    auth_id: str,
    ca_bundle: Path | None,
    state_dir: Path,
    login_link: str | None = None,
) -> str:
    """What the server prints when it is up. A key from the environment is never printed: it may be a real
    server's key (set for `make upload`), and the shell that set it has it already."""
    from_environment = key_source == "DEMISTO_API_KEY"
    lines = [
        f"Local XSOAR server at {server_url}  (state: {state_dir})",
        "API key: from DEMISTO_API_KEY (not shown)"
        if from_environment
        else f"API key (kept in {key_source}): {api_key}",
        "",
        "Point demisto-sdk and demisto-py at it:",
        f"  export DEMISTO_BASE_URL={server_url}",
    ]
    if not from_environment:
        lines.append(f"  export DEMISTO_API_KEY={api_key}")
    if ca_bundle is not None:
        lines += [
            f"  export DEMISTO_VERIFY_SSL=true SSL_CERT_FILE={ca_bundle}",
            f"TLS: the CA certificate is {ca_bundle}",
        ]
    lines.append(f"XSOAR 8 style (/xsoar paths, x-xdr-auth-id): also export XSIAM_AUTH_ID={auth_id}")
    if login_link:
        lines.append(f"War Room in a browser (this link logs in once, within 10 minutes): {login_link}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def web_war_room(core: ServerCore) -> WebApp:
    """The War Room pages (xsoar_local.web) over this server's core; log-ins are checked against its API key, and
    the fresh log-in links the page makes are printed here."""
    return make_web_app(core, core.state.api_key(os.environ)[0], announce=lambda line: print(line, flush=True))


def login_link(server: RunningServer) -> str | None:
    """A one-time log-in link for the War Room, when the server has one mounted."""
    web = server.app.web_app
    return web.login_link(server.url) if isinstance(web, WebApp) else None


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
    with run_server(
        options.state_dir,
        host=options.host,
        port=options.port,
        tls=options.tls,
        allow_remote=options.allow_remote,
        allowed_hosts=options.allowed_host,
        warm=not options.cold,
        command_timeout=getattr(options, "timeout", None),
        auth_id=options.auth_id,
        web_app_factory=web_war_room,
    ) as server:
        print(
            banner(
                server.url,
                server.api_key,
                server.key_source,
                server.auth_id,
                server.ca_bundle,
                options.state_dir,
                login_link(server),
            ),
            flush=True,
        )
        while not stop.wait(0.5):
            pass
        print("Stopping: waiting for running commands, then saving.", flush=True)
    print("Stopped.", flush=True)
    return ExitStatus.OK
