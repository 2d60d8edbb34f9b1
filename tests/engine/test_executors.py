"""Executor selection (engine/executors): warm by default, cold with `--cold` or XSOAR_LOCAL_WARM=off, an executor
registered for another language, and the warm worker's life: reused within a process, stopped at its exit."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine import executors
from xsoar_local.engine.executors import RunOptions, executor_for, refuse_nested, register_executor, set_warm
from xsoar_local.engine.executors.cold import ColdExecutor
from xsoar_local.engine.executors.warm import WarmExecutor
from xsoar_local.engine.jobs import Job, JobResult
from xsoar_local.errors import UsageError
from xsoar_local.runtime import DEFAULT_DESTINATION, REPO_ROOT

# A script that reports the process it ran in and the one that started it (the warm worker, or this process).
PIDS = """
import os
demisto.results({"Type": 1, "ContentsFormat": "json", "Contents": {"pid": os.getpid(), "parent": os.getppid()}})
"""


def job(language: str = "python", code: str = PIDS) -> Job:
    return Job(
        kind="script",
        name="Pids",
        folder=str(REPO_ROOT),
        runtime_dir=str(DEFAULT_DESTINATION.resolve()),
        language=language,
        code=code,
    )


def pids(result: JobResult) -> dict[str, Any]:
    assert not result.crashed, result.entries
    contents = result.entries[0]["Contents"]
    return dict(contents)


@pytest.fixture(autouse=True)
def process_switch() -> Iterator[None]:
    """Each test starts from the process's default switch and leaves it so."""
    set_warm(None)
    yield
    set_warm(None)


@pytest.mark.parametrize(
    ("environment", "override", "expected"),
    [
        pytest.param(None, None, WarmExecutor, id="default-warm"),
        pytest.param("off", None, ColdExecutor, id="env-off"),
        pytest.param("0", None, ColdExecutor, id="env-0"),
        pytest.param("on", None, WarmExecutor, id="env-on"),
        pytest.param(None, False, ColdExecutor, id="cold-flag"),
        pytest.param("off", True, WarmExecutor, id="flag-wins-over-env"),
    ],
)
def test_the_warm_switch_picks_the_executor(
    monkeypatch: pytest.MonkeyPatch, environment: str | None, override: bool | None, expected: type
) -> None:
    """Given XSOAR_LOCAL_WARM and the process's switch (`--cold`), When a Python job's executor is chosen,
    Then it is the warm one unless either turns it off (the flag deciding when both are set)."""
    if environment is None:
        monkeypatch.delenv(executors.WARM_ENV, raising=False)
    else:
        monkeypatch.setenv(executors.WARM_ENV, environment)
    set_warm(override)
    assert isinstance(executor_for(job()), expected)


def test_an_executor_registered_for_a_language_runs_its_jobs() -> None:
    """Given an executor registered for `javascript`, When a JavaScript job is run, Then it goes there, with the
    executeCommand callback, and nothing else had to change."""
    seen: list[tuple[str, bool]] = []

    class Recording:
        def __init__(self, warm: bool) -> None:
            self.warm = warm

        def run(self, job: Job, on_request: Any, options: RunOptions) -> JobResult:
            seen.append((job.language, self.warm))
            reply = on_request({"type": "executeCommand", "command": "Print", "args": {}})
            return JobResult(entries=({"Type": 1, "ContentsFormat": "text", "Contents": reply["error"]},))

        def close(self) -> None:
            seen.append(("closed", self.warm))

    register_executor("javascript", Recording)
    try:
        result = executor_for(job("javascript")).run(job("javascript"), refuse_nested, RunOptions())
        assert seen == [("javascript", True)], seen
        assert "no content catalog" in result.entries[0]["Contents"], result.entries
        assert "javascript" in executors.languages()
    finally:
        executors._factories.pop("javascript", None)
        executors._executors.pop(("javascript", True), None)


def test_warm_jobs_run_in_forks_of_one_worker_and_cold_ones_in_fresh_children() -> None:
    """Given the same job run twice warm and once cold, When each reports its process, Then the warm runs are two
    forks of one worker (not this process), and the cold run is a child of this process."""
    first = pids(executor_for(job(), warm=True).run(job(), refuse_nested, RunOptions()))
    second = pids(executor_for(job(), warm=True).run(job(), refuse_nested, RunOptions()))
    cold = pids(executor_for(job(), warm=False).run(job(), refuse_nested, RunOptions()))
    assert first["pid"] != second["pid"], "each warm job runs in a fork of its own"
    assert first["parent"] == second["parent"] != os.getpid(), "warm jobs share one worker, which is not this process"
    assert cold["parent"] == os.getpid(), "a cold job is a fresh child of this process"


STOPS_AT_EXIT = textwrap.dedent(
    """
    import json, os
    from xsoar_local.engine.executors import RunOptions, executor_for, refuse_nested
    from xsoar_local.engine.jobs import Job
    from xsoar_local.runtime import DEFAULT_DESTINATION, REPO_ROOT
    job = Job(kind="script", name="Pids", folder=str(REPO_ROOT), runtime_dir=str(DEFAULT_DESTINATION.resolve()),
              code=%r)
    result = executor_for(job, warm=True).run(job, refuse_nested, RunOptions())
    print(json.dumps(result.entries[0]["Contents"]))
    """
)


def test_the_warm_worker_stops_when_the_process_exits(tmp_path: Path) -> None:
    """Given a process that ran a job warm and then exits without closing anything, When it has exited,
    Then its warm worker is gone too (stopped at exit, not left running)."""
    completed = subprocess.run(
        [sys.executable, "-c", STOPS_AT_EXIT % PIDS],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    worker = json.loads(completed.stdout.strip().splitlines()[-1])["parent"]
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)


def test_a_language_package_that_defines_make_executor_is_found_on_its_first_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a package `xsoar_local.engine.<language>` defining `make_executor(warm)` and nothing registering it,
    When a job of that language is run, Then its executor is made from that package (how the JavaScript engine
    plugs in)."""
    made: list[bool] = []

    class Answering:
        def run(self, job: Job, on_request: Any, options: RunOptions) -> JobResult:
            return JobResult(entries=({"Type": 1, "ContentsFormat": "text", "Contents": job.language},))

        def close(self) -> None:
            pass

    def make_executor(warm: bool) -> Answering:
        made.append(warm)
        return Answering()

    package = types.ModuleType("xsoar_local.engine.fakelang")
    package.__spec__ = importlib.machinery.ModuleSpec("xsoar_local.engine.fakelang", None)
    package.make_executor = make_executor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xsoar_local.engine.fakelang", package)
    try:
        result = executor_for(job("fakelang"), warm=False).run(job("fakelang"), refuse_nested, RunOptions())
        assert made == [False], "the package's make_executor should make the executor, with the warm switch"
        assert result.entries[0]["Contents"] == "fakelang"
    finally:
        executors._factories.pop("fakelang", None)
        executors._executors.pop(("fakelang", False), None)


def test_the_cold_switch_reaches_the_toolkits_own_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given `--cold` (set_warm(False)), When a worker process of the toolkit starts (test-playbooks -j N spawns
    them), Then it sees XSOAR_LOCAL_WARM=off and runs cold too; resetting the switch restores the variable."""
    monkeypatch.setenv(executors.WARM_ENV, "on")
    set_warm(False)
    spawned = subprocess.run(
        [sys.executable, "-c", "from xsoar_local.engine.executors import warm_enabled; print(warm_enabled())"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert spawned.stdout.strip() == "False", spawned.stdout + spawned.stderr
    set_warm(None)
    assert os.environ[executors.WARM_ENV] == "on", "the variable the user set is back"


def test_a_worker_started_ahead_runs_the_first_warm_job() -> None:
    """Given a warm worker started before any job was known (what `run` does before it imports the rest of the
    toolkit), When a warm job for the same interpreter and runtime runs, Then it runs in a fork of that worker
    (no second worker is started), and the next job in a fork of the same one."""
    from xsoar_local.engine.executors import warm

    executors.shutdown()  # no worker from an earlier test: the first job must find the one started ahead
    warm.prestart(sys.executable, DEFAULT_DESTINATION)
    ahead = [worker._process.pid for worker in warm._PRESTARTED.values()]
    assert len(ahead) == 1, f"expected one worker started ahead, found {ahead}"
    first = pids(executor_for(job(), warm=True).run(job(), refuse_nested, RunOptions()))
    second = pids(executor_for(job(), warm=True).run(job(), refuse_nested, RunOptions()))
    assert first["parent"] == second["parent"] == ahead[0], f"jobs ran in {first}, {second}, not in {ahead[0]}"
    assert not warm._PRESTARTED, "the worker started ahead was taken, not left waiting"


@pytest.mark.parametrize(
    ("argv", "environ", "started"),
    [
        pytest.param(["run", "--text", "hi"], {"XSOAR_LOCAL_IMAGES": "off"}, True, id="run-images-off"),
        pytest.param(["run", "--text", "hi"], {}, False, id="images-on-interpreter-unknown"),
        pytest.param(["run", "--cold", "--text", "hi"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="cold"),
        pytest.param(["run", "--help"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="help"),
        pytest.param(["playbook", "x.yml"], {"XSOAR_LOCAL_IMAGES": "off"}, True, id="playbook"),
        pytest.param(["test-playbooks"], {"XSOAR_LOCAL_IMAGES": "off"}, True, id="test-playbooks"),
        pytest.param(["test-playbooks", "-j", "1"], {"XSOAR_LOCAL_IMAGES": "off"}, True, id="test-playbooks-j-1"),
        pytest.param(["test-playbooks", "-j", "2"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="test-playbooks-j-2"),
        pytest.param(["test-playbooks", "-j4"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="test-playbooks-j4"),
        pytest.param(["test-playbooks", "--jobs=3"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="test-playbooks-jobs"),
        pytest.param(["test-playbooks", "-j", "x"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="test-playbooks-bad-j"),
        pytest.param(["test-playbooks", "--cold"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="test-playbooks-cold"),
        pytest.param(["server"], {"XSOAR_LOCAL_IMAGES": "off"}, False, id="server"),
    ],
)
def test_a_one_process_command_starts_its_worker_ahead_only_when_it_will_use_it(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], environ: dict[str, str], started: bool
) -> None:
    """Given an `xsoar-local` command line, When the entry point decides whether to start a warm worker before
    parsing it, Then only a warm `run`, `playbook` or one-process `test-playbooks` whose interpreter is known
    (images off) starts one."""
    from xsoar_local.engine.executors import prestart, warm

    monkeypatch.delenv("XSOAR_LOCAL_WARM", raising=False)
    calls: list[str] = []
    monkeypatch.setattr(warm, "prestart", lambda *args: calls.append("prestart"))
    assert prestart.prestart_for_command_line(argv, environ) is started
    assert calls == (["prestart"] if started else []), f"{argv} {environ}: prestart calls {calls}"


# A process that runs one warm job (in a server's life when asked) and prints its worker's command line.
WORKER_SWITCHES = textwrap.dedent(
    """
    import contextlib, json, os, sys, tempfile
    from pathlib import Path
    from xsoar_local.engine.executors import RunOptions, executor_for, prefault_enabled, refuse_nested
    from xsoar_local.engine.jobs import Job
    from xsoar_local.runtime import DEFAULT_DESTINATION, REPO_ROOT
    from xsoar_local.server.serve import run_server
    job = Job(kind="script", name="Pids", folder=str(REPO_ROOT), runtime_dir=str(DEFAULT_DESTINATION.resolve()),
              code=%r)
    with contextlib.ExitStack() as stack:
        if sys.argv[1] == "server":
            state = stack.enter_context(tempfile.TemporaryDirectory())
            stack.enter_context(run_server(Path(state), environ={"DEMISTO_API_KEY": "k" * 32 + "A1!"}))
        result = executor_for(job, warm=True).run(job, refuse_nested, RunOptions())
        worker = result.entries[0]["Contents"]["parent"]
        with open(f"/proc/{worker}/cmdline", "rb") as handle:
            switches = handle.read().split(b"\\0")
    print(json.dumps({"copies_ahead": b"--no-prefault" not in switches, "default_after": prefault_enabled()}))
    """
)


@pytest.mark.parametrize(
    ("where", "setting", "copies_ahead"),
    [
        pytest.param("cli", None, False, id="cli-process-does-not"),
        pytest.param("server", None, True, id="server-process-does"),
        pytest.param("cli", "on", True, id="variable-on"),
        pytest.param("server", "off", False, id="variable-off-in-a-server"),
    ],
)
def test_spares_copy_pages_ahead_in_a_server_unless_the_variable_says_otherwise(
    where: str, setting: str | None, copies_ahead: bool
) -> None:
    """Given a process running warm jobs as a CLI command does, or during a server's life, with
    XSOAR_LOCAL_PREFAULT unset, on or off
    When its warm worker starts
    Then the worker's spares copy pages ahead only in a server (idle between commands) or when the variable says
    on, and a server leaves the process's default as it found it"""
    environment = {key: value for key, value in os.environ.items() if key != "XSOAR_LOCAL_PREFAULT"}
    if setting is not None:
        environment["XSOAR_LOCAL_PREFAULT"] = setting
    completed = subprocess.run(
        [sys.executable, "-c", WORKER_SWITCHES % PIDS, where],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env=environment,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    assert found["copies_ahead"] is copies_ahead, f"{where} with XSOAR_LOCAL_PREFAULT={setting}: {found}"
    assert found["default_after"] is (setting == "on"), f"the process's default after the run: {found}"


def test_a_bad_prefault_setting_is_refused_with_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given XSOAR_LOCAL_PREFAULT=maybe
    When a warm worker's setting is read
    Then it is a usage error naming the variable and its values"""
    monkeypatch.setenv("XSOAR_LOCAL_PREFAULT", "maybe")
    with pytest.raises(UsageError, match=r"XSOAR_LOCAL_PREFAULT='maybe': set it to on or off"):
        executors.prefault_enabled()


@pytest.mark.parametrize("command", ["run", "playbook", "test-playbooks", "server"])
def test_a_bad_prefault_setting_ends_a_command_in_one_line(tmp_path: Path, command: str) -> None:
    """Given XSOAR_LOCAL_PREFAULT=maybe and content run in the toolkit's environment (a worker is started before
    the command line is read)
    When `xsoar-local run`, `playbook`, `test-playbooks` or `server` starts
    Then it exits 2 with one line naming the setting, and no traceback (the server before it serves)"""
    from bench.donewhen import synthetic_content

    packs = synthetic_content(tmp_path, 1, 1)
    playbook = next((packs / "BenchPack" / "TestPlaybooks").glob("*.yml"))
    argv = {
        "run": ["run", "--packs", str(packs), "--command", "!BenchEcho value=x"],
        "playbook": ["playbook", "--packs", str(packs), "--playbook", str(playbook)],
        "test-playbooks": ["test-playbooks", "--packs", str(packs)],
        "server": ["server", "--port", "0", "--state-dir", str(tmp_path / "state")],
    }[command]
    environment = {**os.environ, "XSOAR_LOCAL_PREFAULT": "maybe", "XSOAR_LOCAL_IMAGES": "off"}
    environment["DEMISTO_API_KEY"] = "prefault-test-Key-0123456789abcdef!"
    completed = subprocess.run(
        [sys.executable, "-m", "xsoar_local", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "XSOAR_LOCAL_PREFAULT='maybe': set it to on or off" in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
