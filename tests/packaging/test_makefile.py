"""The Makefile: `make help` lists the targets, and `make setup` checks the runtime before it installs anything."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from .conftest import ROOT

# Targets other targets use, not meant to be typed.
INTERNAL = {"browser", "pack-upload-env"}


def phony_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    declared: set[str] = set()
    for line in text.splitlines():
        if line.startswith(".PHONY:"):
            declared.update(line.split(":", 1)[1].split())
    return declared - INTERNAL


def test_make_help_lists_every_target() -> None:
    """Given the Makefile, When `make help` runs, Then every target one types is listed with a description."""
    completed = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    listed = dict(re.findall(r"^  (\S+)\s+(.+)$", completed.stdout, flags=re.MULTILINE))
    missing = sorted(phony_targets() - set(listed))
    assert not missing, f"make help does not list {missing}:\n{completed.stdout}"
    assert list(listed)[:2] == ["run", "setup"], f"make run comes first: {list(listed)[:3]}"
    assert "test" in listed, listed


def test_setup_without_a_runtime_stops_before_installing(source_tree: Path) -> None:
    """Given a fresh clone with no ../shared beside it, no XSOAR_RUNTIME_DIR and no network, When `make setup` runs,
    Then the runtime check fails first, in one line naming XSOAR_RUNTIME_DIR, before any environment is installed."""
    refused = "http://127.0.0.1:9"  # nothing listens on the discard port: every download is refused at once
    env = {key: value for key, value in os.environ.items() if key not in ("XSOAR_RUNTIME_DIR", "MAKEFLAGS")}
    env.update(https_proxy=refused, HTTPS_PROXY=refused, http_proxy=refused, HTTP_PROXY=refused)
    completed = subprocess.run(
        ["make", "--no-print-directory", "setup"], cwd=source_tree, env=env, capture_output=True, text=True, check=False
    )
    assert completed.returncode != 0, completed.stdout + completed.stderr
    ours = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1, completed.stderr
    assert "XSOAR_RUNTIME_DIR" in ours[0], ours[0]
    assert "setup: installing" not in completed.stderr, f"nothing is installed before the runtime:\n{completed.stderr}"
    assert not (source_tree / ".venv").exists(), "no environment may be created before the runtime check passes"
