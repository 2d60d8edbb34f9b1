"""The local server against hostile or careless input over HTTP: upload bombs, bodies over the limit, bad search
filters, names that cannot be files, the Host header, idle connections, weak or leaked keys, busy ports."""

from __future__ import annotations

import io
import json
import logging
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.server.support import REPO_ROOT, STOP_TIMEOUT, as_a_background_job, clean_environ, pack_zip
from tests.server.test_core import instance_body
from xsoar_local.server.packs import MAX_UNPACKED_BYTES
from xsoar_local.server.serve import RunningServer, run_server
from xsoar_local.web import make_web_app

KEY = "hostile-input-test-key-0123"
MB = 1024 * 1024


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    """A served state folder with the Probe pack installed."""
    with run_server(
        tmp_path / "served",
        environ={"DEMISTO_API_KEY": KEY},
        warm=False,
        web_app_factory=lambda core: make_web_app(core, KEY),
    ) as server:
        server.core.upload_pack(pack_zip(), "Probe.zip")
        yield server


def _post(server: RunningServer, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": KEY, **kwargs.pop("headers", {})}
    return requests.post(server.url + path, headers=headers, json=body, timeout=60, **kwargs)


def _upload(server: RunningServer, data: bytes, name: str = "pack.zip") -> requests.Response:
    return _post(server, "/contentpacks/installed/upload", files={"file": (name, data, "application/zip")})


def _installed(server: RunningServer) -> tuple[Any, list[str]]:
    packs_dir = server.core.state.packs_dir
    return server.core.installed_packs(), sorted(str(path.relative_to(packs_dir)) for path in packs_dir.rglob("*"))


def _zeros_zip(name: str, size: int) -> bytes:
    """A zip with one member of `size` zero bytes (deflated: a few hundred KB per 100 MB)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as out,
    ):
        block = bytes(MB)
        for _ in range(size // MB):
            out.write(block)
    return buffer.getvalue()


def _repeated_entry_zip(name: str, size: int, repeats: int) -> bytes:
    """One deflated member of `size` zeros whose central-directory entry is written `repeats` times: every entry
    points at the same data (the CPU bomb: a reader that checks each entry decompresses it `repeats` times)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = b"".join(compressor.compress(bytes(MB)) for _ in range(size // MB)) + compressor.flush()
    crc = 0
    for _ in range(size // MB):
        crc = zlib.crc32(bytes(MB), crc)
    raw = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(raw), 0) + raw
    entry = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(raw), 0, 0, 0, 0, 0, 0
    )
    directory = (entry + raw) * repeats
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, repeats, repeats, len(directory), len(local) + len(data), 0)
    return local + data + directory + end


def _expect_upload_refused(server: RunningServer, data: bytes, says: str) -> None:
    before = _installed(server)
    response = _upload(server, data)
    assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
    body = response.json()
    assert body["id"] == "errUploadContentPacks", body
    assert says in body["detail"], body["detail"]
    assert _installed(server) == before, "a refused upload changed the installed packs"


# ---- uploads --------------------------------------------------------------------------------------------------


def test_nested_zips_share_one_budget(running: RunningServer) -> None:
    """
    Given an upload of 8 pack zips, each a valid pack holding 30 MB of zeros (240 MB in all, each well under the
    limit on its own)
    When uploaded
    Then it is refused as a whole: the 200 MB budget covers every inner zip together, and nothing is installed
    """
    inner = pack_zip(extra={"Scripts/zeros.bin": bytes(30 * MB)})
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(8):
            one = io.BytesIO()
            with zipfile.ZipFile(one, "w", zipfile.ZIP_DEFLATED) as pack:
                for name, content in files.items():
                    pack.writestr(name, content)
            archive.writestr(f"Probe{number}.zip", one.getvalue())
    assert len(packed.getvalue()) < MB, "the test upload should be small"
    _expect_upload_refused(running, packed.getvalue(), f"more than {MAX_UNPACKED_BYTES // MB} MB in all")


def _forbid_decompressing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any member read of any zip (also `testzip()`, which opens each member) fail the request with a 500."""

    def refuse(archive: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a member was decompressed: {getattr(name, 'filename', name)!r}")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


def test_a_repeated_central_directory_entry_is_refused_before_decompressing(
    running: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Given a zip under 1 MB whose one member (200 MB of zeros) is listed 12 times in the central directory
    When uploaded
    Then it is refused from the central directory alone, naming the repeated member: no member is opened for
    reading (a read would answer 500 here)
    """
    bomb = _repeated_entry_zip("Scripts/zeros.bin", 200 * MB, 12)
    assert len(bomb) < MB
    _forbid_decompressing(monkeypatch)
    _expect_upload_refused(running, bomb, "'Scripts/zeros.bin' more than once")


def test_a_member_past_the_budget_is_refused_by_its_declared_size(
    running: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Given a pack zip with one member that declares 250 MB (zeros, a few hundred KB compressed)
    When uploaded
    Then it is refused by the size its entry declares, before any member is opened for reading
    """
    bomb = _zeros_zip("Scripts/zeros.bin", 250 * MB)
    _forbid_decompressing(monkeypatch)
    _expect_upload_refused(running, bomb, "unpacks to more than")


ALIAS_BOMB = b"""id: Bomb
name: Bomb
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
starttaskid: "0"
tasks: {}
"""


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(
            pack_zip(extra={"Scripts/Clash": b"x", "Scripts/Clash/script-Clash.yml": b"name: Clash\n"}),
            "both as a file and as a folder",
            id="file-folder-clash",
        ),
        pytest.param(pack_zip(extra={"Scripts/" + "n" * 300 + ".yml": b"name: x\n"}), "too long", id="long-name"),
        pytest.param(pack_zip(extra={"metadata.json": b'{"id": "Pr\\u0000obe"}'}), "cannot name", id="nul-in-id"),
        pytest.param(pack_zip(extra={"metadata.json": b'{"id": "a/b"}'}), "cannot name", id="slash-in-id"),
        pytest.param(pack_zip(extra={"metadata.json": b'{"id": "a\\\\b"}'}), "cannot name", id="backslash-in-id"),
        pytest.param(pack_zip(extra={"/tmp/evil.py": b"x"}), "outside the pack folder", id="absolute-member"),
        pytest.param(pack_zip(extra={"Playbooks/playbook-Bomb.yml": ALIAS_BOMB}), "alias", id="playbook-alias-bomb"),
    ],
)
def test_names_that_cannot_be_files_and_unloadable_playbooks_are_refused(
    running: RunningServer, data: bytes, says: str
) -> None:
    """
    Given a pack zip with a file/folder clash, an over-long name, a NUL, `/` or `\\` in the pack id, an absolute
    member path, or a playbook whose aliases expand past the limit
    When uploaded
    Then the answer is 400 with the upload error naming the problem, and nothing is installed or written
    """
    _expect_upload_refused(running, data, says)
    assert not (running.core.state.packs_dir.parent / "evil.py").exists()


# ---- request bodies -------------------------------------------------------------------------------------------


def _raw(server: RunningServer, request: bytes, wait: float = 30) -> bytes:
    """Send `request` as is on a new connection; what the server answers (until it closes or `wait` passes)."""
    with socket.create_connection((server.host, server.port), timeout=wait) as conn:
        conn.sendall(request)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


@pytest.mark.parametrize(
    ("path", "length"),
    [
        pytest.param("/investigations/search", 600 * MB, id="json-600MB"),
        pytest.param("/contentpacks/installed/upload", 800 * MB, id="upload-800MB"),
        pytest.param("/xsoar/contentpacks/installed/upload", 800 * MB, id="xsoar8-upload-800MB"),
    ],
)
def test_a_body_over_the_limit_gets_413_before_it_is_read(running: RunningServer, path: str, length: int) -> None:
    """
    Given a request announcing a body far over the limit (Content-Length), of which only a few bytes are sent
    When it reaches the server
    Then the answer is 413 with the server's error body at once: the server does not wait to read the body
    """
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {running.host}:{running.port}\r\nAuthorization: {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    answer = _raw(running, head + b"{}")
    assert answer.startswith(b"HTTP/1.1 413"), f"expected 413 before the body was read, got {answer[:200]!r}"
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["id"] == "errRequestTooLarge", body
    assert "MB" in body["detail"], body


def test_a_chunked_body_is_cut_off_at_the_limit(running: RunningServer) -> None:
    """
    Given a chunked JSON body (no Content-Length) that goes on past the 16 MB limit
    When it is sent to /investigations/search
    Then the answer is 413, not a search
    """

    def chunks() -> Iterator[bytes]:
        yield b'{"filter": {}, "padding": "'
        for _ in range(20):
            yield b"x" * MB
        yield b'"}'

    response = requests.post(
        running.url + "/investigations/search",
        headers={"Authorization": KEY, "Content-Type": "application/json"},
        data=chunks(),
        timeout=60,
    )
    assert response.status_code == 413, response.text[:300]
    assert response.json()["id"] == "errRequestTooLarge"


# ---- bad requests: 4xx with the error body, never a traceback ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"filter": {"type": "nine"}}, id="type-not-a-number"),
        pytest.param({"filter": {"type": [{"a": 1}]}}, id="type-object"),
        pytest.param({"filter": {"page": "abc"}}, id="page-abc"),
        pytest.param({"filter": {"size": "x"}}, id="size-x"),
        pytest.param({"filter": {"pageSize": "x"}}, id="pageSize-x"),
        pytest.param({"filter": {"page": -1}}, id="page-negative"),
        pytest.param({"filter": "type=9"}, id="filter-not-an-object"),
        pytest.param({"filter": {"id": {"nested": True}}}, id="id-object"),
    ],
)
def test_a_bad_search_gets_400(running: RunningServer, caplog: pytest.LogCaptureFixture, body: Any) -> None:
    """
    Given a search filter the server cannot use
    When POST /investigations/search gets it
    Then the answer is 400 with the server's error body saying which field is wrong, and nothing is logged as a crash
    """
    with caplog.at_level(logging.ERROR, logger="xsoar_local"):
        response = _post(running, "/investigations/search", body)
    assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
    assert response.json()["id"] == "errBadRequest", response.json()
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"


@pytest.mark.parametrize(
    ("make_filter", "finds"),
    [
        pytest.param(lambda pid: {"type": 9}, True, id="type-integer"),
        pytest.param(lambda pid: {"type": [9]}, True, id="type-list"),
        pytest.param(lambda pid: {"id": int(pid)}, True, id="id-integer"),
        pytest.param(lambda pid: {"id": [pid]}, True, id="id-list"),
        pytest.param(lambda pid: {"id": 99}, False, id="other-id"),
        pytest.param(lambda pid: {"type": 7}, False, id="other-type"),
        pytest.param(lambda pid: {"type": [9], "page": "0", "size": "10"}, True, id="numbers-as-strings"),
    ],
)
def test_the_integer_forms_of_the_search_filter_work(
    running: RunningServer, make_filter: Callable[[str], dict[str, Any]], finds: bool
) -> None:
    """
    Given an incident, and the integer forms the README documents (`"type": 9`, `"id": 2`) besides demisto-py's lists
    When searching
    Then they find what the list forms find
    """
    incident = _post(running, "/incident", {"name": "found", "createInvestigation": True}).json()["id"]
    response = _post(running, "/investigations/search", {"filter": make_filter(incident)})
    assert response.status_code == 200, response.text
    playground = running.core.playground_id()
    found = [item["id"] for item in response.json()["data"]]
    expected = ([playground] if finds else []) if "type" in make_filter(incident) else ([incident] if finds else [])
    assert found == expected


@pytest.mark.parametrize(
    ("path", "data"),
    [
        pytest.param("/investigations/search", b"[" * 100_000 + b"]" * 100_000, id="search-100000-deep"),
        pytest.param("/entry/execute/sync", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="execute-100000-deep"),
    ],
)
def test_deeply_nested_json_gets_400(
    running: RunningServer, caplog: pytest.LogCaptureFixture, path: str, data: bytes
) -> None:
    """Given a JSON body nested 100,000 deep, When posted, Then 400 errBadJSON, and no traceback is logged."""
    with caplog.at_level(logging.ERROR, logger="xsoar_local"):
        response = _post(running, path, data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
    assert response.json()["id"] == "errBadJSON"
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"


def test_a_bad_page_size_on_an_investigation_gets_400(running: RunningServer) -> None:
    """Given `"pageSize": "x"`, When POST /investigation/{id}, Then 400 naming pageSize."""
    response = _post(running, f"/investigation/{running.core.playground_id()}", {"pageSize": "x"})
    assert response.status_code == 400, response.text
    assert "pageSize" in response.json()["detail"]


# ---- who may call: the key, the auth id, the Host header --------------------------------------------------------


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(KEY[:-1], id="prefix"),
        pytest.param(KEY[:1], id="first-character"),
        pytest.param(KEY + "x", id="longer"),
        pytest.param(KEY.upper(), id="other-case"),
    ],
)
def test_only_the_whole_key_opens_the_api(running: RunningServer, sent: str) -> None:
    """Given a key that is a prefix, an extension or another case of the server's, When used, Then 401."""
    response = requests.get(running.url + "/about", headers={"Authorization": sent}, timeout=30)
    assert response.status_code == 401, f"{sent!r} was accepted"


def test_public_api_paths_need_the_auth_id(running: RunningServer) -> None:
    """Given the right key, When /public_api/... is called without x-xdr-auth-id or with a wrong one, Then 401; with
    the key's id, 200."""
    url = running.url + "/public_api/v1/healthcheck"
    assert requests.get(url, headers={"Authorization": KEY}, timeout=30).status_code == 401
    assert requests.get(url, headers={"Authorization": KEY, "x-xdr-auth-id": "2"}, timeout=30).status_code == 401
    assert requests.get(url, headers={"Authorization": KEY, "x-xdr-auth-id": "1"}, timeout=30).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("evil.example", id="other-name"),
        pytest.param("evil.example:{port}", id="other-name-with-port"),
        pytest.param("127.0.0.1.evil.example", id="loopback-lookalike"),
        pytest.param("[::1", id="malformed"),
    ],
)
@pytest.mark.parametrize("path", [pytest.param("/about", id="api"), pytest.param("/ui", id="page-redirect")])
def test_a_host_that_is_not_this_machine_is_refused(running: RunningServer, host: str, path: str) -> None:
    """
    Given a Host header that does not name this machine (what a DNS-rebinding page sends)
    When the API or a page is asked for, with the right key
    Then the answer is 400 errBadHost, and the name is never echoed (no redirect to it)
    """
    name = host.format(port=running.port)
    response = requests.get(
        running.url + path, headers={"Authorization": KEY, "Host": name}, timeout=30, allow_redirects=False
    )
    assert response.status_code == 400, f"{response.status_code} {response.headers}"
    assert response.json()["id"] == "errBadHost"
    assert "evil" not in response.headers.get("Location", ""), response.headers


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "localhost:{port}", "127.0.0.1:{port}"])
def test_loopback_host_names_are_served(running: RunningServer, host: str) -> None:
    """Given a Host header naming loopback, When /about and /ui are asked for, Then they answer; the redirect from
    /ui is a path, never a URL with the Host in it."""
    headers = {"Authorization": KEY, "Host": host.format(port=running.port)}
    assert requests.get(running.url + "/about", headers=headers, timeout=30).status_code == 200
    moved = requests.get(running.url + "/ui", headers=headers, timeout=30, allow_redirects=False)
    assert moved.status_code in (301, 302, 303, 308), moved.status_code
    assert moved.headers["Location"] == "/", moved.headers


def test_credential_parts_stay_masked(running: RunningServer) -> None:
    """
    Given an instance saved over HTTP with a credentials param holding a password, an SSH key and a certificate
    When the instances are listed
    Then none of the three is in the answer (each shows the mask), and the command still gets the real password
    """
    secret = {"identifier": "user", "password": "PW-secret-1", "sshkey": "SSHKEY-secret-2", "certificate": "CERT-3"}
    body = instance_body(running.core, name="creds_1", secret=secret)
    saved = requests.put(running.url + "/settings/integration", headers={"Authorization": KEY}, json=body, timeout=60)
    assert saved.status_code == 200, saved.text
    listed = _post(running, "/settings/integration/search", {})
    shown = listed.text + saved.text
    for part in ("PW-secret-1", "SSHKEY-secret-2", "CERT-3"):
        assert part not in shown, f"{part} is shown in plain text"
    assert "user" in listed.text, "the identifier is not a secret"


# ---- connections --------------------------------------------------------------------------------------------


def _server_process(state: Path, *args: str, files: int | None = None, **env: str) -> subprocess.Popen[str]:
    def limited() -> None:
        as_a_background_job()
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    return subprocess.Popen(
        [sys.executable, "-m", "xsoar_local.server", "--cold", "--state-dir", str(state), *args],
        cwd=REPO_ROOT,
        env={**clean_environ(), "DEMISTO_API_KEY": KEY, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=limited,
    )


def _banner_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Local XSOAR server at "):
            url = line.split()[4]
        if "Press Ctrl-C" in line:
            return url
    raise AssertionError(f"the server did not start (status {process.wait()})")


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_idle_connections_cannot_use_up_the_file_handles(tmp_path: Path) -> None:
    """
    Given a server allowed 256 open files (`ulimit -n 256`) and 300 loopback connections that send nothing
    When another client makes a request
    Then it is answered: the connections idle longest were closed to make room
    """
    process = _server_process(tmp_path / "state", "--port", "0", files=256)
    idle: list[socket.socket] = []
    try:
        url = _banner_url(process)
        host, port = url.removeprefix("http://").rsplit(":", 1)
        for _ in range(300):
            idle.append(socket.create_connection((host, int(port)), timeout=30))
        answer = requests.get(url + "/about", headers={"Authorization": KEY}, timeout=30)
        assert answer.status_code == 200, answer.text
        saved = requests.post(
            url + "/incident", headers={"Authorization": KEY}, json={"name": "after the flood"}, timeout=30
        )
        assert saved.status_code == 200, f"a save failed while idle connections were open: {saved.text}"
    finally:
        for conn in idle:
            conn.close()
        _stop(process)


def test_a_client_that_never_finishes_its_request_does_not_hold_the_stop(tmp_path: Path) -> None:
    """
    Given a client that keeps its request open by sending one header byte a second, forever
    When the server is stopped with Ctrl-C
    Then it stops (exit 0) without waiting for that client
    """
    process = _server_process(tmp_path / "state", "--port", "0")
    done = threading.Event()
    try:
        url = _banner_url(process)
        host, port = url.removeprefix("http://").rsplit(":", 1)
        conn = socket.create_connection((host, int(port)), timeout=30)
        conn.sendall(b"GET /about HTTP/1.1\r\nX-Slow: ")

        def trickle() -> None:
            while not done.wait(1):
                try:
                    conn.sendall(b"a")
                except OSError:
                    return

        threading.Thread(target=trickle, daemon=True).start()
        time.sleep(0.5)  # the request is being read when Ctrl-C comes
        assert _stop(process) == 0
    finally:
        done.set()
        if process.poll() is None:
            process.kill()
            process.wait()


# ---- start-up: keys, ports --------------------------------------------------------------------------------------


def _start(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xsoar_local.server", *args],
        cwd=REPO_ROOT,
        env={**clean_environ(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("key", ["a", "short-key-15chr"])
def test_a_weak_key_is_refused(tmp_path: Path, key: str) -> None:
    """Given DEMISTO_API_KEY under 16 characters, When the server starts, Then it refuses (status 2) saying why,
    without printing the key."""
    result = _start("--port", "0", "--state-dir", str(tmp_path), DEMISTO_API_KEY=key)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "at least 16" in result.stderr, result.stderr
    if len(key) > 1:
        assert key not in result.stdout + result.stderr, "the weak key was printed"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "xsoar_local.server", "--cold", "--port"], id="server"),
        pytest.param([sys.executable, "-m", "standins.funtranslations", "--port"], id="serve"),
        pytest.param([sys.executable, "-m", "xsoar_local.makevars", "server"], id="make-server"),
        pytest.param([sys.executable, "-m", "xsoar_local.makevars", "serve"], id="make-serve"),
        pytest.param([sys.executable, "-m", "xsoar_local", "server", "--cold", "--port"], id="xsoar-local-server"),
        pytest.param([sys.executable, "-m", "xsoar_local", "serve", "--port"], id="xsoar-local-serve"),
    ],
)
def test_a_busy_port_is_one_line_and_status_2(tmp_path: Path, busy_port: int, command: list[str]) -> None:
    """Given a port another program listens on, When `make server`/`make serve`, `xsoar-local server`/`serve` (or
    their modules) are asked to listen on it, Then each prints one line naming the port and exits 2."""
    argv = [*command, str(busy_port)] if command[-1] == "--port" else command
    env = {**clean_environ(), "DEMISTO_API_KEY": KEY, "MAKEVAR_ARGS": f"--port {busy_port}"}
    if "server" in command[-1] or "server" in command:
        env["MAKEVAR_ARGS"] += f" --cold --state-dir {tmp_path}"
        if command[-1] == "--port":
            argv += ["--state-dir", str(tmp_path)]
    result = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, f"status {result.returncode}: {result.stderr}"
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert str(busy_port) in lines[0], lines


def test_query_strings_stay_out_of_the_request_log(running: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    """
    Given the request log on (`--verbose`)
    When a log-in link's code and a key in a query string reach the server (and a request line it cannot parse)
    Then the log shows each request without its query string
    """
    with caplog.at_level(logging.INFO, logger="xsoar_local.server"):
        requests.get(running.url + "/?code=SECRET-CODE-1", timeout=30)
        requests.get(running.url + f"/about?token={KEY}", headers={"Authorization": KEY}, timeout=30)
        _raw(running, b"GET /?token=SECRET-KEY-2 HTTP/1.1 extra\r\n\r\n", wait=10)
    logged = caplog.text
    assert '"GET /?<query hidden>' in logged, logged
    for secret in ("SECRET-CODE-1", KEY, "SECRET-KEY-2"):
        assert secret not in logged, f"{secret} is in the request log:\n{logged}"


def test_the_banner_link_logs_a_browser_in_once(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    """
    Given `make server`'s banner
    When its War Room link's code is posted from the page, then posted again
    Then the first post starts a session (a cookie named for the port); the second is refused
    """
    server = start_server(tmp_path / "state")
    assert "/?code=" in server.login_link, server.banner
    assert server.api_key not in server.login_link
    code = server.login_link.split("code=", 1)[1]
    origin = {"Origin": server.url}
    first = requests.post(server.url + "/ui/login", data={"code": code}, headers=origin, allow_redirects=False)
    assert first.status_code == 303, first.text
    assert first.headers["Set-Cookie"].startswith(f"xsoar_local_session_{server.url.rsplit(':', 1)[1]}=")
    again = requests.post(server.url + "/ui/login", data={"code": code}, headers=origin, allow_redirects=False)
    assert again.status_code == 401
    server.stop()
