"""Finding the integration behind `Brand|||command`, and running commands through the engine's API."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from xsoar_local.engine import CommandRun, Integration
from xsoar_local.incident.store import Incident
from xsoar_local.playbook.integrations import BrandError, EngineExecutor, IntegrationCatalog, scan_integrations
from xsoar_local.playbook.runner import CommandCall


def write_integration(packs: Path, pack: str, name: str, commands: list[dict[str, Any]], brand_id: str = "") -> None:
    """A minimal integration folder: the YAML and an (unused) Python file beside it."""
    folder = packs / pack / "Integrations" / name
    folder.mkdir(parents=True)
    document = {
        "commonfields": {"id": brand_id or name, "version": -1},
        "name": name,
        "configuration": [{"name": "url", "type": 0, "required": True, "defaultvalue": "https://example.invalid"}],
        "script": {"script": "-", "type": "python", "subtype": "python3", "commands": commands},
    }
    (folder / f"{name}.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (folder / f"{name}.py").write_text("", encoding="utf-8")


GREET = {
    "name": "greet",
    "arguments": [
        {"name": "who", "required": True},
        {"name": "greeting", "defaultValue": "Hello"},
    ],
}


@pytest.fixture
def catalog(tmp_path: Path) -> IntegrationCatalog:
    """Alpha (greet, shared), Beta (id BetaId; shared) and a broken integration folder."""
    write_integration(tmp_path, "PackA", "Alpha", [GREET, {"name": "shared"}])
    write_integration(tmp_path, "PackB", "Beta", [{"name": "shared"}], brand_id="BetaId")
    broken = tmp_path / "PackC" / "Integrations" / "Broken"
    broken.mkdir(parents=True)
    (broken / "Broken.yml").write_text("name: Broken\n", encoding="utf-8")
    return scan_integrations(tmp_path)


def test_scan_loads_every_integration_and_notes_broken_ones(catalog: IntegrationCatalog, tmp_path: Path) -> None:
    """Given Packs with two good integrations and a broken one, When scanned, Then both load and the broken is noted."""
    assert sorted(item.name for item in catalog.integrations) == ["Alpha", "Beta"], catalog.integrations
    assert list(catalog.broken) == [str(tmp_path / "PackC" / "Integrations" / "Broken")], "the broken one is noted"
    assert "no `script` section" in next(iter(catalog.broken.values())), catalog.broken


@pytest.mark.parametrize(
    ("brand", "command", "expected"),
    [
        pytest.param("Alpha", "greet", "Alpha", id="brand-by-name"),
        pytest.param("BetaId", "shared", "Beta", id="brand-by-commonfields-id"),
        pytest.param("Beta", "shared", "Beta", id="brand-by-name-when-id-differs"),
        pytest.param("", "greet", "Alpha", id="empty-brand-the-one-with-the-command"),
    ],
)
def test_find(catalog: IntegrationCatalog, brand: str, command: str, expected: str) -> None:
    """Given a brand (or none), When the integration is looked up, Then the right one is found."""
    assert catalog.find(brand, command).name == expected


@pytest.mark.parametrize(
    ("brand", "command", "message"),
    [
        pytest.param("Gamma", "greet", r"no integration with brand 'Gamma'.*found: Alpha, Beta", id="unknown-brand"),
        pytest.param("", "fly", "no integration in Packs/\\*/Integrations has the command 'fly'", id="no-command"),
        pytest.param("", "shared", "'shared' is ambiguous without a brand: Alpha, Beta", id="ambiguous"),
    ],
)
def test_find_errors(catalog: IntegrationCatalog, brand: str, command: str, message: str) -> None:
    """Given a brand or command nothing (or more than one) answers, When looked up, Then the error says so."""
    with pytest.raises(BrandError, match=message):
        catalog.find(brand, command)


class FakeRun:
    """Stands in for run_command: records what it was given and answers with a note."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    def __call__(
        self,
        integration: Integration,
        command: str,
        args: Mapping[str, Any],
        params: Mapping[str, Any],
        incident: Incident,
    ) -> CommandRun:
        self.calls.append((command, dict(args), dict(params)))
        entries = [{"Type": 1, "Contents": "hi", "EntryContext": {"Greeting": args.get("greeting")}}]
        if args.get("who") == "error":
            entries = [{"Type": 4, "Contents": "cannot greet"}]
        return CommandRun(command, dict(args), "inst", entries, [], incident.with_context({"Ran": command}))


def test_executor_applies_default_values_and_params(catalog: IntegrationCatalog) -> None:
    """Given a call without an optional argument, When executed, Then its defaultValue is filled in and params built."""
    fake = FakeRun()
    executor = EngineExecutor(catalog, lambda integration: {"url": f"http://{integration.name}"}, fake)
    outcome = executor(CommandCall("1", "Alpha", "greet", {"who": "Yoda"}), Incident())
    assert outcome.error is None, outcome.error
    assert fake.calls == [("greet", {"who": "Yoda", "greeting": "Hello"}, {"url": "http://Alpha"})], fake.calls
    assert outcome.incident.context == {"Ran": "greet"}, "the incident comes back from the engine"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(CommandCall("1", "Alpha", "greet", {}), "missing required argument 'who'", id="missing-required"),
        pytest.param(
            CommandCall("1", "Alpha", "greet", {"who": "x", "typo": "y"}),
            "unknown argument 'typo'",
            id="unknown-argument",
        ),
        pytest.param(CommandCall("1", "Nope", "greet", {}), "no integration with brand 'Nope'", id="unknown-brand"),
        pytest.param(CommandCall("1", "Alpha", "fly", {}), "Alpha has no command 'fly'", id="unknown-command"),
        pytest.param(CommandCall("1", "Alpha", "greet", {"who": "error"}), "cannot greet", id="error-entry"),
    ],
)
def test_executor_errors_become_task_errors(catalog: IntegrationCatalog, call: CommandCall, message: str) -> None:
    """Given a call that cannot run or that fails, When executed, Then the outcome carries the error (no exception)."""
    outcome = EngineExecutor(catalog, lambda integration: {}, FakeRun())(call, Incident())
    assert message in str(outcome.error), f"expected {message!r} in {outcome.error!r}"


def test_params_are_built_once_per_integration(catalog: IntegrationCatalog) -> None:
    """Given two calls to the same integration, When executed, Then its params are built once (one instance)."""
    built: list[str] = []

    def params_for(integration: Integration) -> dict[str, Any]:
        built.append(integration.name)
        return {}

    executor = EngineExecutor(catalog, params_for, FakeRun())
    for _ in range(2):
        executor(CommandCall("1", "Alpha", "greet", {"who": "x"}), Incident())
    assert built == ["Alpha"], f"params built for {built}"
