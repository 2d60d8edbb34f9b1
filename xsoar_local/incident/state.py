"""The state folder: many incidents, each instance's integration context and lastRun, shared by many processes.

A folder holds ``state.json`` (every incident, which one ``run`` works on, and each integration instance's
integration context, its version and its lastRun) and lock files. Every change is a read-modify-write
inside ``StateStore.update()``, which holds an exclusive ``fcntl.flock`` on the folder's lock file, so
any number of processes (runs, playbooks, fetches, a server) keep every update. Writes are atomic: a
temporary file in the same folder, fsync, then ``os.replace``, so a crash mid-write leaves the previous
state readable; a symlinked ``state.json`` keeps its link and the target is updated.

Integration contexts and lastRun belong to instances, not to incidents, as on a server. A command that
reads an instance's context, runs for seconds and writes it back holds ``instance_lock(instance)`` for
the whole command: concurrent commands of one instance then run one after the other and each sees the
previous one's update (a translation cached by one is found by the next, instead of being overwritten
by a writer that started from an older copy). A compare-and-set with retry would have to re-run the
command, spending the service's quota again; serialising one instance's commands spends it once.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from xsoar_local.atomicfile import write_atomically
from xsoar_local.errors import StateError  # the state folder cannot be used: one line that says what to do
from xsoar_local.incident.model import Incident, default_fields

__all__ = [
    "LEGACY_FILE_NAME",
    "MAX_STATE_BYTES",
    "STATE_FILE_NAME",
    "STATE_FORMAT_VERSION",
    "SavedInstance",
    "StaleVersionError",
    "State",
    "StateError",
    "StateStore",
]

STATE_FILE_NAME: Final = "state.json"
LEGACY_FILE_NAME: Final = "incident.json"  # the single-incident format (version 1), migrated on first use
LOCK_FILE_NAME: Final = ".lock"
INSTANCE_LOCKS: Final = "locks"
STATE_FORMAT_VERSION: Final = 2
# Larger files are refused, never read whole: a state this big is a runaway context, not a local incident.
MAX_STATE_BYTES: Final = 16 * 1024 * 1024
_LEGACY_VERSION: Final = 1


class StaleVersionError(StateError):
    """``set_integration_context`` was given a version that is no longer the instance's current one."""


@dataclass(frozen=True)
class SavedInstance:
    """What a server keeps for one integration instance."""

    integration_context: Mapping[str, Any]
    version: int = 0
    last_run: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "integration_context": copy.deepcopy(dict(self.integration_context)),
            "version": self.version,
            "last_run": copy.deepcopy(dict(self.last_run or {})),
        }


def _stored(incident: Incident, incident_id: str) -> Incident:
    """The incident as the store keeps it: its id in its fields, no integration contexts (instances own them)."""
    return replace(incident.with_fields({"id": incident_id}), integration_contexts={})


class State:
    """A working copy of the folder's state, changed inside ``StateStore.update()``.

    ``incidents`` maps an incident id to its (immutable) Incident; replace an entry to change an incident.
    ``lists`` holds the server's XSOAR lists (``xsoar_local.incident.lists`` reads and changes them).
    """

    def __init__(
        self,
        incidents: dict[str, Incident] | None = None,
        current_id: str | None = None,
        next_id: int = 1,
        instances: dict[str, SavedInstance] | None = None,
        lists: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.incidents: dict[str, Incident] = dict(incidents or {})
        self.current_id = current_id
        self.next_id = max(next_id, *(int(key) + 1 for key in self.incidents if key.isdigit()), 1)
        self.instances: dict[str, SavedInstance] = dict(instances or {})
        # XSOAR lists by name, as xsoar_local.incident.lists stores them (it validates names, data and sizes)
        self.lists: dict[str, dict[str, Any]] = dict(lists or {})

    # ---- incidents ------------------------------------------------------------------------------
    def add_incident(self, incident: Incident, *, current: bool = False) -> str:
        """Store ``incident`` under a new id (written into its ``id`` field); returns the id."""
        new_id = str(self.next_id)
        self.next_id += 1
        self.incidents[new_id] = _stored(incident, new_id)
        if current:
            self.current_id = new_id
        return new_id

    def put_incident(self, incident_id: str, incident: Incident) -> None:
        """Replace (or create) the incident ``incident_id``."""
        self.incidents[str(incident_id)] = _stored(incident, str(incident_id))
        if str(incident_id).isdigit():
            self.next_id = max(self.next_id, int(incident_id) + 1)

    def current_incident(self) -> tuple[str, Incident]:
        """The incident ``run`` works on, with its id; a fresh one is created (and made current) when there is none."""
        if self.current_id is None or self.current_id not in self.incidents:
            self.current_id = self.add_incident(Incident())
        return self.current_id, self.incidents[self.current_id]

    def reset_current(self) -> tuple[str, Incident]:
        """Give the current incident fresh fields and an empty context (its id is kept)."""
        incident_id, _ = self.current_incident()
        self.put_incident(incident_id, Incident(fields=default_fields()))
        return incident_id, self.incidents[incident_id]

    # ---- instances ------------------------------------------------------------------------------
    def integration_context(self, instance: str) -> tuple[dict[str, Any], int]:
        """A copy of the instance's integration context and its version (({}, 0) for a new instance)."""
        saved = self.instances.get(instance)
        if saved is None:
            return {}, 0
        return copy.deepcopy(dict(saved.integration_context)), saved.version

    def set_integration_context(self, instance: str, value: Mapping[str, Any], version: int | None = None) -> int:
        """Replace the instance's integration context; returns its new version.

        With ``version`` this is a compare-and-set: StaleVersionError when another writer got there first.
        """
        saved = self.instances.get(instance, SavedInstance({}))
        if version is not None and version != saved.version:
            raise StaleVersionError(
                f"the integration context of {instance!r} is at version {saved.version}, not {version}: "
                "read it again and retry"
            )
        self.instances[instance] = replace(
            saved, integration_context=copy.deepcopy(dict(value)), version=saved.version + 1
        )
        return saved.version + 1

    def last_run(self, instance: str) -> dict[str, Any]:
        """A copy of the instance's lastRun ({} when it has none)."""
        saved = self.instances.get(instance)
        return copy.deepcopy(dict(saved.last_run or {})) if saved else {}

    def set_last_run(self, instance: str, value: Mapping[str, Any]) -> None:
        """Replace the instance's lastRun (``demisto.setLastRun``)."""
        saved = self.instances.get(instance, SavedInstance({}))
        self.instances[instance] = replace(saved, last_run=copy.deepcopy(dict(value)))

    # ---- JSON -----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The document ``state.json`` holds."""
        return {
            "version": STATE_FORMAT_VERSION,
            "current_incident": self.current_id,
            "next_incident_id": self.next_id,
            "incidents": {
                key: {"fields": copy.deepcopy(item.fields), "context": copy.deepcopy(item.context)}
                for key, item in self.incidents.items()
            },
            "instances": {name: item.to_json() for name, item in self.instances.items()},
            # only when there are lists: a folder that never used one keeps the document it had
            **({"lists": copy.deepcopy(self.lists)} if self.lists else {}),
        }

    @classmethod
    def from_json(cls, document: Any) -> State:
        """The state from ``to_json`` output or a version 1 ``incident.json``; ValueError says what is wrong."""
        if not isinstance(document, dict):
            raise ValueError(f"expected a JSON object, got {type(document).__name__}")
        if document.get("version") == _LEGACY_VERSION:
            return cls._from_legacy(document)
        if document.get("version") != STATE_FORMAT_VERSION:
            raise ValueError(
                f"unknown state format version {document.get('version')!r} (expected {STATE_FORMAT_VERSION})"
            )
        incidents = _object(document, "incidents")
        instances = _object(document, "instances")
        parsed: dict[str, Incident] = {}
        for key, item in incidents.items():
            if not isinstance(item, dict):
                raise ValueError(f"incident {key!r} must be a JSON object")
            parsed[key] = Incident(fields=_object(item, "fields"), context=_object(item, "context"))
        saved: dict[str, SavedInstance] = {}
        for name, item in instances.items():
            if not isinstance(item, dict):
                raise ValueError(f"instance {name!r} must be a JSON object")
            version = item.get("version", 0)
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValueError(f"the version of instance {name!r} must be an integer")
            saved[name] = SavedInstance(_object(item, "integration_context"), version, _object(item, "last_run"))
        current = document.get("current_incident")
        next_id = document.get("next_incident_id", 1)
        if current is not None and not isinstance(current, str):
            raise ValueError("'current_incident' must be a string or null")
        if not isinstance(next_id, int):
            raise ValueError("'next_incident_id' must be an integer")
        lists = _object(document, "lists")
        for name, item in lists.items():
            if not isinstance(item, dict) or not isinstance(item.get("data"), str):
                raise ValueError(f"list {name!r} must be a JSON object with its `data` as a string")
        return cls(parsed, current, next_id, saved, lists)

    @classmethod
    def _from_legacy(cls, document: dict[str, Any]) -> State:
        """The single incident of a version 1 ``incident.json``: incident 1, current; its contexts go to instances."""
        fields, context = _object(document, "fields"), _object(document, "context")
        contexts = _object(document, "integration_contexts")
        instances = {}
        for name, value in contexts.items():
            if not isinstance(value, dict):
                raise ValueError(f"the integration context of {name!r} must be a JSON object")
            instances[name] = SavedInstance(value, 1)
        incident_id = str(fields.get("id") or "1")
        return cls(
            {incident_id: _stored(Incident(fields=fields, context=context), incident_id)}, incident_id, 1, instances
        )


def _object(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} must be a JSON object")
    return value


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class StateStore:
    """The state of one folder, safe for many processes (see the module docstring)."""

    def __init__(self, folder: Path | str) -> None:
        """Check that ``folder`` can hold state (creating it if needed); StateError says what is wrong.

        The check happens here, before any command runs, so a folder that cannot be written never costs a
        translation whose result would then be lost.
        """
        self.folder = Path(folder)
        self.path = self.folder / STATE_FILE_NAME
        self.legacy_path = self.folder / LEGACY_FILE_NAME
        if self.folder.exists() and not self.folder.is_dir():
            raise StateError(f"The state folder {self.folder} is a file, not a folder: pass another --state-dir.")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.folder, prefix=".probe-", delete=True)  # noqa: SIM115
            probe.close()
            with open(self.folder / LOCK_FILE_NAME, "a", encoding="utf-8"):
                pass
        except OSError as error:
            raise StateError(
                f"The state folder {self.folder} cannot be written ({error.strerror or error}): "
                "make it writable or pass another --state-dir."
            ) from error

    # ---- locking --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _flock(self, path: Path) -> Iterator[None]:
        try:
            # a bare descriptor: a file object's open makes several more system calls (two locks per command)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        except OSError as error:
            raise StateError(
                f"Cannot lock the state folder {self.folder} ({error.strerror or error}): make it writable."
            ) from error
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    @contextlib.contextmanager
    def instance_lock(self, instance: str) -> Iterator[None]:
        """Hold one instance exclusively (other processes' commands of that instance wait) for a whole command."""
        folder = self.folder / INSTANCE_LOCKS
        if not folder.is_dir():  # a stat: a mkdir of a folder that exists fails (slowly) on every command
            folder.mkdir(exist_ok=True)
        name = hashlib.sha256(instance.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        with self._flock(folder / f"{name}.lock"):
            yield

    # ---- reading and writing --------------------------------------------------------------------
    def read_incident(self, incident_id: str) -> Incident:
        """The latest copy of one incident (``xsoar_local.commit.IncidentSource``)."""
        return self.read().incidents[incident_id]

    def update_incident(self, incident_id: str, change: Callable[[Incident], Incident]) -> Incident:
        """Replace one incident with ``change(latest copy)`` in one locked update; the incident as saved."""
        with self.update() as state:
            state.put_incident(incident_id, change(state.incidents[incident_id]))
            return state.incidents[incident_id]

    def read(self) -> State:
        """A consistent copy of the state (taken under the lock, so never a half-applied update)."""
        with self._flock(self.folder / LOCK_FILE_NAME):
            return self._load()

    @contextlib.contextmanager
    def update(self) -> Iterator[State]:
        """Lock the folder, load the state, and write it back atomically when the block ends normally."""
        with self._flock(self.folder / LOCK_FILE_NAME):
            state = self._load()
            before = state.to_json()
            yield state
            after = state.to_json()
            if after != before or not self.path.exists():
                self._write(after)

    def _load(self) -> State:
        path = self.path if self.path.exists() else self.legacy_path
        text = self._read_text(path)
        if text is None:
            return State()
        try:
            return State.from_json(json.loads(text))
        except RecursionError as error:
            raise StateError(
                f"The state file {path} is nested too deeply to be a local incident state. "
                "Delete it to start afresh, or pass another --state-dir."
            ) from error
        except ValueError as error:  # json.JSONDecodeError is a ValueError too
            raise StateError(
                f"The state file {path} is corrupt ({_one_line(error)}). "
                "Delete it to start afresh, or pass another --state-dir."
            ) from error

    def _read_text(self, path: Path) -> str | None:
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > MAX_STATE_BYTES:
                    raise StateError(
                        f"The state file {path} is {size:,} bytes, over the {MAX_STATE_BYTES:,}-byte limit: "
                        "delete it (or its largest incidents) to start afresh, or pass another --state-dir."
                    )
                data = handle.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return None
        except IsADirectoryError as error:
            raise StateError(f"The state file {path} is a folder: remove it or pass another --state-dir.") from error
        except OSError as error:
            raise StateError(f"Cannot read the state file {path} ({error.strerror or error}).") from error
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise StateError(
                f"The state file {path} is not UTF-8 text (byte {error.start} cannot be decoded). "
                "Delete it to start afresh, or pass another --state-dir."
            ) from error

    def _write(self, document: dict[str, Any]) -> None:
        # Serialise first: a value that is not JSON fails here, before any file is touched.
        # ASCII with \u escapes: a lone surrogate (from a mis-encoded argument) round-trips instead of making
        # the file invalid UTF-8
        data = (json.dumps(document, indent=1, ensure_ascii=True) + "\n").encode("ascii")
        if len(data) > MAX_STATE_BYTES:
            raise StateError(
                f"The state would grow to {len(data):,} bytes, over the {MAX_STATE_BYTES:,}-byte limit, so it was "
                f"not saved: delete old incidents (or start afresh with --reset or another --state-dir)."
            )
        # A symlinked state file keeps its link: the file it points to is the one replaced.
        try:
            write_atomically(self.path, data)
        except OSError as error:
            raise StateError(f"Cannot write the state file {self.path} ({error.strerror or error}).") from error
