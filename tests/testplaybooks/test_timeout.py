"""A test playbook's `timeout` in Tests/conf.json (demisto-sdk's key: whole seconds, `testTimeout` the default):
a playbook still running at its deadline fails with the reason, its running command stopped, and the others run on.

The deadlines are 1-2 s: long enough for a quick playbook, far shorter than what the slow ones would take.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .contentrepo import write_conf, write_playbook, write_script, write_script_playbook
from .test_command import junit_cases, xsoar

SLEEPER = "import time\ntime.sleep(30)\n"
# Always asks to run again (as a polling command does until its work is done), for far longer than any test.
POLLER = """import demistomock as demisto
from CommonServerPython import *

schedule = ScheduledCommand(command="Poller", next_run_in_seconds=10, args={}, timeout_in_seconds=1000000)
return_results(CommandResults(readable_output="not yet", scheduled_command=schedule))
"""
TICKER = "import time\ntime.sleep(0.05)\nprint('tick')\n"
QUICK = "print('done')\n"


@pytest.fixture
def content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A content repository with the scripts above and a quick passing playbook, worked on from its root."""
    root = tmp_path / "content"
    for name, code in (("Sleeper", SLEEPER), ("Poller", POLLER), ("Ticker", TICKER), ("Quick", QUICK)):
        write_script(root, "Timing", name, code)
    write_playbook(root, "Timing", "Other_Test")
    monkeypatch.chdir(root)
    return root


def _results(document: dict[str, object]) -> dict[str, dict[str, object]]:
    return {item["id"]: item for item in document["results"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("script", "loops", "workers"),
    [
        pytest.param("Sleeper", False, "1", id="a-long-sleeping-script-is-stopped"),
        pytest.param("Poller", False, "2", id="a-polling-script-in-a-worker-process"),
        pytest.param("Ticker", True, "1", id="a-task-looping-back-to-itself"),
    ],
)
def test_a_playbook_past_its_timeout_fails_with_the_reason_and_the_others_run(
    capsys: pytest.CaptureFixture[str], content: Path, tmp_path: Path, script: str, loops: bool, workers: str
) -> None:
    """Given a test playbook whose task would run far longer than its conf.json `timeout` of 1 s, and another one,
    When test-playbooks runs, Then the slow one fails about 1 s in with the reason naming the timeout and
    Tests/conf.json (in the JSON and the JUnit XML), the command it was running is stopped, and the other passes."""
    write_script_playbook(content, "Timing", "Slow_Test", script, loops=loops)
    write_conf(content, {"testTimeout": 160, "tests": [{"playbookID": "Slow_Test", "timeout": 1}]})
    report = tmp_path / "junit.xml"
    result = xsoar(capsys, "test-playbooks", "--json", "-j", workers, "--junit-xml", str(report))
    results = _results(result.json())
    assert result.status == 1, result
    assert {name: item["status"] for name, item in results.items()} == {"Other_Test": "passed", "Slow_Test": "failed"}
    slow = results["Slow_Test"]
    assert slow["message"] == "ran past its timeout of 1 s (Tests/conf.json)", slow
    assert 1 <= float(slow["seconds"]) < 10, f"stopped at its deadline, not when its task ended: {slow}"  # type: ignore[arg-type]
    failure = junit_cases(report)["Slow_Test"].find("failure")
    assert failure is not None, ET.tostring(junit_cases(report)["Slow_Test"])
    assert "ran past its timeout of 1 s (Tests/conf.json)" in failure.attrib["message"], failure.attrib


def test_the_summary_names_the_timeout(capsys: pytest.CaptureFixture[str], content: Path) -> None:
    """Given a test playbook running past its `timeout`, When test-playbooks prints its summary (no --json),
    Then the playbook's line says it ran past its timeout, and the totals count it failed."""
    write_script_playbook(content, "Timing", "Slow_Test", "Sleeper")
    write_conf(content, {"tests": [{"playbookID": "Slow_Test", "timeout": 1}]})
    result = xsoar(capsys, "test-playbooks")
    assert result.status == 1, result
    assert "Slow_Test: ran past its timeout of 1 s (Tests/conf.json)" in result.out, result.out
    assert "1 of 2 test playbook(s) completed (1 failed, 0 skipped)" in result.out, result.out


@pytest.mark.parametrize(
    ("conf", "flags"),
    [
        pytest.param({"tests": [{"playbookID": "Quick_Test", "timeout": 2}]}, [], id="its-own-timeout"),
        pytest.param({"testTimeout": 2, "tests": []}, [], id="conf-json-testTimeout"),
        pytest.param({}, ["--playbook-timeout", "2"], id="the-playbook-timeout-flag"),
    ],
)
def test_a_playbook_well_within_its_timeout_passes(
    capsys: pytest.CaptureFixture[str], content: Path, conf: dict[str, object], flags: list[str]
) -> None:
    """Given a quick test playbook running a script, with 2 s to run in, When test-playbooks runs,
    Then it passes (its command ran with the time left as its limit, and that was enough)."""
    write_script_playbook(content, "Timing", "Quick_Test", "Quick")
    write_conf(content, conf)
    result = xsoar(capsys, "test-playbooks", "--json", "Quick_Test", *flags)
    assert result.status == 0, result
    assert _results(result.json())["Quick_Test"]["status"] == "passed", result.out


def _timeout_of_other(value: object) -> dict[str, object]:
    return {"tests": [{"playbookID": "Other_Test", "timeout": value}]}


@pytest.mark.parametrize(
    ("conf", "words"),
    [
        pytest.param(_timeout_of_other("30"), "timeout of 'Other_Test'", id="text"),
        pytest.param(_timeout_of_other(-5), "timeout of 'Other_Test'", id="negative"),
        pytest.param(_timeout_of_other(1.5), "timeout of 'Other_Test'", id="fraction"),
        pytest.param({"testTimeout": "160", "tests": []}, "testTimeout", id="bad-testTimeout"),
    ],
)
def test_a_bad_timeout_is_refused_naming_the_playbook_and_the_key(
    capsys: pytest.CaptureFixture[str], content: Path, conf: dict[str, object], words: str
) -> None:
    """Given conf.json with a timeout that is no positive whole number of seconds, When test-playbooks runs,
    Then it exits 2 before anything runs, with one line naming the playbook (or testTimeout) and the key."""
    write_conf(content, conf)
    result = xsoar(capsys, "test-playbooks")
    assert result.status == 2, result
    assert result.err.count("\n") == 1, f"one line expected: {result.err}"
    assert words in result.err, result.err
    assert "must be a positive whole number of seconds" in result.err, result.err
    assert "Work plan" not in result.out, f"nothing should run:\n{result.out}"


def test_the_command_time_limit_applies_without_a_playbook_timeout(
    capsys: pytest.CaptureFixture[str], content: Path
) -> None:
    """Given a test playbook with no timeout anywhere whose script sleeps 30 s, When test-playbooks runs with
    --timeout 1 (each command's limit), Then the engine stops the command at 1 s and the playbook fails saying
    so (the command's limit, not a playbook timeout)."""
    write_script_playbook(content, "Timing", "Slow_Test", "Sleeper")
    result = xsoar(capsys, "test-playbooks", "--json", "--timeout", "1", "Slow_Test")
    assert result.status == 1, result
    message = str(_results(result.json())["Slow_Test"]["message"])
    assert "did not finish within 1 seconds" in message, message
    assert "ran past its timeout" not in message, message
