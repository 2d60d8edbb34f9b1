"""Automation scripts and integration commands from one content root, run as War Room commands (`run --packs`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .support import PACKS, run_line, xsoar


def test_script_with_a_keyed_output_updates_by_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given GkEnrich (outputs keyed on ip), When run for two IPs and then the first again with another note,
    Then the context holds one item per IP, the repeated one updated in place."""
    for line in ("!GkEnrich 1.1.1.1", "!GkEnrich ip=2.2.2.2", '!GkEnrich 1.1.1.1 note="second look"'):
        outcome = run_line(capsys, tmp_path, line)
        assert outcome.status == 0, outcome.err or outcome.entries
    enrichments = outcome.document["context"]["Gatekeeper"]["Enrichment"]
    assert [(item["ip"], item["note"]) for item in enrichments] == [
        ("1.1.1.1", "second look"),
        ("2.2.2.2", "none given"),
    ], "the key field decides update or append; the defaultValue fills `note`"


def test_script_sees_the_incident_and_its_context(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given alerts in the context, When a script runs, Then demisto.context() and incident() are the incident's."""
    assert run_line(capsys, tmp_path, "!gk-alert-list limit=2").status == 0
    enrichment = run_line(capsys, tmp_path, "!GkEnrich 9.9.9.9").contents
    assert (enrichment["alerts_seen"], enrichment["incident"]) == (2, "Local incident"), enrichment


def test_script_calling_a_command_gets_entries_and_the_merged_context(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given GkCallCommand (executeCommand('gk-alert-list')), When run, Then it gets the command's entries with the
    instance that ran them, its context() shows the command's outputs, and they stay in the incident."""
    outcome = run_line(capsys, tmp_path, "!GkCallCommand limit=2")
    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.contents == {"count": 2, "brand": "Gatekeeper", "instance": "Gatekeeper_main", "in_context": 2}
    assert [alert["id"] for alert in outcome.document["context"]["Gatekeeper"]["Alert"]] == [1, 2], (
        "the nested command's EntryContext is merged into the incident"
    )


def test_script_sees_script_identity_and_no_params(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a script, When it reads its calling context, Then it is a script (no params/command), named as itself."""
    view = run_line(capsys, tmp_path, "!ProbeScript view").contents
    assert (view["script_name"], view["integration"], view["params"], view["command"]) == (
        "ProbeScript",
        False,
        {},
        "",
    ), view
    assert view["args"] == {"function": "view", "payload": "{}"}, view


def test_an_integration_using_csp_execute_command_gets_the_servers_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given an integration command that runs GkEnrich through demisto.executeCommand, When run,
    Then it fails as on a server (integrations have no executeCommand) and nothing lands in the context."""
    outcome = run_line(capsys, tmp_path, "!gk-enrich-via-script ip=4.4.4.4")
    assert outcome.status == 1, f"an integration ran a script: {outcome.entries}"
    assert "executeCommand" in json.dumps(outcome.entries), outcome.entries
    assert "Gatekeeper" not in (outcome.document.get("context") or {}), "the script's output landed"


def test_execute_command_helper_and_unknown_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given CSP's execute_command on an unknown command, When run, Then executeCommand raised as on the server
    (an error entry naming the command), while a known one answers through the helper."""
    known = run_line(capsys, tmp_path, '!ProbeScript execute-command-helper payload=\'{"command": "lh-status"}\'')
    assert known.contents["status"] == "UP", known.entries
    unknown = run_line(capsys, tmp_path, '!ProbeScript execute payload=\'{"command": "no-such-thing"}\'')
    assert unknown.status == 1, unknown.entries
    assert "Unsupported Command : no-such-thing" in unknown.entries[0]["Contents"], unknown.entries


def test_using_brand_and_using_pick_the_instance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given `ip` in two brands, When run bare, with using-brand and with using, Then bare is a clear error and the
    others run on the brand or instance named."""
    bare = run_line(capsys, tmp_path, "!ip 1.1.1.1")
    assert bare.status == 2, bare.err
    assert "ambiguous" in bare.err, bare.err
    assert "using-brand=" in bare.err, bare.err
    by_brand = run_line(capsys, tmp_path, "!ip 1.1.1.1 using-brand=Lighthouse")
    assert by_brand.document["context"]["Lighthouse"]["IP"]["ip"] == "1.1.1.1", by_brand.entries
    by_name = run_line(capsys, tmp_path, "!ip 6.6.6.6 using=Gatekeeper_main")
    assert by_name.document["context"]["Gatekeeper"]["IP"] == {"ip": "6.6.6.6", "verdict": "bad"}, by_name.entries


def test_names_the_server_provides_need_no_import(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given code using requests, json, re and datetime without importing them, When run, Then it works as on a
    server (CommonServerPython's names are in the code's namespace)."""
    outcome = run_line(capsys, tmp_path, "!gk-server-names")
    assert outcome.contents == {"requests": "requests", "json": "[1]", "re": True, "datetime": "datetime"}


def test_javascript_script_runs_as_a_war_room_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a JavaScript script, When run as a War Room command, Then the embedded engine runs it with
    CommonServer.js (entryTypes, formats) and its returned entry is the command's entry."""
    outcome = run_line(capsys, tmp_path, "!GkJsPrint hello")
    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.entries[0]["Type"] == 1, outcome.entries
    assert outcome.contents == "hello", outcome.entries


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("!GkEnrich", "GkEnrich: missing required argument 'ip'", id="missing-required"),
        pytest.param("!GkEnrich ip=1 colour=red", "GkEnrich: unknown argument 'colour'", id="unknown-arg"),
        pytest.param("!NoSuchThing", "no integration command or script called 'NoSuchThing'", id="unknown-name"),
    ],
)
def test_bad_script_lines_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str, message: str
) -> None:
    """Given a War Room line a server would refuse, When run, Then exit 2 with one line saying why."""
    outcome = run_line(capsys, tmp_path, line)
    assert outcome.status == 2, outcome.out
    assert len(outcome.err.strip().splitlines()) == 1, outcome.err
    assert message in outcome.err, outcome.err


def test_a_script_folder_given_as_integration_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given a script folder passed to --integration, When run, Then one line says to use --packs (no traceback)."""
    folder = PACKS / "Gatekeeper" / "Scripts" / "GkEnrich"
    outcome = xsoar(capsys, "run", "--integration", str(folder), "--state-dir", str(tmp_path), "--command", "!x")
    assert outcome.status == 2, outcome.out
    assert outcome.err.strip().splitlines() == [
        f"error: {folder}/GkEnrich.yml is a script, not an integration: run it with --packs <content root> "
        "--command '!GkEnrich ...' (--integration takes an integration's folder or unified YAML)"
    ]


def test_a_script_name_held_by_two_packs_is_one_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given two packs that both hold the scripts of Gatekeeper (GkEnrich among them)
    When `!GkEnrich 1.1.1.1` runs, then an unknown command
    Then the first is one line naming both places and the fix (neither runs silently), and the second's listing
    names each script once."""
    root = tmp_path / "Packs"
    shutil.copytree(PACKS / "Gatekeeper", root / "Gatekeeper")
    shutil.copytree(PACKS / "Gatekeeper", root / "GatekeeperFork")
    twice = run_line(capsys, tmp_path, "!GkEnrich 1.1.1.1", packs=root, instances=None)
    assert twice.status == 2, f"a duplicated script name ran:\n{twice.out}{twice.err}"
    lines = twice.err.strip().splitlines()
    assert len(lines) == 1, twice.err
    assert "two scripts are called 'GkEnrich'" in lines[0], lines[0]
    for pack in ("Gatekeeper", "GatekeeperFork"):
        assert f"{pack} ({root / pack / 'Scripts' / 'GkEnrich'})" in lines[0], lines[0]
    assert "rename one" in lines[0], lines[0]
    unknown = run_line(capsys, tmp_path, "!no-such-thing", packs=root, instances=None)
    assert unknown.status == 2, unknown.err
    listed = unknown.err.split("scripts: ", 1)[1].split(")")[0].split(";")[0].split(", ")
    assert listed == sorted(set(listed)), f"scripts listed twice: {listed}"
    assert "GkEnrich" in listed, listed


def _versioned_script(folder: Path, name: str, answer: str, **versions: str) -> None:
    """A unified Python script YAML answering `answer`, with the given fromversion/toversion."""
    _unified_script(folder, name, f"import demistomock as demisto\n\ndemisto.results({answer!r})\n", **versions)


def _unified_script(folder: Path, name: str, code: str, **fields: Any) -> None:
    """Scripts/<folder>/<folder>.yml: a Python script with its code inline, and any other YAML `fields`."""
    folder.mkdir(parents=True)
    document = {
        "commonfields": {"id": name, "version": -1},
        "name": name,
        "type": "python",
        "subtype": "python3",
        "tags": [],
        "enabled": True,
        "args": [],
        "comment": f"The fixture script {name}.",
        "dockerimage": "demisto/python3:3.11.10.116949",
        "script": code,
        **fields,
    }
    (folder / f"{folder.name}.yml").write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize(
    ("line", "status", "expected"),
    [
        pytest.param("!Shout", 0, "current", id="the-copy-for-this-version-runs"),
        pytest.param("!Whisper", 2, "fromversion 99.0.0: a server of version 8.9.0", id="only-for-a-newer-server"),
        pytest.param("!Mumble", 2, "toversion 5.9.9: a server of version 8.9.0", id="only-for-older-servers"),
    ],
)
def test_a_script_is_read_only_for_the_server_version_the_toolkit_plays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str, status: int, expected: str
) -> None:
    """Given a pack as content keeps one: Shout twice under one name, a copy up to toversion 6.9.9 beside its
    successor from 7.0.0, and Whisper and Mumble each only for servers of other versions
    When a War Room line runs each
    Then the successor answers (no clash of two scripts), and the others are one line naming their version"""
    scripts = tmp_path / "Packs" / "Versions" / "Scripts"
    _versioned_script(scripts / "Shout", "Shout", "old", toversion="6.9.9")
    _versioned_script(scripts / "Shout_7_0", "Shout", "current", fromversion="7.0.0")
    _versioned_script(scripts / "Whisper", "Whisper", "never", fromversion="99.0.0")
    _versioned_script(scripts / "Mumble", "Mumble", "never", fromversion="5.0.0", toversion="5.9.9")
    outcome = run_line(capsys, tmp_path / "state", line, packs=tmp_path / "Packs", instances=None)
    assert outcome.status == status, f"{line}: exit {outcome.status}\n{outcome.out}{outcome.err}"
    if status == 0:
        assert outcome.contents == expected, f"{line} ran the wrong copy: {outcome.entries}"
    else:
        assert len(outcome.err.strip().splitlines()) == 1, outcome.err
        assert expected in outcome.err, outcome.err


def test_a_script_with_support_multithreading_runs_commands_from_several_threads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given Fanout, which calls CommonServerPython's support_multithreading() (it wraps the server's private
    `demisto._Demisto__do` with a lock) and then runs the script Echo from eight threads
    When `!Fanout` runs
    Then every call comes back with its own answer"""
    scripts = tmp_path / "Packs" / "Threads" / "Scripts"
    echo = "import demistomock as demisto\n\ndemisto.results(demisto.args()['word'])\n"
    _unified_script(scripts / "Echo", "Echo", echo, args=[{"name": "word"}])
    fanout = (
        "from concurrent.futures import ThreadPoolExecutor\n\n"
        "import demistomock as demisto\n"
        "from CommonServerPython import *\n\n"
        "support_multithreading()\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    answers = pool.map(lambda n: demisto.executeCommand('Echo', {'word': str(n)})[0]['Contents'], range(8))\n"
        "    demisto.results(','.join(answers))\n"
    )
    _unified_script(scripts / "Fanout", "Fanout", fanout)
    outcome = run_line(capsys, tmp_path / "state", "!Fanout", packs=tmp_path / "Packs", instances=None)
    assert outcome.status == 0, f"exit {outcome.status}\n{outcome.out}{outcome.err}"
    assert outcome.contents == "0,1,2,3,4,5,6,7", outcome.entries
