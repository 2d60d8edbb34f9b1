"""No path a user can reach prints a traceback: one line naming the problem and the fix, and a non-zero status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xsoar_local.engine.runner import child_environment

ROOT = Path(__file__).resolve().parents[2]
YODA = ROOT / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"


def cli(*argv: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "xsoar_local", *argv],
        cwd=ROOT,
        env={**child_environment(os.environ, {"COLUMNS": "200"}), **(env or {})},
        capture_output=True,
        timeout=120,
        check=False,
    )


def script_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "Packs" / "P" / "Scripts" / "MyScript"
    folder.mkdir(parents=True)
    (folder / "MyScript.yml").write_text(
        "commonfields:\n  id: MyScript\nname: MyScript\nscript: '-'\ntype: python\nsubtype: python3\n", encoding="utf-8"
    )
    (folder / "MyScript.py").write_text("print('hello')\n", encoding="utf-8")
    return folder


def one_line(completed: subprocess.CompletedProcess[bytes]) -> str:
    stderr = completed.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in completed.stdout + completed.stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"one line expected on stderr:\n{stderr}"
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "env", "status", "expected"),
    [
        pytest.param(
            ["--text", "hi"],
            {"REQUESTS_TIMEOUT": "abc"},
            2,
            "REQUESTS_TIMEOUT='abc' is not a number",
            id="requests-timeout-abc",
        ),
        pytest.param(
            ["--text", "hi"],
            {"REQUESTS_TIMEOUT.YodaSpeak": "-1"},
            2,
            "REQUESTS_TIMEOUT.YodaSpeak='-1'",
            id="requests-timeout-per-brand",
        ),
        pytest.param(["--text", "hi", "--fault", "latency=1e308"], {}, 2, "0 to 3600 seconds", id="latency-1e308"),
        pytest.param(
            ["--command", '!yoda-speak-translate text="abc'],
            {},
            2,
            "starting at column 28",
            id="unterminated-quote-column-in-the-line",
        ),
    ],
)
def test_user_errors_are_one_line(
    tmp_path: Path, argv: list[str], env: dict[str, str], status: int, expected: str
) -> None:
    """Given a bad setting or command line, When `run` starts, Then one line saying what to fix, and the status."""
    completed = cli("run", "--integration", str(YODA), "--state-dir", str(tmp_path), *argv, env=env)
    assert completed.returncode == status, completed.stderr
    assert expected in one_line(completed)


@pytest.mark.parametrize(
    ("subcommand", "option"),
    [
        pytest.param("run", "--params-file", id="run-params-file"),
        pytest.param("playbook", "--incident-file", id="playbook-incident-file"),
    ],
)
def test_200000_nested_brackets_in_an_input_file_are_one_line(tmp_path: Path, subcommand: str, option: str) -> None:
    """Given a JSON input file of 200,000 nested brackets, When the command reads it, Then one line and status 2."""
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    first = ["--integration", str(YODA), "--state-dir", str(tmp_path), "--text", "hi"] if subcommand == "run" else []
    first = first or ["--playbook", "Yoda Speak"]
    completed = cli(subcommand, *first, option, str(nested))
    assert completed.returncode == 2, completed.stderr
    assert "nested too deeply" in one_line(completed)


def test_a_script_folder_given_to_integration_is_refused(tmp_path: Path) -> None:
    """Given an automation script's folder, When passed to --integration, Then one line saying it is a script."""
    completed = cli(
        "run",
        "--integration",
        str(script_folder(tmp_path)),
        "--state-dir",
        str(tmp_path / "s"),
        "--command",
        "test-module",
    )
    assert completed.returncode == 2, completed.stderr
    assert "is a script, not an integration" in one_line(completed)


def test_a_lone_surrogate_is_printed_escaped_with_pythonioencoding_utf8(tmp_path: Path) -> None:
    """Given an argument that is not valid UTF-8 (it becomes a lone surrogate), with PYTHONIOENCODING=utf-8,
    When `run` shows it, Then it is printed escaped and the run ends with the integration's answer, no traceback."""
    completed = cli(
        "run",
        "--integration",
        str(YODA),
        "--state-dir",
        str(tmp_path),
        "--text",
        b"hi \xff there",
        env={"PYTHONIOENCODING": "utf-8"},
    )
    assert b"Traceback" not in completed.stdout + completed.stderr, completed.stderr.decode("utf-8", "replace")
    assert completed.returncode == 1, completed.stderr
    assert b"\\udcff" in completed.stdout, "the lone surrogate should be shown escaped"


@pytest.mark.parametrize("steps", ["0", "-1", "many"])
def test_max_steps_below_one_is_refused(steps: str) -> None:
    """Given --max-steps 0, -1 or a word, When `playbook` parses it, Then usage error 2 naming the option."""
    completed = cli("playbook", "--playbook", "Yoda Speak", "--max-steps", steps)
    assert completed.returncode == 2, completed.stderr
    assert "--max-steps" in completed.stderr.decode(), completed.stderr
    assert b"Traceback" not in completed.stderr


def _sigint_ignored() -> None:
    # The harshest start: a shell starts `&` jobs (and CI runners often start us) with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_ctrl_c_during_a_run_is_one_line_and_status_130(tmp_path: Path) -> None:
    """Given `run` waiting on a slow service (latency=30), When Ctrl-C reaches the terminal's process group,
    Then it stops with one line and status 130 (even when started with SIGINT ignored), no traceback, and the
    state folder is still readable."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xsoar_local",
            "run",
            "--integration",
            str(YODA),
            "--state-dir",
            str(tmp_path),
            "--text",
            "Hello",
            "--fault",
            "latency=30",
        ],
        cwd=ROOT,
        env=child_environment(os.environ, {"COLUMNS": "200"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
        preexec_fn=_sigint_ignored,
    )
    time.sleep(3)  # the sandbox is waiting on the service
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    text = stderr.decode("utf-8", "replace")
    assert process.returncode == 130, f"status {process.returncode}: {text}"
    assert "Traceback" not in text, text
    assert text.strip().splitlines() == ["interrupted: nothing was saved for the command that was running"], text
    completed = cli("run", "--integration", str(YODA), "--state-dir", str(tmp_path), "--text", "Hello")
    assert completed.returncode == 0, completed.stderr
