"""The service-plugin seam: the core starts whichever stand-ins are plugged in, and names none itself."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.services import stand_ins
from xsoar_local import instance, makevars
from xsoar_local.cli import main
from xsoar_local.services import PLUGINS_ENV, ServiceRegistry, load_registry

REPO = Path(__file__).resolve().parents[2]
ECHO = REPO / "tests" / "engine" / "fixtures" / "EchoTest"
GATEKEEPER = REPO / "tests" / "fixtures" / "content" / "Packs" / "Gatekeeper" / "Integrations" / "Gatekeeper"
FIXTURES = "tests.services.stand_ins"


@pytest.fixture(autouse=True)
def _fresh_starts() -> Iterator[None]:
    stand_ins.STARTS.clear()
    yield
    stand_ins.STARTS.clear()


def plug_in(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Plug in the fixture stand-ins `names` (beside the installed ones) for this test."""
    monkeypatch.setenv(PLUGINS_ENV, ",".join(f"{FIXTURES}:{name}" for name in names))


def run_echo(capsys: pytest.CaptureFixture[str], state: Path, *argv: str) -> tuple[int, dict[str, Any], str]:
    """`run --json` of `!echo-args` on the EchoTest integration: status, the document and stderr."""
    status = main(
        ["run", "--integration", str(ECHO), "--state-dir", str(state), "--json", "--command", "!echo-args", *argv]
    )
    captured = capsys.readouterr()
    return status, (json.loads(captured.out) if captured.out else {}), captured.err


def params_of(document: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(document["entries"][0]["Contents"])["params"])


def test_the_stand_in_a_plugin_declares_serves_its_integration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Given a plugged-in stand-in that declares it serves EchoTest
    When `run` executes an EchoTest command without switches
    Then the stand-in is started once, the instance's url param points at it, the instance is `EchoTest_local`,
    and the stand-in is stopped when the run ends
    """
    plug_in(monkeypatch, "ECHO")

    status, document, err = run_echo(capsys, tmp_path)

    assert status == 0, err
    assert [start["plugin"] for start in stand_ins.STARTS] == ["echo"], stand_ins.STARTS
    url = stand_ins.STARTS[0]["url"]
    assert params_of(document)["url"] == url, f"the url param should be the stand-in's: {params_of(document)}"
    assert document["instance"] == "EchoTest_local", document["instance"]
    assert document["service"] == {"url": url, "requests": 0}, document["service"]
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_faults_and_plugin_options_reach_the_stand_in_and_make_instances_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Given the echo stand-in, which takes faults and defines `--echo-token`
    When `run` is given a fault and tokens
    Then the stand-in starts with the canonical fault and the tokens, and each configuration is another instance
    """
    plug_in(monkeypatch, "ECHO")

    names = []
    for token in ("t1", "t2"):
        status, document, err = run_echo(capsys, tmp_path, "--fault", " slow ", "--echo-token", token)
        assert status == 0, err
        names.append(document["instance"])

    assert [(start["faults"], start["options"]) for start in stand_ins.STARTS] == [
        (("slow",), {"echo_token": ("t1",)}),
        (("slow",), {"echo_token": ("t2",)}),
    ], stand_ins.STARTS
    assert all(re.fullmatch(r"EchoTest_local_fault-slow_[0-9a-f]{8}", name) for name in names), names
    assert names[0] != names[1], "other tokens are another configuration, so another instance (another cache)"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--fault", "sometimes"], "--fault: 'sometimes' is not an echo fault", id="fault-it-refuses"),
        pytest.param(["--real", "--echo-token", "t"], "--echo-token only works with an embedded stand-in", id="real"),
        pytest.param(
            ["--no-service", "--fault", "slow", "--echo-token", "t"],
            "--fault and --echo-token only work with an embedded stand-in",
            id="no-service",
        ),
        pytest.param(["--stand-in", "nope"], "no stand-in named 'nope'; installed: funtranslations, echo", id="name"),
    ],
)
def test_stand_in_switches_it_cannot_honour_are_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    """Given a stand-in switch that cannot apply, When `run` starts, Then exit 2 with one line and nothing ran."""
    plug_in(monkeypatch, "ECHO")

    status, _, err = run_echo(capsys, tmp_path, *argv)

    assert status == 2, f"expected a usage error, got {status}: {err}"
    assert message in err, f"expected {message!r} in: {err}"
    assert "Traceback" not in err, err


def test_real_takes_the_key_from_the_variable_the_plugin_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Given the echo plugin, whose real service's key is in $ECHO_TEST_API_KEY
    When `run --real` runs with that variable set, and with only another plugin's variable set
    Then no stand-in starts, the YAML's URL is used, and only the echo plugin's variable fills the key param
    (another configuration: an instance of its own)
    """
    plug_in(monkeypatch, "ECHO")
    monkeypatch.setenv("FUNTRANSLATIONS_API_KEY", "someone-elses-key")

    status, without_key, err = run_echo(capsys, tmp_path, "--real")
    assert status == 0, err
    monkeypatch.setenv("ECHO_TEST_API_KEY", "echo-key-123")
    status, with_key, err = run_echo(capsys, tmp_path, "--real")
    assert status == 0, err

    assert stand_ins.STARTS == [], "--real must not start a stand-in"
    assert params_of(with_key)["url"] == "https://echo.example/api", params_of(with_key)
    assert "apikey" not in params_of(without_key), "another plugin's key variable must not fill this param"
    assert params_of(with_key)["apikey"]["password"] == "<XX_REPLACED>", "the key is set (and masked when shown)"
    assert without_key["instance"] == "EchoTest_instance_1", without_key["instance"]
    assert re.fullmatch(r"EchoTest_instance_1_[0-9a-f]{8}", with_key["instance"]), with_key["instance"]


def test_help_texts_come_from_the_plugins(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the echo plugin plugged in, When `run --help` is printed, Then its option, integration, key variable and
    fault forms are listed beside the installed FunTranslations plugin's."""
    plug_in(monkeypatch, "ECHO")

    with pytest.raises(SystemExit) as exited:
        main(["run", "--help"])

    shown = " ".join(capsys.readouterr().out.split())
    assert exited.value.code == 0
    for expected in (
        "--echo-token",
        "accepts 100% of the time",
        "--paid-key",
        "EchoTest (Echo)",
        "YodaSpeak (FunTranslations)",
        "$ECHO_TEST_API_KEY",
        stand_ins.ECHO_FAULTS,
    ):
        assert expected in shown, f"{expected!r} should be in run --help: {shown}"


def test_stand_in_chooses_the_stand_in_service_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given two plugged-in stand-ins, When `run --stand-in spare` runs EchoTest (which echo serves),
    Then the named one is started and the url param points at it."""
    plug_in(monkeypatch, "ECHO", "SPARE")

    status, document, err = run_echo(capsys, tmp_path, "--stand-in", "spare")

    assert status == 0, err
    assert [start["plugin"] for start in stand_ins.STARTS] == ["spare"], stand_ins.STARTS
    assert params_of(document)["url"] == stand_ins.STARTS[0]["url"]


def test_service_for_an_integration_no_stand_in_serves_needs_a_choice_among_several(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given several stand-ins, none serving Gatekeeper, When `run --service` runs Gatekeeper,
    Then exit 2 naming the installed stand-ins and --stand-in; nothing is started."""
    plug_in(monkeypatch, "ECHO", "SPARE")
    argv = ["run", "--integration", str(GATEKEEPER), "--state-dir", str(tmp_path), "--command", "test-module"]

    status = main([*argv, "--service"])

    err = capsys.readouterr().err
    assert status == 2, err
    assert "several stand-ins are installed (funtranslations, echo, spare); choose with --stand-in NAME" in err, err
    assert stand_ins.STARTS == []


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        pytest.param(f"{FIXTURES}:NOT_A_PLUGIN", "is a str, not a ServicePlugin", id="not-a-plugin"),
        pytest.param("tests.services.nowhere:PLUGIN", "cannot be loaded: ModuleNotFoundError", id="no-module"),
        pytest.param(f"{FIXTURES}:MISSING", "cannot be loaded: AttributeError", id="no-attribute"),
        pytest.param("no-colon", "is not a `module:attribute` reference", id="not-a-reference"),
        pytest.param(f"{FIXTURES}:ECHO,{FIXTURES}:CLASH", "'echo' and 'clash' both serve EchoTest", id="clash"),
        pytest.param(f"{FIXTURES}:SHADOW_FLAG", "the stand-in option --json clashes with run's own", id="flag"),
        pytest.param(f"{FIXTURES}:SHADOW_DEST", "the stand-in option --where clashes with run's own", id="dest"),
    ],
)
def test_a_plugin_that_cannot_be_used_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    reference: str,
    message: str,
) -> None:
    """Given a broken or clashing plugin, When any subcommand starts, Then exit 2 with one line saying which."""
    monkeypatch.setenv(PLUGINS_ENV, reference)

    status = main(["run", "--integration", str(ECHO), "--state-dir", str(tmp_path), "--command", "!echo-args"])

    err = capsys.readouterr().err
    assert status == 2, err
    assert message in err, f"expected {message!r} in: {err}"
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err, err


def test_the_installed_plugin_is_found_through_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given no extra plugins, When the registry loads, Then the FunTranslations stand-in comes from pyproject's
    entry point and serves the pack's integration."""
    monkeypatch.delenv(PLUGINS_ENV, raising=False)

    services = load_registry()

    assert [plugin.name for plugin in services.plugins] == ["funtranslations"]
    assert services.for_integration("YodaSpeak", "YodaSpeak") is services.plugins[0]
    assert services.plugins[0].start.__module__ == "standins.funtranslations.plugin", "it lives outside the core"


@pytest.mark.parametrize(
    ("standin", "args", "expected_status", "expected"),
    [
        pytest.param("funtranslations", "--help", 0, "usage: python -m standins.funtranslations", id="named"),
        pytest.param("", "--help", 0, "usage: python -m standins.funtranslations", id="the-only-one"),
        pytest.param("nope", "", 2, "error: no stand-in named 'nope'; installed: funtranslations", id="unknown"),
    ],
)
def test_make_serve_runs_the_stand_in_standin_names(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    standin: str,
    args: str,
    expected_status: int,
    expected: str,
) -> None:
    """Given STANDIN and ARGS as `make serve` exports them, When makevars runs serve, Then that stand-in's own
    command line gets ARGS (or a one-line error names the installed ones)."""
    monkeypatch.delenv(PLUGINS_ENV, raising=False)
    monkeypatch.setenv("MAKEVAR_STANDIN", standin)
    monkeypatch.setenv("MAKEVAR_ARGS", args)

    try:
        status = makevars.main(["serve"])
    except SystemExit as exited:  # argparse's --help
        status = int(exited.code or 0)

    captured = capsys.readouterr()
    assert status == expected_status, captured
    assert expected in captured.out + captured.err, captured


def _pack_words() -> set[str]:
    """Names that belong to the pack or its service: packs, integrations, commands, playbooks, stand-ins."""
    words = {path.name for path in (REPO / "Packs").iterdir() if path.is_dir()}
    for path in (REPO / "Packs").glob("*/*/*/*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        words |= {str(data.get("name", "")), str((data.get("commonfields") or {}).get("id", ""))}
        words |= {str(command["name"]) for command in (data.get("script") or {}).get("commands") or []}
    for path in (REPO / "Packs").glob("*/*Playbooks/*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        words |= {str(data.get("name", "")), str(data.get("id", ""))}
    words |= {path.name for path in (REPO / "standins").iterdir() if path.is_dir() and path.name != "__pycache__"}
    words |= {plugin.title for plugin in load_registry({}).plugins}
    return {word for word in words if len(word) > 3} | {"yoda"}


def test_the_core_names_no_pack_and_no_service() -> None:
    """Given the core package, When its files are searched for the pack's and the stand-ins' names (packs,
    integrations, commands, playbooks, plugins), Then none is found: what is pack-specific plugs in from outside."""
    words = _pack_words()
    assert {"YodaSpeak", "yoda-speak-translate", "funtranslations", "FunTranslations"} <= words, words
    pattern = re.compile("|".join(re.escape(word) for word in sorted(words)), re.IGNORECASE)
    found = []
    for path in sorted((REPO / "xsoar_local").rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "the core names the pack or its service:\n" + "\n".join(found)


def test_serve_without_a_stand_in_says_how_to_install_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an installed tool without the stand-in extra (no plugin installed), When `serve` starts, Then exit 2
    with one line naming the extra to install (an installed tool has no `make setup`)."""
    monkeypatch.setattr(instance, "load_registry", lambda environ=None: ServiceRegistry())

    status = main(["serve"])

    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "no service stand-in is installed" in err, err
    assert "xsoar-local[funtranslations]" in err, f"the line should name the extra to install: {err}"
