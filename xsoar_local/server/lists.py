"""The server's lists over REST, as demisto-sdk uploads them and content's API scripts read and delete them.

    GET  /lists/                every list: `[{id, name, data, type, version, modified, ...}]`
    GET  /lists/names           the names (a list's id is its name)
    POST /lists/save            create or replace one: the list object demisto-sdk uploads (`name`, `data`, `type`,
                                `description`; `version` -1 or absent overwrites, another version must be current)
    GET  /lists/download/{name} the list's text, as a file
    POST /lists/delete          `{"id": name}`

The lists are the ones scripts reach with getList/setList/addToList/removeFromList (xsoar_local.incident.lists), kept in
the server's state folder. A missing list answers 404 with the server's `Item not found (8)` in its detail.

An uploaded pack's `Lists/` (list content items: unified JSON with `data` inline, or split with a
`<Name>_data.<ext>` file beside the JSON) creates the lists the server does not have yet; a list that exists
keeps its data (what playbooks wrote into it is not lost by reinstalling the pack).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Final

from xsoar_local.incident.lists import (
    LIST_TYPES,
    ListError,
    ListExistsError,
    ListNotFoundError,
    ListStore,
    check_data,
    check_name,
)
from xsoar_local.server.errors import ServerError, bad_request

__all__ = ["PackList", "ServerLists", "lists_in_pack"]

LISTS_FOLDER: Final = "Lists"
# The keys that tell a list content item from other JSON (as demisto-sdk tells them).
_LIST_KEYS: Final = frozenset({"data", "allRead", "truncated"})
_DATA_SUFFIXES: Final = (".txt", ".json", ".html", ".css", ".csv", ".md")

PackList = tuple[str, str, str]  # name, data, type


def _upload_error(detail: str) -> ServerError:
    return ServerError(400, "errUploadContentPacks", "Could not upload content packs", detail)


def _split_data(files: Mapping[str, bytes], path: PurePosixPath) -> bytes | None:
    """A split list's data file (`<Folder>_data.<ext>` beside its JSON)."""
    stem = path.parent / f"{path.parent.name}_data"
    return next((files[str(stem) + suffix] for suffix in _DATA_SUFFIXES if str(stem) + suffix in files), None)


def lists_in_pack(files: Mapping[str, bytes], where: str) -> list[PackList]:
    """The list content items of a pack's files (paths relative to the pack); a 400 upload error for a broken one."""
    found: list[PackList] = []
    for name, content in sorted(files.items()):
        path = PurePosixPath(name)
        if path.parts[0] != LISTS_FOLDER or path.suffix != ".json" or path.stem.endswith("_data"):
            continue
        try:
            item = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _upload_error(f"{where}: {name} is not JSON ({error})") from error
        if not isinstance(item, dict) or not _LIST_KEYS & set(item):
            continue
        data: Any = item.get("data")
        split = _split_data(files, path) if data in (None, "", "-") else None
        if split is not None:
            data = split.decode("utf-8", errors="replace")
        try:
            list_name = check_name(item.get("name") or item.get("id"))
            found.append((list_name, check_data(list_name, data), str(item.get("type") or "plain_text")))
        except ListError as error:
            raise _upload_error(f"{where}: {name}: {error}") from error
    return found


def _not_found(error: ListNotFoundError) -> ServerError:
    return ServerError(404, "errListNotFound", "List not found", str(error))


class ServerLists:
    """The REST side of one list store."""

    def __init__(self, store: ListStore) -> None:
        self.store = store

    def add_missing(self, items: list[PackList]) -> list[str]:
        """Create the pack's lists the server does not have; the names created."""
        created = []
        for name, data, kind in items:
            try:
                self.store.create(name, data, kind=kind if kind in LIST_TYPES else None)
            except ListExistsError:
                continue
            created.append(name)
        return created

    def all(self) -> list[dict[str, Any]]:
        """`GET /lists/`."""
        return [item.api_view() for item in self.store.all()]

    def names(self) -> list[str]:
        """`GET /lists/names`."""
        return self.store.names()

    def save(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /lists/save`: the saved list (its version one higher)."""
        name = body.get("name") if body.get("name") not in (None, "") else body.get("id")
        if not isinstance(name, str) or not name:
            raise bad_request("a list needs `name` (and `data`, its text): send the list object", "errBadList")
        given_id = body.get("id")
        if given_id not in (None, "") and given_id != name:
            raise bad_request(
                f"the list's `id` ({given_id!r}) and `name` ({name!r}) differ: a list's id is its name, and lists "
                "are not renamed; save it under the new name and delete the old one",
                "errBadList",
            )
        data = body.get("data")
        if data is not None and not isinstance(data, str):
            raise bad_request("a list's `data` is its text: send a string (JSON lists as JSON text)", "errBadList")
        self._check_version(name, body.get("version"))
        saved = self.store.save(name, data or "", kind=body.get("type"), description=body.get("description"))
        return saved.api_view()

    def _check_version(self, name: str, version: Any) -> None:
        """A version other than -1/0/absent must be the stored one: another writer's save is not overwritten."""
        if version in (None, "", -1, 0):
            return
        current = self.store.get(name)
        if current is None:
            return
        try:
            expected = int(version)
        except (TypeError, ValueError) as error:
            raise bad_request(f"a list's `version` is a number, not {version!r}", "errBadList") from error
        if expected != current.version:
            raise ServerError(
                409,
                "errVersionConflict",
                "Version conflict",
                f"list {name!r} is at version {current.version}, not {expected}: read it again (GET /lists/) and "
                "save that version, or send version -1 to overwrite",
            )

    def download(self, name: str) -> str:
        """`GET /lists/download/{name}`: the text."""
        try:
            return self.store.require(name).data
        except ListNotFoundError as error:
            raise _not_found(error) from error

    def delete(self, body: Mapping[str, Any]) -> None:
        """`POST /lists/delete` with `{"id": name}`."""
        name = body.get("id") if body.get("id") not in (None, "") else body.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request('name the list to delete: `{"id": "<list name>"}`', "errBadList")
        try:
            self.store.delete(name)
        except ListNotFoundError as error:
            raise _not_found(error) from error
