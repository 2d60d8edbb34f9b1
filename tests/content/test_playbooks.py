"""`test-playbooks` on a content root holding this repository's pack and the fixture packs, with instances."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from xsoar_local.runtime import REPO_ROOT

from .support import INSTANCES, PACKS, xsoar


def content_root(tmp_path: Path, packs: dict[str, Path]) -> Path:
    """A content root of symlinked packs."""
    root = tmp_path / "Packs"
    root.mkdir(parents=True)
    for name, source in packs.items():
        (root / name).symlink_to(source, target_is_directory=True)
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """YodaSpeak (this repository), Gatekeeper and Lighthouse (fixtures)."""
    return content_root(
        tmp_path,
        {
            "YodaSpeak": REPO_ROOT / "Packs" / "YodaSpeak",
            "Gatekeeper": PACKS / "Gatekeeper",
            "Lighthouse": PACKS / "Lighthouse",
        },
    )


def test_every_test_playbook_completes(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    """Given the three packs and the instances file, When test-playbooks runs, Then all three test playbooks complete:
    scripts as tasks, a transformer and a filter script, sub-flows that rejoin, #default# branches, conditions over
    context paths, two brands with their own instances, and YodaSpeak on its default instance."""
    outcome = xsoar(capsys, "test-playbooks", "--packs", str(root), "--instances", str(INSTANCES), "--json")
    document = json.loads(outcome.out)
    failures = [(run["playbook"], run.get("error")) for run in document["runs"] if not run["completed"]]
    assert outcome.status == 0, f"failed runs: {failures}"
    assert document["passed"] == 3, f"failed runs: {failures}"
    runs = {run["playbook"]["id"]: run for run in document["runs"]}
    assert set(runs) == {"Gatekeeper_Test", "Lighthouse_Test", "YodaSpeak_Test"}, set(runs)
    order = [task["task_id"] for task in runs["Gatekeeper_Test"]["tasks"]]
    assert order.index("5") > order.index("10"), f"the join (5) waits for the longer sub-flow (10): {order}"
    assert order.count("5") == 1, f"the join runs once: {order}"
    branches = {task["task_id"]: task.get("branch") for task in runs["Gatekeeper_Test"]["tasks"]}
    assert (branches["6"], branches["7"]) == ("yes", "#default#"), branches
    context = runs["Gatekeeper_Test"]["context"]
    assert context["Gatekeeper"]["FirstUpper"] == "ALERT 1!", "the transformer script ran with its argument"


def test_a_broken_check_fails_the_playbook(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given the Gatekeeper test playbook expecting another transformer result, When run, Then it does not complete:
    the condition takes #default# to the failing task (the checks are real)."""
    gatekeeper = tmp_path / "Gatekeeper"
    for folder in ("Integrations", "Scripts"):
        (gatekeeper / folder).mkdir(parents=True)
        for item in (PACKS / "Gatekeeper" / folder).iterdir():
            (gatekeeper / folder / item.name).symlink_to(item, target_is_directory=True)
    (gatekeeper / "TestPlaybooks").mkdir()
    source = PACKS / "Gatekeeper" / "TestPlaybooks" / "playbook-Gatekeeper_Test.yml"
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    document["tasks"]["6"]["conditions"][0]["condition"][0][0]["right"]["value"]["simple"] = "ALERT 1"
    (gatekeeper / "TestPlaybooks" / source.name).write_text(yaml.safe_dump(document), encoding="utf-8")
    root = content_root(tmp_path / "root", {"Gatekeeper": gatekeeper})
    instances = yaml.safe_load(INSTANCES.read_text(encoding="utf-8"))["instances"][:1]  # Gatekeeper's only
    file = tmp_path / "instances.yml"
    file.write_text(yaml.safe_dump({"instances": instances}), encoding="utf-8")
    outcome = xsoar(capsys, "test-playbooks", "--packs", str(root), "--instances", str(file), "--json")
    assert outcome.status == 1, outcome.out
    run = json.loads(outcome.out)["runs"][0]
    assert "Gatekeeper checks failed" in run["error"], run["error"]


def test_without_instances_a_brand_missing_its_key_fails_with_one_line(
    capsys: pytest.CaptureFixture[str], root: Path
) -> None:
    """Given no instances file, When test-playbooks runs, Then the Lighthouse playbook fails saying its instance
    lacks the required api_key, and the others still run."""
    outcome = xsoar(capsys, "test-playbooks", "--packs", str(root), "--json")
    document = json.loads(outcome.out)
    assert outcome.status == 1, document
    assert document["failed"] >= 1, document
    lighthouse = next(run for run in document["runs"] if "Lighthouse" in json.dumps(run["playbook"]))
    assert "missing required param 'api_key'" in lighthouse["error"], lighthouse["error"]


def test_a_wrong_instances_file_is_one_line_before_any_playbook(
    capsys: pytest.CaptureFixture[str], root: Path, tmp_path: Path
) -> None:
    """Given an instances file naming an unknown brand, When test-playbooks runs, Then exit 2 with one line."""
    file = tmp_path / "instances.yml"
    file.write_text("instances:\n  - {brand: Nope, name: n, params: {}}\n", encoding="utf-8")
    outcome = xsoar(capsys, "test-playbooks", "--packs", str(root), "--instances", str(file))
    assert outcome.status == 2, outcome.out
    assert outcome.out == "", outcome.out
    assert len(outcome.err.strip().splitlines()) == 1, outcome.err
    assert "brand 'Nope'" in outcome.err, outcome.err
