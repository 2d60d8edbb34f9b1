"""War Room command lines (`!cmd arg="value"`) and the server's argument checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xsoar_local.engine.integration import CommandSpec
from xsoar_local.errors import UsageError

DEBUG_MODE_ARG = "debug-mode"
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-]*)=")
_QUOTES = ('"""', '"', "'", "`")


class WarRoomSyntaxError(UsageError):
    """The line is not War Room command syntax."""


class ArgError(UsageError):
    """The args do not fit the command, as the server would refuse them."""


@dataclass(frozen=True)
class ParsedCommand:
    """A War Room line split into command name, named args and the positional value (if any)."""

    name: str
    args: dict[str, str] = field(default_factory=dict)
    positional: str | None = None


def _read_value(text: str, start: int, offset: int = 0) -> tuple[str, int]:
    """Read one (possibly quoted) value from `start`; return it and the index after it.

    `offset` is where `text` starts in the line the user typed, so an error's column points into that line.
    """
    for quote in _QUOTES:
        if text.startswith(quote, start):
            position = start + len(quote)
            chars: list[str] = []
            while position < len(text):
                if text.startswith(quote, position):
                    return "".join(chars), position + len(quote)
                char = text[position]
                # a backslash escapes the quote or itself; elsewhere it stays (Windows paths, regexes)
                if (
                    char == "\\"
                    and len(quote) == 1
                    and position + 1 < len(text)
                    and text[position + 1] in (quote, "\\")
                ):
                    chars.append(text[position + 1])
                    position += 2
                    continue
                chars.append(char)
                position += 1
            raise WarRoomSyntaxError(
                f"unterminated {quote} quote starting at column {offset + start + 1}: close it, "
                f'e.g. text="..." (write \\{quote[0]} for a quote inside the value)'
            )
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end], end


def parse_war_room(line: str) -> ParsedCommand:
    """Parse `!command key=value key="quoted value" positional` (the leading `!` is optional)."""
    text = line.strip()
    offset = len(line) - len(line.lstrip())
    if text.startswith("!"):
        text = text[1:]
        offset += 1
    name, _, rest = text.partition(" ")
    offset += len(name) + 1  # where `rest` starts in `line`
    name = name.strip()
    if not name:
        raise WarRoomSyntaxError(f"no command name in {line!r}: write it as !command-name arg=value")
    args: dict[str, str] = {}
    positional: list[str] = []
    position = 0
    while position < len(rest):
        if rest[position].isspace():
            position += 1
            continue
        match = _KEY.match(rest, position)
        key = match.group(1) if match else None
        value, position = _read_value(rest, match.end() if match else position, offset)
        if key is None:
            positional.append(value)
        elif key in args:
            raise WarRoomSyntaxError(f"argument {key!r} is given twice")
        else:
            args[key] = value
    return ParsedCommand(name=name, args=args, positional=" ".join(positional) if positional else None)


def _as_server_string(value: Any) -> Any:
    """Scalars reach the code as strings; lists and objects (playbooks) pass unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a context number is a double on the server, and 42.0 is written as 42
    if isinstance(value, (int, float)):
        return str(value)
    return value


def check_args(command: CommandSpec, raw_args: Mapping[str, Any], positional: str | None = None) -> dict[str, Any]:
    """Check args as the server does: unknown and missing required args are errors, `defaultValue`s filled in.

    `debug-mode` is always accepted and left in the result; `run_command` removes it and turns on debug mode.
    """
    args = dict(raw_args)
    if positional is not None:
        default_arg = next((arg for arg in command.arguments if arg.default), None)
        if default_arg is None:
            raise ArgError(
                f"{command.name}: the value {positional!r} has no argument name, and no argument of this command "
                f"is marked `default: true`; write it as name=value"
            )
        if default_arg.name in args:
            raise ArgError(f"{command.name}: argument {default_arg.name!r} is given both by name and by position")
        args[default_arg.name] = positional
    known = {arg.name for arg in command.arguments}
    unknown = sorted(name for name in args if name not in known and name != DEBUG_MODE_ARG)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ArgError(f"{command.name}: unknown argument {', '.join(map(repr, unknown))} (its arguments: {listed})")
    for arg in command.arguments:
        if args.get(arg.name) in (None, "") and arg.default_value not in (None, ""):
            args[arg.name] = arg.default_value
    missing = [arg.name for arg in command.arguments if arg.required and args.get(arg.name) in (None, "", [])]
    if missing:
        raise ArgError(f"{command.name}: missing required argument {', '.join(map(repr, missing))}")
    # the command's own order first (as declared in the YAML), then debug-mode
    order = [arg.name for arg in command.arguments if arg.name in args] + [n for n in args if n not in known]
    return {name: _as_server_string(args[name]) for name in order if args[name] is not None}


def split_debug_mode(args: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Drop `debug-mode` from the args and say whether it was true, as the engine does."""
    remaining = {name: value for name, value in args.items() if name != DEBUG_MODE_ARG}
    return remaining, str(args.get(DEBUG_MODE_ARG, "")).strip().lower() == "true"
