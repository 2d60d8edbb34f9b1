"""XSOAR lists: named text kept by the server, shared by every incident, read and changed by scripts and the API.

    store = StateListStore(StateStore(folder))   # the CLI's --state-dir, or the server's state folder
    store.save("Blocked", "1.1.1.1")               # a new list, or new text for one that exists
    store.change("Blocked", lambda data: data + ",2.2.2.2")
    store.get("Blocked").data                      # '1.1.1.1,2.2.2.2'

A list is kept in the state folder's ``state.json`` (``xsoar_local.incident.state``): every change is one locked
read-modify-write written atomically, so lists survive restarts and concurrent writers (two scripts appending to
one list) both land. ``MemoryListStore`` keeps lists for one process (a playbook run without a state folder).

Names are checked once here for every entry point: no empty name, no control or bidirectional-override characters,
no lone surrogates, no
`/` or `\\` (a name is a path segment of `/lists/download/{name}`), no leading or trailing blanks. A list's data
is text, at most ``MAX_LIST_CHARS`` characters; a change that would pass it is refused and nothing is saved.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

from xsoar_local.errors import UsageError
from xsoar_local.incident.state import StateStore

__all__ = [
    "LIST_TYPES",
    "MAX_LIST_CHARS",
    "MAX_NAME_CHARS",
    "NOT_FOUND",
    "ListError",
    "ListNotFoundError",
    "ListStore",
    "MemoryListStore",
    "PackList",
    "StateListStore",
    "XsoarList",
    "check_data",
    "check_name",
    "lists_in_files",
    "lists_in_root",
]

# What the server answers for a list it does not have: content compares Contents with it, so it is kept exact.
NOT_FOUND: Final = "Item not found (8)"
# The content types a list can have (demisto-sdk's list schema); plain text unless said otherwise.
LIST_TYPES: Final = ("plain_text", "json", "markdown", "html", "css")
DEFAULT_TYPE: Final = "plain_text"
# 1 MiB of text: far above what content keeps in a list, far below the state file's 16 MB cap.
MAX_LIST_CHARS: Final = 1024 * 1024
MAX_NAME_CHARS: Final = 256


class ListError(UsageError):
    """A list name, type or data the server cannot keep; the message says what to change."""


class ListNotFoundError(ListError):
    """There is no list of that name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{NOT_FOUND}: there is no list named {name!r}; create it first (createList, POST /lists/save)"
        )
        self.name = name


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _lone_surrogate(text: str) -> int | None:
    return next((index for index, char in enumerate(text) if "\ud800" <= char <= "\udfff"), None)


# Path separators, and the bidirectional controls that make a name read differently from what it is.
_REFUSED: Final = frozenset("/\\\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_name(name: Any) -> str:
    """The list name as given, or a ListError saying why no list can have it."""
    if not isinstance(name, str) or not name.strip():
        raise ListError("a list needs a name (listName): give a non-empty name")
    if len(name) > MAX_NAME_CHARS:
        raise ListError(f"the list name is {len(name)} characters long; keep it to {MAX_NAME_CHARS}")
    if name != name.strip():
        raise ListError(f"the list name {name!r} starts or ends with blanks: remove them")
    if _lone_surrogate(name) is not None:
        raise ListError(f"the list name {name!r} holds a lone surrogate, not a character: send valid Unicode text")
    bad = next((char for char in name if char in _REFUSED or unicodedata.category(char) == "Cc"), None)
    if bad is not None:
        raise ListError(f"the list name {name!r} holds {bad!r}: remove it (a name is text without / or \\)")
    if name in (".", ".."):
        raise ListError(f"{name!r} cannot name a list (it is a path step): pick a name with other characters")
    return name


def check_data(name: str, data: Any) -> str:
    """The list's data as the text the server keeps: objects and arrays as JSON, other values as text."""
    if data is None:
        return ""
    if isinstance(data, bool):
        text = "true" if data else "false"
    elif isinstance(data, (Mapping, list)):
        text = json.dumps(data, ensure_ascii=False)
    else:
        text = str(data)
    position = _lone_surrogate(text)
    if position is not None:
        raise ListError(
            f"the data for list {name!r} holds a lone surrogate at character {position}, not a character: "
            "send valid Unicode text"
        )
    if len(text) > MAX_LIST_CHARS:
        raise ListError(
            f"list {name!r} would hold {len(text):,} characters, over the {MAX_LIST_CHARS:,}-character limit, so "
            "it was not saved: keep large data in a file or an indicator, and a reference in the list"
        )
    return text


def check_type(kind: Any) -> str:
    """The list's content type, or a ListError naming the types there are."""
    text = str(kind or DEFAULT_TYPE)
    if text not in LIST_TYPES:
        raise ListError(f"a list's type is one of {', '.join(LIST_TYPES)}, not {text!r}")
    return text


@dataclass(frozen=True)
class XsoarList:
    """One list: its name (also its id), its text, its content type and how often it was saved."""

    name: str
    data: str
    type: str = DEFAULT_TYPE
    version: int = 1
    modified: str = ""
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        """The stored record."""
        return {
            "data": self.data,
            "type": self.type,
            "version": self.version,
            "modified": self.modified,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, name: str, record: Mapping[str, Any]) -> XsoarList:
        return cls(
            name,
            str(record.get("data") or ""),
            str(record.get("type") or DEFAULT_TYPE),
            int(record.get("version") or 1),
            str(record.get("modified") or ""),
            str(record.get("description") or ""),
        )

    def api_view(self) -> dict[str, Any]:
        """The list as the REST API shows it (the fields of a list content item)."""
        return {
            "id": self.name,
            "name": self.name,
            "data": self.data,
            "type": self.type,
            "version": self.version,
            "modified": self.modified,
            "description": self.description,
            "allRead": False,
            "allReadWrite": False,
            "truncated": False,
            "system": False,
            "locked": False,
            "nameLocked": False,
            "tags": None,
        }


LISTS_FOLDER: Final = "Lists"
# The keys that tell a list content item from other JSON (as demisto-sdk tells them).
_LIST_KEYS: Final = frozenset({"data", "allRead", "truncated"})
_DATA_SUFFIXES: Final = (".txt", ".json", ".html", ".css", ".csv", ".md")


@dataclass(frozen=True)
class PackList:
    """A list content item a pack ships (its `Lists/` folder)."""

    name: str
    data: str
    type: str


def _split_data(files: Mapping[str, bytes], path: PurePosixPath) -> bytes | None:
    """A split list's data file (`<Folder>_data.<ext>` beside its JSON)."""
    stem = str(path.parent / f"{path.parent.name}_data")
    return next((files[stem + suffix] for suffix in _DATA_SUFFIXES if stem + suffix in files), None)


def lists_in_files(files: Mapping[str, bytes], where: str) -> list[PackList]:
    """The list content items among a pack's files (paths relative to the pack): unified JSON with `data`
    inline, or split with a `<Name>_data.<ext>` file beside it. A broken one is a ListError naming the file."""
    found: list[PackList] = []
    for name, content in sorted(files.items()):
        path = PurePosixPath(name)
        if path.parts[0] != LISTS_FOLDER or path.suffix != ".json" or path.stem.endswith("_data"):
            continue
        try:
            item = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ListError(f"{where}: {name} is not JSON ({error})") from error
        if not isinstance(item, dict) or not _LIST_KEYS & set(item):
            continue
        data: Any = item.get("data")
        split = _split_data(files, path) if data in (None, "", "-") else None
        if split is not None:
            data = split.decode("utf-8", errors="replace")
        try:
            list_name = check_name(item.get("name") or item.get("id"))
            kind = str(item.get("type") or DEFAULT_TYPE)
            found.append(PackList(list_name, check_data(list_name, data), kind if kind in LIST_TYPES else DEFAULT_TYPE))
        except ListError as error:
            raise ListError(f"{where}: {name}: {error}") from error
    return found


def lists_in_root(root: Path) -> list[PackList]:
    """The lists every pack under a content root ships (a pack is a folder with `pack_metadata.json`)."""
    found: list[PackList] = []
    for folder in sorted(Path(root).rglob(LISTS_FOLDER)):
        pack = folder.parent
        if not folder.is_dir() or not (pack / "pack_metadata.json").is_file():
            continue
        files = {
            path.relative_to(pack).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix in (".json", *_DATA_SUFFIXES)
        }
        found += lists_in_files(files, str(pack))
    return found


class ListStore:
    """The lists of one state folder (or process). Subclasses give `_records()`: the records, changed in place
    and saved when the block ends normally; a ListError inside the block saves nothing."""

    @contextlib.contextmanager
    def _records(self) -> Iterator[dict[str, dict[str, Any]]]:
        raise NotImplementedError
        yield {}  # pragma: no cover

    def _read(self) -> dict[str, dict[str, Any]]:
        with self._records() as records:
            return copy.deepcopy(records)

    def get(self, name: str) -> XsoarList | None:
        """The list, or None when there is none of that name."""
        record = self._read().get(check_name(name))
        return None if record is None else XsoarList.from_json(name, record)

    def require(self, name: str) -> XsoarList:
        """The list, or ListNotFoundError."""
        found = self.get(name)
        if found is None:
            raise ListNotFoundError(name)
        return found

    def all(self) -> list[XsoarList]:
        """Every list, by name."""
        return [XsoarList.from_json(name, record) for name, record in sorted(self._read().items())]

    def names(self) -> list[str]:
        return sorted(self._read())

    def save(
        self, name: str, data: Any, *, kind: Any = None, description: Any = None, create: bool = True
    ) -> XsoarList:
        """Replace the list's data (and type, description when given); `create=False` refuses a missing list."""
        name = check_name(name)
        text = check_data(name, data)
        with self._records() as records:
            old = records.get(name)
            if old is None and not create:
                raise ListNotFoundError(name)
            previous = XsoarList.from_json(name, old or {})
            saved = XsoarList(
                name,
                text,
                check_type(kind if kind not in (None, "") else previous.type),
                previous.version + 1 if old is not None else 1,
                _now(),
                str(description) if description is not None else previous.description,
            )
            records[name] = saved.to_json()
        return saved

    def change(self, name: str, edit: Callable[[str], str]) -> XsoarList:
        """Apply `edit` to the list's latest data in one locked update; ListNotFoundError when it is missing."""
        name = check_name(name)
        with self._records() as records:
            old = records.get(name)
            if old is None:
                raise ListNotFoundError(name)
            previous = XsoarList.from_json(name, old)
            saved = XsoarList(
                name,
                check_data(name, edit(previous.data)),
                previous.type,
                previous.version + 1,
                _now(),
                previous.description,
            )
            records[name] = saved.to_json()
        return saved

    def add_missing(self, items: list[PackList]) -> list[str]:
        """Create the shipped lists this store lacks (one that exists keeps its data); the names created."""
        created: list[str] = []
        with self._records() as records:
            for item in items:
                if item.name not in records:
                    records[item.name] = XsoarList(item.name, item.data, item.type, 1, _now()).to_json()
                    created.append(item.name)
        return created

    def delete(self, name: str) -> None:
        """Remove the list; ListNotFoundError when it is missing."""
        name = check_name(name)
        with self._records() as records:
            if records.pop(name, None) is None:
                raise ListNotFoundError(name)


class StateListStore(ListStore):
    """Lists in a state folder's ``state.json``, under its lock (see the module docstring)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    @contextlib.contextmanager
    def _records(self) -> Iterator[dict[str, dict[str, Any]]]:
        with self.store.update() as state:
            yield state.lists

    def _read(self) -> dict[str, dict[str, Any]]:
        return self.store.read().lists


class MemoryListStore(ListStore):
    """Lists for one process."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _records(self) -> Iterator[dict[str, dict[str, Any]]]:
        with self._lock:
            working = copy.deepcopy(self.records)
            yield working
            self.records = working
