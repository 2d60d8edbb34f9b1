"""Every command of the fault matrix (README) reproduces its row, run as written right after `make run`.

The rows are read from README.md itself, so the table cannot drift from what the commands do. Each row runs in
a shell exactly as written (environment assignments and all) in a state folder where `make run` has just
translated the Makefile's default text, so a cached translation would hide the fault if caches were shared.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from xsoar_local.engine.runner import child_environment

ROOT = Path(__file__).resolve().parents[2]
_COUNT = re.compile(r"Local service http://127\.0\.0\.1:\d+/translate/: (\d+) requests? received during this run\.")


@dataclass(frozen=True)
class Row:
    """One row of the fault matrix that names a runnable command."""

    fault: str
    commands: tuple[str, ...]  # run in order, in one state folder
    requests: int | None
    message: str
    status: int  # the CLI's status; make itself reports 2 when it is not 0


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def _status(seen: str) -> int:
    explicit = re.search(r"\(exit status (\d)\)", seen)
    if explicit:
        return int(explicit.group(1))
    return 0 if seen.startswith("No error") else 1


def _matrix_section() -> str:
    """The fault matrix table: in docs/fault-matrix.md where the README links to it, else in the README."""
    for name in ("docs/fault-matrix.md", "README.md"):
        path = ROOT / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if "Troubleshooting: the fault matrix" in text:
            return text.split("Troubleshooting: the fault matrix", 1)[1].split("\n#", 1)[0]
    raise AssertionError("no fault matrix in docs/fault-matrix.md or README.md")


def matrix_rows() -> list[Row]:
    """The rows whose "Injected with" cell holds runnable `make run` commands (no <placeholder>)."""
    section = _matrix_section()
    rows = []
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| Fault") or line.startswith("| ---"):
            continue
        fault, injected, requests, seen, _ = _cells(line)
        commands = tuple(re.findall(r"`([^`]*make run[^`]*)`", injected))
        if not commands or "<" in injected:
            continue
        count = re.match(r"(\d+)", requests)
        message = re.findall(r"`([^`]+)`", seen)
        rows.append(
            Row(fault, commands, int(count.group(1)) if count else None, message[0] if message else "", _status(seen))
        )
    return rows


def _flat(text: str) -> str:
    """Terminal output as one line: box drawing and wrapping removed, so a message can be found whatever the width."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _pattern(message: str) -> re.Pattern[str]:
    """The README's message with its run-specific parts (ports, timestamps) as wildcards."""
    escaped = re.escape(" ".join(message.split()))
    escaped = re.sub(r"127\\\.0\\\.0\\\.1:\d+", r"127\\.0\\.0\\.1:\\d+", escaped)
    return re.compile(re.sub(r"\d{4}\\-\d\d\\-\d\dT\d\d:\d\d:\d\dZ", r"[0-9TZ:-]+", escaped))


def test_the_matrix_has_the_rows_it_documents() -> None:
    """Given the README, When its fault matrix is read, Then the runnable rows are found (the parser is not blind)."""
    faults = {row.fault for row in matrix_rows()}
    assert {"400", "404", "500", "Empty body", "Blank text (only spaces)"} <= faults, faults


@pytest.mark.parametrize("row", [pytest.param(row, id=row.fault) for row in matrix_rows()])
def test_each_fault_matrix_command_reproduces_its_row_after_make_run(tmp_path: Path, row: Row) -> None:
    """Given a state folder where `make run` just translated the default text,
    When the row's command runs as written,
    Then the output shows the row's message, the local service saw the row's request count,
    and the exit status is the row's (make reports its own status 2 and names the command's)."""
    env = child_environment(os.environ, {"COLUMNS": "250", "XSOAR_LOCAL_STATE_DIR": str(tmp_path)})
    for command in ("make -s --no-print-directory run", *row.commands):
        completed = subprocess.run(
            ["bash", "-c", command.replace("make run", "make -s --no-print-directory run")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    output = _flat(completed.stdout + "\n" + completed.stderr)
    assert _pattern(row.message).search(output), f"{row.fault}: expected {row.message!r} in:\n{output}"
    counts = _COUNT.findall(completed.stdout)
    refused_before_running = row.status == 2  # a usage error: the service was never started
    if row.requests is not None and not refused_before_running:
        assert counts == [str(row.requests)], f"{row.fault}: expected {row.requests} requests, the service saw {counts}"
    if row.status == 0:
        assert completed.returncode == 0, f"{row.fault}: expected success:\n{output}"
    else:
        assert completed.returncode == 2, f"{row.fault}: make reports its own status 2, got {completed.returncode}"
        assert f"Error {row.status}" in completed.stderr, f"{row.fault}: make should name status {row.status}"
