"""Local instance set-up shared by `run` and the playbook subcommands: param sources and the embedded service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xsoar_local.cli import main
from xsoar_local.engine import load_integration
from xsoar_local.instance import (
    InstanceSetupError,
    ParamSources,
    embedded_stand_in,
    instance_params,
    registry,
    stand_in_for,
)

YODA = Path(__file__).parents[2] / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"


def test_layers_apply_lowest_priority_first(tmp_path: Path) -> None:
    """
    Given the same param in DEMISTO_PARAMS, a params file, an env file and --param
    When the instance params are built
    Then --param wins, and a param set by only one source keeps that source's value
    """
    params_file = tmp_path / "params.json"
    params_file.write_text('{"url": "https://from-file.example/", "cache_hours": "6"}', encoding="utf-8")
    env_file = tmp_path / "params.env"
    env_file.write_text("url=https://from-env-file.example/\n", encoding="utf-8")
    sources = ParamSources(
        demisto_params='{"url": "https://from-demisto-params.example/", "proxy": "true"}',
        params_file=params_file,
        env_file=env_file,
        assignments=("url=https://from-param.example/",),
    )

    params = instance_params(load_integration(YODA), sources, None)

    assert params["url"] == "https://from-param.example/", f"--param should win: {params['url']}"
    assert params["cache_hours"] == "6", "the params file's value should stay when nothing overrides it"
    assert params["proxy"] is True, "DEMISTO_PARAMS's checkbox should arrive as a bool"


def test_an_unreadable_params_file_names_the_file(tmp_path: Path) -> None:
    """
    Given a --params-file that does not exist
    When the instance params are built
    Then the error names the file
    """
    missing = tmp_path / "nowhere.json"
    with pytest.raises(InstanceSetupError, match=r"cannot read .*nowhere\.json"):
        instance_params(load_integration(YODA), ParamSources(params_file=missing), None)


def test_service_and_real_contradict_each_other() -> None:
    """
    Given --service together with --real
    When deciding whether to start the embedded service
    Then the user is told to choose one
    """
    with pytest.raises(InstanceSetupError, match="choose one"):
        stand_in_for(load_integration(YODA), True, True, registry())


def test_a_malformed_fault_is_refused_before_the_service_starts() -> None:
    """
    Given a fault spec the service does not know
    When the embedded service is started
    Then the error says it is the --fault option
    """
    plugin = registry().named("funtranslations")
    with pytest.raises(InstanceSetupError, match=r"^--fault: "), embedded_stand_in(plugin, ["status=sometimes"]):
        pass


def test_playbook_subcommand_reports_an_unreadable_params_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    Given the playbook subcommand with a --params-file that does not exist
    When the pack's playbook runs
    Then it exits 2 with a one-line error naming the file, not a traceback
    """
    status = main(
        [
            "playbook",
            "--playbook",
            "Yoda Speak",
            "--incident",
            "details=Hello",
            "--params-file",
            str(tmp_path / "x.json"),
        ]
    )

    err = capsys.readouterr().err
    assert status == 2, f"a bad params file is a usage error (2), got {status}: {err}"
    assert "x.json" in err, f"the error should name the file: {err!r}"


@pytest.mark.parametrize(
    ("paid_keys", "expected_status", "expected_text"),
    [
        pytest.param(["yoda-paid-KEY-42"], 0, "The high ground,  I have!", id="paid-key-accepted"),
        pytest.param([], 1, "refused the API key (HTTP 401: Unauthorized)", id="unknown-key-refused"),
    ],
)
def test_the_embedded_service_accepts_only_the_paid_keys_it_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], paid_keys: list[str], expected_status: int, expected_text: str
) -> None:
    """
    Given an instance with an API key, and the embedded service told (or not) that the key is a paid plan's
    When `run` translates a text
    Then the paid key is served, and any other key gets the real service's 401
    """
    paid = [arg for key in paid_keys for arg in ("--paid-key", key)]
    argv = ["run", "--json", "--state-dir", str(tmp_path), "--param", "apikey=yoda-paid-KEY-42", *paid]

    status = main([*argv, "--text", "I have the high ground!"])

    result = json.loads(capsys.readouterr().out)
    # the translation is read from the context, an error from its entry's Contents
    shown = " ".join([json.dumps(result["context"]), *(str(entry["Contents"]) for entry in result["entries"])])
    assert status == expected_status, f"expected exit {expected_status}, got {status}: {shown}"
    assert expected_text in shown, f"{expected_text!r} should be in the War Room entry: {shown}"
    assert result["service"]["requests"] == 1, f"the service should have been asked once: {result['service']}"


def test_paid_key_needs_the_embedded_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    Given --paid-key together with --real
    When `run` starts
    Then it refuses with a usage error instead of silently ignoring the switch
    """
    status = main(["run", "--state-dir", str(tmp_path), "--real", "--paid-key", "k", "--text", "Hello"])

    assert status == 2, "--paid-key without the embedded service is a usage error"
    assert "--paid-key" in capsys.readouterr().err
