"""Bounded work on hostile input: YAML alias bombs and deep nesting, very long context paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xsoar_local.engine.runner import child_environment
from xsoar_local.incident.context import get_path
from xsoar_local.playbook.expressions import Resolver, nearby_paths
from xsoar_local.safeyaml import MAX_YAML_BYTES, YamlLimitError, load_yaml

ROOT = Path(__file__).resolve().parents[2]
LONG_PATH = ".".join(["a"] * 4000)


def alias_bomb(levels: int = 50, width: int = 30) -> str:
    """A "billion laughs": each anchor lists the previous one `width` times (about 10 KB, width**levels values)."""
    lines = ['l0: &l0 ["lol"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def playbook_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xsoar_local", "playbook", *argv],
        cwd=ROOT,
        env=child_environment(os.environ, {"COLUMNS": "200"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_10_kb_alias_bomb_is_refused_in_under_a_second() -> None:
    """Given a 10 KB YAML whose aliases expand to 30**49 values, When loaded, Then refused within a second."""
    text = alias_bomb()
    assert 8_000 < len(text) < 12_000, len(text)
    started = time.monotonic()
    with pytest.raises(YamlLimitError, match="alias"):
        load_yaml(text, "bomb.yml")
    assert time.monotonic() - started < 1, "the bomb must be refused before it is expanded"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a: &a [*a]\n", "refers to itself", id="recursive-alias"),
        pytest.param("[" * 200_000 + "]" * 200_000, "nested too deeply", id="200000-nested-brackets"),
        pytest.param("x: " + "y" * (MAX_YAML_BYTES + 1), "limit", id="over-the-size-limit"),
    ],
)
def test_other_hostile_yaml_is_refused_with_a_message(text: str, expected: str) -> None:
    """Given YAML that would loop, recurse or be huge, When loaded, Then YamlLimitError says what is wrong."""
    with pytest.raises(YamlLimitError, match=expected):
        load_yaml(text, "hostile.yml")


def test_shared_aliases_within_the_limit_still_load() -> None:
    """Given ordinary anchors and aliases, When loaded, Then the values are the expanded ones."""
    assert load_yaml("base: &b {x: 1}\nother: *b\nlist: [*b, *b]\n") == {
        "base": {"x": 1},
        "other": {"x": 1},
        "list": [{"x": 1}, {"x": 1}],
    }


def test_the_playbook_command_refuses_an_alias_bomb_with_one_line(tmp_path: Path) -> None:
    """Given an alias bomb as a playbook file, When `playbook --playbook FILE` runs,
    Then exit 2 with one line naming the file and the aliases, no traceback."""
    book = tmp_path / "bomb.yml"
    book.write_text(alias_bomb(), encoding="utf-8")
    completed = playbook_cli("--playbook", str(book))
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert "alias" in completed.stderr, completed.stderr


def test_a_4000_segment_path_resolves_and_hints_in_under_a_second() -> None:
    """Given a context holding a.a and a 4,000-segment ${a.a.….a} reference,
    When it is resolved and the nearby-paths hint is built, Then both take under a second."""
    view = {"a": {"a": {"b": 1}}}
    started = time.monotonic()
    resolver = Resolver(view)
    value = resolver.simple("${" + LONG_PATH + "}")
    hint = nearby_paths(view, LONG_PATH)
    elapsed = time.monotonic() - started
    assert value is None, value
    assert hint == ["a.a.b"], hint
    assert elapsed < 1, f"took {elapsed:.2f} s"


def test_reading_a_path_deeper_than_the_recursion_limit_works() -> None:
    """Given a 4,000-deep context built in code, When read by a 4,000-segment path, Then its value, no recursion."""
    deep: dict[str, object] = {"leaf": "found"}
    for _ in range(4000):
        deep = {"a": deep}
    assert get_path(deep, LONG_PATH + ".leaf") == "found"


def test_the_playbook_command_with_a_4000_segment_reference_finishes(tmp_path: Path) -> None:
    """Given a playbook printing ${a.a.….a} (4,000 segments) on an incident whose context holds a.a.b,
    When `playbook` runs it, Then it completes its work plan and names the path that is there."""
    book = tmp_path / "long.yml"
    book.write_text(
        json.dumps(
            {
                "id": "Long",
                "name": "Long",
                "starttaskid": "0",
                "tasks": {
                    "0": {"id": "0", "type": "start", "task": {"name": ""}, "nexttasks": {"#none#": ["1"]}},
                    "1": {
                        "id": "1",
                        "type": "regular",
                        "task": {"name": "Print it", "scriptName": "Print"},
                        "scriptarguments": {"value": {"simple": "${" + LONG_PATH + "}"}},
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    incident = tmp_path / "incident.json"
    incident.write_text(json.dumps({"context": {"a": {"a": {"b": 1}}}}), encoding="utf-8")
    completed = playbook_cli("--playbook", str(book), "--incident-file", str(incident), "--json")
    assert "Traceback" not in completed.stderr, completed.stderr
    assert completed.returncode in (0, 1), completed.stderr
    assert "a.a.b" in completed.stdout, completed.stdout[-2000:]
