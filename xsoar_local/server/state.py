"""The server's state folder: its layout, the lock one running server holds, reading it and its API key.

Layout of the folder (format version 2):

    server.json          installed packs, instances, the incident counter and the playground's id (small; replaced
                         atomically when one of them changes)
    incidents/<id>.json  one incident each: fields, context, investigation and playbook run (one incident's
                         change rewrites only its own file, whatever the number of incidents)
    warroom/<id>.jsonl   each investigation's War Room entries, one JSON line per entry, appended and synced
                         (a line torn by a crash mid-append is dropped on load)
    instances/           each instance's integration context (with its version) and lastRun: the engine's state
                         store (xsoar_local.incident.state.StateStore)
    packs/<id>/          the installed packs' files, as unpacked from their zips
    api-key              the generated API key (mode 0600), when DEMISTO_API_KEY is not set
    server.lock          held (flock) while a server runs, so a second server on the same folder is refused

A folder of format version 1 (every incident inside server.json) is split into incident files when opened.
Every write goes through `xsoar_local.atomicfile` (the writer the CLI's state store uses too).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any, Final, TextIO

from xsoar_local.atomicfile import commit_files, write_atomically
from xsoar_local.errors import StateError
from xsoar_local.server.records import Entry, IncidentRecord

__all__ = ["FORMAT_VERSION", "StateFolder", "StateFolderError", "write_atomically"]

FORMAT_VERSION: Final = 2
_V1: Final = 1
DOCUMENT_NAME: Final = "server.json"
API_KEY_NAME: Final = "api-key"
LOCK_NAME: Final = "server.lock"
PACKS_DIR: Final = "packs"
WARROOM_DIR: Final = "warroom"
INCIDENTS_DIR: Final = "incidents"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class StateFolderError(StateError):
    """The state folder cannot be used; the message says what to do."""


def empty_document() -> dict[str, Any]:
    """The settings of a server that has never run."""
    return {"version": FORMAT_VERSION, "packs": {}, "instances": {}, "counters": {"incident": 0}, "playground_id": ""}


def _file_name(inv_id: str) -> str:
    return inv_id if _SAFE_ID.fullmatch(inv_id) and ".." not in inv_id else "x" + inv_id.encode("utf-8").hex()


class StateFolder:
    """The folder a server keeps its state in; `open()` takes ownership until `close()`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock: TextIO | None = None

    @property
    def packs_dir(self) -> Path:
        return self.folder / PACKS_DIR

    @property
    def document_path(self) -> Path:
        return self.folder / DOCUMENT_NAME

    def incident_path(self, inv_id: str) -> Path:
        return self.folder / INCIDENTS_DIR / f"{_file_name(inv_id)}.json"

    def warroom_path(self, inv_id: str) -> Path:
        return self.folder / WARROOM_DIR / f"{_file_name(inv_id)}.jsonl"

    def open(self) -> None:
        """Create the folder if needed and lock it; a folder another server holds is refused."""
        if self.folder.exists() and not self.folder.is_dir():
            raise StateFolderError(f"{self.folder} is a file, not a folder: pass another --state-dir")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name in (PACKS_DIR, INCIDENTS_DIR, WARROOM_DIR):
                (self.folder / name).mkdir(exist_ok=True)
            handle = (self.folder / LOCK_NAME).open("a", encoding="utf-8")
        except OSError as error:
            raise StateFolderError(
                f"cannot use {self.folder} as the state folder ({error}): pass another --state-dir"
            ) from error
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateFolderError(
                f"another local XSOAR server is running on {self.folder}: stop it, or pass another --state-dir"
            ) from None
        self._lock = handle

    def close(self) -> None:
        """Release the folder."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _read_json(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise StateFolderError(f"cannot read {path}: {error}") from error
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise StateFolderError(
                f"{path} is not valid JSON ({error}): restore it from a backup, or move it away"
            ) from error

    def load(self) -> tuple[dict[str, Any], dict[str, IncidentRecord]]:
        """The settings document and every incident; a version 1 folder is split into incident files first."""
        if not self.document_path.exists():
            return empty_document(), {}
        document = self._read_json(self.document_path)
        version = document.get("version") if isinstance(document, dict) else None
        if version == _V1:
            return self._migrate(document)
        if version != FORMAT_VERSION:
            raise StateFolderError(
                f"{self.document_path} has state format {version!r}, this server reads format {FORMAT_VERSION}: "
                "move it away to start an empty server"
            )
        merged = {**empty_document(), **document}
        incidents: dict[str, IncidentRecord] = {}
        for path in sorted((self.folder / INCIDENTS_DIR).glob("*.json")):
            data = self._read_json(path)
            if not isinstance(data, dict):
                raise StateFolderError(f"{path} is not an incident record: move it away")
            record = IncidentRecord.from_json(data)
            incidents[record.id] = record
        return merged, incidents

    def _migrate(self, old: dict[str, Any]) -> tuple[dict[str, Any], dict[str, IncidentRecord]]:
        runs = old.get("playbook_runs") or {}
        incidents = {
            str(key): IncidentRecord.from_json({"id": str(key), **value}, runs.get(key))
            for key, value in (old.get("incidents") or {}).items()
        }
        counters = old.get("counters") or {}
        document = {
            **empty_document(),
            "packs": old.get("packs") or {},
            "instances": old.get("instances") or {},
            "counters": {"incident": int(counters.get("incident") or 0)},
            "playground_id": str(old.get("playground_id") or ""),
        }
        files = {self.incident_path(key): encode(record.to_json()) for key, record in incidents.items()}
        files[self.document_path] = encode(document)
        commit_files(files)
        return document, incidents

    def load_entries(self) -> dict[str, list[Entry]]:
        """Every investigation's War Room; an incomplete last line (a crash mid-append) is cut off."""
        found: dict[str, list[Entry]] = {}
        for path in sorted((self.folder / WARROOM_DIR).glob("*.jsonl")):
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                # torn by a crash mid-append: cut it off, so the next append starts on a line of its own
                data = data[: data.rfind(b"\n") + 1]
                with path.open("r+b") as handle:
                    handle.truncate(len(data))
            entries = []
            for line in data.decode("utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and entry.get("investigationId"):
                    entries.append(Entry.from_json(entry))
            if entries:
                found[entries[0].investigation_id] = entries
        return found

    def api_key(self, environ: dict[str, str] | os._Environ[str]) -> tuple[str, str]:
        """The API key and where it came from: DEMISTO_API_KEY, else the one kept here (made on first start)."""
        given = environ.get("DEMISTO_API_KEY", "").strip()
        if given:
            return given, "DEMISTO_API_KEY"
        path = self.folder / API_KEY_NAME
        with contextlib.suppress(FileNotFoundError):
            kept = path.read_text(encoding="utf-8").strip()
            if kept:
                return kept, str(path)
        key = secrets.token_hex(16).upper()
        write_atomically(path, key + "\n")
        return key, str(path)


def encode(value: Any) -> bytes:
    """A JSON document as the state files hold it (UTF-8; UnicodeEncodeError for text that cannot be stored)."""
    return (json.dumps(value, ensure_ascii=False, default=str) + "\n").encode("utf-8")
