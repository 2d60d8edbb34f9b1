"""JavaScript scripts through the server core: War Room commands in an investigation, across both languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.support import pack_zip
from xsoar_local.server.core import ServerCore

JS_KIT = Path(__file__).resolve().parent.parent / "fixtures" / "javascript" / "Packs" / "JsKit"


@pytest.fixture
def core(tmp_path: Path) -> Iterator[ServerCore]:
    with ServerCore(tmp_path / "state") as opened:
        opened.upload_pack(pack_zip(JS_KIT), "JsKit.zip")
        yield opened


@pytest.fixture
def hasty_core(tmp_path: Path) -> Iterator[ServerCore]:
    """A server whose commands may take 2 seconds."""
    with ServerCore(tmp_path / "state", command_timeout=2) as opened:
        opened.upload_pack(pack_zip(JS_KIT), "JsKit.zip")
        yield opened


def test_javascript_war_room_commands_call_python_and_back(core: ServerCore) -> None:
    """
    Given the uploaded JsKit pack
    When the playground runs JsTally (JavaScript calling Python), then PyAsksJs (Python calling JavaScript)
    Then each gives its entry as the server shows it, brand Scripts
    """
    playground = core.playground_id()

    tally = core.execute(playground, "!JsTally 21")
    asked = core.execute(playground, "!PyAsksJs text=hey")

    assert [(entry["type"], entry["rawContents"]) for entry in tally] == [(1, {"doubled": 42})], tally
    assert tally[0]["contents"] == "### Tally\ndoubled|input\n---|---\n42 | 21\n", tally
    assert [entry["rawContents"] for entry in asked] == ['{"from_js": "HEY!", "brand": "Scripts"}'], asked


def test_an_endless_javascript_command_is_stopped_and_the_next_runs(hasty_core: ServerCore) -> None:
    """
    Given a server whose commands may take 2 seconds
    When JsForever (an endless loop) runs, then JsUpper
    Then the first ends in an error entry naming the limit, and the second works
    """
    playground = hasty_core.playground_id()

    stopped = hasty_core.execute(playground, "!JsForever")
    after = hasty_core.execute(playground, "!JsUpper value=next")

    assert [entry["type"] for entry in stopped] == [4], stopped
    assert "did not finish within 2 seconds" in stopped[0]["contents"], stopped
    assert [entry["contents"] for entry in after] == ["NEXT"], after
