"""Finding the integration behind `Brand|||command` in a content root, and running tasks through the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from xsoar_local.engine.catalog import ContentCatalog, scan_content
from xsoar_local.engine.instances import InstanceError, load_instances
from xsoar_local.engine.session import EngineSession
from xsoar_local.incident.model import Incident
from xsoar_local.playbook.integrations import EngineExecutor
from xsoar_local.playbook.runner import CommandCall

# Echoes its args and params as context; `who=error` returns an error entry.
GREET_CODE = """
def main():
    args = demisto.args()
    if args.get("who") == "error":
        return_error("cannot greet")
    return_results(CommandResults(outputs_prefix="Greeting", outputs={**args, "url": demisto.params().get("url")}))


if __name__ in ("__main__", "builtins"):
    main()
"""


def write_integration(packs: Path, pack: str, name: str, commands: list[dict[str, Any]], brand_id: str = "") -> None:
    """A minimal integration folder: the YAML and its Python file."""
    folder = packs / pack / "Integrations" / name
    folder.mkdir(parents=True)
    document = {
        "commonfields": {"id": brand_id or name, "version": -1},
        "name": name,
        "configuration": [{"name": "url", "type": 0, "required": True, "defaultvalue": "https://example.invalid"}],
        "script": {"script": "-", "type": "python", "subtype": "python3", "commands": commands},
    }
    (folder / f"{name}.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (folder / f"{name}.py").write_text(GREET_CODE, encoding="utf-8")


GREET = {
    "name": "greet",
    "arguments": [
        {"name": "who", "required": True},
        {"name": "greeting", "defaultValue": "Hello"},
    ],
}


@pytest.fixture
def catalog(tmp_path: Path) -> ContentCatalog:
    """Alpha (greet, shared), Beta (id BetaId; shared) and a broken integration folder."""
    write_integration(tmp_path, "PackA", "Alpha", [GREET, {"name": "shared"}])
    write_integration(tmp_path, "PackB", "Beta", [{"name": "shared"}], brand_id="BetaId")
    broken = tmp_path / "PackC" / "Integrations" / "Broken"
    broken.mkdir(parents=True)
    (broken / "Broken.yml").write_text("name: Broken\n", encoding="utf-8")
    return scan_content(tmp_path)


def test_scan_loads_every_integration_and_notes_broken_ones(catalog: ContentCatalog, tmp_path: Path) -> None:
    """Given Packs with two good integrations and a broken one, When scanned, Then both load and the broken is noted."""
    assert sorted(item.name for item in catalog.integrations) == ["Alpha", "Beta"], catalog.integrations
    assert [item.pack for item in sorted(catalog.integrations, key=lambda item: item.name)] == ["PackA", "PackB"]
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
def test_find(catalog: ContentCatalog, brand: str, command: str, expected: str) -> None:
    """Given a brand (or none), When the instance for a command is looked up, Then the right integration's."""
    assert load_instances(catalog, None).for_command(command, brand).integration.name == expected


@pytest.mark.parametrize(
    ("brand", "command", "message"),
    [
        pytest.param(
            "Gamma", "greet", r"no integration of brand 'Gamma'.*integrations: Alpha, Beta", id="unknown-brand"
        ),
        pytest.param("", "fly", "no integration in .* has the command 'fly'", id="no-command"),
        pytest.param("", "shared", "'shared' is ambiguous: brands Alpha, Beta all have it", id="ambiguous"),
    ],
)
def test_find_errors(catalog: ContentCatalog, brand: str, command: str, message: str) -> None:
    """Given a brand or command nothing (or more than one) answers, When looked up, Then the error says so."""
    with pytest.raises(InstanceError, match=message):
        load_instances(catalog, None).for_command(command, brand)


def executor_for(catalog: ContentCatalog) -> EngineExecutor:
    return EngineExecutor(EngineSession(catalog, load_instances(catalog, None)))


def test_executor_applies_default_values_and_params(catalog: ContentCatalog) -> None:
    """Given a call without an optional argument, When executed, Then its defaultValue is filled in and params built."""
    outcome = executor_for(catalog)(CommandCall("1", "Alpha", "greet", {"who": "Yoda"}), Incident())
    assert outcome.error is None, outcome.error
    expected = {"who": "Yoda", "greeting": "Hello", "url": "https://example.invalid"}
    assert outcome.incident.context == {"Greeting": expected}, "args with defaults and the YAML's param default"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(CommandCall("1", "Alpha", "greet", {}), "missing required argument 'who'", id="missing-required"),
        pytest.param(
            CommandCall("1", "Alpha", "greet", {"who": "x", "typo": "y"}),
            "unknown argument 'typo'",
            id="unknown-argument",
        ),
        pytest.param(CommandCall("1", "Nope", "greet", {}), "no integration of brand 'Nope'", id="unknown-brand"),
        pytest.param(CommandCall("1", "Alpha", "fly", {}), "brand 'Alpha' has no command 'fly'", id="unknown-command"),
        pytest.param(CommandCall("1", "Alpha", "greet", {"who": "error"}), "cannot greet", id="error-entry"),
        pytest.param(CommandCall("1", "", "Nothing", {}, "script"), "unknown script 'Nothing'", id="unknown-script"),
    ],
)
def test_executor_errors_become_task_errors(catalog: ContentCatalog, call: CommandCall, message: str) -> None:
    """Given a call that cannot run or that fails, When executed, Then the outcome carries the error (no exception)."""
    outcome = executor_for(catalog)(call, Incident())
    assert message in str(outcome.error), f"expected {message!r} in {outcome.error!r}"
