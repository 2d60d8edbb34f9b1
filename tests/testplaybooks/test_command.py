"""`xsoar-local test-playbooks` on a content repository: selection, shards, Tests/conf.json, JUnit XML, exit status.

Each test builds a small content repository (tests/testplaybooks/contentrepo.py) and runs the command in-process
from a folder of it, as a content developer would, without --packs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from xsoar_local.cli import main

from .contentrepo import add_fixture_pack, write_conf, write_playbook


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str

    def json(self) -> dict[str, object]:
        document: dict[str, object] = json.loads(self.out)
        return document


def xsoar(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    capsys.readouterr()
    status = main(list(argv))
    captured = capsys.readouterr()
    return Result(status, captured.out, captured.err)


def statuses(result: Result) -> dict[str, str]:
    """Playbook id -> passed/failed/skipped, from the --json document."""
    document = result.json()
    return {item["id"]: item["status"] for item in document["results"]}  # type: ignore[attr-defined]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Alpha (two passing, one failing), Beta (one passing); the working folder is a pack's subfolder."""
    root = tmp_path / "content"
    write_playbook(root, "Alpha", "Alpha_One")
    write_playbook(root, "Alpha", "Alpha_Two")
    write_playbook(root, "Alpha", "Alpha_Broken", passes=False)
    write_playbook(root, "Beta", "Beta_One")
    monkeypatch.chdir(root / "Packs" / "Alpha" / "TestPlaybooks")
    return root


def junit_cases(path: Path) -> dict[str, ET.Element]:
    tree = ET.parse(path)
    return {case.attrib["name"]: case for case in tree.iter("testcase")}


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        pytest.param([], {"Alpha_One", "Alpha_Two", "Beta_One"}, id="everything-but-the-broken-one-passes"),
        pytest.param(["Alpha_One"], {"Alpha_One"}, id="by-id"),
        pytest.param(["Alpha_T*"], {"Alpha_Two"}, id="by-glob"),
        pytest.param(["--pack", "Beta"], {"Beta_One"}, id="by-pack"),
        pytest.param(["playbook-Alpha_One.yml"], {"Alpha_One"}, id="by-path-from-the-working-folder"),
        pytest.param(["Packs/Beta/TestPlaybooks/*.yml"], {"Beta_One"}, id="by-path-glob"),
    ],
)
def test_selection_runs_exactly_the_chosen_playbooks(
    capsys: pytest.CaptureFixture[str], repo: Path, selection: list[str], expected: set[str]
) -> None:
    """Given a content repository, When test-playbooks runs from a pack's folder with a selection,
    Then exactly the selected playbooks run (the content root was found without --packs)."""
    result = xsoar(capsys, "test-playbooks", "--json", *selection)
    ran = statuses(result)
    passed = {name for name, status in ran.items() if status == "passed"}
    assert passed == expected, f"passed {passed}, expected {expected}; all: {ran}; stderr: {result.err}"
    assert result.status == (1 if "Alpha_Broken" in ran else 0), f"exit {result.status} for {ran}"


def test_a_failing_playbook_fails_the_command_and_its_junit_case(
    capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path
) -> None:
    """Given one failing test playbook among passing ones, When test-playbooks runs with --junit-xml,
    Then it exits 1, the summary lists every playbook with its time, and the JUnit case holds the failure."""
    report = tmp_path / "junit.xml"
    result = xsoar(capsys, "test-playbooks", "--junit-xml", str(report))
    assert result.status == 1, f"a failing playbook must fail the command:\n{result.out}\n{result.err}"
    for name in ("Alpha_One", "Alpha_Two", "Alpha_Broken", "Beta_One"):
        assert name in result.out, f"the summary should list {name}:\n{result.out}"
    assert "3 of 4 test playbook(s) completed (1 failed, 0 skipped)" in result.out, result.out
    cases = junit_cases(report)
    assert sorted(cases) == ["Alpha_Broken", "Alpha_One", "Alpha_Two", "Beta_One"], sorted(cases)
    failure = cases["Alpha_Broken"].find("failure")
    assert failure is not None, ET.tostring(cases["Alpha_Broken"])
    assert "NoSuchScript" in failure.attrib["message"], failure.attrib
    assert cases["Beta_One"].find("failure") is None, ET.tostring(cases["Beta_One"])
    assert cases["Beta_One"].attrib["classname"] == "Beta", "the pack is the JUnit class"
    assert cases["Beta_One"].attrib["file"] == "Packs/Beta/TestPlaybooks/playbook-Beta_One.yml", cases[
        "Beta_One"
    ].attrib
    assert all(float(case.attrib["time"]) >= 0 for case in cases.values())


def test_unknown_selection_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    """Given a name no test playbook has, When test-playbooks runs, Then exit 2 with one line naming the real ones."""
    result = xsoar(capsys, "test-playbooks", "Alpha_Onee")
    assert result.status == 2, result
    assert result.err.count("\n") == 1, f"one line expected: {result.err}"
    assert "'Alpha_Onee' matches no test playbook" in result.err, result.err
    assert "'Alpha_One'" in result.err, f"the error should list the selectable ones: {result.err}"


def test_shards_split_the_selection_deterministically(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    """Given four test playbooks, When shards 1/3, 2/3, 3/3 run (a CI matrix), Then together they run each playbook
    exactly once, and running a shard again runs the same playbooks."""
    shards = [set(statuses(xsoar(capsys, "test-playbooks", "--json", "--shard", f"{k}/3"))) for k in (1, 2, 3)]
    everything = [name for shard in shards for name in shard]
    assert sorted(everything) == ["Alpha_Broken", "Alpha_One", "Alpha_Two", "Beta_One"], shards
    again = set(statuses(xsoar(capsys, "test-playbooks", "--json", "--shard", "2/3")))
    assert again == shards[1], f"the same shard must hold the same playbooks: {again} vs {shards[1]}"


def test_a_shard_with_nothing_to_run_passes(capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path) -> None:
    """Given more shards than selected playbooks, When the empty shard runs, Then it exits 0 and says so, with an
    empty JUnit report (a matrix sized for a larger repository must not fail)."""
    report = tmp_path / "junit.xml"
    result = xsoar(capsys, "test-playbooks", "--pack", "Beta", "--shard", "2/2", "--junit-xml", str(report))
    assert result.status == 0, result
    assert "no test playbook of the 1 selected" in result.err, result.err
    assert junit_cases(report) == {}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param("3/2", "is not a shard", id="index-above-count"),
        pytest.param("0/2", "is not a shard", id="zero-index"),
        pytest.param("half", "is not a shard", id="not-a-fraction"),
    ],
)
def test_a_bad_shard_is_a_usage_error(capsys: pytest.CaptureFixture[str], repo: Path, value: str, words: str) -> None:
    """Given a malformed --shard, When test-playbooks starts, Then argparse exits 2 naming the value."""
    with pytest.raises(SystemExit) as raised:
        main(["test-playbooks", "--shard", value])
    assert raised.value.code == 2
    assert words in capsys.readouterr().err


def test_conf_json_skips_are_named_in_the_report_and_junit(
    capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path
) -> None:
    """Given Tests/conf.json skipping one test and one integration a test uses, When test-playbooks runs,
    Then both are skipped with conf.json's reasons in the summary, the JSON and the JUnit XML, and do not fail it."""
    write_conf(
        repo,
        {
            "testTimeout": 160,
            "tests": [
                {"playbookID": "Alpha_One"},
                {"playbookID": "Alpha_Two", "integrations": ["Gatekeeper"], "nightly": True},
            ],
            "skipped_tests": {"Alpha_Broken": "Flaky on the server (issue 4321)"},
            "skipped_integrations": {"Gatekeeper": "No instance: the vendor's sandbox expired"},
        },
    )
    report = tmp_path / "junit.xml"
    result = xsoar(capsys, "test-playbooks", "--junit-xml", str(report))
    assert result.status == 0, f"skipped playbooks do not fail the run:\n{result.out}\n{result.err}"
    assert "Flaky on the server (issue 4321)" in result.out, result.out
    cases = junit_cases(report)
    broken = cases["Alpha_Broken"].find("skipped")
    two = cases["Alpha_Two"].find("skipped")
    assert broken is not None, ET.tostring(cases["Alpha_Broken"])
    assert "skipped_tests" in broken.attrib["message"], broken.attrib
    assert two is not None, ET.tostring(cases["Alpha_Two"])
    assert "'Gatekeeper'" in two.attrib["message"], two.attrib
    assert "the vendor's sandbox expired" in two.attrib["message"]
    assert cases["Alpha_One"].find("skipped") is None
    assert ET.parse(report).getroot().attrib["skipped"] == "2"


def test_a_test_playbook_for_other_server_versions_is_skipped_naming_its_version(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    """Given Beta_One twice, as content keeps a test playbook for old servers beside its successor: a failing copy
    with `toversion: 4.1.9`, and the passing one
    When test-playbooks runs
    Then the copy for old servers is skipped with its version as the reason, and only its successor runs"""
    old = write_playbook(repo, "Beta", "Beta_One_old", passes=False)
    document = yaml.safe_load(old.read_text(encoding="utf-8"))
    document.update(id="Beta_One", name="Beta_One", fromversion="4.0.0", toversion="4.1.9")
    old.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = xsoar(capsys, "test-playbooks", "--json", "--pack", "Beta")
    assert result.status == 0, f"the copy for old servers must not run:\n{result.out}\n{result.err}"
    results = result.json()["results"]
    assert isinstance(results, list), results
    outcomes = {(Path(item["source"]).name, item["status"], item.get("message", "")) for item in results}
    assert outcomes == {
        ("playbook-Beta_One.yml", "passed", ""),
        (
            "playbook-Beta_One_old.yml",
            "skipped",
            "toversion 4.1.9: a server of version 8.9.0, the one the toolkit plays, does not hold it",
        ),
    }, outcomes


def test_a_broken_conf_json_is_one_line(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    """Given a Tests/conf.json that is not JSON, When test-playbooks runs, Then exit 2 with its line and column."""
    (repo / "Tests").mkdir()
    (repo / "Tests" / "conf.json").write_text('{"tests": [\n  {"playbookID": "Alpha_One",}\n]}', encoding="utf-8")
    result = xsoar(capsys, "test-playbooks")
    assert result.status == 2, result
    assert "conf.json is not valid JSON at line 2" in result.err, result.err
    assert result.err.count("\n") == 1, f"one line expected: {result.err}"


@pytest.fixture
def lighthouse_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The Lighthouse fixture pack, and an instances file with two Lighthouse instances (only one works)."""
    root = tmp_path / "content"
    add_fixture_pack(root, "Lighthouse")
    instances = tmp_path / "instances.yml"
    instances.write_text(
        yaml.safe_dump(
            {
                "instances": [
                    {"brand": "Lighthouse", "name": "lighthouse_prod", "params": {"api_key": "lh-test-key-91c2"}},
                    {"brand": "Lighthouse", "name": "lighthouse_staging", "params": {"api_key": "lh-test-key-0000"}},
                ]
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(root / "Packs" / "Lighthouse")
    return root, instances


def test_conf_json_instance_names_choose_the_instance(
    capsys: pytest.CaptureFixture[str], lighthouse_repo: tuple[Path, Path]
) -> None:
    """Given two instances of the brand a test playbook uses, When test-playbooks runs without conf.json,
    Then the playbook cannot pick one; with conf.json naming `instance_names`, Then it runs on that one."""
    root, instances = lighthouse_repo
    without = xsoar(capsys, "test-playbooks", "--instances", str(instances), "--json")
    assert statuses(without) == {"Lighthouse_Test": "failed"}, without.out
    assert "several instances" in without.out, without.out
    write_conf(
        root,
        {
            "tests": [
                {"playbookID": "Lighthouse_Test", "integrations": "Lighthouse", "instance_names": "lighthouse_prod"}
            ]
        },
    )
    chosen = xsoar(capsys, "test-playbooks", "--instances", str(instances), "--json")
    assert chosen.status == 0, chosen.out
    assert statuses(chosen) == {"Lighthouse_Test": "passed"}, chosen.out


def test_conf_json_naming_a_missing_instance_fails_that_playbook(
    capsys: pytest.CaptureFixture[str], lighthouse_repo: tuple[Path, Path]
) -> None:
    """Given conf.json naming an instance the instances file lacks, When test-playbooks runs,
    Then that playbook fails saying which instance is missing and where to add it."""
    root, instances = lighthouse_repo
    write_conf(root, {"tests": [{"playbookID": "Lighthouse_Test", "instance_names": ["lighthouse_dr"]}]})
    result = xsoar(capsys, "test-playbooks", "--instances", str(instances), "--json")
    assert result.status == 1, result.out
    message = result.json()["results"][0]["message"]  # type: ignore[index]
    assert "lighthouse_dr" in message, message
    assert "lighthouse_prod, lighthouse_staging" in message, f"the error should list the file's instances: {message}"


def test_twenty_playbooks_in_two_workers_give_one_junit_case_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given 20 test playbooks (two failing), When test-playbooks runs with -j 2 and --junit-xml,
    Then the JUnit XML parses with one test case per playbook, the two failures marked, and exit 1."""
    root = tmp_path / "content"
    for index in range(20):
        write_playbook(root, f"Pack{index % 4}", f"Suite_{index:02d}", passes=index not in (7, 13))
    monkeypatch.chdir(root)
    report = tmp_path / "junit.xml"
    result = xsoar(capsys, "test-playbooks", "-j", "2", "--junit-xml", str(report))
    assert result.status == 1, result.out
    cases = junit_cases(report)
    assert sorted(cases) == [f"Suite_{index:02d}" for index in range(20)], sorted(cases)
    failed = sorted(name for name, case in cases.items() if case.find("failure") is not None)
    assert failed == ["Suite_07", "Suite_13"], failed
    assert "18 of 20 test playbook(s) completed" in result.out, result.out


def test_outside_a_content_repository_says_to_pass_packs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a working folder with no Packs/ in it or above, When test-playbooks runs without --packs,
    Then exit 2 with one line saying to run inside a content repository or pass --packs."""
    monkeypatch.chdir(tmp_path)
    result = xsoar(capsys, "test-playbooks")
    assert result.status == 2, result
    assert "no Packs/ folder" in result.err, result.err
    assert "--packs" in result.err, result.err


def test_a_report_in_a_missing_folder_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path
) -> None:
    """Given --junit-xml in a folder that does not exist, When test-playbooks starts,
    Then exit 2 with one line naming the folder, and no playbook ran (its report would have been lost)."""
    result = xsoar(capsys, "test-playbooks", "--junit-xml", str(tmp_path / "missing" / "junit.xml"))
    assert result.status == 2, result
    assert "does not exist" in result.err, result.err
    assert "Work plan" not in result.out, f"nothing should run:\n{result.out}"


def test_changed_files_run_their_packs_test_playbooks(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    """Given changed files (as the pre-commit hook passes them) in Beta and outside Packs/, When test-playbooks
    --changed runs, Then Beta's test playbooks run, nothing else; with no pack touched, nothing runs and it passes."""
    beta = str(repo / "Packs" / "Beta" / "pack_metadata.json")
    ran = statuses(xsoar(capsys, "test-playbooks", "--json", "--changed", beta, str(repo / "README.md")))
    assert ran == {"Beta_One": "passed"}, ran
    untouched = xsoar(capsys, "test-playbooks", "--changed", str(repo / "README.md"))
    assert untouched.status == 0, untouched
    assert "nothing to run" in untouched.err, untouched.err
