"""War Room syntax and the server's argument checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xsoar_local.engine.integration import ArgSpec, CommandSpec, load_integration
from xsoar_local.engine.warroom import (
    ArgError,
    ParsedCommand,
    WarRoomSyntaxError,
    check_args,
    parse_war_room,
    split_debug_mode,
)

TRANSLATE = CommandSpec("yoda-speak-translate", (ArgSpec("text", required=True),))
# A command none of whose arguments is marked `default: true`, from the engine's EchoTest fixture.
ECHO_ARGS = load_integration(Path(__file__).parent / "fixtures" / "EchoTest").command("echo-args")
NOTE = CommandSpec(
    "echo-note",
    (
        ArgSpec("message", required=True, default=True),
        ArgSpec("repeat", default_value="1"),
        ArgSpec("verbose", default_value=True),
        ArgSpec("tag"),
    ),
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            '!yoda-speak-translate text="Hello there"',
            ParsedCommand("yoda-speak-translate", {"text": "Hello there"}),
            id="double-quoted",
        ),
        pytest.param("!cmd a='one two' b=`three`", ParsedCommand("cmd", {"a": "one two", "b": "three"}), id="quotes"),
        pytest.param("test-module", ParsedCommand("test-module"), id="no-bang-no-args"),
        pytest.param("!cmd a=plain b=", ParsedCommand("cmd", {"a": "plain", "b": ""}), id="unquoted-and-empty"),
        pytest.param('!cmd a="say \\"hi\\""', ParsedCommand("cmd", {"a": 'say "hi"'}), id="escaped-quote"),
        pytest.param(r'!cmd path="C:\temp"', ParsedCommand("cmd", {"path": r"C:\temp"}), id="backslash-kept"),
        pytest.param('!cmd a="""x "y" z"""', ParsedCommand("cmd", {"a": 'x "y" z'}), id="triple-quotes"),
        pytest.param('!Print "Hello there"', ParsedCommand("Print", {}, "Hello there"), id="positional-quoted"),
        pytest.param("!Print Hello there", ParsedCommand("Print", {}, "Hello there"), id="positional-words"),
        pytest.param("!cmd a=1=2", ParsedCommand("cmd", {"a": "1=2"}), id="equals-in-value"),
    ],
)
def test_parse_war_room(line: str, expected: ParsedCommand) -> None:
    """Given a War Room line, When parsed, Then name, named args and positional value are split out."""
    assert parse_war_room(line) == expected, f"{line!r} parsed wrongly"


@pytest.mark.parametrize(
    ("line", "match"),
    [
        pytest.param('!cmd a="open', "unterminated", id="unterminated"),
        pytest.param("!cmd a=1 a=2", "given twice", id="duplicate"),
        pytest.param("!", "no command name", id="empty"),
    ],
)
def test_parse_errors(line: str, match: str) -> None:
    """Given a malformed line, When parsed, Then a syntax error says what is wrong."""
    with pytest.raises(WarRoomSyntaxError, match=match):
        parse_war_room(line)


@given(st.text(alphabet=st.characters(blacklist_characters='"\\', blacklist_categories=("Cs",))))
def test_any_double_quoted_value_round_trips(text: str) -> None:
    """Given any text without quotes or backslashes, When quoted in a line, Then it comes back unchanged."""
    assert parse_war_room(f'!cmd text="{text}"').args == {"text": text}, "a quoted value must be kept verbatim"


def test_default_values_are_applied_as_strings() -> None:
    """Given only the required arg, When checked, Then defaultValues fill the rest, as strings."""
    assert check_args(NOTE, {"message": "hi"}) == {"message": "hi", "repeat": "1", "verbose": "true"}, (
        "the server fills in defaultValue and passes every scalar as a string"
    )


def test_explicit_value_beats_default() -> None:
    """Given an arg with a defaultValue set explicitly, When checked, Then the given value is kept."""
    assert check_args(NOTE, {"message": "hi", "repeat": "3"})["repeat"] == "3", "a given value must win"


def test_positional_form_fills_the_default_argument() -> None:
    """Given `!echo-note hello`, When checked, Then the value goes to the argument marked default: true."""
    assert check_args(NOTE, {}, "hello")["message"] == "hello", "positional value should fill `message`"


@pytest.mark.parametrize(
    ("command", "args", "positional", "match"),
    [
        pytest.param(
            ECHO_ARGS, {}, "Hello", "no argument of this command is marked `default: true`", id="positional-no-default"
        ),
        pytest.param(NOTE, {"message": "a"}, "b", "both by name and by position", id="positional-and-named"),
        pytest.param(
            TRANSLATE, {"text": "x", "txt": "y"}, None, r"unknown argument 'txt' \(its arguments: text\)", id="unknown"
        ),
        pytest.param(TRANSLATE, {}, None, "missing required argument 'text'", id="missing"),
        pytest.param(TRANSLATE, {"text": ""}, None, "missing required argument 'text'", id="empty-required"),
    ],
)
def test_server_refusals(command: CommandSpec, args: dict[str, Any], positional: str | None, match: str) -> None:
    """Given args the server refuses, When checked, Then an ArgError says why."""
    with pytest.raises(ArgError, match=match):
        check_args(command, args, positional)


def test_playbook_values_keep_their_shape() -> None:
    """Given a list and a number from a playbook, When checked, Then the list stays and the number is a string."""
    command = CommandSpec("c", (ArgSpec("items"), ArgSpec("count")))
    assert check_args(command, {"items": ["a", "b"], "count": 3}) == {"items": ["a", "b"], "count": "3"}


@pytest.mark.parametrize(
    ("value", "debug"),
    [pytest.param("true", True, id="true"), pytest.param("false", False, id="false")],
)
def test_debug_mode_is_accepted_then_split_off(value: str, debug: bool) -> None:
    """Given debug-mode in the args, When checked and split, Then it is removed and sets the debug flag."""
    checked = check_args(TRANSLATE, {"text": "x", "debug-mode": value})
    assert split_debug_mode(checked) == ({"text": "x"}, debug), "debug-mode must leave the args and set the flag"
