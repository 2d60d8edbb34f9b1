"""The local server as users start it (`python -m xsoar_local.server`), and the official clients pointed at it."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsoar_local.server.playbooks import RUN_IN_PROGRESS

REPO_ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = REPO_ROOT / ".venv-sdk" / "bin" / "python"
SDK = REPO_ROOT / ".venv-sdk" / "bin" / "demisto-sdk"
DRIVER = Path(__file__).with_name("sdk_driver.py")
PROBE = Path(__file__).with_name("data") / "Probe"
STOP_TIMEOUT = 60
_URL = re.compile(r"Local XSOAR server at (\S+)")
_KEY = re.compile(r"API key \([^)]*\): (\S+)")
_LOGIN = re.compile(r"War Room in a browser[^:]*: (\S+)")
# Variables of the developer's shell that would point the clients elsewhere.
_CLIENT_VARIABLES = ("DEMISTO_", "XSIAM_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "SSL_CERT_FILE")


def as_a_background_job() -> None:
    """In the child before exec: SIGINT ignored, as a shell starts a job run with `&` (and as CI may start it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def clean_environ() -> dict[str, str]:
    """This process's environment without any client or proxy settings."""
    return {key: value for key, value in os.environ.items() if not key.startswith(_CLIENT_VARIABLES)}


@dataclass
class ServerProcess:
    """`python -m xsoar_local.server` in the background; `banner` is what it printed before serving."""

    state_dir: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    banner: str = ""
    url: str = ""
    api_key: str = ""
    login_link: str = ""

    def start(self) -> ServerProcess:
        command = [sys.executable, "-m", "xsoar_local.server", "--port", "0", "--state-dir", str(self.state_dir)]
        self.process = subprocess.Popen(
            [*command, *self.args],
            cwd=REPO_ROOT,
            env={**clean_environ(), **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # The server must stop on Ctrl-C even when started with SIGINT ignored: it handles SIGINT itself.
            preexec_fn=as_a_background_job,
        )
        assert self.process.stdout is not None
        lines = []
        for line in self.process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        self.banner = "".join(lines)
        url, key = _URL.search(self.banner), _KEY.search(self.banner)
        given = self.env.get("DEMISTO_API_KEY")  # a key from the environment is never printed
        if url is None or (key is None and not given):
            self.process.kill()
            raise RuntimeError(f"the server did not start:\n{self.banner}{self.process.stdout.read()}")
        self.url, self.api_key = url.group(1), key.group(1) if key is not None else str(given)
        link = _LOGIN.search(self.banner)
        self.login_link = link.group(1) if link is not None else ""
        return self

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a user stops it; its exit status and what it printed after the banner."""
        assert self.process is not None
        assert self.process.stdout is not None
        stdout, said = self.process.stdout, []
        reader = threading.Thread(target=lambda: said.append(stdout.read()), daemon=True)
        reader.start()
        self.process.send_signal(signal.SIGINT)
        try:
            status = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            reader.join(5)
            raise AssertionError(
                f"the server was still running {STOP_TIMEOUT} s after Ctrl-C (SIGINT lost?):\n{''.join(said)}"
            ) from None
        reader.join(30)
        return status, "".join(said)

    def client_env(self, **extra: str) -> dict[str, str]:
        """The environment a user exports for demisto-sdk / demisto-py (printed in the banner)."""
        return {
            **clean_environ(),
            "DEMISTO_BASE_URL": self.url,
            "DEMISTO_API_KEY": self.api_key,
            "DEMISTO_SDK_SKIP_VERSION_CHECK": "1",
            "DEMISTO_SDK_IGNORE_CONTENT_WARNING": "1",
            **extra,
        }

    def drive(self, action: str, *args: str, **env: str) -> dict[str, Any]:
        """Run one sdk_driver action with demisto-sdk's Python; its findings."""
        with tempfile.TemporaryDirectory(prefix="sdk-driver-") as folder:
            output = Path(folder) / "out.json"
            completed = subprocess.run(
                [str(SDK_PYTHON), str(DRIVER), action, str(output), *args],
                cwd=folder,
                env=self.client_env(**env),
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert completed.returncode == 0, f"{action} failed:\n{completed.stdout}\n{completed.stderr}"
            return dict(json.loads(output.read_text(encoding="utf-8")))

    def sdk(self, *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
        """The demisto-sdk command line against this server."""
        return subprocess.run(
            [str(SDK), *args], cwd=cwd, env=self.client_env(), capture_output=True, text=True, timeout=600, check=False
        )


def wait_for_playbook(core: Any, inv_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Block until the investigation's playbook run (a background thread of the server) ends; its final state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state: dict[str, Any] = core.playbook_state(inv_id)
        if state["state"] != RUN_IN_PROGRESS:
            return state
        time.sleep(0.05)
    return dict(core.playbook_state(inv_id))


def pack_zip(folder: Path = PROBE, extra: Mapping[str, bytes | str] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    """The folder zipped as `demisto-sdk zip-packs` lays a pack out (files at the root), without the files named in
    `drop`, with the `extra` files added."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.is_file() and name not in drop:
                archive.write(path, name)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()
