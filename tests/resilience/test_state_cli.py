"""The state folder through the commands users type: concurrent `run`s, a playbook after runs, bad folders.

Each command runs as `make run` / `make playbook` run it: `python -m xsoar_local ...` in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from standins.funtranslations.server import ServiceConfig, serve
from tests.resilience.support import ROOT, YODA_FOLDER
from xsoar_local.engine.runner import child_environment
from xsoar_local.incident.state import STATE_FILE_NAME, StateStore

INSTANCE = "YodaSpeak_local"  # the embedded service's instance
TEXTS = [f"Hello number {n}, friend of the state folder" for n in range(6)]


def cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "xsoar_local", *argv]


def start(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli(*argv),
        cwd=ROOT,
        env=child_environment(os.environ, {"COLUMNS": "200"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def run_text(state: Path, text: str, *extra: str) -> list[str]:
    return ["run", "--integration", str(YODA_FOLDER), "--state-dir", str(state), "--text", text, *extra]


def originals(context: dict[str, object]) -> set[str]:
    force = (context.get("YodaSpeak") or {}).get("TheForce")  # type: ignore[union-attr]
    items = force if isinstance(force, list) else [force] if force else []
    return {item["Original"] for item in items}


def cached_entries(store: StateStore) -> int:
    context, _ = store.read().integration_context(INSTANCE)
    return len(context["translation_cache"]["entries"])


def test_six_concurrent_runs_on_one_folder_keep_every_translation(tmp_path: Path) -> None:
    """Given one state folder, When six `run`s with different texts start together,
    Then all exit 0, the incident's context holds six translations and the instance's cache six entries."""
    processes = [start(*run_text(tmp_path, text)) for text in TEXTS]
    results = [finish(process) for process in processes]
    assert [status for status, _, _ in results] == [0] * 6, [err for _, _, err in results]
    store = StateStore(tmp_path)
    _, incident = store.read().current_incident()
    assert originals(incident.context) == set(TEXTS), f"a translation was lost: {incident.context}"
    assert cached_entries(store) == 6, "a cached translation was lost: the next run would spend the quota again"


def test_a_playbook_adds_its_incident_and_keeps_the_saved_state(tmp_path: Path) -> None:
    """Given two runs saved in a folder, When `playbook --state-dir` runs on it,
    Then the earlier translations and the instance's cache are still there, and the playbook's incident is added."""
    for text in TEXTS[:2]:
        status, _, err = finish(start(*run_text(tmp_path, text)))
        assert status == 0, err
    status, out, err = finish(
        start(
            "playbook",
            "--playbook",
            "Yoda Speak",
            "--incident",
            "details=x marks the spot",
            "--state-dir",
            str(tmp_path),
        )
    )
    assert status == 0, f"{out}\n{err}"
    store = StateStore(tmp_path)
    state = store.read()
    current_id, current = state.current_incident()
    assert originals(current.context) == set(TEXTS[:2]), f"the runs' incident lost its context: {current.context}"
    others = [incident for key, incident in state.incidents.items() if key != current_id]
    assert len(others) == 1, f"the playbook should add one incident: {state.incidents}"
    assert originals(others[0].context) == {"x marks the spot"}, others[0].context
    assert cached_entries(store) == 3, "the playbook must add to the instance's cache, not replace it"


def test_runs_and_a_playbook_at_once_keep_every_update(tmp_path: Path) -> None:
    """Given one folder, When three runs and a playbook start together, Then all their translations are cached."""
    processes = [start(*run_text(tmp_path, text)) for text in TEXTS[:3]]
    processes.append(
        start("playbook", "--playbook", "Yoda Speak", "--incident", "details=Concurrent", "--state-dir", str(tmp_path))
    )
    results = [finish(process) for process in processes]
    assert [status for status, _, _ in results] == [0] * 4, [err for _, _, err in results]
    store = StateStore(tmp_path)
    assert cached_entries(store) == 4, "every run's and the playbook's translation must be cached"
    assert len(store.read().incidents) == 2, "the runs' incident and the playbook's"


def test_an_unwritable_state_folder_stops_before_the_api_call(tmp_path: Path) -> None:
    """Given a state folder that cannot be written, When `run` is asked to translate,
    Then it exits 2 with one line naming the folder and the fix, and the service received no request."""
    with serve(ServiceConfig(rate_limit=5, window_seconds=3600, tls=False)) as service:
        status, out, err = finish(
            start(*run_text(Path("/sys/kernel"), "Hello", "--no-service", "--param", f"url={service.url}"))
        )
        requests = len(service.requests)
    assert status == 2, f"exit status {status}\n{out}\n{err}"
    assert requests == 0, "the translation must not be spent when its result cannot be kept"
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"one line: {err}"
    assert "/sys/kernel" in lines[0], lines
    assert "--state-dir" in lines[0], lines


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        pytest.param(lambda folder: folder.write_text("x", encoding="utf-8"), "is a file", id="folder-is-a-file"),
        pytest.param(
            lambda folder: (folder.mkdir(), (folder / STATE_FILE_NAME).write_bytes(b'{"x": "\xff"}')),
            "not UTF-8",
            id="invalid-utf8",
        ),
        pytest.param(
            lambda folder: (folder.mkdir(), (folder / STATE_FILE_NAME).write_bytes(b"[" * 200_000)),
            "nested too deeply",
            id="200000-brackets",
        ),
    ],
)
def test_a_bad_state_folder_gives_one_line_and_status_2(tmp_path: Path, prepare: object, expected: str) -> None:
    """Given a bad state folder, When `run` uses it, Then one line without a traceback, exit status 2."""
    folder = tmp_path / "state"
    prepare(folder)  # type: ignore[operator]
    status, out, err = finish(start(*run_text(folder, "Hello")))
    assert status == 2, f"exit status {status}\n{out}\n{err}"
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, f"one line: {err}"
    assert expected in err, err


def test_real_runs_never_answer_from_the_stand_ins_cache(tmp_path: Path) -> None:
    """Given a translation cached by a local run (the embedded stand-in), When `run --real` asks for the same text
    (the real service, unreachable within a 1 ms timeout: no network needed), Then the answer is not the stand-in's
    cached one: the real instance has a cache of its own, and the run reports the real service's failure."""
    status, _, err = finish(start(*run_text(tmp_path, TEXTS[0])))
    assert status == 0, err
    real = subprocess.run(
        cli(*run_text(tmp_path, TEXTS[0], "--real", "--json")),
        cwd=ROOT,
        env={**child_environment(os.environ, {"COLUMNS": "200"}), "REQUESTS_TIMEOUT": "0.001"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "From the cache" not in real.stdout, f"REAL=1 answered from the stand-in's cache:\n{real.stdout}"
    document = json.loads(real.stdout)
    assert document["instance"] == "YodaSpeak_instance_1", document["instance"]
    assert document["is_error"] is True, document["entries"]
    assert real.returncode == 1, real.stderr
