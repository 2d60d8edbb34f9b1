"""Commands run in a box (`xsoar-local run`, a fresh process per command): what content starts dies with it, its
memory and process count are limited, its time limit is configurable, and it cannot read what is not its own."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.content.support import Outcome, run_line
from xsoar_local.cli import main
from xsoar_local.engine.confine import BOX_VARIABLE, Box, Limits, landlock_abi

CONFINE_PACKS = Path(__file__).resolve().parents[1] / "fixtures" / "content" / "confine" / "Packs"


def running_sleepers(seconds: str) -> list[int]:
    """The processes running `sleep SECONDS` (zombies waiting for their reaper do not run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if command[:2] == [b"sleep", seconds.encode()] and state != "Z":
            found.append(int(entry.name))
    return found


def unique_seconds() -> str:
    """A sleep length no other test uses, so the test finds exactly its own children."""
    return str(random.randrange(100_000, 900_000))


def box_probe(capsys: pytest.CaptureFixture[str], state: Path, line: str, *extra: str) -> Outcome:
    return run_line(capsys, state, f"!BoxProbe {line}", *extra, packs=CONFINE_PACKS, instances=None)


def test_children_of_a_finished_command_are_killed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a script that starts 20 `sleep` children and returns at once
    When it runs through `xsoar-local run`
    Then it succeeds, and once the command has answered none of its children is still running"""
    seconds = unique_seconds()
    outcome = box_probe(capsys, tmp_path, f"sleepers count=20 seconds={seconds}")
    assert outcome.status == 0, outcome.err or outcome.entries
    assert len(outcome.contents["pids"]) == 20, outcome.contents
    left = running_sleepers(seconds)
    assert left == [], f"the command's children outlived it: {len(left)} `sleep {seconds}` still running"


@pytest.mark.parametrize(
    ("flag", "variable"),
    [
        pytest.param(("--timeout", "2"), None, id="--timeout"),
        pytest.param((), "2", id="XSOAR_LOCAL_TIMEOUT"),
    ],
)
def test_a_command_past_its_time_limit_is_stopped_with_its_children(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    flag: tuple[str, ...],
    variable: str | None,
) -> None:
    """Given a script that starts 5 `sleep` children and then never ends, and a time limit of 2 seconds
    (by --timeout or by XSOAR_LOCAL_TIMEOUT)
    When it runs through `xsoar-local run`
    Then the answer is an error entry naming the 2-second limit, and none of its children is left running"""
    if variable is not None:
        monkeypatch.setenv("XSOAR_LOCAL_TIMEOUT", variable)
    seconds = unique_seconds()
    outcome = box_probe(capsys, tmp_path, f"hang count=5 seconds={seconds}", *flag)
    assert outcome.status == 1, f"expected the error-entry status: {outcome.err or outcome.entries}"
    message = outcome.entries[-1]["Contents"]
    assert "did not finish within 2 seconds" in message, message
    left = running_sleepers(seconds)
    assert left == [], f"a timed-out command's children outlived it: {len(left)} `sleep {seconds}` still running"


@pytest.mark.parametrize(
    ("argv", "variable", "says"),
    [
        pytest.param(("--timeout", "0"), None, "--timeout: '0' is not a positive number", id="flag-zero"),
        pytest.param(("--timeout", "soon"), None, "'soon' is not a positive number", id="flag-word"),
        pytest.param((), "-1", "XSOAR_LOCAL_TIMEOUT='-1' is not a positive number", id="variable"),
    ],
)
def test_a_bad_time_limit_is_refused_with_what_to_set(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: tuple[str, ...],
    variable: str | None,
    says: str,
) -> None:
    """Given a time limit that is not a positive number
    When `xsoar-local run` is started with it
    Then it exits 2 with one line naming the setting, and runs nothing"""
    if variable is not None:
        monkeypatch.setenv("XSOAR_LOCAL_TIMEOUT", variable)
    capsys.readouterr()
    argv_all = ["run", "--packs", str(CONFINE_PACKS), "--state-dir", str(tmp_path), "--command", "!BoxProbe sleepers"]
    try:
        status = main([*argv_all, *argv])
    except SystemExit as exit_:  # argparse refuses a bad flag value itself
        status = int(str(exit_.code))
    err = capsys.readouterr().err
    assert status == 2, f"status {status}: {err}"
    assert says in err, err
    assert "Traceback" not in err, err


def test_memory_past_the_limit_is_an_error_entry(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Given a memory limit of 256 MB (XSOAR_LOCAL_MEMORY_MB)
    When a script allocates 512 MB
    Then the answer is an error entry saying memory ran out, not a success"""
    monkeypatch.setenv("XSOAR_LOCAL_MEMORY_MB", "256")
    outcome = box_probe(capsys, tmp_path, "allocate mb=512")
    assert outcome.status == 1, f"the allocation was allowed: {outcome.entries}"
    assert "MemoryError" in outcome.entries[-1]["Contents"], outcome.entries


def test_a_file_past_the_memory_limit_cannot_be_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Given a memory limit of 256 MB (a command's folder may be in memory, where files cost memory)
    When a script writes 300 MB to one file in its folder
    Then the write past 256 MB fails with "File too large" (the process is not killed) and the script answers"""
    monkeypatch.setenv("XSOAR_LOCAL_MEMORY_MB", "256")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("XSOAR_LOCAL_WORK_DIR", str(work))
    outcome = box_probe(capsys, tmp_path / "state", "write mb=300")
    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.contents["written_mb"] == 256, f"the file outgrew the limit: {outcome.contents}"
    assert "File too large" in outcome.contents["error"], outcome.contents


def _file_system(folder: str) -> str:
    """The kind of file system `folder` is on, as coreutils' `stat` tells it."""
    return subprocess.run(["stat", "-f", "-c", "%T", folder], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("chosen", [pytest.param(True, id="XSOAR_LOCAL_WORK_DIR"), pytest.param(False, id="default")])
@pytest.mark.parametrize("executor", [pytest.param((), id="warm"), pytest.param(("--cold",), id="cold")])
def test_each_command_works_in_a_folder_of_its_own_where_the_setting_says(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    chosen: bool,
    executor: tuple[str, ...],
) -> None:
    """Given XSOAR_LOCAL_WORK_DIR set to a folder, or not set
    When a script reports its working folder and HOME (warm or --cold)
    Then both are one new folder inside that folder; unset, inside /dev/shm where that is a memory file system
    with 1 GB free (a command's files then never reach the disk), else inside the system's temporary folder"""
    monkeypatch.delenv("XSOAR_LOCAL_WORK_DIR", raising=False)
    if chosen:
        expected = tmp_path / "work"
        expected.mkdir()
        monkeypatch.setenv("XSOAR_LOCAL_WORK_DIR", str(expected))
    else:
        roomy = shutil.disk_usage("/dev/shm").free >= 1 << 30 if os.path.isdir("/dev/shm") else False
        expected = Path("/dev/shm" if roomy and _file_system("/dev/shm") == "tmpfs" else tempfile.gettempdir())
    outcome = box_probe(capsys, tmp_path / "state", "where", *executor)
    assert outcome.status == 0, outcome.err or outcome.entries
    folder = Path(outcome.contents["cwd"])
    assert folder.parent == expected, f"the command worked in {folder}, not in a folder of {expected}"
    assert outcome.contents["home"] == str(folder), outcome.contents


@pytest.mark.parametrize("make", [pytest.param(False, id="missing"), pytest.param(True, id="a-file")])
def test_a_work_folder_that_is_not_a_folder_is_refused_with_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make: bool
) -> None:
    """Given XSOAR_LOCAL_WORK_DIR naming no folder (missing, or a file)
    When `xsoar-local run` is started
    Then it exits 2 with one line naming the setting and what to do, and runs nothing"""
    target = tmp_path / "work"
    if make:
        target.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XSOAR_LOCAL_WORK_DIR", str(target))
    outcome = box_probe(capsys, tmp_path / "state", "where")
    assert outcome.status == 2, f"status {outcome.status}: {outcome.entries}"
    assert f"XSOAR_LOCAL_WORK_DIR='{target}' is not a folder this user can write" in outcome.err, outcome.err
    assert "Traceback" not in outcome.err, outcome.err


def test_a_command_cannot_start_more_processes_than_allowed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Given a limit of 5 processes per command (XSOAR_LOCAL_MAX_PROCESSES)
    When a script tries to start 10 children
    Then starting them fails before the tenth, with the error the system gives, and none is left running"""
    monkeypatch.setenv("XSOAR_LOCAL_MAX_PROCESSES", "5")
    seconds = unique_seconds()
    outcome = box_probe(capsys, tmp_path, f"spawn count=10 seconds={seconds}")
    assert outcome.status == 0, outcome.err or outcome.entries
    answer = outcome.contents
    assert answer["started"] < 5, f"the command started {answer['started']} processes despite the limit of 5"
    assert "Error" in answer["error"], answer
    assert running_sleepers(seconds) == []


def test_content_cannot_read_the_callers_files_or_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given a file of the caller's (0600, like the state's secrets) and the caller's /proc/<pid>/environ
    When a script tries to read each, and its own script file
    Then it reads its own file but neither of the caller's"""
    assert landlock_abi() > 0, "this machine offers Landlock: the box must be on here (see README)"
    secret = tmp_path / "secret-store" / "api-key"
    secret.parent.mkdir()
    secret.write_text("K3Y-0F-THE-SERVER\n", encoding="utf-8")
    secret.chmod(0o600)
    own = CONFINE_PACKS / "Confine" / "Scripts" / "BoxProbe" / "BoxProbe.py"
    state = tmp_path / "state"
    for path, readable in ((own, True), (secret, False), (Path(f"/proc/{os.getpid()}/environ"), False)):
        outcome = box_probe(capsys, state, f"read path={path}")
        assert outcome.status == 0, outcome.err or outcome.entries
        assert outcome.contents["read"] is readable, f"{path}: {outcome.contents}"
        if not readable:
            assert "PermissionError" in outcome.contents["error"], outcome.contents


def test_with_the_sandbox_off_content_reads_what_the_user_can(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Given XSOAR_LOCAL_SANDBOX=off (what a system without Landlock gets, as the README says)
    When a script reads a 0600 file of the user running xsoar-local
    Then it reads it: only the limits and the group kill apply"""
    monkeypatch.setenv("XSOAR_LOCAL_SANDBOX", "off")
    secret = tmp_path / "api-key"
    secret.write_text("K3Y\n", encoding="utf-8")
    secret.chmod(0o600)
    outcome = box_probe(capsys, tmp_path / "state", f"read path={secret}")
    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.contents == {"read": True, "bytes": 4, "text": "K3Y\n"}, outcome.contents


# What the boxed process reports: where xsoar_local came from, whether a library of its environment imports, and
# what reading a state file gave.
PROBE = """
import json, sys
import xsoar_local
answer = {"package": xsoar_local.__file__}
try:
    import vendored_lib
    answer["library"] = vendored_lib.VALUE
except OSError as error:
    answer["library"] = type(error).__name__
try:
    with open(sys.argv[-1], encoding="utf-8") as handle:
        answer["state"] = handle.read()
except OSError as error:
    answer["state"] = type(error).__name__
print(json.dumps(answer))
"""


@pytest.mark.parametrize(
    "content_on_path",
    [
        pytest.param(False, id="installed-package"),
        pytest.param(True, id="installed-package-content-repository-on-PYTHONPATH"),
    ],
)
def test_a_package_installed_outside_the_checkout_imports_in_its_box_but_not_its_state(
    tmp_path: Path, content_on_path: bool
) -> None:
    """Given xsoar_local installed in a site-packages folder outside this checkout, beside another library (as
    requests is in a venv the wheel went into), and a content repository whose default state folder
    `.xsoar-local/` (beside `Packs/`) holds a secret, that repository optionally on $PYTHONPATH too
    When a process enters the box of an integration of that repository (`python -m xsoar_local.engine.confine`)
    Then it imports the installed package and the library, and reading the state file is refused"""
    assert landlock_abi() > 0, "this machine offers Landlock: the box must be on here (see README)"
    source = Path(__file__).resolve().parents[2] / "xsoar_local"
    site = tmp_path / "venv" / "lib" / "site-packages"
    shutil.copytree(source, site / "xsoar_local", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "vendored_lib").mkdir()
    (site / "vendored_lib" / "__init__.py").write_text("VALUE = 'imported'\n", encoding="utf-8")
    (site / "box_probe_main.py").write_text(PROBE, encoding="utf-8")
    repository = tmp_path / "content"
    integration = repository / "Packs" / "Pack" / "Integrations" / "Thing"
    integration.mkdir(parents=True)
    secret = repository / ".xsoar-local" / "instances" / "Thing_instance_1.json"
    secret.parent.mkdir(parents=True)
    secret.write_text('{"token": "K3Y"}', encoding="utf-8")
    workdir = tmp_path / "job"
    workdir.mkdir()
    box = Box.for_job({"folder": str(integration)}, workdir, {}, Limits())
    path = [str(site), str(repository)] if content_on_path else [str(site)]
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(path), BOX_VARIABLE: box.to_json()}

    completed = subprocess.run(
        [sys.executable, "-m", "xsoar_local.engine.confine", "box_probe_main", str(secret)],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, f"the boxed process failed:\n{completed.stdout}\n{completed.stderr}"
    answer = json.loads(completed.stdout)
    assert Path(answer["package"]).is_relative_to(site), f"xsoar_local came from the checkout: {answer['package']}"
    assert answer["library"] == "imported", f"a library beside the installed package was not importable: {answer}"
    assert answer["state"] == "PermissionError", f"the state folder beside Packs/ was readable: {answer}"
