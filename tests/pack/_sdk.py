"""Helpers for the pack tests: the repository layout, demisto-sdk runs, and throw-away copies."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SDK = REPO_ROOT / ".venv-sdk" / "bin" / "demisto-sdk"
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
PACK = Path("Packs") / "YodaSpeak"
INTEGRATION = PACK / "Integrations" / "YodaSpeak"
PLAYBOOK = PACK / "Playbooks" / "playbook-Yoda_Speak.yml"
TEST_PLAYBOOK = PACK / "TestPlaybooks" / "playbook-YodaSpeak_Test.yml"
# What demisto-sdk reads besides the pack: approved lists, validation settings.
SUPPORT_FILES = (Path("Config"), Path("validation_config.toml"), Path(".demisto-sdk-conf"))
# Local leftovers (test runs, coverage) that are no part of the pack.
LEFTOVERS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".coverage", ".coverage.*", ".hypothesis")
ERROR_CODE = re.compile(r"\[([A-Z]{2}\d{3})\]")


def sdk_env() -> dict[str, str]:
    """The environment the Makefile gives demisto-sdk: offline-safe, no version check."""
    env = {key: value for key, value in os.environ.items() if key != "DEMISTO_SDK_OFFLINE_ENV"}
    env.update(DEMISTO_SDK_SKIP_VERSION_CHECK="1", DEMISTO_SDK_IGNORE_CONTENT_WARNING="1")
    return env


def run_sdk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run demisto-sdk with args in cwd; never raises on a non-zero exit."""
    return subprocess.run(
        [str(SDK), *args], cwd=cwd, env=sdk_env(), capture_output=True, text=True, check=False, timeout=300
    )


def copy_content(dest: Path) -> Path:
    """Copy the pack and the sdk support files into dest, as a one-commit git repository.

    demisto-sdk wants a git repository with at least one commit (it reads the HEAD commit while
    parsing a pack); a remote is not needed for `validate -a` / `validate -i`.
    """
    for item in (PACK, *SUPPORT_FILES):
        source = REPO_ROOT / item
        if source.is_dir():
            shutil.copytree(source, dest / item, ignore=shutil.ignore_patterns(*LEFTOVERS))
        else:
            shutil.copy2(source, dest / item)
    git = [
        "git",
        "-c",
        "user.name=pack tests",
        "-c",
        "user.email=pack-tests@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy of the pack"]):
        subprocess.run([*git, *command], cwd=dest, check=True, capture_output=True)
    return dest


def error_codes(output: str) -> set[str]:
    """The validation error codes (e.g. IN113) named in demisto-sdk output."""
    return set(ERROR_CODE.findall(output))
