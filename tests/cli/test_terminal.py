"""Text shown in the terminal is neutralised: control characters from an integration are shown, never obeyed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xsoar_local.engine.runner import child_environment

ROOT = Path(__file__).resolve().parents[2]
YODA = ROOT / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"
ECHO = ROOT / "tests" / "engine" / "fixtures" / "EchoTest"
# Clear the screen, retitle the window (OSC 0 ... BEL), a one-byte C1 CSI, and a right-to-left override.
HOSTILE = "Hello \x1b[2J\x1b]0;pwned\x07 there \x9b31m and \u202eevil"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xsoar_local", *argv],
        cwd=ROOT,
        env=child_environment(os.environ, {"COLUMNS": "200"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--integration", str(YODA), "--text", HOSTILE, "-v"], id="yoda-table-both-columns-and-context"),
        pytest.param(
            ["--integration", str(ECHO), "--command", f"!echo-fail reason={json.dumps(HOSTILE)}"], id="error-entry"
        ),
        pytest.param(
            ["--integration", str(ECHO), "--command", f"!echo-note message={json.dumps(HOSTILE)}", "--json"], id="json"
        ),
        pytest.param(
            ["--integration", str(ECHO), "--command", "!no-such-\x1b[2J\x1b]0;pwned\x07\x9b31m\u202e"],
            id="toolkit-error",
        ),
    ],
)
def test_control_characters_are_made_visible(tmp_path: Path, argv: list[str]) -> None:
    """Given text with terminal escapes (clear screen, window title, C1 CSI, RTL override),
    When `run` shows it (table, error entry, context, --json, the toolkit's own error),
    Then no raw control character reaches stdout or stderr, and the escapes are shown as text."""
    completed = cli("run", "--state-dir", str(tmp_path), *argv)
    output = completed.stdout + completed.stderr
    leaked = [repr(char) for char in RAW_CONTROLS if char in output]
    assert leaked == [], f"raw control characters reached the terminal: {leaked}\n{output!r}"
    assert "\\x1b[2J" in output or "\\u001b[2J" in output, f"the escape should be shown as text:\n{output}"
    assert "Traceback" not in output, output
