"""The state repository: the server's records in memory, one lock over them, and all-or-nothing saves.

Every change goes through `transaction()`: the block works on copies (`Changes`), and when it ends the changed
files are written together (`xsoar_local.atomicfile.commit_files`) before the copies replace what the server
holds (an incident whose file already holds the bytes it would get is left as it is). So a change that cannot be
saved (text that cannot be stored, a record over its size cap, a full disk, no file handles left) answers an error
and leaves memory and disk as they were: nothing of it appears later.

Size caps (the server's state, like the CLI's 16 MB state file): one incident (fields, context and playbook run)
16 MB, one War Room entry 4 MB, one investigation's War Room 64 MB, the server settings 16 MB.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from xsoar_local.atomicfile import commit_files
from xsoar_local.redact import mask
from xsoar_local.server.errors import ServerError, bad_request, not_found
from xsoar_local.server.records import Entry, IncidentRecord, InstanceRecord
from xsoar_local.server.state import FORMAT_VERSION, StateFolder, encode

MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
MAX_ENTRY_BYTES: Final = 4 * 1024 * 1024
MAX_WAR_ROOM_BYTES: Final = 64 * 1024 * 1024
_MB: Final = 1024 * 1024


def _too_large(what: str, size: int, cap: int) -> ServerError:
    return ServerError(
        413,
        "errStateTooLarge",
        "Too large to store",
        f"{what} would be {size / _MB:.1f} MB, over the server's {cap // _MB} MB limit, so nothing was saved: "
        "keep large data out of the context and the War Room (store a reference instead)",
    )


def storable(value: Any, what: str, cap: int = MAX_RECORD_BYTES) -> bytes:
    """The bytes `value` is stored as; 400 for text that cannot be stored, 413 over `cap` bytes."""
    try:
        data = encode(value)
    except UnicodeEncodeError as error:
        bad = error.object[error.start : error.end] if isinstance(error.object, str) else ""
        raise bad_request(
            f"{what} holds text that cannot be stored ({bad!r} is a lone surrogate, not a character): "
            "send valid Unicode (UTF-8) text",
            "errUnstorableText",
        ) from error
    except (RecursionError, ValueError) as error:
        raise bad_request(f"{what} cannot be stored as JSON ({error})", "errUnstorableValue") from error
    if len(data) > cap:
        raise _too_large(what, len(data), cap)
    return data


def _not_saved(error: OSError) -> ServerError:
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    return ServerError(
        507 if full else 503,
        "errStateNotSaved",
        "State not saved",
        f"the change could not be saved ({error.strerror or error}), so nothing changed: "
        + ("free disk space" if full else "free file handles or fix the state folder's rights")
        + ", then send the request again",
    )


@dataclass
class Settings:
    """What server.json holds: installed packs, instances, the incident counter, the playground's id."""

    packs: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances: dict[str, InstanceRecord] = field(default_factory=dict)
    last_incident: int = 0
    playground_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "packs": self.packs,
            "instances": {key: item.to_json() for key, item in self.instances.items()},
            "counters": {"incident": self.last_incident},
            "playground_id": self.playground_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        return cls(
            dict(data.get("packs") or {}),
            {str(key): InstanceRecord.from_json(item) for key, item in (data.get("instances") or {}).items()},
            int((data.get("counters") or {}).get("incident") or 0),
            str(data.get("playground_id") or ""),
        )

    def instance_named(self, name: str) -> InstanceRecord | None:
        return next((item for item in self.instances.values() if item.name == name), None)

    def enabled_instances(self) -> list[InstanceRecord]:
        return [item for item in self.instances.values() if item.enabled]


class Changes:
    """The working copies of one transaction; they replace the repository's records only once saved."""

    def __init__(self, repository: StateRepository) -> None:
        self._repository = repository
        self._settings: Settings | None = None
        self.incidents: dict[str, IncidentRecord] = {}
        self.entries: dict[str, list[Entry]] = {}

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = copy.deepcopy(self._repository.settings)
        return self._settings

    @property
    def settings_changed(self) -> bool:
        return self._settings is not None

    def incident(self, inv_id: str, *, investigation: bool = True) -> IncidentRecord:
        """A working copy of the incident (404 when there is none, or it has no investigation and one is needed)."""
        inv_id = str(inv_id)
        if inv_id not in self.incidents:
            self.incidents[inv_id] = copy.deepcopy(self._repository.incident(inv_id, investigation=False))
        record = self.incidents[inv_id]
        if investigation and record.investigation is None:
            raise not_found(f"no investigation with id {inv_id!r}", "errInvestigationNotFound")
        return record

    def add_incident(self, record: IncidentRecord) -> None:
        self.incidents[record.id] = record

    def add_entries(
        self, inv_id: str, raw_entries: Sequence[Mapping[str, Any]], parent: str, **extra: Any
    ) -> list[Entry]:
        """New War Room entries (engine-shaped `raw_entries`), numbered after the investigation's last one."""
        if len(parent) > MAX_ENTRY_BYTES:  # each entry keeps its line: one over the entry cap cannot be stored
            raise _too_large("the War Room line", len(parent.encode("utf-8", "surrogatepass")), MAX_ENTRY_BYTES)
        parent = mask(parent)  # the line as typed is shown and saved: a password written into it is not
        staged = self.entries.setdefault(inv_id, [])
        first = self._repository.next_entry_number(inv_id) + len(staged)
        made = [
            Entry.from_engine(raw, f"{first + index}@{inv_id}", inv_id, parent, **extra)
            for index, raw in enumerate(raw_entries)
        ]
        staged.extend(made)
        return made


class StateRepository:
    """The server's records over one state folder; `open()` loads it, `transaction()` changes it."""

    def __init__(self, folder: Path) -> None:
        self.folder_store = StateFolder(Path(folder))
        self.lock = threading.RLock()
        self.settings = Settings()
        self._incidents: dict[str, IncidentRecord] = {}
        self._entries: dict[str, list[Entry]] = {}
        self._next_entry: dict[str, int] = {}
        self._war_room_bytes: dict[str, int] = {}
        # The digest of each incident file as this server last wrote it: a transaction that leaves an incident as
        # it was (most War Room commands: the same outputs again) does not rewrite its file (two syncs, a rename).
        self._written: dict[Path, bytes] = {}
        self._open: Changes | None = None
        self._owner: int | None = None

    # ---- the folder ------------------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.folder_store.folder

    @property
    def packs_dir(self) -> Path:
        return self.folder_store.packs_dir

    def incident_path(self, inv_id: str) -> Path:
        return self.folder_store.incident_path(inv_id)

    def api_key(self, environ: Any) -> tuple[str, str]:
        return self.folder_store.api_key(environ)

    def open(self) -> None:
        self.folder_store.open()
        try:
            document, incidents = self.folder_store.load()
            entries = self.folder_store.load_entries()
        except BaseException:
            self.folder_store.close()
            raise
        with self.lock:
            self.settings = Settings.from_json(document)
            self._incidents = incidents
            self._entries = entries
            self._next_entry = {key: _after(found) for key, found in entries.items()}
            self._war_room_bytes = {}
            self._written = {}
            for key in entries:
                path = self.folder_store.warroom_path(key)
                self._war_room_bytes[key] = path.stat().st_size if path.exists() else 0

    def close(self) -> None:
        self.folder_store.close()

    # ---- reading (under `lock`; records handed out are never changed in place) -------------------------------
    def incident(self, inv_id: str, *, investigation: bool = True) -> IncidentRecord:
        record = self._incidents.get(str(inv_id))
        if record is None or (investigation and record.investigation is None):
            what = "investigation" if investigation else "incident"
            raise not_found(f"no {what} with id {inv_id!r}", "errInvestigationNotFound")
        return record

    def incidents(self) -> list[IncidentRecord]:
        return list(self._incidents.values())

    def entries(self, inv_id: str) -> list[Entry]:
        return self._entries.get(str(inv_id), [])

    def next_entry_number(self, inv_id: str) -> int:
        return self._next_entry.get(inv_id, 1)

    # ---- changing ----------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Changes]:
        """Hold the lock, hand out working copies, and save them all or nothing when the block ends normally.

        A transaction opened inside another one (on the same thread) joins it: the outer one saves.
        """
        with self.lock:
            if self._open is not None and self._owner == threading.get_ident():
                yield self._open
                return
            changes = Changes(self)
            self._open, self._owner = changes, threading.get_ident()
            try:
                yield changes
                self._save(changes)
            finally:
                self._open, self._owner = None, None

    def _save(self, changes: Changes) -> None:
        files: dict[Path, bytes] = {}
        if changes.settings_changed:
            files[self.folder_store.document_path] = storable(changes.settings.to_json(), "the server settings")
        written: dict[Path, bytes] = {}
        for key, record in changes.incidents.items():
            data = storable(record.to_json(), f"incident {key}")
            path, digest = self.incident_path(key), hashlib.blake2b(data).digest()
            if self._written.get(path) != digest:  # else the file holds these bytes already (synced when written)
                files[path] = data
                written[path] = digest
        appends: dict[Path, bytes] = {}
        grown: dict[str, int] = {}
        for key, made in changes.entries.items():
            if not made:
                continue
            data = b"".join(storable(entry.to_json(), f"a War Room entry of {key}", MAX_ENTRY_BYTES) for entry in made)
            total = self._war_room_bytes.get(key, 0) + len(data)
            if total > MAX_WAR_ROOM_BYTES:
                raise _too_large(f"the War Room of {key}", total, MAX_WAR_ROOM_BYTES)
            appends[self.folder_store.warroom_path(key)] = data
            grown[key] = total
        try:
            commit_files(files, appends)
        except BaseException as error:
            # A failed commit may have renamed some files already: what they hold is no longer known.
            for path in written:
                self._written.pop(path, None)
            if isinstance(error, OSError):
                raise _not_saved(error) from error
            raise
        self._written.update(written)
        if changes.settings_changed:
            self.settings = changes.settings
        self._incidents.update(changes.incidents)
        for key, made in changes.entries.items():
            self._entries.setdefault(key, []).extend(made)
            self._next_entry[key] = self.next_entry_number(key) + len(made)
        self._war_room_bytes.update(grown)


def _after(entries: Sequence[Entry]) -> int:
    """The number the next entry gets: after every number already used (ids are `<number>@<investigation>`)."""
    numbers = [int(head) for head, _, _ in (entry.id.partition("@") for entry in entries) if head.isdigit()]
    return max([len(entries), *numbers]) + 1
