"""A temporary content repository as content developers have one: a git repository with `Packs/<pack>/` and
`Tests/conf.json`, holding small test playbooks that pass or fail without any service."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

FIXTURE_PACKS = Path(__file__).resolve().parents[1] / "fixtures" / "content" / "Packs"


def _task(task_id: str, kind: str, name: str, next_id: str | None = None, script: str = "") -> dict[str, Any]:
    task: dict[str, Any] = {
        "id": task_id,
        "taskid": f"00000000-0000-4000-8000-00000000000{task_id}",
        "type": kind,
        "task": {"id": f"00000000-0000-4000-8000-00000000000{task_id}", "version": -1, "name": name, "type": kind},
        "separatecontext": False,
    }
    task["task"].update({"iscommand": False, "brand": ""})
    if script:
        task["task"]["script"] = script
    if next_id is not None:
        task["nexttasks"] = {"#none#": [next_id]}
    return task


def playbook(playbook_id: str, *, passes: bool = True) -> dict[str, Any]:
    """A test playbook: start, then a title task (it completes) or a task calling a script no pack has (it fails)."""
    last = _task("1", "title", "Done")
    if not passes:
        last = _task("1", "regular", "Call a missing script", script="NoSuchScript")
    return {
        "id": playbook_id,
        "version": -1,
        "name": playbook_id,
        "description": "A fixture test playbook.",
        "starttaskid": "0",
        "tasks": {"0": _task("0", "start", "", "1"), "1": last},
        "fromversion": "6.5.0",
    }


def write_playbook(repo: Path, pack: str, playbook_id: str, *, passes: bool = True) -> Path:
    """Packs/<pack>/TestPlaybooks/playbook-<id>.yml (and the pack's metadata)."""
    folder = repo / "Packs" / pack / "TestPlaybooks"
    folder.mkdir(parents=True, exist_ok=True)
    metadata = repo / "Packs" / pack / "pack_metadata.json"
    if not metadata.exists():
        metadata.write_text(json.dumps({"name": pack, "currentVersion": "1.0.0"}), encoding="utf-8")
    path = folder / f"playbook-{playbook_id}.yml"
    path.write_text(yaml.safe_dump(playbook(playbook_id, passes=passes), sort_keys=False), encoding="utf-8")
    return path


def write_script(repo: Path, pack: str, name: str, code: str) -> Path:
    """Packs/<pack>/TestPlaybooks/script-<name>.yml: a test-only Python script with its code inline."""
    folder = repo / "Packs" / pack / "TestPlaybooks"
    folder.mkdir(parents=True, exist_ok=True)
    script = {
        "commonfields": {"id": name, "version": -1},
        "name": name,
        "type": "python",
        "subtype": "python3",
        "tags": [],
        "comment": "A fixture test-only script.",
        "enabled": True,
        "args": [],
        "dockerimage": "demisto/python3:3.11.10.116949",
        "fromversion": "6.2.0",
        "script": code,
    }
    path = folder / f"script-{name}.yml"
    path.write_text(yaml.safe_dump(script, sort_keys=False), encoding="utf-8")
    return path


def write_script_playbook(repo: Path, pack: str, playbook_id: str, script: str, *, loops: bool = False) -> Path:
    """Packs/<pack>/TestPlaybooks/playbook-<id>.yml: start, then a task running `script` (with `loops`, the task
    leads back to itself: the playbook never ends on its own)."""
    path = write_playbook(repo, pack, playbook_id)
    document = playbook(playbook_id)
    document["tasks"]["1"] = _task("1", "regular", f"Run {script}", "1" if loops else None, script=script)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def write_conf(repo: Path, conf: Mapping[str, Any]) -> Path:
    """Tests/conf.json."""
    path = repo / "Tests" / "conf.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conf, indent=4), encoding="utf-8")
    return path


def add_fixture_pack(repo: Path, name: str) -> Path:
    """A copy of one of tests/fixtures/content/Packs (integrations and scripts that run offline)."""
    target = repo / "Packs" / name
    shutil.copytree(FIXTURE_PACKS / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def git_init(repo: Path) -> None:
    """Make `repo` a git repository with everything committed (pre-commit and CI work on one)."""
    run = lambda *args: subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "main")
    run("config", "user.email", "dev@example.com")
    run("config", "user.name", "Content Developer")
    run("config", "commit.gpgsign", "false")
    run("add", "-A")
    run("commit", "-q", "-m", "content")
