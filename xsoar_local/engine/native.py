"""The commands the engine runs itself, without a script: the server's own commands and the toolkit's fallbacks.

Server-native commands (brand `Builtin`, as a server provides them): `closeInvestigation`, `setIncident`,
`delContext`, `getEntry`, `getEntries`, and the list commands `getList`, `setList`, `addToList`, `removeFromList`,
`createList` (native_lists.py; `run_native` runs them on the session's list store). A pack script of one of these
names is a clash (see registry.py).

Toolkit fallbacks for CommonScripts scripts every server has installed: `Print`, `PrintErrorEntry`, `Set`,
`DeleteContext`. They run only when the content root has no script of that name: the content's own copy wins.

Each command is a function of its arguments and the incident (plus the War Room, for the entry getters). It
returns the entries it writes and an `edit`: its change to an incident, applied to the incident it ran on and
re-applied to the latest stored copy when the result is committed, so other writers' changes stay.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xsoar_local.engine.entries import ERROR, NOTE
from xsoar_local.engine.jobs import JobResult
from xsoar_local.engine.native_lists import LIST_ARGUMENTS, LIST_COMMANDS, LIST_DESCRIPTIONS
from xsoar_local.engine.runner import CommandRun
from xsoar_local.errors import ContentError, EngineError
from xsoar_local.incident.context import (
    ContextPathError,
    delete_path,
    merge_entry_context,
    own_context_path,
    set_path,
)
from xsoar_local.incident.lists import ListStore, MemoryListStore
from xsoar_local.incident.model import Incident, IncidentInputError, typed_field

BUILTIN_BRAND = "Builtin"
BUILTIN_MODULE = "InnerServicesModule"  # the module the server names for its own commands' entries


class NativeArgumentError(ContentError):
    """A server-native command or toolkit fallback was given arguments it cannot use."""


class EmptyArgumentError(NativeArgumentError):
    """A mandatory argument (or every argument of a one-of group) is empty; `arguments` names them, so a playbook
    task can say which expressions they came from."""

    def __init__(self, command: str, arguments: tuple[str, ...]) -> None:
        self.command = command
        self.arguments = arguments
        if len(arguments) == 1:
            message = f"{command}'s mandatory argument {arguments[0]!r} is empty"
        else:
            names = ", ".join(repr(name) for name in arguments)
            message = f"{command} needs one of the arguments {names}, and all are empty"
        super().__init__(message)


# The War Room of an incident, as the server stores its entries (`id`, `type`, `contents`, `rawContents`, ...).
WarRoom = Callable[[Incident], Sequence[Mapping[str, Any]]]


def no_war_room(_incident: Incident) -> Sequence[Mapping[str, Any]]:
    """Where no War Room is kept (a CLI run without a server): it holds no entries."""
    return ()


@dataclass(frozen=True)
class NativeOutcome:
    """What a native command wrote, and its change to an incident."""

    entries: tuple[dict[str, Any], ...] = ()
    edit: Callable[[Incident], Incident] | None = None


Run = Callable[[Mapping[str, Any], Incident, WarRoom], NativeOutcome]
ListsRun = Callable[[Mapping[str, Any], ListStore], list[dict[str, Any]]]


def _lists_only(_args: Mapping[str, Any], _incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """A list command's `run`: never called, run_native gives list commands the list store instead."""
    raise EngineError("a list command runs on a list store: call run_native with one")


@dataclass(frozen=True)
class NativeCommand:
    """A command the engine runs itself. `fallback` marks a toolkit stand-in for a CommonScripts script (a content
    script of that name wins); otherwise it is server-native (brand `Builtin`)."""

    name: str
    run: Run
    arguments: frozenset[str]
    required: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    default: str | None = None  # the argument `!name value` fills
    fallback: bool = False
    any_argument: bool = False  # setIncident, closeInvestigation: any incident field is an argument
    description: str = ""
    lists: ListsRun | None = None  # a list command (native_lists.py): run on the session's list store instead
    context_paths: tuple[str, ...] = ()  # arguments naming a context path (see `own_context_path`)

    @property
    def brand(self) -> str:
        """The brand its entries carry."""
        return "Scripts" if self.fallback else BUILTIN_BRAND

    def check(self, args: Mapping[str, Any], positional: str | None = None) -> dict[str, Any]:
        """The arguments as the command takes them; unknown ones (typos) and empty mandatory ones are refused."""
        args = dict(args)
        if positional is not None:
            if self.default is None:
                raise NativeArgumentError(f"{self.name} takes named arguments only (name=value), not {positional!r}")
            args[self.default] = positional
        unknown = sorted(set(args) - self.arguments)
        if unknown and not self.any_argument:
            raise NativeArgumentError(f"{self.name} has no argument(s) {unknown} (it takes {sorted(self.arguments)})")
        for name in self.required:
            if _is_empty(args.get(name)):
                raise EmptyArgumentError(self.name, (name,))
        for group in self.one_of:
            if all(_is_empty(args.get(name)) for name in group):
                raise EmptyArgumentError(self.name, group)
        return args

    def __call__(self, args: Mapping[str, Any], incident: Incident, war_room: WarRoom = no_war_room) -> NativeOutcome:
        """Run on `incident` with checked `args`."""
        return self.run(args, incident, war_room)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _text(value: Any) -> str:
    """A value as the server writes it into a string: lists comma-joined, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True)
    return str(value)


def note(text: str) -> dict[str, Any]:
    """A markdown note entry, as Print writes it."""
    return {"Type": NOTE, "ContentsFormat": "markdown", "Contents": text, "HumanReadable": text}


def _error(text: str) -> dict[str, Any]:
    return {"Type": ERROR, "ContentsFormat": "text", "Contents": text}


def _flag(args: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    text = _text(raw).strip().lower()
    if text in ("yes", "true"):
        return True
    if text in ("no", "false"):
        return False
    raise NativeArgumentError(f"argument {name!r} must be yes/no or true/false, not {raw!r}")


def _keys(raw: Any) -> list[str]:
    return [part.strip() for part in _text(raw).split(",") if part.strip()]


def _context_edit(change: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> Callable[[Incident], Incident]:
    def edit(incident: Incident) -> Incident:
        try:
            return incident.with_context(dict(change(incident.context)))
        except (ContextPathError, ValueError) as error:
            raise NativeArgumentError(str(error)) from error

    return edit


def _outcome(
    incident: Incident, entries: tuple[dict[str, Any], ...], edit: Callable[[Incident], Incident]
) -> NativeOutcome:
    edit(incident)  # a change that cannot apply fails now, before anything is stored
    return NativeOutcome(entries, edit)


# ---- toolkit fallbacks (CommonScripts) ---------------------------------------------------------------------
def print_value(args: Mapping[str, Any], _incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """Print: writes `value` to the War Room."""
    return NativeOutcome((note(_text(args.get("value"))),))


def print_error_entry(args: Mapping[str, Any], _incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """PrintErrorEntry: writes `message` as an error entry (test playbooks use it to fail on purpose)."""
    return NativeOutcome((_error(_text(args.get("message"))),))


def delete_context(args: Mapping[str, Any], incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """DeleteContext: `all=yes` clears the context (but `keysToKeep`), `key=A.B,C` deletes those keys."""
    if _flag(args, "all", False):
        keep = _keys(args.get("keysToKeep"))

        def clear(context: Mapping[str, Any]) -> Mapping[str, Any]:
            kept: Mapping[str, Any] = {}
            for key in keep:
                kept = set_path(kept, key, context[key]) if key in context else kept
            return kept

        return _outcome(incident, (note("Context cleared"),), _context_edit(clear))
    keys = _keys(args.get("key"))
    if not keys:
        raise NativeArgumentError("DeleteContext needs `all=yes` or `key=<path>`")

    def delete(context: Mapping[str, Any]) -> Mapping[str, Any]:
        for key in keys:
            context = delete_path(context, key)
        return context

    return _outcome(incident, (note(f"Context keys deleted: {', '.join(keys)}"),), _context_edit(delete))


def _parse_value(raw: Any, stringify: bool) -> Any:
    """Set parses JSON objects and arrays given as text, unless `stringify` asks to keep the text."""
    if stringify:
        return _text(raw)
    if isinstance(raw, str) and raw.strip()[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def set_value(args: Mapping[str, Any], incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """Set: `key` to `value`; `append=true` merges like an EntryContext (DT keys allowed), else overwrites."""
    key = _text(args.get("key")).strip()
    if not key:  # only whitespace: the mandatory check let it through, but no path can be set
        raise NativeArgumentError("Set needs a `key`")
    if args.get("value") is None:
        raise NativeArgumentError("Set needs a `value` (it resolved to nothing)")
    value = _parse_value(args["value"], _flag(args, "stringify", False))
    append = _flag(args, "append", False)

    def change(context: Mapping[str, Any]) -> Mapping[str, Any]:
        return merge_entry_context(context, {key: value}) if append else set_path(context, key, value)

    return _outcome(incident, (), _context_edit(change))


# ---- server-native commands --------------------------------------------------------------------------------
_CLOSE_ARGUMENTS = frozenset({"closeReason", "closeNotes", "id"})


def _closed(incident: Incident, reason: str, notes: str, fields: Mapping[str, Any]) -> Incident:
    closed = {
        **incident.fields,
        **copy.deepcopy(dict(fields)),
        "status": "Closed",
        "closeReason": reason,
        "closeNotes": notes,
    }
    return Incident(fields=closed, context=incident.context, integration_contexts=incident.integration_contexts)


def _typed(command: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Fields as the server stores what a command sets: a playbook's `severity` text becomes its number."""
    try:
        return {name: typed_field(name, value) if isinstance(value, str) else value for name, value in fields.items()}
    except IncidentInputError as error:
        raise NativeArgumentError(f"{command}: {error}") from None


def close_investigation(args: Mapping[str, Any], incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """closeInvestigation: marks the incident closed, with its reason and notes, and sets the incident fields given
    with it (the close form's). A playbook's task lists every field it offers, most left empty: those change
    nothing."""
    reason, notes = _text(args.get("closeReason")), _text(args.get("closeNotes"))
    given = {name: value for name, value in args.items() if name not in _CLOSE_ARGUMENTS and not _is_empty(value)}
    fields = _typed("closeInvestigation", given)
    return NativeOutcome((note("Investigation closed"),), lambda latest: _closed(latest, reason, notes, fields))


def set_incident(args: Mapping[str, Any], incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """setIncident: sets the named incident fields (`customFields` as a JSON object merges into CustomFields); as
    for closeInvestigation, the empty arguments a playbook task lists change nothing."""
    given = {name: value for name, value in args.items() if name != "id" and not _is_empty(value)}
    values = _typed("setIncident", given)
    custom = values.pop("customFields", None)
    if isinstance(custom, str):
        try:
            custom = json.loads(custom) if custom.strip() else None
        except json.JSONDecodeError as error:
            raise NativeArgumentError(f"setIncident: customFields must be a JSON object, not {custom!r}") from error
    if custom is not None and not isinstance(custom, Mapping):
        raise NativeArgumentError("setIncident: customFields must be a JSON object of field names to values")

    def edit(latest: Incident) -> Incident:
        fields = {**latest.fields, **copy.deepcopy(values)}
        if custom:
            fields["CustomFields"] = {**dict(fields.get("CustomFields") or {}), **dict(custom)}
        return Incident(fields=fields, context=latest.context, integration_contexts=latest.integration_contexts)

    return NativeOutcome((), edit)


def del_context(args: Mapping[str, Any], incident: Incident, _war_room: WarRoom) -> NativeOutcome:
    """delContext: deletes one context key (a dotted path)."""
    key = _text(args.get("key")).strip()

    def delete(context: Mapping[str, Any]) -> Mapping[str, Any]:
        return delete_path(context, key)

    return _outcome(incident, (), _context_edit(delete))


def script_entry(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A War Room entry as `getEntries`/`getEntry` return it to a script (ID, Type, Contents, Metadata, ...)."""
    entry_id = str(stored.get("id") or "")
    entry_type = stored.get("type", NOTE)
    contents = stored.get("rawContents", stored.get("contents"))
    contents_format = str(stored.get("format") or "text")
    if "rawContents" in stored and not isinstance(contents, str):
        contents_format = "json"
    brand = str(stored.get("brand") or "")
    instance = str(stored.get("instance") or "")
    return {
        "ID": entry_id,
        "Type": entry_type,
        "Contents": copy.deepcopy(contents),
        "ContentsFormat": contents_format,
        "HumanReadable": stored.get("contents") if stored.get("format") == "markdown" else None,
        "ReadableContentsFormat": "markdown" if stored.get("format") == "markdown" else "",
        "EntryContext": copy.deepcopy(stored.get("entryContext")),
        "Brand": brand,
        "ModuleName": instance or brand,
        "Tags": list(stored.get("tags") or []),
        "File": str(stored.get("file") or ""),
        "Note": bool(stored.get("note")),
        "Metadata": {
            "id": entry_id,
            "type": entry_type,
            "format": contents_format,
            "brand": brand,
            "instance": instance,
            "investigationId": str(stored.get("investigationId") or ""),
            "parentContent": str(stored.get("parentContent") or ""),
            "created": str(stored.get("created") or ""),
            "modified": str(stored.get("modified") or ""),
            "tags": list(stored.get("tags") or []),
            "note": bool(stored.get("note")),
            "user": str(stored.get("user") or ""),
        },
    }


def get_entries(args: Mapping[str, Any], incident: Incident, war_room: WarRoom) -> NativeOutcome:
    """getEntries: the incident's War Room entries (`filter.tags` keeps those with one of the tags)."""
    raw_filter = args.get("filter")
    if isinstance(raw_filter, str):
        try:
            raw_filter = json.loads(raw_filter) if raw_filter.strip() else {}
        except json.JSONDecodeError as error:
            raise NativeArgumentError(f"getEntries: filter must be a JSON object, not {raw_filter!r}") from error
    tags = set(_keys((raw_filter or {}).get("tags"))) if isinstance(raw_filter, Mapping) else set()
    entries = [script_entry(stored) for stored in war_room(incident)]
    if tags:
        entries = [entry for entry in entries if tags & set(entry["Tags"])]
    return NativeOutcome(tuple(entries))


def get_entry(args: Mapping[str, Any], incident: Incident, war_room: WarRoom) -> NativeOutcome:
    """getEntry: the War Room entry with that id (an error entry when there is none)."""
    wanted = _text(args.get("id")).strip()
    for stored in war_room(incident):
        if str(stored.get("id")) == wanted:
            return NativeOutcome((script_entry(stored),))
    return NativeOutcome((_error(f"Entry {wanted} not found in investigation {incident.fields.get('id', '')}"),))


NATIVE_COMMANDS: Mapping[str, NativeCommand] = {
    command.name: command
    for command in (
        NativeCommand(
            "closeInvestigation",
            close_investigation,
            _CLOSE_ARGUMENTS,
            any_argument=True,
            description="Close the incident (its reason and notes, and any incident field to set as it closes)",
        ),
        NativeCommand(
            "setIncident", set_incident, frozenset({"id"}), any_argument=True, description="Set incident fields"
        ),
        NativeCommand(
            "delContext",
            del_context,
            frozenset({"key", "id"}),
            required=("key",),
            description="Delete one context key",
            context_paths=("key",),
        ),
        NativeCommand("getEntries", get_entries, frozenset({"id", "filter"}), description="The War Room's entries"),
        NativeCommand(
            "getEntry",
            get_entry,
            frozenset({"id"}),
            required=("id",),
            default="id",
            description="One War Room entry by its id",
        ),
        NativeCommand(
            "Print",
            print_value,
            frozenset({"value"}),
            required=("value",),
            default="value",
            fallback=True,
            description="Print a value to the War Room",
        ),
        NativeCommand(
            "PrintErrorEntry",
            print_error_entry,
            frozenset({"message"}),
            required=("message",),
            default="message",
            fallback=True,
            description="Print an error entry",
        ),
        NativeCommand(
            "DeleteContext",
            delete_context,
            frozenset({"all", "key", "keysToKeep", "subplaybook", "index"}),
            one_of=(("all", "key"),),
            fallback=True,
            description="Delete context keys, or all of the context",
        ),
        NativeCommand(
            "Set",
            set_value,
            frozenset({"key", "value", "append", "stringify"}),
            required=("key",),
            fallback=True,
            description="Set a context key to a value",
        ),
        *(
            NativeCommand(
                name,
                _lists_only,
                LIST_ARGUMENTS[name],
                required=("listName",),
                default="listName",
                description=LIST_DESCRIPTIONS[name],
                lists=handler,
            )
            for name, handler in LIST_COMMANDS.items()
        ),
    )
}


def run_native(
    native: NativeCommand,
    args: Mapping[str, Any],
    incident: Incident,
    war_room: WarRoom = no_war_room,
    lists: ListStore | None = None,
    playbook_id: str = "",
) -> CommandRun:
    """Run one of the engine's own commands (args already checked) on `incident`: its entries, the incident after
    it, and its edit (to re-apply on a newer copy). List commands run on `lists` (lists of this run only without).
    `playbook_id` is the running playbook's `${currentPlaybookID}`: its `subplaybook-<id>.` paths are its own."""
    started = time.monotonic()
    given = {
        name: own_context_path(value.strip(), playbook_id)
        if name in native.context_paths and isinstance(value, str)
        else value
        for name, value in args.items()
    }
    if native.lists is not None:
        outcome = NativeOutcome(tuple(native.lists(given, lists if lists is not None else MemoryListStore())))
    else:
        outcome = native(given, incident, war_room)
    after = outcome.edit(incident) if outcome.edit is not None else incident
    return CommandRun(
        command=native.name,
        args=dict(args),
        instance="",
        entries=[dict(entry) for entry in outcome.entries],
        logs=[],
        incident=after,
        duration=time.monotonic() - started,
        result=JobResult(entries=outcome.entries, context=after.context),
        edit=outcome.edit,
        brand=native.brand,
    )
