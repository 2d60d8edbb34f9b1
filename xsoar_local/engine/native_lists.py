"""The server's list commands, as `demisto.executeCommand`, a War Room line or a playbook task calls them.

    entries = LIST_COMMANDS["getList"]({"listName": "Blocked"}, store)   # store: xsoar_local.incident.lists.ListStore

Each handler is a plain function of the command's arguments and the list store, and returns the entries the
server answers with (brand `Builtin`):

- `getList listName`: one note whose Contents is the list's text; a missing list is an error entry whose
  Contents is exactly `Item not found (8)` (content compares with that text, e.g. CommonScripts' IsListExist
  checks for an error entry containing "Item not found").
- `setList listName listData`: replaces the text; `addToList listName listData separator=","` appends an item
  (no separator when the list is empty); `removeFromList listName listData separator=","` drops every item equal
  to listData. The list must exist (the server's documented rule; `createList` makes one). They answer
  `Done: list <name> was updated`, the text content's tests mock setList with.
- `createList listName listData`: a new list (an error entry when the name is taken).

A name or data the store refuses (xsoar_local.incident.lists: empty or tricky names, lone surrogates, over the size cap)
is an error entry that says what to change; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from xsoar_local.engine.entries import ERROR, NOTE
from xsoar_local.incident.lists import NOT_FOUND, ListError, ListNotFoundError, ListStore

__all__ = [
    "BUILTIN_BRAND",
    "BUILTIN_MODULE",
    "LIST_ARGUMENTS",
    "LIST_COMMANDS",
    "LIST_DESCRIPTIONS",
    "add_to_list",
    "create_list",
    "get_list",
    "remove_from_list",
    "set_list",
]

BUILTIN_BRAND: Final = "Builtin"
BUILTIN_MODULE: Final = "InnerServicesModule"  # the module the server names for its own commands' entries
DEFAULT_SEPARATOR: Final = ","

Handler = Callable[[Mapping[str, Any], ListStore], list[dict[str, Any]]]


def _note(text: str) -> dict[str, Any]:
    return {"Type": NOTE, "ContentsFormat": "text", "Contents": text, "HumanReadable": None, "EntryContext": None}


def _error(text: str) -> dict[str, Any]:
    return {"Type": ERROR, "ContentsFormat": "text", "Contents": text, "HumanReadable": None, "EntryContext": None}


def _name(args: Mapping[str, Any]) -> Any:
    return args.get("listName")


def _separator(args: Mapping[str, Any]) -> str:
    given = args.get("separator")
    return DEFAULT_SEPARATOR if given in (None, "") else str(given)


def _answered(run: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The handler's entries; a refusal of the store becomes the error entry the server answers with."""
    try:
        return run()
    except ListNotFoundError:
        return [_error(NOT_FOUND)]
    except ListError as error:
        return [_error(str(error))]


def _updated(name: str) -> list[dict[str, Any]]:
    return [_note(f"Done: list {name} was updated")]


def get_list(args: Mapping[str, Any], store: ListStore) -> list[dict[str, Any]]:
    """getList: the list's text as a note."""
    return _answered(lambda: [_note(store.require(_name(args)).data)])


def set_list(args: Mapping[str, Any], store: ListStore) -> list[dict[str, Any]]:
    """setList: replace the text of an existing list."""

    def run() -> list[dict[str, Any]]:
        saved = store.save(_name(args), args.get("listData"), create=False)
        return _updated(saved.name)

    return _answered(run)


def _item(args: Mapping[str, Any]) -> str:
    data = args.get("listData")
    if isinstance(data, list):  # a playbook passing an array: one item per element, joined as the list is
        return _separator(args).join(str(item) for item in data)
    return "" if data is None else str(data)


def add_to_list(args: Mapping[str, Any], store: ListStore) -> list[dict[str, Any]]:
    """addToList: append listData after the separator (no separator when the list is empty)."""
    separator, item = _separator(args), _item(args)

    def run() -> list[dict[str, Any]]:
        saved = store.change(_name(args), lambda data: item if data == "" else f"{data}{separator}{item}")
        return _updated(saved.name)

    return _answered(run)


def remove_from_list(args: Mapping[str, Any], store: ListStore) -> list[dict[str, Any]]:
    """removeFromList: drop every item equal to listData (blanks around items ignored); the rest keep their order."""
    separator, item = _separator(args), _item(args).strip()

    def kept(data: str) -> str:
        return separator.join(part for part in data.split(separator) if part.strip() != item) if data else data

    def run() -> list[dict[str, Any]]:
        return _updated(store.change(_name(args), kept).name)

    return _answered(run)


def create_list(args: Mapping[str, Any], store: ListStore) -> list[dict[str, Any]]:
    """createList: a list with listData. A name that is taken gets the new data, as on a server: content creates a
    list again to start it afresh (CommonScripts' FilterByList test creates one three times, with no error path)."""

    def run() -> list[dict[str, Any]]:
        saved = store.save(_name(args), args.get("listData"))
        return [_note(f"Done: list {saved.name} was created")]

    return _answered(run)


LIST_COMMANDS: Final[Mapping[str, Handler]] = {
    "getList": get_list,
    "setList": set_list,
    "addToList": add_to_list,
    "removeFromList": remove_from_list,
    "createList": create_list,
}

LIST_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "getList": "A list's text",
    "setList": "Replace a list's text",
    "addToList": "Append an item to a list",
    "removeFromList": "Remove an item from a list",
    "createList": "Create a list",
}

# Each command's arguments (for completion and for refusing typos on a War Room line).
LIST_ARGUMENTS: Final[Mapping[str, frozenset[str]]] = {
    "getList": frozenset({"listName"}),
    "setList": frozenset({"listName", "listData"}),
    "addToList": frozenset({"listName", "listData", "separator"}),
    "removeFromList": frozenset({"listName", "listData", "separator"}),
    "createList": frozenset({"listName", "listData"}),
}
