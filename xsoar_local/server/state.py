"""The server's state folder: one running server owns it, every change is written atomically.

Layout of the folder:

    server.json      packs, instances, incidents (fields, context), playbook runs (one JSON document, format
                     version 1, replaced atomically)
    instances/       each instance's integration context (with its version) and lastRun: the engine's state
                     store (xsoar_local.incident.state.StateStore)
    warroom/<id>.jsonl  each investigation's War Room entries, one JSON line per entry, appended and synced
                     (a line torn by a crash mid-append is dropped on load)
    packs/<id>/      the installed packs' files, as unpacked from their zips
    api-key          the generated API key (mode 0600), when DEMISTO_API_KEY is not set
    server.lock      held (flock) while a server runs, so a second server on the same folder is refused
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any, Final, TextIO

from xsoar_local.errors import StateError

FORMAT_VERSION: Final = 1
DOCUMENT_NAME: Final = "server.json"
API_KEY_NAME: Final = "api-key"
LOCK_NAME: Final = "server.lock"
PACKS_DIR: Final = "packs"
WARROOM_DIR: Final = "warroom"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class StateFolderError(StateError):
    """The state folder cannot be used; the message says what to do."""


def empty_document() -> dict[str, Any]:
    """The state of a server that has never run."""
    return {
        "version": FORMAT_VERSION,
        "packs": {},
        "instances": {},
        "incidents": {},
        "playbook_runs": {},
        "counters": {"incident": 0, "entry": 0, "instance": 0},
        "playground_id": "",
    }


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """A temporary file beside `path`, flushed to disk, then renamed over it: readers never see half a file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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

    def open(self) -> None:
        """Create the folder if needed and lock it; a folder another server holds is refused."""
        if self.folder.exists() and not self.folder.is_dir():
            raise StateFolderError(f"{self.folder} is a file, not a folder: pass another --state-dir")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.packs_dir.mkdir(exist_ok=True)
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

    def load(self) -> dict[str, Any]:
        """The saved document, or an empty one on first start; a corrupt one is refused with what to do."""
        try:
            text = self.document_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return empty_document()
        except OSError as error:
            raise StateFolderError(f"cannot read {self.document_path}: {error}") from error
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise StateFolderError(
                f"{self.document_path} is not valid JSON ({error}): restore it from a backup, or move it away to "
                "start an empty server"
            ) from error
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            version = document.get("version") if isinstance(document, dict) else None
            raise StateFolderError(
                f"{self.document_path} has state format {version!r}, this server reads format {FORMAT_VERSION}: "
                "move it away to start an empty server"
            )
        merged = empty_document()
        merged.update(document)
        return merged

    def save(self, document: dict[str, Any]) -> None:
        """Write the document atomically (serialised first, so a value that is not JSON changes nothing)."""
        text = json.dumps(document, ensure_ascii=False, indent=1, default=str) + "\n"
        write_atomically(self.document_path, text)

    def _warroom_file(self, inv_id: str) -> Path:
        name = inv_id if _SAFE_ID.fullmatch(inv_id) and ".." not in inv_id else "x" + inv_id.encode("utf-8").hex()
        return self.folder / WARROOM_DIR / f"{name}.jsonl"

    def append_entries(self, inv_id: str, entries: list[dict[str, Any]]) -> None:
        """Append entries to the investigation's War Room file, synced to disk before returning."""
        if not entries:
            return
        text = "".join(json.dumps(entry, ensure_ascii=False, default=str) + "\n" for entry in entries)
        path = self._warroom_file(inv_id)
        path.parent.mkdir(exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, text.encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def load_entries(self) -> dict[str, list[dict[str, Any]]]:
        """Every investigation's War Room; an incomplete last line (a crash mid-append) is dropped."""
        found: dict[str, list[dict[str, Any]]] = {}
        folder = self.folder / WARROOM_DIR
        if not folder.is_dir():
            return found
        for path in sorted(folder.glob("*.jsonl")):
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
                    entries.append(entry)
            if entries:
                found[str(entries[0]["investigationId"])] = entries
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


def snapshot(document: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, so a reader never shares mutable state with the writer."""
    return copy.deepcopy(document)
