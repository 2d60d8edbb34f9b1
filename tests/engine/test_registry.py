"""The command registry's rule for names: the content's own script wins over the toolkit's fallback, a pack script
named like a server-native command is a clash, and the listing says which one runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xsoar_local.engine.catalog import CatalogError, scan_content
from xsoar_local.engine.instances import InstanceSet
from xsoar_local.engine.registry import CONTENT_SCRIPT, FALLBACK, SERVER_NATIVE, CommandRegistry, split_task_script

FIXTURES = Path(__file__).parents[1] / "fixtures" / "content" / "NativeCommands"


def registry(tmp_path: Path, *packs: str) -> CommandRegistry:
    root = tmp_path / "Packs"
    root.mkdir(exist_ok=True)
    for pack in packs:
        shutil.copytree(FIXTURES / pack, root / pack)
    catalog = scan_content(root)
    return CommandRegistry(catalog, InstanceSet(catalog, []))


@pytest.mark.parametrize(
    ("packs", "kind"),
    [
        pytest.param(("NativeProbe",), FALLBACK, id="no-commonscripts-the-fallback-runs"),
        pytest.param(("NativeProbe", "CommonScripts"), CONTENT_SCRIPT, id="the-contents-print-wins"),
    ],
)
def test_a_content_script_wins_over_the_fallback_and_the_listing_says_so(
    tmp_path: Path, packs: tuple[str, ...], kind: str
) -> None:
    """Given a content root with or without its own Print, When `Print` is resolved and listed,
    Then the content's script runs when there is one, else the toolkit's fallback, and the listing says which."""
    names = registry(tmp_path, *packs)
    target = names.resolve("Print")
    ran = CONTENT_SCRIPT if target.script is not None else FALLBACK if target.native is not None else "?"
    assert ran == kind, f"Print resolved to {target}"
    listed = {item.name: item for item in names.listing()}
    assert listed["Print"].kind == kind, f"the listing says {listed['Print']}"
    assert listed["getEntries"].kind == SERVER_NATIVE, "server-native commands are listed as the server's"


def test_a_pack_script_named_like_a_server_native_command_is_a_clash(tmp_path: Path) -> None:
    """Given a pack script called getEntry, When getEntry is resolved, Then it is an error naming both the script's
    pack and the server-native command, as for two packs holding one script name."""
    registry(tmp_path, "CommonScripts")
    folder = tmp_path / "Packs" / "CommonScripts" / "Scripts" / "Print"
    yml = folder / "Print.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("Print", "getEntry"), encoding="utf-8")
    names = registry(tmp_path)
    with pytest.raises(CatalogError, match=r"clashes with the server-native command getEntry \(brand Builtin\)"):
        names.resolve("getEntry")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param("YodaSpeak|||yoda-speak-translate", ("YodaSpeak", "yoda-speak-translate"), id="brand-command"),
        pytest.param("|||yoda-speak-translate", ("", "yoda-speak-translate"), id="any-brand"),
        pytest.param("Builtin|||closeInvestigation", ("Builtin", "closeInvestigation"), id="builtin"),
        pytest.param("DeleteContext", ("", "DeleteContext"), id="plain-name"),
    ],
)
def test_task_script_forms(script: str, expected: tuple[str, str]) -> None:
    """Given each form a playbook task names what it runs, When split, Then brand and name come apart."""
    assert split_task_script(script) == expected


def test_builtin_brand_runs_the_engines_own_command_or_says_which_exist(tmp_path: Path) -> None:
    """Given `Builtin|||Print` and `Builtin|||shout`, When resolved, Then the first is the engine's Print even with a
    content Print, and the second is an error listing the built-in commands."""
    names = registry(tmp_path, "CommonScripts")
    target = names.resolve("Print", brand="Builtin")
    assert target.native is not None, f"Builtin|||Print should be the engine's own: {target}"
    assert target.native.name == "Print", target
    with pytest.raises(CatalogError, match=r"no built-in command 'shout' .*closeInvestigation"):
        names.resolve("shout", brand="Builtin")
