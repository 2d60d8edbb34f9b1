"""Commands the server runs (warm workers: a fork per command) are boxed like the CLI's: their children die with
them, their memory is limited, a time limit stops them, at most XSOAR_LOCAL_MAX_PARALLEL run at once (the rest
wait), and the content cannot read the server's key, its state's secrets or its environment."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.engine.test_confine import CONFINE_PACKS, running_sleepers, unique_seconds
from xsoar_local.engine.confine import LIMITER, landlock_abi
from xsoar_local.server.serve import RunningServer, run_server

WAIT = 120.0  # how long the concurrency test waits for the commands to reach the expected state (a hang guard)


def confine_pack() -> bytes:
    """The Confine fixture pack, zipped as demisto-sdk zips a pack."""
    folder = CONFINE_PACKS / "Confine"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def serve(state: Path, **environ: str) -> Any:
    """The server on a fresh state folder with the Confine pack installed; its key kept in STATE/api-key."""
    return run_server(state, environ=environ)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serve(tmp_path / "state") as running:
        running.core.upload_pack(confine_pack(), "Confine.zip")
        yield running


def execute(server: RunningServer, line: str) -> list[dict[str, Any]]:
    """`POST /entry/execute/sync` in the playground, as demisto-py sends it; the entries answered."""
    response = requests.post(
        server.url + "/entry/execute/sync",
        headers={"Authorization": server.api_key},
        json={"investigationId": server.core.playground_id(), "data": line},
        timeout=WAIT,
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def answer(entries: list[dict[str, Any]]) -> Any:
    """The JSON the one non-error entry holds."""
    assert [entry["type"] for entry in entries] == [1], f"expected one result entry: {entries}"
    contents = entries[0]["contents"]
    return json.loads(contents) if isinstance(contents, str) else contents


def test_children_of_a_finished_command_are_killed(server: RunningServer) -> None:
    """Given a script that starts 20 `sleep` children and returns at once
    When it runs through /entry/execute/sync
    Then once the server has answered none of its children is still running"""
    seconds = unique_seconds()
    assert len(answer(execute(server, f"!BoxProbe sleepers count=20 seconds={seconds}"))["pids"]) == 20
    left = running_sleepers(seconds)
    assert left == [], f"the command's children outlived it: {len(left)} `sleep {seconds}` still running"


def test_a_command_past_the_servers_time_limit_is_stopped_with_its_children(tmp_path: Path) -> None:
    """Given a server started with XSOAR_LOCAL_TIMEOUT=2, and a script that starts 5 children and never ends
    When it runs through /entry/execute/sync
    Then the answer is an error entry naming the 2-second limit, none of its children is left running, and the
    next command runs normally"""
    seconds = unique_seconds()
    with serve(tmp_path / "state", XSOAR_LOCAL_TIMEOUT="2") as running:
        running.core.upload_pack(confine_pack(), "Confine.zip")
        entries = execute(running, f"!BoxProbe hang count=5 seconds={seconds}")
        after = execute(running, f"!BoxProbe sleepers count=1 seconds={unique_seconds()}")
    assert [entry["type"] for entry in entries] == [4], entries
    assert "did not finish within 2 seconds" in entries[0]["contents"], entries
    assert running_sleepers(seconds) == [], "a timed-out command's children outlived it"
    assert [entry["type"] for entry in after] == [1], f"the command after the timed-out one failed: {after}"
    assert len(answer(after)["pids"]) == 1, after


def test_memory_past_the_limit_is_an_error_entry(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given XSOAR_LOCAL_MEMORY_MB=256
    When a script run by the server allocates 512 MB
    Then the answer is an error entry saying memory ran out"""
    monkeypatch.setenv("XSOAR_LOCAL_MEMORY_MB", "256")
    entries = execute(server, "!BoxProbe allocate mb=512")
    assert [entry["type"] for entry in entries] == [4], f"the allocation was allowed: {entries}"
    assert "MemoryError" in entries[0]["contents"], entries


def test_a_command_cannot_start_more_processes_than_allowed(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given XSOAR_LOCAL_MAX_PROCESSES=5
    When a script run by the server tries to start 10 children
    Then starting them fails before the fifth, with the system's error, and none is left running"""
    monkeypatch.setenv("XSOAR_LOCAL_MAX_PROCESSES", "5")
    seconds = unique_seconds()
    result = answer(execute(server, f"!BoxProbe spawn count=10 seconds={seconds}"))
    assert result["started"] < 5, f"the command started {result['started']} processes despite the limit of 5"
    assert "Error" in result["error"], result
    assert running_sleepers(seconds) == []


def test_content_cannot_read_the_servers_key_secrets_or_environment(tmp_path: Path) -> None:
    """Given a server whose key is kept in STATE/api-key, with an instance-state file and server.json beside it
    When a script it runs tries to read each of them, the server's /proc/<pid>/environ and cmdline, and its own code
    Then it reads its own code, and every one of the server's files is refused"""
    assert landlock_abi() > 0, "this machine offers Landlock: the box must be on here (see README)"
    state = tmp_path / "state"
    with serve(state) as running:
        running.core.upload_pack(confine_pack(), "Confine.zip")
        instances = state / "instances"
        instances.mkdir(exist_ok=True)
        (instances / "Lighthouse_main.json").write_text('{"token": "in-the-instance-state"}', encoding="utf-8")
        own = next((state / "packs").rglob("BoxProbe.py"))
        targets = {
            own: True,
            state / "api-key": False,
            state / "server.json": False,
            instances / "Lighthouse_main.json": False,
            Path(f"/proc/{os.getpid()}/environ"): False,
            Path(f"/proc/{os.getpid()}/cmdline"): False,  # where secret options show, as in `ps`
        }
        assert (state / "api-key").read_text().strip() == running.api_key, "the key is kept in the state folder"
        seen = {path: answer(execute(running, f"!BoxProbe read path={path}")) for path in targets}
    for path, readable in targets.items():
        assert seen[path]["read"] is readable, f"{path}: {seen[path]}"
        if not readable:
            assert "PermissionError" in seen[path]["error"], seen[path]


class Gate:
    """A loopback listener each held command reports to; it keeps the command running until released, and
    counts how many are running at once."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.held: list[socket.socket] = []
        self.most = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            connection.makefile("r").readline()  # "started"
            with self.lock:
                self.held.append(connection)
                self.most = max(self.most, len(self.held))

    def release_one(self) -> None:
        with self.lock:
            connection = self.held.pop(0)
        connection.sendall(b"go\n")
        connection.close()

    @property
    def holding(self) -> int:
        with self.lock:
            return len(self.held)


def test_parallel_commands_beyond_the_cap_wait_in_line(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given XSOAR_LOCAL_MAX_PARALLEL=2
    When 6 commands are sent at once, each holding until the test lets it finish
    Then at most 2 command processes are ever running at once, the others wait, and all 6 finish"""
    monkeypatch.setenv("XSOAR_LOCAL_MAX_PARALLEL", "2")
    gate, total = Gate(), 6
    results: list[Any] = []
    senders = [
        threading.Thread(target=lambda: results.append(answer(execute(server, f"!BoxProbe hold port={gate.port}"))))
        for _ in range(total)
    ]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + WAIT
    released = 0
    while released < total:
        assert time.monotonic() < deadline, (
            f"stuck: {gate.holding} held, {LIMITER.running} running, {LIMITER.waiting} waiting, {len(results)} done"
        )
        # Release one only when every command is accounted for: running (and reported) or waiting in line. If
        # the cap did not hold, all of them would be running and reported here first.
        accounted = LIMITER.running + LIMITER.waiting + len(results) == total
        if gate.holding and gate.holding == LIMITER.running and accounted:
            gate.release_one()
            released += 1
        else:
            time.sleep(0.05)
    for sender in senders:
        sender.join(WAIT)
    gate.listener.close()
    assert [result["released"] for result in results] == ["go"] * total, results
    assert gate.most <= 2, f"{gate.most} commands ran at once with XSOAR_LOCAL_MAX_PARALLEL=2"
