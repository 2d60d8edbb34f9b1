"""Instances per brand from `--instances FILE`: used by every command, each misconfiguration one clear line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .support import INSTANCES, PACKS, run_line, write_instances, xsoar

SECRET = "s3cr3t-value-that-must-not-print"


def test_each_brand_uses_its_own_instance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given instances of two brands in the file, When a command of each runs, Then each gets its instance's params."""
    status = run_line(capsys, tmp_path, "!lh-status").contents
    assert status == {"status": "UP", "keyed": True, "instance": "Lighthouse_main"}, status
    assert run_line(capsys, tmp_path, "!test-module using=Gatekeeper_main").contents == "ok", "the key came from file"


def test_a_brand_without_an_instance_gets_a_default_instance(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given no instance of Probe in the file, When a Probe command runs, Then it runs on Probe_instance_1."""
    outcome = run_line(capsys, tmp_path, "!probe-other")
    assert outcome.document["instance"] == "Probe_instance_1", outcome.document


def two_brand_packs(tmp_path: Path) -> Path:
    """A content root where two packs hold an integration of the brand Lighthouse."""
    root = tmp_path / "Packs"
    shutil.copytree(PACKS / "Lighthouse", root / "Lighthouse")
    shutil.copytree(PACKS / "Lighthouse", root / "LighthouseFork")
    return root


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        pytest.param(
            [{"brand": "Nope", "name": "n1", "params": {"api_key": SECRET}}],
            "instance 'n1' has brand 'Nope', but no integration of that brand is in {packs} "
            "(brands there: Gatekeeper, Lighthouse, Probe): fix the brand or --packs",
            id="unknown-brand",
        ),
        pytest.param(
            [{"brand": "Lighthouse", "name": "lh", "params": {"url": SECRET}}],
            "instance 'lh' (Lighthouse): missing required param 'api_key' (API key): add `api_key` under the params "
            "of instance 'lh' in {file}",
            id="missing-required",
        ),
        pytest.param(
            [{"brand": "Lighthouse", "name": "lh", "params": {"api_key": SECRET, "apikey": SECRET}}],
            "unknown param 'apikey' in {file} (instance 'lh') (the integration's params: api_key, url)",
            id="unknown-param",
        ),
        pytest.param(
            [
                {"brand": "Lighthouse", "name": "same", "params": {"api_key": SECRET}},
                {"brand": "Gatekeeper", "name": "same", "params": {"url": SECRET}},
            ],
            "instance name(s) 'same' used twice: rename one",
            id="duplicate-name",
        ),
        pytest.param(
            [{"brand": "Lighthouse", "name": "lh", "params": {"api_key": SECRET}, "colour": "red"}],
            "instances[0] has unknown key(s) ['colour']: use brand, name, pack and params",
            id="unknown-key",
        ),
    ],
)
def test_instance_file_errors_are_one_line_naming_the_file_and_never_the_secret(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, instances: list[dict[str, object]], message: str
) -> None:
    """Given an instances file with a mistake, When any command runs, Then exit 2 with one line naming the file and
    the fix, and no param value from the file is printed."""
    file = write_instances(tmp_path / "instances.yml", instances)
    outcome = run_line(capsys, tmp_path, "!GkEnrich 1.1.1.1", instances=file)
    assert outcome.status == 2, outcome.out
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1, f"one line expected: {outcome.err}"
    assert message.format(packs=PACKS, file=file) in lines[0], lines[0]
    assert str(file) in lines[0], "the message names the file"
    assert SECRET not in outcome.err + outcome.out, "params in the file are secrets"


def test_two_integrations_of_one_brand_need_an_instance_saying_which(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given two packs with the brand Lighthouse, When a command runs with no instance, then with an instance
    without `pack`, Then both are clear errors naming the fix; with `pack:` the command runs on that pack's code."""
    root = two_brand_packs(tmp_path)
    (root / "LighthouseFork" / "Integrations" / "Lighthouse" / "Lighthouse.py").write_text(
        "demisto.results('from the fork')\n", encoding="utf-8"
    )
    none = run_line(capsys, tmp_path, "!lh-status", packs=root, instances=None)
    assert none.status == 2, none.err
    assert "two integrations have the brand 'Lighthouse'" in none.err, none.err
    assert "pack: Lighthouse" in none.err, none.err
    assert len(none.err.strip().splitlines()) == 1, none.err
    vague = write_instances(tmp_path / "vague.yml", [{"brand": "Lighthouse", "name": "lh", "params": {"api_key": "k"}}])
    outcome = run_line(capsys, tmp_path, "!lh-status", packs=root, instances=vague)
    assert outcome.status == 2, outcome.err
    assert f"say which in {vague}" in outcome.err, outcome.err
    exact = write_instances(
        tmp_path / "exact.yml",
        [{"brand": "Lighthouse", "name": "lh", "pack": "LighthouseFork", "params": {"api_key": "k"}}],
    )
    assert run_line(capsys, tmp_path, "!lh-status", packs=root, instances=exact).contents == "from the fork"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("instances: [\n  - brand: x\n", "is not valid YAML at line", id="bad-yaml"),
        pytest.param("servers: []\n", "must hold `instances:` with a list", id="no-instances-key"),
    ],
)
def test_malformed_instances_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str) -> None:
    """Given an instances file that is not the expected YAML, When used, Then one line says what to fix."""
    file = tmp_path / "instances.yml"
    file.write_text(text, encoding="utf-8")
    outcome = run_line(capsys, tmp_path, "!lh-status", instances=file)
    assert outcome.status == 2, outcome.err
    assert message in outcome.err, outcome.err
    assert len(outcome.err.strip().splitlines()) == 1, outcome.err


def test_missing_required_param_of_a_default_instance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given no instances file and a brand with a required param without default, When its command runs,
    Then one line says to pass --param (or give an instances file with an instance), and speaks of no file."""
    outcome = run_line(capsys, tmp_path, "!lh-status", instances=None)
    assert outcome.status == 2, outcome.out
    assert "missing required param 'api_key'" in outcome.err, outcome.err
    assert "or give --instances FILE with an instance of brand 'Lighthouse'" in outcome.err, outcome.err
    assert "the file" not in outcome.err, outcome.err


def test_instances_file_is_the_fixture_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given the example instances file, When test-module runs on each instance by name, Then both pass."""
    for name in ("Gatekeeper_main", "Lighthouse_main"):
        outcome = xsoar(
            capsys,
            "run",
            "--packs",
            str(PACKS),
            "--instances",
            str(INSTANCES),
            "--state-dir",
            str(tmp_path),
            "--command",
            f"!test-module using={name}",
            "--json",
        )
        assert outcome.status == 0, (name, outcome.err, outcome.out)
        assert outcome.contents == "ok", (name, outcome.err, outcome.out)


def test_params_from_the_file_are_masked_in_what_the_run_shows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given an instance whose API key comes from the file and an integration that logs it, When its command runs
    directly and through a script's executeCommand, Then the key is masked in the logs, entries and saved state."""
    file = write_instances(tmp_path / "i.yml", [{"brand": "Lighthouse", "name": "lh", "params": {"api_key": SECRET}}])
    direct = run_line(capsys, tmp_path / "state", "!lh-status", instances=file)
    nested = run_line(
        capsys, tmp_path / "state", '!ProbeScript execute payload=\'{"command": "lh-status"}\'', instances=file
    )
    logs = [log["message"] for log in direct.document["logs"]]
    assert "running lh-status with the key <XX_REPLACED>" in logs, logs
    saved = (tmp_path / "state" / "state.json").read_text(encoding="utf-8")
    for surface in (direct.out, direct.err, nested.out, nested.err, saved):
        assert SECRET not in surface, "a param from the instances file leaked"
