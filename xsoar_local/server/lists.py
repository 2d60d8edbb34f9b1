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

from collections.abc import Mapping
from typing import Any

from xsoar_local.incident.lists import ListError, ListNotFoundError, ListStore, PackList, lists_in_files
from xsoar_local.server.errors import ServerError, bad_request

__all__ = ["ServerLists", "lists_in_pack"]


def _not_found(error: ListNotFoundError) -> ServerError:
    return ServerError(404, "errListNotFound", "List not found", str(error))


def lists_in_pack(files: Mapping[str, bytes], where: str) -> list[PackList]:
    """The lists an uploaded pack ships; a broken one is the upload error (400) naming the file."""
    try:
        return lists_in_files(files, where)
    except ListError as error:
        raise ServerError(400, "errUploadContentPacks", "Could not upload content packs", str(error)) from error


class ServerLists:
    """The REST side of one list store."""

    def __init__(self, store: ListStore) -> None:
        self.store = store

    def add_missing(self, items: list[PackList]) -> list[str]:
        """Create the pack's lists the server does not have; the names created."""
        return self.store.add_missing(items)

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
