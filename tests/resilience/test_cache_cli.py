"""The cache, seen the way `make run` shows it: the CLI in its own process, twice, with one --state-dir.

Each `make run` starts a fresh local service, so the request count it prints is the count for that run alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.resilience.support import ROOT, YODA_FOLDER
from xsoar_local.engine.runner import child_environment
from xsoar_local.incident.state import StateStore

# The Makefile's default TEXT.
TEXT = "The prequel movies are more entertaining than the new Disney movies"
_COUNT = re.compile(r"Local service http://127\.0\.0\.1:\d+/translate/: (\d+) requests? received during this run\.")


def make_run(state: Path, *extra: str) -> tuple[int, str]:
    """What `make run ARGS="--state-dir ..."` runs: the CLI in a fresh process; returns the request count and output."""
    argv = [sys.executable, "-m", "xsoar_local", "run", "--integration", str(YODA_FOLDER), "--state-dir", str(state)]
    completed = subprocess.run(
        [*argv, "--text", TEXT, *extra],
        cwd=ROOT,
        # The CLI process gets what the engine gives its sandbox: runtime variables, no network settings.
        env=child_environment(os.environ, {"COLUMNS": "200"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = completed.stdout
    assert completed.returncode == 0, f"make run failed ({completed.returncode}):\n{output}\n{completed.stderr}"
    counts = _COUNT.findall(output)
    assert len(counts) == 1, f"make run should print one request-count line:\n{output}"
    return int(counts[0]), output


def saved_translation(state: Path) -> str:
    """The translation in the incident the CLI saved."""
    _, incident = StateStore(state).read().current_incident()
    context = incident.context
    return str(context["YodaSpeak"]["TheForce"]["Translation"])


@pytest.mark.parametrize(
    ("extra", "second_run_requests", "cache_note"),
    [
        pytest.param((), 0, True, id="default-cache-second-run-asks-nothing"),
        pytest.param(("--param", "cache_hours=0"), 1, False, id="cache-off-second-run-asks-again"),
    ],
)
def test_a_second_identical_make_run_within_the_cache_lifetime_makes_no_request(
    tmp_path: Path, extra: tuple[str, ...], second_run_requests: int, cache_note: bool
) -> None:
    """Given one state folder and the same text,
    When `make run` runs twice (two processes, two fresh services),
    Then the first run asks the service once, the second asks it nothing and shows the same translation from the
    cache (with the cache turned off, it asks again: the count really comes from the service)."""
    first_count, _ = make_run(tmp_path, *extra)
    first = saved_translation(tmp_path)
    second_count, output = make_run(tmp_path, *extra)
    second = saved_translation(tmp_path)
    assert first_count == 1, f"the first run should ask the service once, it asked {first_count} times"
    assert second_count == second_run_requests, (
        f"the second run should make {second_run_requests} requests, it made {second_count}:\n{output}"
    )
    assert second == first, f"the second run changed the translation: {first!r} -> {second!r}"
    assert first.strip(), "a translation is expected"
    assert ("From the cache" in output) is cache_note, f"cache note expected={cache_note}:\n{output}"
