"""Shared pieces of the resilience tests: the real integration through the local engine, a child environment
with no stray proxy or CA settings, a recording proxy.py on loopback, and the secret detector.

Every command runs in a fresh engine process (`run_command`), against the real local FunTranslations service.
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import proxy
from proxy.http.parser import HttpParser
from proxy.http.proxy import HttpProxyBasePlugin

from standins.funtranslations.server import RunningService
from xsoar_local.engine import CommandRun, Integration, ParamLayer, build_params, load_integration, run_command
from xsoar_local.incident.model import Incident

ROOT = Path(__file__).parents[2]
YODA_FOLDER = ROOT / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"
TRANSLATE = "yoda-speak-translate"
TEXT = "Master Obiwan has lost a planet."
TRANSLATED = "Lost a planet,  master obiwan has."

_INTEGRATION: Integration | None = None


def integration() -> Integration:
    """The pack's YodaSpeak integration, loaded once per test process."""
    global _INTEGRATION
    if _INTEGRATION is None:
        _INTEGRATION = load_integration(YODA_FOLDER)
    return _INTEGRATION


def child_env(**extra: str) -> dict[str, str]:
    """The variables a test sets for the sandbox on purpose.

    Passed as `env=`, they are the sandbox's only network settings (the engine's `child_environment` takes
    nothing else of that kind from this process), so a developer's shell or CI's proxy cannot change an outcome.
    """
    return dict(extra)


def translate(
    service_url: str,
    *,
    text: str = TEXT,
    params: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    debug: bool = False,
    incident: Incident | None = None,
) -> CommandRun:
    """`!yoda-speak-translate text=...` through the engine, in a fresh process, with `url` set to the service."""
    yoda = integration()
    built = build_params(yoda.params, [ParamLayer("resilience test", {"url": service_url, **(params or {})})])
    return run_command(
        yoda,
        TRANSLATE,
        {"text": text},
        built,
        incident or Incident(),
        env=dict(env) if env is not None else child_env(),
        debug=debug,
        check=True,
    )


def error_text(run: CommandRun) -> str:
    """The run's error entries, joined (for assertion messages)."""
    return "\n---\n".join(run.error_messages) or "(no error entry)"


def first_line_of_error(run: CommandRun) -> str:
    """The user-facing part of the error entry: the lines before return_error's traceback."""
    message = run.error_messages[0] if run.error_messages else ""
    return message.split("\n\nTraceback", 1)[0]


def statuses(service: RunningService) -> list[int | None]:
    """The status of every request the service recorded (None: the connection was dropped)."""
    return [request.status for request in service.requests]


# ---- the secret detector -------------------------------------------------------------------------------
def _base64_cores(secret: bytes) -> dict[str, str]:
    """Base64 text that appears whenever `secret` is base64-encoded inside any larger byte string.

    The encoding of a byte depends on its offset modulo 3, so there is one form per alignment; the groups at
    the edges, which mix in neighbouring bytes, are cut off.
    """
    cores = {}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii")
        core = encoded[4 if offset else 0 : -4]
        cores[f"base64 (offset {offset})"] = core
        cores[f"urlsafe base64 (offset {offset})"] = core.replace("+", "-").replace("/", "_")
    return cores


def secret_forms(secret: str) -> dict[str, str]:
    """Every form of the secret the sweep looks for: raw, escaped, URL-quoted, base64 and Basic-auth base64."""
    raw = secret.encode("utf-8")
    forms = {
        "raw": secret,
        "JSON-escaped": json.dumps(secret)[1:-1],
        "URL-quoted": quote(secret, safe=""),
        "form-quoted": quote_plus(secret),
        "Basic auth (empty user)": base64.b64encode(b":" + raw).decode("ascii"),
        "hex": raw.hex(),
    }
    forms.update(_base64_cores(raw))
    return forms


@dataclass(frozen=True)
class Finding:
    """One place the secret was found: where (a path into the run) and in which form."""

    where: str
    form: str

    def __str__(self) -> str:
        return f"{self.form} form at {self.where}"


def find_secret(document: Any, secret: str, where: str = "$") -> list[Finding]:
    """Walks a JSON-like document (keys and values) and reports every string holding a form of the secret."""
    forms = secret_forms(secret)
    findings: list[Finding] = []

    def visit(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                visit(str(key), f"{path}.<key {key!r}>")
                visit(item, f"{path}.{key}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                visit(item, f"{path}[{index}]")
        elif value is not None:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            findings.extend(Finding(path, name) for name, form in forms.items() if form in text)

    visit(document, where)
    return findings


def run_surfaces(run: CommandRun) -> dict[str, Any]:
    """Everything a run leaves behind that a user or an admin can read."""
    return {
        "entries": run.entries,  # War Room: Contents (raw response), HumanReadable, EntryContext
        "context": run.incident.context,
        "integration_contexts": run.incident.integration_contexts,
        "logs": [log.to_json() for log in run.logs],  # debug/info/error, prints, stdout, stderr
        "last_run": run.last_run,
    }


# ---- a real proxy on loopback ------------------------------------------------------------------------------
class _RecordingPlugin(HttpProxyBasePlugin):
    """Appends one JSON line per proxied request to `record_path` (acceptors are other processes: a file is shared)."""

    record_path = ""

    def before_upstream_connection(self, request: HttpParser) -> HttpParser | None:
        line = {
            "method": (request.method or b"").decode("latin-1"),
            "host": (request.host or b"").decode("latin-1"),
            "port": request.port,
            "path": (request.path or b"").decode("latin-1"),
        }
        with open(self.record_path, "a", encoding="utf-8") as record:
            record.write(json.dumps(line) + "\n")
        return request


@dataclass(frozen=True)
class RecordingProxy:
    """A running proxy.py: its URL and what it forwarded."""

    url: str
    record: Path

    def seen(self) -> list[dict[str, Any]]:
        """The requests the proxy forwarded so far: method, host, port, path (a CONNECT has host:port only)."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines() if line]

    def clear(self) -> None:
        """Forget what was recorded."""
        self.record.write_text("", encoding="utf-8")


_PROXY_LOCK = threading.Lock()
_PROXY_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _restore(handlers: dict[signal.Signals, Any]) -> None:
    for number, handler in handlers.items():
        if handler is not None:
            signal.signal(number, handler)


@contextlib.contextmanager
def recording_proxy() -> Iterator[RecordingProxy]:
    """proxy.py embedded on 127.0.0.1 with an ephemeral port, recording every request it forwards."""
    with tempfile.TemporaryDirectory(prefix="resilience-proxy-") as folder, _PROXY_LOCK:
        record = Path(folder) / "seen.jsonl"
        record.touch()
        plugin = type("RecordingPlugin", (_RecordingPlugin,), {"record_path": str(record)})
        flags = ["--hostname", "127.0.0.1", "--port", "0", "--num-acceptors", "1", "--num-workers", "1"]
        flags += ["--log-level", "ERROR", "--data-dir", str(Path(folder) / "data")]
        saved = {number: signal.getsignal(number) for number in _PROXY_SIGNALS}
        try:
            with proxy.Proxy(flags, plugins=[plugin]) as running:
                # proxy.py takes over SIGINT and friends (sys.exit(0)); give them back so Ctrl-C still stops pytest.
                _restore(saved)
                yield RecordingProxy(f"http://127.0.0.1:{running.flags.port}", record)
        finally:
            _restore(saved)


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port held by a socket that never listens: every connection to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


def assert_clean_error(run: CommandRun) -> str:
    """The run ended with the integration's own error entry (not an engine crash); returns what the user sees."""
    assert run.is_error, f"an error entry was expected, got {run.entries}"
    assert not run.crashed, f"the integration should report the failure itself, not crash: {error_text(run)}"
    return first_line_of_error(run)
