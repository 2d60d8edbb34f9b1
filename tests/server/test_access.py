"""Who may use the server and where it listens: API key on every endpoint, XSOAR 8 auth id, 404s, the key's
origin, loopback only, one server per state folder, TLS with its own CA."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.server.support import REPO_ROOT, STOP_TIMEOUT, ServerProcess, as_a_background_job, clean_environ
from xsoar_local.server.api import ENDPOINTS

PATHS = [(method, re.sub(r"<[^>]+>", "x", path)) for method, path, _, _ in ENDPOINTS]


def _call(server: ServerProcess, method: str, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.request(method, server.url + path, headers=headers, json={}, timeout=30)


@pytest.mark.parametrize(("method", "path"), [pytest.param(m, p, id=f"{m} {p}") for m, p in PATHS])
@pytest.mark.parametrize("prefix", [pytest.param("", id="plain"), pytest.param("/xsoar", id="xsoar8")])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no key"),
        pytest.param({"Authorization": "not-the-key"}, id="wrong key"),
        pytest.param({"Authorization": ""}, id="empty key"),
    ],
)
def test_every_endpoint_needs_the_key(server: ServerProcess, method: str, path: str, prefix: str, headers: dict):
    """
    Given a running server
    When calling any endpoint without the API key, or with a wrong one
    Then it answers 401 with the server's error body, before doing anything
    """
    response = _call(server, method, prefix + path, {**headers, "x-xdr-auth-id": "1"})
    assert response.status_code == 401, f"{method} {prefix}{path} answered {response.status_code}: {response.text}"
    body = response.json()
    assert body["status"] == 401
    assert body["id"] == "errUnauthorized"
    assert body["detail"]


def test_xsoar8_paths_need_the_auth_id(server: ServerProcess):
    """
    Given the right key
    When calling /xsoar/about without x-xdr-auth-id, with a wrong one, and with the right one (1)
    Then the first two get 401 and the last one the SaaS /about
    """
    key = {"Authorization": server.api_key}
    assert _call(server, "GET", "/xsoar/about", key).status_code == 401
    assert _call(server, "GET", "/xsoar/about", {**key, "x-xdr-auth-id": "2"}).status_code == 401
    answer = _call(server, "GET", "/xsoar/about", {**key, "x-xdr-auth-id": "1"})
    assert answer.status_code == 200
    assert answer.json()["deploymentMode"] == "saas"
    assert _call(server, "GET", "/about", key).json()["deploymentMode"] == "opp"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/no/such/endpoint", 404, id="unknown path"),
        pytest.param("GET", "/xsoar/no/such/endpoint", 404, id="unknown xsoar8 path"),
        pytest.param("DELETE", "/about", 405, id="wrong method"),
        pytest.param("POST", "/investigation/nope/context", 404, id="unknown investigation"),
        pytest.param("GET", "/inv-playbook/nope", 404, id="unknown playbook run"),
    ],
)
def test_unknown_things_get_the_error_body(server: ServerProcess, method: str, path: str, status: int):
    """
    Given the right key (and auth id)
    When calling an endpoint the server does not have, with the wrong method, or about an unknown investigation
    Then the status says so and the body is the server's error shape with a detail to act on
    """
    response = _call(server, method, path, {"Authorization": server.api_key, "x-xdr-auth-id": "1"})
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"id", "status", "title", "detail", "error"}
    assert body["status"] == status


def test_the_key_comes_from_the_environment_or_is_generated_and_kept(
    tmp_path: Path, start_server: Callable[..., ServerProcess]
):
    """
    Given no DEMISTO_API_KEY, then DEMISTO_API_KEY set to a key of 24 characters
    When starting the server twice without it and once with it
    Then a random key is generated, kept in the state folder (same after restart, file mode 600), and the
    environment's key wins when given, without ever being printed
    """
    first = start_server(tmp_path / "state")
    generated = first.api_key
    first.stop()
    second = start_server(tmp_path / "state")
    assert second.api_key == generated
    assert len(generated) >= 32
    second.stop()
    assert oct((tmp_path / "state" / "api-key").stat().st_mode & 0o777) == "0o600"
    own = "my-own-key-0123456789abc"
    third = start_server(tmp_path / "state", env={"DEMISTO_API_KEY": own})
    assert "from DEMISTO_API_KEY" in third.banner
    assert _call(third, "GET", "/about", {"Authorization": generated}).status_code == 401
    assert _call(third, "GET", "/about", {"Authorization": own}).status_code == 200
    _, said = third.stop()
    assert own not in third.banner + said, "the key from the environment was printed"
    assert "?token=" not in third.banner, "the log-in link must not carry the key"


def _start(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xsoar_local.server", *args],
        cwd=REPO_ROOT,
        env=clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_non_loopback_address_needs_the_explicit_flag(tmp_path: Path):
    """
    Given --host 0.0.0.0 without --allow-remote
    When starting the server
    Then it refuses (status 2), says which flag allows it, and binds nothing
    """
    result = _start("--host", "0.0.0.0", "--port", "0", "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
    assert "not a loopback address" in result.stderr


def test_allow_remote_warns(tmp_path: Path):
    """
    Given --host 0.0.0.0 --allow-remote
    When starting the server
    Then it starts but warns that anyone who reaches it with the key can run commands
    """
    server = ServerProcess(tmp_path, args=("--host", "0.0.0.0", "--allow-remote")).start()
    try:
        assert "WARNING" in server.banner
        assert "not loopback" in server.banner
    finally:
        server.stop()


def test_one_server_per_state_folder(server: ServerProcess):
    """
    Given a running server
    When a second one is started on the same state folder
    Then it refuses (status 2) and says to stop the other or pick another folder
    """
    result = _start("--port", "0", "--state-dir", str(server.state_dir))
    assert result.returncode == 2
    assert "another local XSOAR server is running" in result.stderr


def test_tls_with_the_printed_ca(tmp_path: Path):
    """
    Given `--tls`
    When a client verifies the certificate with the CA file whose path the banner prints
    Then HTTPS works; without that CA the handshake fails
    """
    server = ServerProcess(tmp_path, args=("--tls",)).start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        ca = re.search(r"the CA certificate is (\S+)", server.banner)
        assert ca is not None, server.banner
        answer = requests.get(server.url + "/about", headers={"Authorization": server.api_key}, verify=ca.group(1))
        assert answer.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url + "/about", headers={"Authorization": server.api_key}, timeout=10)
    finally:
        server.stop()


def _fill(pipe_end: int) -> None:
    """Write into a pipe until it is full, so the next write to it blocks until someone reads."""
    os.set_blocking(pipe_end, False)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(pipe_end, b"#" * 4096)
    os.set_blocking(pipe_end, True)  # the flag belongs to the pipe, which the server shares


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_while_the_banner_is_printed_is_not_lost(tmp_path: Path):
    """
    Given a server started as a background job (SIGINT ignored) whose output nobody reads yet (a full pipe), so it
    is listening but still printing its banner
    When Ctrl-C arrives in that moment
    Then it is not lost: once its output is read, the server prints the rest of the banner and stops cleanly
    """
    read_end, write_end = os.pipe()
    _fill(write_end)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "xsoar_local.server", "--cold", "--port", str(port), "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        env=clean_environ(),
        stdout=write_end,
        stderr=subprocess.DEVNULL,
        preexec_fn=as_a_background_job,
    )
    os.close(write_end)
    output = bytearray()

    def read() -> None:
        for chunk in iter(lambda: os.read(read_end, 65536), b""):
            output.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    try:
        assert _listening(port, 60), "the server never listened"
        process.send_signal(signal.SIGINT)
        reader.start()
        status = process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        printed = output.decode().lstrip("#")
        pytest.fail(f"the Ctrl-C sent while the banner was being printed was lost; it printed:\n{printed}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if reader.ident is not None:
            reader.join(10)
        os.close(read_end)
    said = output.decode().lstrip("#")
    assert status == 0, said
    assert said.index("Press Ctrl-C to stop.") < said.index("Stopped."), said
