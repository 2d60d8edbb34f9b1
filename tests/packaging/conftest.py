"""The wheels, built once per session, and a fresh virtual environment outside the repository with them installed.

Building uses this environment's setuptools (no build isolation, nothing downloaded); installing the wheels'
dependencies goes through pip's cache, so a second session costs a few seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.testplaybooks.contentrepo import git_init
from xsoar_local import runtime
from xsoar_local.engine.images import IMAGES_DIR_VARIABLE, default_images_dir

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    """A virtual environment with xsoar-local installed from its wheel (and the funtranslations extra)."""

    venv: Path
    wheels: Path
    home: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def environ(self, **extra: str) -> dict[str, str]:
        """A clean environment: the venv first on PATH, a fresh HOME and cache, nothing of this repository."""
        env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(self.home),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "LANG": "C.UTF-8",
            "COLUMNS": "200",
            "NO_PROXY": "127.0.0.1,localhost,::1",
            "no_proxy": "127.0.0.1,localhost,::1",
            # The per-image environments the developer already has: reused, not rebuilt from the index.
            IMAGES_DIR_VARIABLE: os.environ.get(IMAGES_DIR_VARIABLE) or str(default_images_dir()),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        env.update(extra)
        return env

    def run(self, *argv: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "xsoar-local"), *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _pip(python: Path | str, *args: str) -> None:
    completed = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, f"pip {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"


@pytest.fixture(scope="session")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout's files (tracked and new, not ignored), committed in a git repository of its own:
    what a clone of this repository holds, and a build writes build/ and *.egg-info there, not here."""
    source = tmp_path_factory.mktemp("source") / "xsoar-local"
    listing = ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listing, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if not (ROOT / name).is_file():
            continue  # deleted in the working tree
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    git_init(source)
    return source


@pytest.fixture(scope="session")
def wheels(source_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """xsoar_local-*.whl and xsoar_local_funtranslations-*.whl, built from the copy of this checkout."""
    folder = tmp_path_factory.mktemp("wheels")
    build = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(folder)]
    _pip(sys.executable, *build, str(source_tree), str(source_tree / "standins"))
    return folder


@pytest.fixture(scope="session")
def installed(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv outside the repository with `xsoar-local[funtranslations]` installed from the wheels."""
    place = tmp_path_factory.mktemp("outside")
    assert ROOT not in place.parents, f"the venv must live outside the repository: {place}"
    target = place / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    wheel = next(wheels.glob("xsoar_local-*.whl"))
    _pip(target / "bin" / "python", "install", "--quiet", "--find-links", str(wheels), f"{wheel}[funtranslations]")
    home = place / "home"
    home.mkdir()
    return Installed(target, wheels, home)


@pytest.fixture(scope="session")
def runtime_source() -> Path:
    """A folder holding the genuine runtime (what XSOAR_RUNTIME_DIR names on an offline machine)."""
    assert runtime.is_installed(runtime.DEFAULT_DESTINATION), "run make setup first: the runtime is not installed"
    return runtime.DEFAULT_DESTINATION
