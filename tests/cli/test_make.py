"""The Makefile passes user values through untouched: `make run`, `make playbook`, `make serve` as users type them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine.runner import child_environment
from xsoar_local.makevars import MakeVarsError, argv_for

ROOT = Path(__file__).resolve().parents[2]


def make(tmp_path: Path, target: str, *assignments: str) -> subprocess.CompletedProcess[str]:
    """`make -s <target> NAME=value ...` with its own state folder; no make variables inherited from a parent make."""
    env = child_environment(os.environ, {"COLUMNS": "200", "XSOAR_LOCAL_STATE_DIR": str(tmp_path / "state")})
    return subprocess.run(
        ["make", "-s", "--no-print-directory", target, *assignments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def run_json(tmp_path: Path, *assignments: str) -> dict[str, Any]:
    completed = make(tmp_path, "run", *assignments)
    assert completed.stdout.lstrip().startswith("{"), f"no JSON (exit {completed.returncode}):\n{completed.stderr}"
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I paid $5 for $HOME", id="dollar-and-variable"),
        pytest.param("It's a \"quoted\" 'text'", id="quotes"),
        pytest.param("two  spaces\tand a tab", id="spaces"),
        pytest.param("first line\nsecond line", id="newline"),
        pytest.param("$$ and $(x) and ${y} and `z` and \\n", id="make-and-shell-syntax"),
    ],
)
def test_make_run_text_reaches_the_integration_untouched(tmp_path: Path, text: str) -> None:
    """Given TEXT with $, quotes, blanks or newlines, When `make run TEXT=...`, Then the command gets it as typed."""
    document = run_json(tmp_path, f"TEXT={text}", "ARGS=--json")
    assert document["args"] == {"text": text}, document["args"]


def test_make_run_never_runs_a_shell_function_in_the_text(tmp_path: Path) -> None:
    """Given TEXT holding $(shell touch FILE), When `make run` runs, Then no file is created and the text is kept."""
    marker = tmp_path / "pwned"
    text = f"$(shell touch {marker}) and $$(touch {marker})"
    document = run_json(tmp_path, f"TEXT={text}", "ARGS=--json")
    assert not marker.exists(), "make or the shell executed the text"
    assert document["args"] == {"text": text}, document["args"]


def test_make_run_cmd_and_args_keep_their_quotes_and_dollars(tmp_path: Path) -> None:
    """Given CMD with a quoted argument and ARGS with a quoted, $-holding value,
    When `make run` runs, Then the War Room line and the param arrive as typed."""
    document = run_json(
        tmp_path, "CMD=!yoda-speak-translate text=\"Cost: $5, 'ok'\"", "ARGS=--json --param 'cache_hours=0' --verbose"
    )
    assert document["args"] == {"text": "Cost: $5, 'ok'"}, document["args"]
    assert document["logs"], "--verbose from ARGS was passed as its own word"


def test_make_run_blank_text_holds_the_readme_row(tmp_path: Path) -> None:
    """Given the README's row `make run TEXT="   "`, When run through make,
    Then the integration gets the blank text and says it is empty (the CLI's status 1; make's own status 2)."""
    completed = make(tmp_path, "run", "TEXT=   ")
    assert "The text argument is empty" in completed.stdout, completed.stdout + completed.stderr
    assert completed.returncode == 2, f"make reports its own status 2, got {completed.returncode}"
    assert "Error 1" in completed.stderr, f"make names the command's status 1: {completed.stderr}"


def test_make_server_args_reach_the_server_untouched(tmp_path: Path) -> None:
    """Given ARGS naming a state folder with $, $(...) and spaces (a file there, so the server refuses it at once),
    When `make server` runs, Then the server's refusal names that exact path: ARGS reached it unexpanded."""
    odd = tmp_path / "state $HOME $(echo x) `id` two  spaces"
    odd.write_text("not a folder", encoding="utf-8")
    env = child_environment(os.environ, {"COLUMNS": "200"})
    argv = ["make", "-s", "--no-print-directory", "server", f"ARGS=--port 0 --state-dir '{odd}'"]
    # Its own session: if ARGS were expanded, a server starts on another folder and must not outlive the test.
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the server started instead of refusing {odd}: ARGS were changed on the way\n{out}")
    assert process.returncode != 0, out
    assert f"error: {odd} is a file, not a folder" in err, err


def test_make_playbook_details_reach_the_incident_untouched(tmp_path: Path) -> None:
    """Given DETAILS with $ and quotes, When `make playbook` runs, Then the incident's details are as typed."""
    details = 'Pay $5 to "Yoda"\'s $HOME'
    completed = make(tmp_path, "playbook", f"DETAILS={details}", "ARGS=--json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["context"]["YodaSpeak"]["TheForce"]["Original"] == details


@pytest.mark.parametrize(
    ("target", "environ", "expected"),
    [
        pytest.param(
            "run",
            {"MAKEVAR_TEXT": "hi", "MAKEVAR_FAULT": "429  latency=1", "MAKEVAR_REAL": ""},
            ["run", "--text", "hi", "--fault", "429", "--fault", "latency=1"],
            id="faults-split",
        ),
        pytest.param("run", {"MAKEVAR_CMD": "  ", "MAKEVAR_TEXT": ""}, ["run", "--text", ""], id="blank-cmd-uses-text"),
        pytest.param(
            "serve",
            {"MAKEVAR_ARGS": "--port 8080 --fault 'status=503,times=2'"},
            ["serve", "--", "--port", "8080", "--fault", "status=503,times=2"],
            id="serve-args",
        ),
        pytest.param(
            "serve",
            {"MAKEVAR_STANDIN": "funtranslations", "MAKEVAR_ARGS": "--tls"},
            ["serve", "--stand-in", "funtranslations", "--", "--tls"],
            id="serve-names-its-stand-in",
        ),
        pytest.param(
            "server",
            {"MAKEVAR_ARGS": "--port 8080 --state-dir 'my $HOME'", "MAKEVAR_TEXT": "ignored"},
            ["server", "--port", "8080", "--state-dir", "my $HOME"],
            id="server-args",
        ),
        pytest.param(
            "playbook",
            {"MAKEVAR_PLAYBOOK": "Yoda Speak", "MAKEVAR_DETAILS": "x", "MAKEVAR_REAL": "1"},
            ["playbook", "--playbook", "Yoda Speak", "--incident", "details=x", "--real"],
            id="playbook-real",
        ),
    ],
)
def test_argv_for(target: str, environ: dict[str, str], expected: list[str]) -> None:
    """Given make variables, When turned into argv, Then each lands in its own argument."""
    assert argv_for(target, environ) == expected


def test_leading_blanks_make_dropped_are_restored_from_makes_arguments() -> None:
    """Given make's argument TEXT=   (the recipe gets an empty value), When argv is built, Then TEXT is blank."""
    assert argv_for("run", {"MAKEVAR_TEXT": ""}, ["-s", "run", "TEXT=   "]) == ["run", "--text", "   "]
    assert argv_for("run", {"MAKEVAR_TEXT": "other"}, ["TEXT=   "]) == ["run", "--text", "other"], "only the same value"


def test_an_unbalanced_quote_in_args_is_one_clear_error() -> None:
    """Given ARGS with an unclosed quote, When argv is built, Then MakeVarsError names ARGS and the fix."""
    with pytest.raises(MakeVarsError, match="ARGS: No closing quotation"):
        argv_for("run", {"MAKEVAR_ARGS": "--param 'x"})
