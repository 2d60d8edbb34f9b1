"""The pre-commit hook this repository offers: `pre-commit try-repo` on a content repository runs the test
playbooks of the packs a commit changes, passes when they complete and fails when one does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.testplaybooks.contentrepo import git_init, write_playbook

from .conftest import ROOT

HOOK_ID = "xsoar-local-test-playbooks"
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the module: pre-commit builds it on the first run and reuses it."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def content_repo(tmp_path: Path) -> Path:
    """Alpha's test playbook completes, Beta's fails; both committed."""
    repo = tmp_path / "content"
    write_playbook(repo, "Alpha", "Alpha_Completes")
    write_playbook(repo, "Beta", "Beta_Fails", passes=False)
    (repo / "README.md").write_text("My content\n", encoding="utf-8")
    git_init(repo)
    return repo


def try_repo(
    hook_repo: Path, content: Path, home: Path, runtime_dir: Path, *files: str
) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo <this repository> <hook> --files FILES` in the content repository."""
    revision = subprocess.run(
        ["git", "-C", str(hook_repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "XSOAR_RUNTIME_DIR": str(runtime_dir),  # the hook's first run on an offline machine
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(hook_repo), HOOK_ID, "--ref", revision, "--verbose", "--files", *files],
        cwd=content,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_hook_is_declared_for_changed_packs() -> None:
    """Given .pre-commit-hooks.yaml, When read, Then it offers test-playbooks for files under Packs/, in one run."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(item for item in hooks if item["id"] == HOOK_ID)
    assert hook["entry"].split()[:3] == ["xsoar-local", "test-playbooks", "--changed"], hook
    assert hook["language"] == "python"
    assert hook["files"] == "^Packs/"
    assert hook["require_serial"] is True


@pytest.mark.parametrize(
    ("changed", "status", "expected"),
    [
        pytest.param("Packs/Alpha/TestPlaybooks/playbook-Alpha_Completes.yml", 0, "Alpha_Completes", id="passes"),
        pytest.param("Packs/Beta/pack_metadata.json", 1, "Beta_Fails", id="fails-when-a-test-playbook-fails"),
        pytest.param("README.md", 0, "(no files to check)Skipped", id="nothing-under-packs"),
    ],
)
def test_try_repo_runs_the_changed_packs_test_playbooks(
    source_tree: Path,
    content_repo: Path,
    pre_commit_home: Path,
    runtime_source: Path,
    changed: str,
    status: int,
    expected: str,
) -> None:
    """Given a content repository and this repository's hook, When pre-commit try-repo runs on a changed file,
    Then the hook runs the test playbooks of that file's pack only: it passes when they complete, fails when one
    does not, and is skipped for a change outside Packs/."""
    completed = try_repo(source_tree, content_repo, pre_commit_home, runtime_source, changed)
    output = completed.stdout + completed.stderr
    assert completed.returncode == status, f"exit {completed.returncode}, expected {status}:\n{output}"
    assert expected in output, f"{expected!r} should be in the hook's output:\n{output}"
    other = {"Alpha_Completes": "Beta_Fails", "Beta_Fails": "Alpha_Completes"}.get(expected)
    if other:
        assert other not in output, f"only the changed pack's test playbooks run, but {other} ran:\n{output}"
