"""The `run` subcommand: exit statuses, JSON output, params sources, persistence, user errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xsoar_local.cli import main, war_room_line
from xsoar_local.engine import load_integration, parse_war_room
from xsoar_local.incident.state import STATE_FILE_NAME, StateStore
from xsoar_local.instance import ParamSources, param_layers, registry, stand_in_for

ECHO = Path(__file__).parent.parent / "engine" / "fixtures" / "EchoTest"


def cli(state: Path, *argv: str) -> list[str]:
    return ["run", "--integration", str(ECHO), "--state-dir", str(state), *argv]


def run_json(capsys: pytest.CaptureFixture[str], state: Path, *argv: str) -> tuple[int, dict[str, Any]]:
    status = main(cli(state, "--json", *argv))
    return status, json.loads(capsys.readouterr().out)


def test_success_prints_the_table_and_context_and_saves_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a note command, When run, Then exit 0, the table and context are printed and the context is saved."""
    status = main(cli(tmp_path, "--command", '!echo-note "Hello there" tag=x'))
    output = capsys.readouterr().out
    assert status == 0, f"a successful command exits 0:\n{output}"
    assert "Hello there" in output, f"the table should be printed:\n{output}"
    assert "Context" in output, f"the context should be printed:\n{output}"
    _, saved = StateStore(tmp_path).read().current_incident()
    assert saved.context == {"Echo": {"Item": {"Message": "Hello there", "Tag": "x"}}}, "context persisted"


def test_error_entry_exits_non_zero_and_shows_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given a command that returns an error entry, When run verbose, Then exit 1 with an Error panel and the logs."""
    status = main(cli(tmp_path, "--command", "!echo-fail reason=nope", "--verbose"))
    output = capsys.readouterr().out
    assert status == 1, f"an error entry must give a non-zero exit status:\n{output}"
    assert "Error" in output, f"the entry should be marked as an error:\n{output}"
    assert "nope" in output, f"the error message should be shown:\n{output}"
    assert "Logs" in output, f"--verbose should show the logs:\n{output}"


def test_json_output_and_context_persisting_between_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given two runs with --json, When the second reads the state, Then the context holds both items."""
    main(cli(tmp_path, "--command", "!echo-note one"))
    capsys.readouterr()
    status, document = run_json(capsys, tmp_path, "--command", "!echo-note two")
    assert status == 0, document
    assert document["is_error"] is False, document
    assert document["entries"][0]["Contents"] == {"Message": "two", "Tag": None}, document["entries"]
    assert document["context"] == {"Echo": {"Item": [{"Message": "one", "Tag": None}, {"Message": "two", "Tag": None}]}}


def test_reset_clears_context_but_keeps_the_integration_context(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a note and a counter run, When run again with --reset, Then the context is empty, the counter goes on."""
    main(cli(tmp_path, "--command", "!echo-note keep-me"))
    main(cli(tmp_path, "--command", "!echo-counter"))
    capsys.readouterr()
    _, document = run_json(capsys, tmp_path, "--command", "!echo-counter", "--reset")
    assert document["context"] == {}, "--reset starts from an empty incident context"
    assert document["entries"][0]["Contents"] == "count=2", "the instance's integration context survives --reset"


def test_param_sources_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given DEMISTO_PARAMS, --params-file, --env-file and --param, When run, Then each later source wins."""
    monkeypatch.setenv("DEMISTO_PARAMS", json.dumps({"url": "https://a/", "proxy": True, "colours": "red"}))
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps({"url": "https://b/", "insecure": "true"}), encoding="utf-8")
    env_file = tmp_path / ".env"
    env_file.write_text("url=https://c/\napikey=from-env\n", encoding="utf-8")
    _, document = run_json(
        capsys,
        tmp_path,
        "--command",
        "!echo-args",
        "--params-file",
        str(params_file),
        "--env-file",
        str(env_file),
        "--param",
        "url=https://d/",
    )
    params = json.loads(document["entries"][0]["Contents"])["params"]
    assert params == {
        "url": "https://d/",
        "apikey": {"identifier": "", "password": "<XX_REPLACED>"},  # set from the env file; masked when shown
        "insecure": True,
        "proxy": True,
        "colours": ["red"],
    }, params


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--command", "!echo-note"], "missing required argument 'message'", id="missing-arg"),
        pytest.param(["--command", "!echo-note hi nope=1"], "unknown argument 'nope'", id="unknown-arg"),
        pytest.param(["--command", "!echo-nope"], "has no command 'echo-nope'", id="unknown-command"),
        pytest.param(["--command", "!echo-note hi", "--param", "url="], "missing required param 'url'", id="param"),
        pytest.param(["--command", "!echo-note hi", "--param", "colour=x"], "unknown param 'colour'", id="bad-param"),
        pytest.param(
            ["--command", "!echo-note hi", "--fault", "429"],
            "--fault only works with an embedded stand-in",
            id="fault",
        ),
        pytest.param(["--text", "hi"], "no command with a `text` argument", id="text"),
        pytest.param([], "say what to run", id="nothing-to-run"),
        pytest.param(["--command", "test-module", "--service", "--real"], "contradict", id="service-and-real"),
        pytest.param(["--command", "test-module", "--params-file", "/nonexistent.json"], "cannot read", id="file"),
    ],
)
def test_user_errors_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Given a command line that cannot run, When run, Then exit 2 and stderr says why (no traceback)."""
    status = main(cli(tmp_path, *argv))
    error = capsys.readouterr().err
    assert status == 2, f"user errors exit 2, got {status}: {error}"
    assert message in error, f"expected {message!r} in: {error}"
    assert "Traceback" not in error, "a user error must not show a traceback"


@pytest.mark.parametrize("with_file", [pytest.param(False, id="no instances file"), pytest.param(True, id="a file")])
def test_a_default_instance_error_names_the_instances_file_only_when_there_is_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], with_file: bool
) -> None:
    """Given params the default instance cannot be made with, and an --instances file without that brand or none,
    When run, Then exit 2 and the advice to add an instance to the file is given only when there is a file."""
    extra = []
    if with_file:
        file = tmp_path / "instances.yml"
        file.write_text("instances: []\n", encoding="utf-8")
        extra = ["--instances", str(file)]
    status = main(cli(tmp_path, "--command", "!echo-note hi", "--param", "url:x", *extra))
    error = capsys.readouterr().err
    assert status == 2, error
    assert "--param number 1 is not name=value" in error, error
    if with_file:
        assert f"or add an instance of brand 'EchoTest' with its params to {file}" in error, error
    else:
        assert "the file" not in error, f"there is no instances file to speak of: {error}"
        assert "or give --instances FILE with an instance of brand 'EchoTest'" in error, error


def test_corrupt_state_is_reported_and_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given a corrupt state file, When run (even with --reset), Then exit 2 naming it and the file is untouched:
    it may hold other incidents the user wants to repair; deleting it starts afresh."""
    (tmp_path / STATE_FILE_NAME).write_text("{not json", encoding="utf-8")
    assert main(cli(tmp_path, "--command", "test-module")) == 2, "a corrupt state must not be silently dropped"
    assert "is corrupt" in capsys.readouterr().err, "the message should say the state is corrupt"
    assert main(cli(tmp_path, "--command", "test-module", "--reset")) == 2, "--reset must not discard other incidents"
    assert (tmp_path / STATE_FILE_NAME).read_text(encoding="utf-8") == "{not json", "the corrupt file is kept"
    (tmp_path / STATE_FILE_NAME).unlink()
    assert main(cli(tmp_path, "--command", "test-module")) == 0, "deleting it, as the message says, starts afresh"


def test_text_picks_the_command_with_a_text_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given --text, When run with an integration that has a `text` argument, Then that command gets the text."""
    yoda = Path(__file__).parents[2] / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"
    status = main(["run", "--integration", str(yoda), "--state-dir", str(tmp_path), "--text", "Hello", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 0, document
    assert (document["command"], document["args"]) == ("yoda-speak-translate", {"text": "Hello"}), document


@pytest.mark.parametrize(
    ("integration", "option", "real", "expected"),
    [
        pytest.param("YodaSpeak", None, False, "funtranslations", id="yoda-default-on"),
        pytest.param("YodaSpeak", None, True, None, id="yoda-real-off"),
        pytest.param("YodaSpeak", False, False, None, id="yoda-no-service"),
        pytest.param("EchoTest", None, False, None, id="other-default-off"),
        pytest.param("EchoTest", True, False, "funtranslations", id="other-with-url-gets-the-only-stand-in"),
    ],
)
def test_stand_in_for(integration: str, option: bool | None, real: bool, expected: str | None) -> None:
    """Given an integration and the switches, When deciding, Then the installed stand-in starts only when it should."""
    root = Path(__file__).parents[2]
    folder = ECHO if integration == "EchoTest" else root / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"
    plugin = stand_in_for(load_integration(folder), option, real, registry())
    assert (plugin.name if plugin else None) == expected, plugin


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    )
)
def test_printed_war_room_line_parses_back(args: dict[str, str]) -> None:
    """Given any args, When the entry title line is built, Then parsing it gives the same args back."""
    parsed = parse_war_room(war_room_line("cmd", args))
    assert (parsed.name, parsed.args) == ("cmd", args), "the printed line should run the same command again"


@pytest.mark.parametrize(
    ("real", "expected_sources"),
    [
        pytest.param(True, ["FUNTRANSLATIONS_API_KEY", "--param"], id="real-takes-the-key-from-the-environment"),
        pytest.param(False, ["the embedded service", "--param"], id="service-ignores-the-key"),
    ],
)
def test_param_layers_for_real_and_service(real: bool, expected_sources: list[str]) -> None:
    """Given --real or the embedded service, When layers are built, Then the key comes from the env only with --real."""
    yoda = load_integration(Path(__file__).parents[2] / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak")
    options = argparse.Namespace(params_file=None, env_file=None, real=real, param=["proxy=false"])
    sources = ParamSources.from_options(options, {"FUNTRANSLATIONS_API_KEY": "k-123"})
    plugin = registry().for_integration(yoda.id, yoda.brand)
    layers = param_layers(sources, yoda, plugin, None if real else "http://127.0.0.1:1/")
    assert [layer.source for layer in layers] == expected_sources, layers
