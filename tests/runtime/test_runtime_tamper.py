"""A tampered runtime never runs: digests are checked on every run, and bytecode is never trusted over them.

Each test works on a copy of the toolkit (its own `.xsoar-runtime/`), so the installed runtime is never touched,
and runs the command `make run` runs: `python -m xsoar_local run` in a fresh process.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xsoar_local import runtime
from xsoar_local.engine.runner import child_environment

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = Path("Packs") / "YodaSpeak" / "Integrations" / "YodaSpeak"


def checkout(tmp_path: Path) -> Path:
    """A copy of the toolkit, the integration and the installed (genuine) runtime."""
    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "xsoar_local", copy / "xsoar_local", ignore=ignore)
    shutil.copytree(ROOT / INTEGRATION, copy / INTEGRATION, ignore=ignore)
    shutil.copytree(runtime.DEFAULT_DESTINATION, copy / ".xsoar-runtime", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")  # a checkout keeps its runtime in .xsoar-runtime
    return copy


def make_run(copy: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "xsoar_local", "run", "--integration", str(copy / INTEGRATION)]
    return subprocess.run(
        [*argv, "--state-dir", str(copy / "state"), "--text", "Hello there"],
        cwd=copy,  # `-m` finds this copy's xsoar_local first, so its REPO_ROOT (and runtime) is the copy's
        env=child_environment(os.environ, {"COLUMNS": "200"}, repo_root=copy),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def planted(marker: Path) -> str:
    return f"\nopen({str(marker)!r}, 'w').write('the planted code ran')\n"


@pytest.mark.parametrize("name", [item.name for item in runtime.RUNTIME_FILES])
def test_a_runtime_file_changed_after_setup_stops_the_run(tmp_path: Path, name: str) -> None:
    """Given a line appended to an installed runtime file after set-up,
    When `run` translates, Then the appended code never ran and one line names the file and `make runtime`."""
    copy = checkout(tmp_path)
    marker = tmp_path / "marker"
    with open(copy / ".xsoar-runtime" / name, "a", encoding="utf-8") as handle:
        handle.write(planted(marker))
    completed = make_run(copy)
    assert not marker.exists(), "the tampered runtime file was executed"
    assert completed.returncode == 2, f"exit {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, f"one line expected:\n{completed.stderr}"
    assert name in lines[0], lines
    assert "make runtime" in lines[0], lines


def test_planted_bytecode_with_the_sources_mtime_and_size_is_not_run(tmp_path: Path) -> None:
    """Given a __pycache__ .pyc for CommonServerPython whose header matches the genuine source's mtime and size,
    When `run` translates, Then the planted bytecode never ran and the translation works from the verified source."""
    copy = checkout(tmp_path)
    marker = tmp_path / "marker"
    source = copy / ".xsoar-runtime" / "CommonServerPython.py"
    stat = source.stat()
    code = compile(source.read_text(encoding="utf-8") + planted(marker), str(source), "exec")
    from importlib._bootstrap_external import _code_to_timestamp_pyc  # type: ignore[attr-defined]

    pyc = Path(importlib.util.cache_from_source(str(source)))
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(bytes(_code_to_timestamp_pyc(code, int(stat.st_mtime), stat.st_size)))
    completed = make_run(copy)
    assert not marker.exists(), "the planted bytecode was executed instead of the verified source"
    assert completed.returncode == 0, f"exit {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    assert "Hello there" in completed.stdout, completed.stdout
