"""Running commands in the sandbox process, and folding their results into the local incident."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine import (
    ArgError,
    CommandRun,
    EngineError,
    ParamLayer,
    build_params,
    check_args,
    command_spec,
    load_integration,
    parse_war_room,
    run_command,
)
from xsoar_local.engine.box import Box, state_folders
from xsoar_local.engine.jobs import Job
from xsoar_local.engine.limits import Limits
from xsoar_local.engine.runner import apply_result, build_job
from xsoar_local.incident.model import Incident

FIXTURE = Path(__file__).parent / "fixtures" / "EchoTest"
SECRET = "s3cr3t-echo-key"
ECHO = load_integration(FIXTURE)
PARAMS = build_params(ECHO.params, [ParamLayer("test", {"apikey": SECRET})])
DT_KEY = "Echo.Item(val.Message && val.Message == obj.Message)"


def run(line: str, incident: Incident | None = None, **options: Any) -> CommandRun:
    parsed = parse_war_room(line)
    args = check_args(command_spec(ECHO, parsed.name), parsed.args, parsed.positional)
    return run_command(ECHO, parsed.name, args, PARAMS, incident or Incident(), **options)


def contents(run_: CommandRun) -> Any:
    return json.loads(run_.entries[0]["Contents"])


# ---- pure: what a result does to the incident ----------------------------------------------------
@pytest.mark.parametrize(
    ("context", "entry_context", "expected"),
    [
        pytest.param(
            {"Echo": {"Item": {"Message": "a", "Tag": "old"}}},
            {DT_KEY: {"Message": "a", "Tag": "new"}},
            {"Echo": {"Item": {"Message": "a", "Tag": "new"}}},
            id="dt-key-updates-the-matching-item",
        ),
        pytest.param(
            {"Echo": {"Item": {"Message": "a"}}},
            {DT_KEY: {"Message": "b"}},
            {"Echo": {"Item": [{"Message": "a"}, {"Message": "b"}]}},
            id="dt-key-appends-a-new-item",
        ),
        pytest.param(
            {"Plain": ["x"]},
            {"Plain": ["x", "y"]},
            {"Plain": ["x", "y"]},
            id="plain-key-appends-without-duplicates",
        ),
        pytest.param(
            {"Echo": {"Token": "1"}},
            {"Echo(true)": {"Token": "2"}},
            {"Echo": {"Token": "2"}},
            id="true-selector-overwrites",
        ),
    ],
)
def test_entry_context_merge_rules(
    context: dict[str, Any], entry_context: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Given a stored context and an entry's EntryContext, When the result is applied, Then the server's rule holds."""
    result = {"entries": [{"Type": 1, "Contents": "", "ContentsFormat": "text", "EntryContext": entry_context}]}
    incident = apply_result(Incident(context=context), "i1", result)
    assert incident.context == expected, f"merging {entry_context} into {context} gave {incident.context}"


def test_apply_result_order_and_integration_context() -> None:
    """Given setContext calls, an error entry with outputs and a None EntryContext, When applied, Then all count."""
    result = {
        "context_sets": [["Echo.Set", {"v": 1}]],
        "entries": [
            {"Type": 1, "Contents": "", "ContentsFormat": "text", "EntryContext": None},
            {"Type": 4, "Contents": "e", "ContentsFormat": "text", "EntryContext": {"Echo.Errors": "e"}},
        ],
        "integration_context": {"count": 3},
    }
    incident = apply_result(Incident(integration_contexts={"other": {"x": 1}}), "mine", result)
    assert incident.context == {"Echo": {"Set": {"v": 1}, "Errors": "e"}}, "setContext and error outputs both land"
    assert incident.integration_contexts == {"other": {"x": 1}, "mine": {"count": 3}}, "stored per instance"


def test_job_installs_params_args_and_incident() -> None:
    """Given an incident with context, When the job is built, Then the sandbox gets everything it installs."""
    incident = Incident(context={"A": 1}, integration_contexts={"EchoTest_instance_1": {"n": 1}})
    job = build_job(
        ECHO,
        incident,
        command="echo-args",
        args={"first": "1"},
        params=PARAMS,
        instance="EchoTest_instance_1",
        debug=True,
    )
    assert (job.command, job.args, job.params) == ("echo-args", {"first": "1"}, PARAMS), "inputs"
    assert (job.brand, job.is_debug, job.context) == ("EchoTest", True, {"A": 1}), "calling context parts"
    assert job.integration_context == {"n": 1}, "the instance's integration context is handed over"
    assert Job.from_json(json.loads(json.dumps(job.to_json()))) == job, "the job crosses a process boundary intact"


def test_unknown_command_and_unchecked_args_fail_before_any_process() -> None:
    """Given an unknown command or bad args with check=True, When run, Then the engine refuses up front."""
    with pytest.raises(EngineError, match=r"no command 'echo-nope' \(its commands: echo-args"):
        run_command(ECHO, "echo-nope", {}, PARAMS, Incident())
    with pytest.raises(ArgError, match="missing required argument 'message'"):
        run_command(ECHO, "echo-note", {}, PARAMS, Incident(), check=True)


# ---- subprocess: the sandbox ---------------------------------------------------------------------
def test_note_entry_and_dt_merge_across_runs() -> None:
    """Given the same message twice with different tags, When run, Then one context item holds the latest tag."""
    first = run('!echo-note "hello" tag=one')
    assert not first.is_error, f"echo-note should succeed: {first.entries}"
    assert "| hello | one |" in first.entries[0]["HumanReadable"], "the markdown table should be captured"
    second = run("!echo-note hello tag=two", first.incident)
    assert second.incident.context == {"Echo": {"Item": {"Message": "hello", "Tag": "two"}}}, (
        f"the DT key should update the one item, got {second.incident.context}"
    )


def test_return_error_is_an_error_entry_not_a_crash() -> None:
    """Given return_error, When run, Then its Type 4 entry is kept, its SystemExit(0) caught, no crash reported."""
    result = run('!echo-fail reason="service said no"')
    assert result.entries == [
        {
            "Type": 4,
            "ContentsFormat": "text",
            "Contents": "Failed to execute echo-fail command.\nError:\nservice said no",
            "EntryContext": None,
        }
    ], f"unexpected entries {result.entries}"
    assert (result.is_error, result.crashed, result.exit_code) == (True, False, 0), "an error entry, exit status 0"


@pytest.mark.parametrize(
    ("line", "expected_message", "expected_log"),
    [
        pytest.param("!echo-crash", "raised RuntimeError without handling it", "RuntimeError: unhandled", id="raise"),
        pytest.param("!echo-exit", "exited with status 3", None, id="sys-exit-3"),
        pytest.param("!echo-die", "ended with status 7 without a result", None, id="os-exit"),
    ],
)
def test_unhandled_failures_are_engine_side_crash_entries(
    line: str, expected_message: str, expected_log: str | None
) -> None:
    """Given an integration that fails without return_error, When run, Then a marked crash entry is returned."""
    result = run(line)
    assert result.crashed, f"{line} should be reported as a crash"
    assert len(result.entries) == 1, f"one error entry expected: {result.entries}"
    assert result.entries[0]["EngineCrash"] is True, "the crash entry should be marked as engine-side"
    assert expected_message in result.entries[0]["Contents"], result.entries[0]["Contents"]
    if expected_log is not None:
        assert any(expected_log in log.message for log in result.logs if log.level == "error"), "traceback logged"


def test_logs_are_captured_by_level_and_secrets_masked_from_import() -> None:
    """Given prints and logs and LOG(api key), When run, Then levels are kept and CSP's LOG masks the key."""
    result = run("!echo-logs")
    levels = [(log.level, log.message) for log in result.logs]
    for expected in [("log", "printed line"), ("debug", "debug line"), ("info", "info line"), ("error", "error line")]:
        assert expected in levels, f"{expected} missing from {levels}"
    assert any("the key is <XX_REPLACED>" in message for _, message in levels), (
        f"params must be installed before CommonServerPython is imported, so LOG masks the key: {levels}"
    )
    assert SECRET not in json.dumps([log.to_json() for log in result.logs]), "the key leaked into the logs"


def test_calling_context_args_and_debug_mode() -> None:
    """Given debug-mode=true and a custom instance, When run, Then the integration sees what the engine passes."""
    incident = Incident(context={"Existing": "value"})
    result = run("!echo-args first=1 debug-mode=true", incident, instance_name="echo_2")
    seen = contents(result)
    assert seen["args"] == {"first": "1"}, "debug-mode must be dropped from the args; values are strings"
    assert seen["is_debug"] is True, "debug-mode=true must set demisto.is_debug"
    assert (seen["calling"], seen["instance"]) == ("EchoTest", "echo_2"), "brand and instance in callingContext"
    assert seen["context"] == {"Existing": "value"}, "demisto.context() is the incident context"
    assert seen["params"]["insecure"] is False, "a checkbox param arrives as a bool"
    assert seen["command"] == "echo-args", "demisto.command()"


def test_integration_context_persists_per_instance() -> None:
    """Given two runs on one instance and one on another, When run, Then each instance keeps its own counter."""
    first = run("!echo-counter")
    second = run("!echo-counter", first.incident)
    other = run("!echo-counter", second.incident, instance_name="EchoTest_instance_2")
    assert [entry["Contents"] for r in (first, second, other) for entry in r.entries] == [
        "count=1",
        "count=2",
        "count=1",
    ], "the integration context should persist between runs of the same instance only"
    assert other.incident.integration_contexts == {
        "EchoTest_instance_1": {"count": 2},
        "EchoTest_instance_2": {"count": 1},
    }


def test_set_context_and_raw_results() -> None:
    """Given setContext and plain values passed to demisto.results, When run, Then both are handled as the engine."""
    set_run = run("!echo-set-context")
    assert set_run.incident.context == {"Echo": {"Set": {"value": 1}}}, "setContext should write the context"
    raw = run("!echo-raw")
    assert [(e["ContentsFormat"], e["Contents"]) for e in raw.entries] == [
        ("text", "plain text"),
        ("json", '{"answer": 42}'),
    ]


def test_process_wide_changes_stay_in_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given HTTPS_PROXY set, When a BaseClient(proxy=False) deletes it, Then only the child's environment changes."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    result = run("!echo-client")
    assert contents(result) == {"HTTPS_PROXY": None}, "CommonServerPython's skip_proxy should act in the child"
    assert os.environ.get("HTTPS_PROXY") == "http://proxy.invalid:3128", "the parent's environment must not change"


def test_unified_yaml_code_runs(tmp_path: Path) -> None:
    """Given a unified YAML with inline code and the entry-point guard, When test-module runs, Then main() answers."""
    path = tmp_path / "Inline.yml"
    path.write_text(
        "name: Inline\nscript:\n  type: python\n  script: |\n"
        "    import demistomock as demisto\n    from CommonServerPython import *\n"
        "    def main():\n        return_results('ok from ' + demisto.callingContext['context']['IntegrationBrand'])\n"
        "    if __name__ in ('__main__', 'builtins'):\n        main()\n",
        encoding="utf-8",
    )
    result = run_command(load_integration(path), "test-module", {}, {}, Incident())
    assert [entry["Contents"] for entry in result.entries] == ["ok from Inline"], result.entries


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("fetch-incidents", {"crashed": False, "error": False, "last_run": {"time": "t1"}}, id="fetch"),
        pytest.param("fetch-incidents fail=1", {"crashed": False, "error": True, "last_run": {}}, id="fetch-fails"),
    ],
)
def test_fetch_incidents(line: str, expected: dict[str, Any]) -> None:
    """Given fetch-incidents, When run, Then incidents are handed over, lastRun kept, return_error's raise an error."""
    result = run(line)
    assert {"crashed": result.crashed, "error": result.is_error, "last_run": result.last_run} == expected, (
        result.entries
    )
    if result.is_error:
        assert "fetch failed" in result.error_messages[0], "return_error's message should be the error entry"
    else:
        assert result.result.fetched_incidents == ({"name": "one"},), "demisto.incidents(list) is what was fetched"
        assert result.entries == [], "fetched incidents are not War Room entries"


def _linked_content(root: Path, layout: str) -> tuple[Path, Path]:
    """An integration folder under a Packs/ folder, and its code file, reached through `layout`'s links."""
    real = root / "real" / "Packs" / "P" / "Integrations" / "I"
    real.mkdir(parents=True)
    (real / "I.py").write_text("", encoding="utf-8")
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "Other.py").write_text("", encoding="utf-8")
    (root / "linked").symlink_to(root / "real", target_is_directory=True)
    folder = root / "linked" / "Packs" / "P" / "Integrations" / "I"
    if layout == "code file linked":
        (real / "L.py").symlink_to(root / "elsewhere" / "Other.py")
        return folder, folder / "L.py"
    if layout == "code file missing":
        return folder, folder / ".." / "I" / "Gone.py"
    if layout == "code outside its folder":
        return folder, root / "linked" / "Packs" / "P" / "Integrations" / "I" / ".." / "I" / "I.py"
    return folder, folder / "I.py"


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("folder linked", id="a link above the folder"),
        pytest.param("code file linked", id="the code file is a link"),
        pytest.param("code outside its folder", id="a code path through .."),
        pytest.param("code file missing", id="a code file that does not exist"),
    ],
)
def test_job_paths_and_hidden_state_folders_are_fully_resolved(tmp_path: Path, layout: str) -> None:
    """
    Given an integration reached through symbolic links (above its folder, or its code file itself, which may be
    missing)
    When its job and the job's box are built
    Then every path is the one the links lead to, and the state folder beside the real Packs/ is hidden
    """
    folder, code = _linked_content(tmp_path, layout)
    job = build_job(replace(ECHO, folder=folder, code_path=code), Incident(), args={}, command="echo-args")
    assert (job.folder, job.code_path) == (str(folder.resolve()), str(code.resolve()))
    state = str(tmp_path.resolve() / "real" / ".xsoar-local")
    assert state in Box.for_job(job.to_json(), tmp_path / "work", {}, Limits()).hide
    hidden = state_folders({"folder": str(folder), "code_path": str(code)}, {})
    assert state in hidden
    assert str(tmp_path / "linked" / ".xsoar-local") not in hidden
