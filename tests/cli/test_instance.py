"""Local instance set-up shared by `run` and the playbook subcommands: param sources and the embedded service."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsoar_local.cli import main
from xsoar_local.engine import load_integration
from xsoar_local.instance import InstanceSetupError, ParamSources, embedded_service, instance_params, service_wanted

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
        service_wanted(load_integration(YODA), True, True)


def test_a_malformed_fault_is_refused_before_the_service_starts() -> None:
    """
    Given a fault spec the service does not know
    When the embedded service is started
    Then the error says it is the --fault option
    """
    with pytest.raises(InstanceSetupError, match=r"^--fault: "), embedded_service(["status=sometimes"]):
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
