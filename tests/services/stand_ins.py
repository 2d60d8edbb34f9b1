"""Stand-ins that only the seam's tests plug in, through $XSOAR_LOCAL_SERVICES (they are not installed).

Each is a real HTTP server on loopback; `STARTS` records what the core started them with.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from xsoar_local.services import RunningStandIn, ServiceOption, ServicePlugin, StartStandIn

STARTS: list[dict[str, Any]] = []
ECHO_FAULTS = "echo faults: 'slow' or 'down'"


@dataclass
class _Running:
    url: str
    requests: list[str] = field(default_factory=list)


def _starter(name: str) -> StartStandIn:
    @contextlib.contextmanager
    def start(faults: tuple[str, ...], options: Mapping[str, tuple[str, ...]]) -> Iterator[RunningStandIn]:
        running = _Running("")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                running.requests.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.url = f"http://127.0.0.1:{server.server_address[1]}/{name}/"
        STARTS.append({"plugin": name, "url": running.url, "faults": faults, "options": dict(options)})
        try:
            yield running
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    return start


def _echo_fault(spec: str) -> str:
    if spec.strip() in ("slow", "down"):
        return spec.strip()
    raise ValueError(f"{spec!r} is not an echo fault; {ECHO_FAULTS}")


ECHO = ServicePlugin(
    name="echo",
    title="Echo",
    integrations=frozenset({"EchoTest"}),
    start=_starter("echo"),
    api_key_env="ECHO_TEST_API_KEY",
    api_key_param="apikey",
    check_fault=_echo_fault,
    fault_help=ECHO_FAULTS,
    options=(
        ServiceOption(
            "--echo-token", "echo_token", help="a token the echo stand-in accepts 100% of the time", label="echo tokens"
        ),
    ),
)
SPARE = ServicePlugin(name="spare", title="Spare", integrations=frozenset(), start=_starter("spare"))
CLASH = ServicePlugin(name="clash", title="Clash", integrations=frozenset({"EchoTest"}), start=_starter("clash"))
SHADOW_FLAG = ServicePlugin(
    name="shadow-flag",
    title="Shadow",
    integrations=frozenset(),
    start=_starter("shadow-flag"),
    options=(ServiceOption("--json", "as_json", help="100% shadowing run's --json", label="json"),),
)
SHADOW_DEST = ServicePlugin(
    name="shadow-dest",
    title="Shadow",
    integrations=frozenset(),
    start=_starter("shadow-dest"),
    options=(ServiceOption("--where", "state_dir", help="would overwrite run's --state-dir", label="where"),),
)
NOT_A_PLUGIN = "a string, not a plugin"
