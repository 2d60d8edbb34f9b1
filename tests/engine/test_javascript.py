"""JavaScript automation scripts in the embedded engine: CommonServer.js, server-native globals, entries, limits.

Every test drives `run_javascript` with the real (digest-checked) CommonServer.js and a fixture script from
fixtures/javascript/, each written for these tests in the shape of a real content script.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine.javascript import JavaScriptRuntimeError, run_javascript
from xsoar_local.engine.javascript import runner as js_runner
from xsoar_local.engine.versions import SERVER_VERSION
from xsoar_local.errors import EngineError
from xsoar_local.runtime import DEFAULT_DESTINATION

SCRIPTS = Path(__file__).parent / "fixtures" / "javascript"
INCIDENT = {"id": "7", "name": "Phishing report", "investigationId": "7"}


def script(name: str) -> str:
    return (SCRIPTS / f"{name}.js").read_text(encoding="utf-8")


def run(name: str, **options: Any) -> dict[str, Any]:
    options.setdefault("incident", INCIDENT)
    return run_javascript(script(name), name=name, **options)


def contents(result: dict[str, Any]) -> list[Any]:
    return [entry.get("Contents") for entry in result["entries"]]


def server(answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]], seen: list[dict[str, Any]]) -> Any:
    """An engine's request handler: records each request and answers it as the server would."""

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        answer = answers.get(request["command"])
        if answer is None:
            return {"error": f"Unsupported Command : {request['command']}"}
        return answer(request)

    return handle


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        pytest.param("string", [{"Type": 1, "ContentsFormat": "text", "Contents": "plain text"}], id="string-note"),
        pytest.param("number", [{"Type": 1, "ContentsFormat": "text", "Contents": "42"}], id="number-note"),
        pytest.param("boolean", [{"Type": 1, "ContentsFormat": "text", "Contents": "false"}], id="boolean-as-js"),
        pytest.param("object", [{"Type": 1, "ContentsFormat": "json", "Contents": '{"answer": 42}'}], id="object"),
        pytest.param(
            "entries",
            [
                {"Type": 1, "ContentsFormat": "text", "Contents": "one"},
                {"Type": 1, "ContentsFormat": "markdown", "Contents": "**two**"},
            ],
            id="array-is-several-entries",
        ),
        pytest.param("null", [], id="null-no-entry"),
        pytest.param("none", [], id="undefined-no-entry"),
        pytest.param(
            "thrown-string",
            [{"Type": 4, "ContentsFormat": "text", "Contents": "the script failed", "EntryContext": None}],
            id="thrown-string-error",
        ),
        pytest.param(
            "thrown-error",
            [{"Type": 4, "ContentsFormat": "text", "Contents": "Error: the script broke", "EntryContext": None}],
            id="thrown-error-object",
        ),
    ],
)
def test_returned_values_and_thrown_errors_become_entries(shape: str, expected: list[dict[str, Any]]) -> None:
    """
    Given a script that returns (or throws) one kind of value
    When it runs
    Then its entries are what the server makes of that value, and the engine did not report a crash
    """
    result = run("Shapes", args={"shape": shape})

    assert result["entries"] == expected, f"shape {shape}: entries {result['entries']}"
    assert result["crashed"] is False, f"a script's own result or error is not an engine crash: {result}"


def test_an_entry_object_is_kept_with_its_format_filled_in() -> None:
    """
    Given a Print-like script returning {Type, Contents, HumanReadable} without ContentsFormat
    When it runs
    Then that object is the entry, with a text ContentsFormat added
    """
    result = run("EchoValue", args={"value": "Hello there"})

    assert result["entries"] == [
        {"Type": 1, "Contents": "Hello there", "HumanReadable": "Hello there", "ContentsFormat": "text"}
    ], result["entries"]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        pytest.param("123456789012345678901234567890", 123456789012345678901234567890, id="bigint-kept-exact"),
        pytest.param('{"a": [1, 2]}', {"a": [1, 2]}, id="json-object"),
        pytest.param("not json", "not json", id="plain-string"),
    ],
)
def test_set_context_overwrites_the_key(value: str, stored: Any) -> None:
    """
    Given a Set-like script and an incident context that already holds the key
    When it runs without append
    Then setContext overwrote the key in the returned context, in the recorded setContext calls too, and the
    entry could be stringified for the log (a BigInt too, as the server's engine allows)
    """
    result = run("SetKey", args={"key": "Answer", "value": value}, context={"Answer": "old", "Other": 1})

    assert result["crashed"] is False, result
    assert [log["level"] for log in result["logs"]] == ["debug"], result["logs"]
    assert result["context"] == {"Answer": stored, "Other": 1}, result["context"]
    assert result["context_sets"] == [["Answer", stored]], result["context_sets"]
    assert result["entries"][0]["HumanReadable"] == "Key Answer set", result["entries"]


def test_set_with_append_returns_entry_context_and_leaves_context_alone() -> None:
    """
    Given the Set-like script with append=true
    When it runs
    Then it returns EntryContext for the engine to merge and calls no setContext
    """
    result = run("SetKey", args={"key": "Answer", "value": "7", "append": "true"}, context={"Answer": "old"})

    assert result["entries"][0]["EntryContext"] == {"Answer": 7}, result["entries"]
    assert result["context"] == {"Answer": "old"}, result["context"]
    assert result["context_sets"] == [], result["context_sets"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param({"path": "File.Name"}, [], id="present-prints-nothing"),
        pytest.param({"path": "File(val.Size == 20).Name", "expected": '"b.exe"'}, [], id="dt-selector"),
        pytest.param({"path": "URL"}, ["Path URL is not in context."], id="missing-throws"),
        pytest.param(
            {"path": "File.Name", "expected": '"c.exe"'},
            ['Error: Path File.Name holds ["a.txt","b.exe"]'],
            id="different-throws",
        ),
    ],
)
def test_dq_reads_context_with_dt_paths(args: dict[str, str], expected: list[str]) -> None:
    """
    Given a VerifyContext-like script and a context with two files
    When it checks a path with dq(invContext, path)
    Then a path that holds prints nothing and a missing or different one fails with an error entry
    """
    context = {"File": [{"Name": "a.txt", "Size": 1}, {"Name": "b.exe", "Size": 20}]}

    result = run("CheckPath", args=args, context=context)

    assert contents(result) == expected, result["entries"]
    assert all(entry["Type"] == 4 for entry in result["entries"]), result["entries"]


def test_execute_command_goes_through_the_request_callback() -> None:
    """
    Given an IsError-like script and an engine whose getEntry answers one error entry for id 2@7
    When the script checks entries 1@7 and 2@7
    Then each getEntry went through the callback with the script's args, context and incident, and it says yes
    """
    entries = {"1@7": {"ID": "1@7", "Type": 1, "Contents": "ok"}, "2@7": {"ID": "2@7", "Type": 4, "Contents": "x"}}
    seen: list[dict[str, Any]] = []
    handler = server({"getEntry": lambda request: {"entries": [entries[request["args"]["id"]]]}}, seen)

    result = run("AnyError", args={"entryId": ["1@7", "2@7"]}, context={"k": "v"}, on_request=handler)

    assert contents(result) == ["yes"], result["entries"]
    assert [request["args"] for request in seen] == [{"id": "1@7"}, {"id": "2@7"}], seen
    assert all(
        request["type"] == "executeCommand" and request["context"] == {"k": "v"} and request["incident"] == INCIDENT
        for request in seen
    ), seen


def test_a_nested_command_s_entries_and_context_come_back() -> None:
    """
    Given a script that runs another command and returns its entries
    When the engine runs that command, which writes Relayed to the context
    Then the script re-emits its entries, sees the new context, and the result carries it
    """
    written = {"Relayed": {"by": "Inner"}}

    def inner(request: dict[str, Any]) -> dict[str, Any]:
        return {"entries": [{"Type": 1, "ContentsFormat": "text", "Contents": "inner ran"}], "context": written}

    result = run("Relay", args={"command": "Inner", "arguments": '{"a": 1}'}, on_request=server({"Inner": inner}, []))

    assert contents(result) == ["inner ran", 'after: {"by":"Inner"}'], result["entries"]
    assert result["context"] == written, result["context"]


def test_an_unknown_command_is_an_array_with_an_error_entry() -> None:
    """
    Given a script that checks executeCommand's result with CommonServer.js's isValidRes
    When the engine does not know the command
    Then the script gets an array holding an error entry (it does not throw) and reports it
    """
    result = run("Relay", args={"command": "NoSuchCommand"}, on_request=server({}, []))

    assert contents(result) == ["failed: Unsupported Command : NoSuchCommand"], result["entries"]


def test_server_native_globals_are_bound_to_the_command() -> None:
    """
    Given a script reading args, params, command, incidents, investigation and CommonServer.js helpers
    When it runs as an integration's command with supported commands listed
    Then each global holds what the engine passed, and CommonServer.js's helpers work on top of them
    """
    result = run(
        "Globals",
        args={"x": "1"},
        params={"url": "https://example.test"},
        command="my-command",
        supported_commands={"MyIntegration_instance_1": [{"name": "my-command"}]},
    )

    value = result["raw_results"][0]
    assert value["args"] == {"x": "1"}, value
    assert value["params"] == {"url": "https://example.test"}, value
    assert (value["command"], value["incident"], value["investigation"]) == ("my-command", "Phishing report", "7")
    assert value["version"] == SERVER_VERSION["version"], value
    assert value["atLeast6"] is True, value
    assert value["available"] is True, value
    assert value["table"] == "### Rows\na|b\n---|---\n1 | x\n", value["table"]


def test_the_ecmascript_level_content_uses_runs() -> None:
    """
    Given a script using let/const, arrow functions, destructuring, spread, BigInt, includes, template literals,
    for...of, default parameters and a Unicode named-group regex
    When it runs
    Then every feature gives the result the language defines
    """
    value = run("Modern")["raw_results"][0]

    assert value == {
        "destructured": "1-2-2",
        "bigint": "18014398509481986",
        "includes": True,
        "words": ["Ab", "cd"],
        "values": [10, 6],
        "spread": ["h", "i"],
    }, value


def test_a_transformer_returns_its_new_value() -> None:
    """
    Given a FirstArrayElement-like transformer
    When it gets a list, and then null
    Then its returned value (raw_results) is the first item, and then an empty list that prints no entry
    """
    first = run("FirstItem", args={"value": [{"a": 1}, {"a": 2}]})
    empty = run("FirstItem", args={"value": None})

    assert first["raw_results"] == [{"a": 1}], first
    assert empty["raw_results"] == [[]], empty
    assert empty["entries"] == [], empty["entries"]


def test_no_file_network_or_process_access() -> None:
    """
    Given scripts that look for ways to reach the machine and that call the server's http()
    When they run
    Then no such name exists, and http() fails the script with an error saying why
    """
    assert contents(run("Reach")) == ["none"]

    called = run("CallHttp")

    assert called["entries"][0]["Type"] == 4, called["entries"]
    assert "no network access" in called["entries"][0]["Contents"], called["entries"]


def test_integration_context_versioned_helpers() -> None:
    """
    Given a script merging an item with CommonServer.js's mergeVersionedIntegrationContext, and a stored context
    When it runs
    Then the merged context and its next version come back, and its log lines are captured
    """
    result = run("Cache", args={"item": "b"}, integration_context={"seen": ["a"]}, integration_context_version=3)

    assert result["integration_context"] == {"seen": ["b"]}, result["integration_context"]
    assert result["integration_context_version"] == 4, result
    assert contents(result) == ["stored 1 at version 4"], result["entries"]
    assert {"level": "debug", "message": "version 4"} in result["logs"], result["logs"]
    assert {"level": "log", "message": 'items ["b"]'} in result["logs"], result["logs"]


def test_each_command_gets_a_fresh_copy_of_the_prepared_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Given a new prepared context, and a command that sets a global, extends String.prototype and replaces a
    CommonServer.js function
    When the next command runs
    Then it sees none of it, and CommonServer.js was evaluated once, when the context was prepared
    """
    evaluated: list[str] = []
    real = js_runner._quickjs.Context

    class CountingContext:
        def __init__(self) -> None:
            self._inner = real()

        def eval(self, code: str) -> Any:
            evaluated.append(code)
            return self._inner.eval(code)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    monkeypatch.setattr(js_runner._quickjs, "Context", CountingContext)
    monkeypatch.setattr(js_runner, "_PREPARED", {})

    assert contents(run("Leave")) == ["changed"]
    looked = run("Look")["raw_results"][0]
    run("Look")

    assert looked == {"leftBehind": "undefined", "shout": "undefined", "table": "CommonServer.js"}, looked
    common_server = (DEFAULT_DESTINATION / "CommonServer.js").read_text(encoding="utf-8")
    assert evaluated.count(common_server) == 1, f"CommonServer.js evaluated {evaluated.count(common_server)} times"
    assert len(js_runner._PREPARED) == 1, "one prepared context should serve every command"


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        pytest.param("Forever", {"timeout": 1}, "did not finish within 1 seconds", id="endless-loop"),
        pytest.param("Hog", {"memory_limit": 32 * 1024 * 1024}, "32 MB memory limit", id="memory-hog"),
    ],
)
def test_a_runaway_script_is_stopped_and_the_next_command_runs(name: str, options: dict[str, Any], words: str) -> None:
    """
    Given a script that never ends, or one that keeps allocating
    When it runs with a time or memory limit
    Then the engine stops it with an error entry saying which limit, and the next command runs normally
    """
    stopped = run(name, **options)
    after = run("Shapes", args={"shape": "string"})

    assert stopped["crashed"] is True, stopped
    assert [entry["Type"] for entry in stopped["entries"]] == [4], stopped["entries"]
    assert words in stopped["entries"][0]["Contents"], stopped["entries"]
    assert contents(after) == ["plain text"], after


def test_a_changed_common_server_js_is_refused(tmp_path: Path) -> None:
    """
    Given an installed runtime whose CommonServer.js was changed after set-up
    When a script runs with it
    Then nothing runs and the error names the file and says how to restore it
    """
    runtime = tmp_path / "runtime"
    shutil.copytree(DEFAULT_DESTINATION, runtime)
    with open(runtime / "CommonServer.js", "a", encoding="utf-8") as handle:
        handle.write("\nvar planted = true;\n")

    with pytest.raises(JavaScriptRuntimeError, match=r"CommonServer\.js.*make runtime") as raised:
        run("Shapes", args={"shape": "string"}, runtime_dir=runtime)

    assert isinstance(raised.value, EngineError), "an engine error, so every entry point reports it as one"


def test_a_failing_request_handler_leaves_no_command_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Given an engine whose executeCommand handler itself fails
    When a script calls executeCommand
    Then the failure reaches the caller, and the command's process is gone (killed and reaped, not waiting)
    """
    forks: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    def broken(request: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the engine's handler broke")

    monkeypatch.setattr(js_runner.os, "fork", fork)

    with pytest.raises(RuntimeError, match="handler broke"):
        run("Relay", args={"command": "Inner"}, on_request=broken)

    assert len(forks) == 1, forks
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)  # already reaped: no process of it is left


def test_execute_command_with_non_object_arguments_fails_the_script() -> None:
    """
    Given a script passing a string as executeCommand's arguments
    When it runs
    Then the engine is not asked, and the script fails with an error entry saying what executeCommand takes
    """
    seen: list[dict[str, Any]] = []

    result = run("BadCall", on_request=server({}, seen))

    assert seen == [], "nothing should reach the engine"
    assert [entry["Type"] for entry in result["entries"]] == [4], result["entries"]
    assert "takes its arguments as an object" in result["entries"][0]["Contents"], result["entries"]


@pytest.mark.parametrize(
    ("name", "variable", "value", "words"),
    [
        pytest.param("Forever", "XSOAR_LOCAL_TIMEOUT", "1", "did not finish within 1 seconds", id="time"),
        pytest.param("Hog", "XSOAR_LOCAL_MEMORY_MB", "32", "32 MB memory limit", id="memory"),
    ],
)
def test_the_engine_s_limit_settings_apply(
    monkeypatch: pytest.MonkeyPatch, name: str, variable: str, value: str, words: str
) -> None:
    """
    Given the engine's limit variable set (as for every command), and no limit passed by the caller
    When a runaway script runs
    Then that setting stops it, with an error entry naming it
    """
    monkeypatch.setenv(variable, value)

    stopped = run(name)

    assert stopped["crashed"] is True, stopped
    assert words in stopped["entries"][0]["Contents"], stopped["entries"]
