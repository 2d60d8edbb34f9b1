"""The state folder (StateStore): many incidents, per-instance contexts, a lock, atomic writes and bounded input."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from xsoar_local.incident.model import Incident
from xsoar_local.incident.state import (
    LEGACY_FILE_NAME,
    MAX_STATE_BYTES,
    STATE_FILE_NAME,
    StaleVersionError,
    State,
    StateError,
    StateStore,
)

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = "YodaSpeak_instance_1"
# sysfs refuses to create files even for root, so this is a folder nobody can write, whoever runs the tests.
UNWRITABLE_FOLDER = Path("/sys/kernel")


def saved_two_incidents(folder: Path) -> StateStore:
    store = StateStore(folder)
    with store.update() as state:
        state.add_incident(Incident().with_context({"A": 1}), current=True)
        state.add_incident(Incident().with_fields({"name": "second"}))
        state.set_integration_context(INSTANCE, {"cache": ["x"]})
        state.set_last_run(INSTANCE, {"time": "2026-11-30T10:00:00Z"})
    return store


# ---- the model ------------------------------------------------------------------------------------


def test_a_fresh_folder_has_no_incident_and_empty_instances(tmp_path: Path) -> None:
    """Given an empty folder, When read, Then no incident, ({}, 0) for any instance and no lastRun."""
    state = StateStore(tmp_path / "new").read()
    assert state.incidents == {}, state.incidents
    assert state.integration_context(INSTANCE) == ({}, 0), "a new instance has an empty context at version 0"
    assert state.last_run(INSTANCE) == {}, "a new instance has no lastRun"


def test_update_round_trips_incidents_and_instances(tmp_path: Path) -> None:
    """Given two incidents and an instance's context and lastRun, When read back, Then all are kept, ids assigned."""
    state = saved_two_incidents(tmp_path).read()
    assert sorted(state.incidents) == ["1", "2"], state.incidents
    assert state.incidents["1"].context == {"A": 1}, "incident 1's context"
    assert state.incidents["2"].fields["id"] == "2", "the id is written into the incident's fields"
    assert state.current_incident()[0] == "1", "the incident added with current=True is run's incident"
    assert state.integration_context(INSTANCE) == ({"cache": ["x"]}, 1), "one write: version 1"
    assert state.last_run(INSTANCE) == {"time": "2026-11-30T10:00:00Z"}, "lastRun belongs to the instance"
    assert state.incidents["1"].integration_contexts == {}, "incidents do not carry integration contexts"


def test_a_stale_version_is_refused(tmp_path: Path) -> None:
    """Given an instance context at version 1, When set with version 0, Then StaleVersionError and nothing changes."""
    store = saved_two_incidents(tmp_path)
    with pytest.raises(StaleVersionError, match="version 1, not 0"), store.update() as state:
        state.set_integration_context(INSTANCE, {"cache": []}, version=0)
    assert store.read().integration_context(INSTANCE) == ({"cache": ["x"]}, 1), "a refused write changes nothing"


def test_an_exception_inside_update_writes_nothing(tmp_path: Path) -> None:
    """Given saved state, When the block of update() raises, Then the file is unchanged."""
    store = saved_two_incidents(tmp_path)
    before = store.path.read_bytes()

    def failing_update() -> None:
        with store.update() as state:
            state.add_incident(Incident())
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        failing_update()
    assert store.path.read_bytes() == before, "a failed update must not be written"


def test_reset_keeps_the_id_and_the_instances(tmp_path: Path) -> None:
    """Given a current incident with context, When reset, Then same id, empty context, instance context kept."""
    store = saved_two_incidents(tmp_path)
    with store.update() as state:
        incident_id, incident = state.reset_current()
    state = store.read()
    assert (incident_id, incident.context) == ("1", {}), "reset gives the same id a fresh context"
    assert state.incidents["2"].fields["name"] == "second", "other incidents are untouched"
    assert state.integration_context(INSTANCE)[0] == {"cache": ["x"]}, "instances keep their context"


# ---- many processes ---------------------------------------------------------------------------


def _increment(folder: str, rounds: int) -> None:
    store = StateStore(Path(folder))
    for _ in range(rounds):
        with store.update() as state:
            context, version = state.integration_context(INSTANCE)
            state.set_integration_context(INSTANCE, {"count": context.get("count", 0) + 1}, version)
            state.add_incident(Incident())


def test_concurrent_processes_keep_every_update(tmp_path: Path) -> None:
    """Given 6 processes each doing 15 read-modify-writes on one folder,
    When they run at once, Then the counter is 90 and there are 90 incidents with distinct ids."""
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(str(tmp_path), 15)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0] * 6, "a worker failed"
    state = StateStore(tmp_path).read()
    assert state.integration_context(INSTANCE) == ({"count": 90}, 90), "an update was lost"
    assert sorted(map(int, state.incidents)) == list(range(1, 91)), "incident ids collided or were lost"


def _hold_instance(folder: str, seconds: float) -> None:
    with StateStore(Path(folder)).instance_lock(INSTANCE):
        time.sleep(seconds)


def test_an_instance_lock_makes_other_processes_wait(tmp_path: Path) -> None:
    """Given a process holding an instance for 1 s, When this process asks for it, Then it waits for the release."""
    holder = multiprocessing.get_context("spawn").Process(target=_hold_instance, args=(str(tmp_path), 1.0))
    holder.start()
    deadline = time.monotonic() + 30
    while not any((tmp_path / "locks").glob("*.lock")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the lock file exists before the lock is taken
    started = time.monotonic()
    with StateStore(tmp_path).instance_lock(INSTANCE):
        waited = time.monotonic() - started
    holder.join(30)
    assert waited > 0.3, f"the lock should have been held by the other process, waited only {waited:.2f} s"


# ---- atomic writes ----------------------------------------------------------------------------

_CRASH_MID_WRITE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from xsoar_local.incident.state import StateStore
    from xsoar_local.incident.model import Incident

    def stall(descriptor):  # the new state is written but not yet renamed into place
        print("writing", flush=True)
        time.sleep(60)

    os.fsync = stall
    with StateStore(Path(sys.argv[1])).update() as state:
        state.add_incident(Incident().with_context({"B": "x" * 100000}))
    """
)


def test_a_crash_mid_write_leaves_the_previous_state(tmp_path: Path) -> None:
    """Given saved state, When a process is killed (SIGKILL) while writing a new state,
    Then the previous state is read back whole and the next update works."""
    store = saved_two_incidents(tmp_path)
    before = store.read().to_json()
    writer = subprocess.Popen(
        [sys.executable, "-c", _CRASH_MID_WRITE, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "writing", "the writer should reach the write"
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    assert store.read().to_json() == before, "the previous state must survive a crash mid-write"
    with store.update() as state:
        state.add_incident(Incident())
    assert sorted(store.read().incidents) == ["1", "2", "3"], "the folder stays usable (the lock was released)"


def test_a_symlinked_state_file_keeps_its_link(tmp_path: Path) -> None:
    """Given state.json as a symlink to a file elsewhere, When updated, Then the link stays and its target changes."""
    elsewhere = tmp_path / "kept" / "real-state.json"
    elsewhere.parent.mkdir()
    folder = tmp_path / "state"
    saved_two_incidents(elsewhere.parent)
    (elsewhere.parent / STATE_FILE_NAME).rename(elsewhere)
    folder.mkdir()
    (folder / STATE_FILE_NAME).symlink_to(elsewhere)
    with StateStore(folder).update() as state:
        state.add_incident(Incident())
    assert (folder / STATE_FILE_NAME).is_symlink(), "the symlink was replaced by a plain file"
    assert sorted(json.loads(elsewhere.read_text(encoding="utf-8"))["incidents"]) == ["1", "2", "3"], "target updated"


def test_a_state_over_the_limit_is_not_written(tmp_path: Path) -> None:
    """Given saved state, When an update would make it larger than the limit, Then StateError and the file is kept."""
    store = saved_two_incidents(tmp_path)
    before = store.path.read_bytes()
    with pytest.raises(StateError, match="limit"), store.update() as state:
        state.add_incident(Incident().with_context({"Big": "x" * MAX_STATE_BYTES}))
    assert store.path.read_bytes() == before, "nothing is written past the limit"
    assert sorted(os.listdir(tmp_path)) == [".lock", STATE_FILE_NAME], "no temporary file is left behind"


# ---- bad folders and files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"{not json", "is corrupt", id="invalid-json"),
        pytest.param(
            b'{"version": 2, "incidents": {"1": {"fields": {}, "context": {}}}, "x": "\xff\xfe"}',
            "not UTF-8",
            id="invalid-utf8",
        ),
        pytest.param(b"[" * 200_000 + b"]" * 200_000, "nested too deeply", id="200000-nested-brackets"),
        pytest.param(b'{"version": 99}', "unknown state format version 99", id="unknown-version"),
        pytest.param(
            b'{"version": 2, "incidents": [], "instances": {}}',
            "'incidents' must be a JSON object",
            id="incidents-not-an-object",
        ),
    ],
)
def test_a_bad_state_file_gives_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    """Given a state file that is not a state, When read, Then one line naming the file, the problem and the fix."""
    (tmp_path / STATE_FILE_NAME).write_bytes(content)
    with pytest.raises(StateError) as raised:
        StateStore(tmp_path).read()
    message = str(raised.value)
    assert expected in message, message
    assert str(tmp_path / STATE_FILE_NAME) in message, f"the file is named: {message}"
    assert "\n" not in message, f"one line: {message}"
    assert "Delete it" in message, f"the message says what to do: {message}"


def test_a_state_file_over_the_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    """Given a 100 MB (sparse) state file, When read, Then StateError naming the limit, at once."""
    with open(tmp_path / STATE_FILE_NAME, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    started = time.monotonic()
    with pytest.raises(StateError, match=f"over the {MAX_STATE_BYTES:,}-byte limit"):
        StateStore(tmp_path).read()
    assert time.monotonic() - started < 1, "the file must be refused, not read"


def test_a_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    """Given a file where the state folder should be, When the store is opened, Then StateError says so."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(StateError, match="is a file, not a folder"):
        StateStore(tmp_path / "file")


def test_an_unwritable_folder_is_refused_when_opened() -> None:
    """Given a folder that cannot be written, When the store is opened (before any command), Then StateError."""
    with pytest.raises(StateError, match="cannot be written") as raised:
        StateStore(UNWRITABLE_FOLDER)
    assert "--state-dir" in str(raised.value), "the message says what to do"


def test_a_version_1_incident_file_is_migrated(tmp_path: Path) -> None:
    """Given the old single-incident incident.json, When the folder is updated,
    Then it becomes incident 1 (current) and its integration contexts become the instances'."""
    legacy = {
        "version": 1,
        "fields": {"id": "1", "name": "old"},
        "context": {"YodaSpeak": {"TheForce": {"Original": "a"}}},
        "integration_contexts": {INSTANCE: {"translation_cache": {"version": 1}}},
    }
    (tmp_path / LEGACY_FILE_NAME).write_text(json.dumps(legacy), encoding="utf-8")
    store = StateStore(tmp_path)
    with store.update() as state:
        state.add_incident(Incident())
    state = store.read()
    assert state.current_incident()[1].context == legacy["context"], "the old incident is the current one"
    assert state.integration_context(INSTANCE) == ({"translation_cache": {"version": 1}}, 1), "contexts migrated"
    assert sorted(state.incidents) == ["1", "2"], "new incidents are added after it"


def test_state_json_documents_its_version() -> None:
    """Given an empty state, When serialised, Then it carries format version 2 (the reader's check)."""
    assert State().to_json()["version"] == 2, "state.json must say which format it is"
