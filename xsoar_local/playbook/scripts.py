"""The built-in automation scripts a playbook task can run: Print, DeleteContext, Set, closeInvestigation.

Each is a pure function of its resolved arguments and the incident state, returning the new state and
the War Room entries it wrote, so the runner needs no server to execute them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xsoar_local.errors import ContentError
from xsoar_local.incident.context import ContextPathError, delete_path, merge_entry_context, set_path
from xsoar_local.playbook.expressions import is_empty
from xsoar_local.playbook.transformers import to_text

NOTE = 1  # EntryType.NOTE
ERROR = 4  # EntryType.ERROR: a task that writes one fails


class ScriptError(ContentError):
    """A built-in script was called with arguments it cannot use."""


class MandatoryArgumentError(ScriptError):
    """A mandatory argument (or every argument of a one-of group) is empty, so the script refuses to run.

    The server fails such a task before the script starts (`required: true` in the script's YAML); `arguments`
    names the empty ones so the runner can say which expressions they came from.
    """

    def __init__(self, script: str, arguments: tuple[str, ...]) -> None:
        self.script = script
        self.arguments = arguments
        if len(arguments) == 1:
            message = f"{script}'s mandatory argument {arguments[0]!r} is empty"
        else:
            names = ", ".join(repr(name) for name in arguments)
            message = f"{script} needs one of the arguments {names}, and all are empty"
        super().__init__(message)


@dataclass(frozen=True)
class ScriptResult:
    """What a built-in script leaves behind."""

    context: Mapping[str, Any]
    fields: Mapping[str, Any]
    entries: tuple[Mapping[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()


Script = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], ScriptResult]


def note(text: str) -> dict[str, Any]:
    """A markdown note entry, as Print writes it."""
    return {"Type": NOTE, "ContentsFormat": "markdown", "Contents": text, "HumanReadable": text}


def _flag(args: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    text = to_text(raw).strip().lower()
    if text in ("yes", "true"):
        return True
    if text in ("no", "false"):
        return False
    raise ScriptError(f"argument {name!r} must be yes/no or true/false, not {raw!r}")


def _keys(raw: Any) -> list[str]:
    return [part.strip() for part in to_text(raw).split(",") if part.strip()]


def print_value(args: Mapping[str, Any], fields: Mapping[str, Any], context: Mapping[str, Any]) -> ScriptResult:
    """Print: writes `value` (mandatory, so never empty here) to the War Room."""
    return ScriptResult(context, fields, (note(to_text(args.get("value"))),))


def print_error_entry(args: Mapping[str, Any], fields: Mapping[str, Any], context: Mapping[str, Any]) -> ScriptResult:
    """PrintErrorEntry: writes `message` as an error entry, which fails the task (test playbooks use it)."""
    text = to_text(args.get("message"))
    return ScriptResult(context, fields, ({"Type": ERROR, "ContentsFormat": "text", "Contents": text},))


def delete_context(args: Mapping[str, Any], fields: Mapping[str, Any], context: Mapping[str, Any]) -> ScriptResult:
    """DeleteContext: `all=yes` clears the context (but `keysToKeep`), `key=A.B,C` deletes those keys."""
    try:
        if _flag(args, "all", False):
            kept: Mapping[str, Any] = {}
            for key in _keys(args.get("keysToKeep")):
                kept = set_path(kept, key, context[key]) if key in context else kept
            return ScriptResult(kept, fields, (note("Context cleared"),))
        keys = _keys(args.get("key"))
        if not keys:
            raise ScriptError("DeleteContext needs `all=yes` or `key=<path>`")
        for key in keys:
            context = delete_path(context, key)
    except ContextPathError as error:
        raise ScriptError(str(error)) from error
    return ScriptResult(context, fields, (note(f"Context keys deleted: {', '.join(keys)}"),))


def _parse_value(raw: Any, stringify: bool) -> Any:
    """Set parses JSON objects and arrays given as text, unless `stringify` asks to keep the text."""
    if stringify:
        return to_text(raw)
    if isinstance(raw, str) and raw.strip()[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def set_value(args: Mapping[str, Any], fields: Mapping[str, Any], context: Mapping[str, Any]) -> ScriptResult:
    """Set: `key` to `value`; `append=true` merges like an EntryContext (DT keys allowed), else overwrites."""
    key = to_text(args.get("key")).strip()
    if not key:  # only whitespace: the mandatory check let it through, but no path can be set
        raise ScriptError("Set needs a `key`")
    if args.get("value") is None:
        raise ScriptError("Set needs a `value` (it resolved to nothing)")
    value = _parse_value(args["value"], _flag(args, "stringify", False))
    try:
        if _flag(args, "append", False):
            context = merge_entry_context(context, {key: value})
        else:
            context = set_path(context, key, value)
    except (ContextPathError, ValueError) as error:
        raise ScriptError(str(error)) from error
    return ScriptResult(context, fields)


def close_investigation(args: Mapping[str, Any], fields: Mapping[str, Any], context: Mapping[str, Any]) -> ScriptResult:
    """closeInvestigation: marks the incident closed, with its reason and notes."""
    closed = {
        **fields,
        "status": "Closed",
        "closeReason": to_text(args.get("closeReason")),
        "closeNotes": to_text(args.get("closeNotes")),
    }
    return ScriptResult(context, closed, (note("Investigation closed"),))


@dataclass(frozen=True)
class BuiltinScript:
    """A built-in script and the arguments it accepts (others are refused, to catch typos).

    `required` are the arguments its server-side YAML marks `required: true`; `one_of` groups arguments of which
    at least one must be given (DeleteContext needs `all` or `key`, neither being mandatory on its own).
    """

    run: Script
    arguments: frozenset[str]
    required: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()

    def empty_mandatory(self, args: Mapping[str, Any]) -> tuple[str, ...]:
        """The first mandatory argument, or one-of group, that is empty in `args`; () when all are given."""
        for name in self.required:
            if is_empty(args.get(name)):
                return (name,)
        for group in self.one_of:
            if all(is_empty(args.get(name)) for name in group):
                return group
        return ()


BUILTIN_SCRIPTS: Mapping[str, BuiltinScript] = {
    "Print": BuiltinScript(print_value, frozenset({"value"}), required=("value",)),
    "PrintErrorEntry": BuiltinScript(print_error_entry, frozenset({"message"}), required=("message",)),
    "DeleteContext": BuiltinScript(
        delete_context, frozenset({"all", "key", "keysToKeep", "subplaybook", "index"}), one_of=(("all", "key"),)
    ),
    "Set": BuiltinScript(set_value, frozenset({"key", "value", "append", "stringify"}), required=("key",)),
    "closeInvestigation": BuiltinScript(close_investigation, frozenset({"closeReason", "closeNotes", "id"})),
}


def run_script(
    name: str, args: Mapping[str, Any], fields: Mapping[str, Any], context: Mapping[str, Any]
) -> ScriptResult:
    """Run the built-in script `name`; an unknown script or argument, or an empty mandatory one, is an error."""
    script = BUILTIN_SCRIPTS.get(name)
    if script is None:
        known = ", ".join(sorted(BUILTIN_SCRIPTS))
        raise ScriptError(f"unknown script {name!r} (built-in scripts: {known}; commands are written Brand|||command)")
    unknown = sorted(set(args) - script.arguments)
    if unknown:
        raise ScriptError(f"{name} has no argument(s) {unknown} (it takes {sorted(script.arguments)})")
    empty = script.empty_mandatory(args)
    if empty:
        raise MandatoryArgumentError(name, empty)
    return script.run(args, fields, context)
