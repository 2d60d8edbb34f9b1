"""`make help` lists the Makefile's targets, each with what it does; `make run` and `make test` come first."""

from __future__ import annotations

import re
import subprocess

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
