"""Loading an integration folder or unified YAML into specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsoar_local.engine.integration import ArgSpec, CommandSpec, IntegrationError, ParamSpec, load_integration

FIXTURE = Path(__file__).parent / "fixtures" / "EchoTest"


def test_folder_loads_params_commands_and_code() -> None:
    """Given the EchoTest folder, When loaded, Then params, commands and the code file are found."""
    integration = load_integration(FIXTURE)
    assert (integration.id, integration.brand) == ("EchoTest", "EchoTest"), "id and brand come from the YAML"
    assert integration.code_path == FIXTURE / "EchoTest.py", "the code sits beside the YAML"
    apikey = integration.param("apikey")
    assert apikey is not None, "apikey should be loaded"
    assert apikey.type == 9, "apikey is a credentials param (type 9)"
    note = integration.command("echo-note")
    assert note is not None, "echo-note should be loaded"
    assert note.argument("message") == ArgSpec("message", required=True, default=True), "message: required, default"
    assert note.argument("repeat") == ArgSpec("repeat", default_value="1"), "repeat's defaultValue should be read"


def test_test_module_is_built_in() -> None:
    """Given any integration, When asked for test-module, Then a built-in command without args is given."""
    command = load_integration(FIXTURE).command("test-module")
    assert command == CommandSpec("test-module"), "test-module is not in the YAML but always exists, without args"


def test_unified_yaml_with_marketplace_variants(tmp_path: Path) -> None:
    """Given a unified YAML with inline code and :xsoar variants, When loaded, Then the variants win."""
    path = tmp_path / "Unified.yml"
    path.write_text(
        "commonfields: {id: Unified}\nname: Unified\n"
        "configuration:\n- {name: url, type: 0, defaultvalue: generic, 'defaultvalue:xsoar': for-xsoar}\n"
        "script:\n  type: python\n  script: |\n    def main():\n        pass\n"
        "  commands:\n  - name: go\n    arguments:\n    - {name: a, defaultValue: x, 'defaultValue:xsoar': y}\n",
        encoding="utf-8",
    )
    integration = load_integration(path)
    assert "def main" in (integration.code or ""), "inline code should be kept"
    assert integration.param("url") == ParamSpec("url", 0, default_value="for-xsoar"), "the :xsoar variant should win"
    go = integration.command("go")
    assert go == CommandSpec("go", (ArgSpec("a", default_value="y"),)), "the :xsoar arg variant should win"


@pytest.mark.parametrize(
    ("files", "match"),
    [
        pytest.param({}, "exactly one integration YAML, found 0", id="no-yaml"),
        pytest.param({"A.yml": "name: A\nscript: {script: '-'}\n"}, "A.py is missing", id="no-code"),
        pytest.param({"A.yml": "name: A\n"}, "not an integration YAML", id="no-script"),
        pytest.param({"A.yml": "name: A\nscript: {type: javascript}\n"}, "A.js is missing", id="javascript-no-code"),
        pytest.param({"A.yml": "name: A\nscript: {type: powershell}\n"}, "only Python and JavaScript", id="powershell"),
    ],
)
def test_unusable_folders(tmp_path: Path, files: dict[str, str], match: str) -> None:
    """Given a folder that is not a runnable integration, When loaded, Then the error says why."""
    folder = tmp_path / "Broken"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    with pytest.raises(IntegrationError, match=match):
        load_integration(folder)


def test_bad_yaml_is_one_line(tmp_path: Path) -> None:
    """Given an integration YAML that is not YAML, When loaded, Then the error is one line naming its line."""
    path = tmp_path / "Bad.yml"
    path.write_text("a: [unclosed\n  - :\n", encoding="utf-8")
    with pytest.raises(IntegrationError) as caught:
        load_integration(path)
    assert "Bad.yml is not valid YAML: line 2: " in str(caught.value), str(caught.value)
    assert "expected" in str(caught.value), f"the problem is not named: {caught.value}"
    assert "\n" not in str(caught.value), f"a multi-line error: {caught.value!r}"
