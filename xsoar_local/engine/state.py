"""What a server keeps per integration instance between runs: integration context (with its version), lastRun,
and the incidents fetches created.

`InstanceState` is the interface the engine session uses; `FileInstanceState` keeps it in one JSON file in the
state folder, updated under an exclusive lock and replaced atomically, so two processes never lose an update
and a failed run leaves the previous state whole.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

STATE_FILE = "instances.json"
_FORMAT = 1


class InstanceStateError(ValueError):
    """The instance state file cannot be read back."""


class InstanceState(Protocol):
    """Per-instance state a server keeps, and the store of fetched incidents."""

    def integration_context(self, instance: str) -> tuple[dict[str, Any], int]:
        """The instance's integration context and its version (0 before the first write)."""
        ...

    def set_integration_context(self, instance: str, context: Mapping[str, Any], version: int) -> None:
        """Store the context at `version`."""
        ...

    def last_run(self, instance: str) -> dict[str, Any]:
        """The lastRun the instance's previous successful fetch left ({} at first)."""
        ...

    def record_fetch(
        self, instance: str, incidents: Sequence[Mapping[str, Any]], last_run: Mapping[str, Any]
    ) -> list[str]:
        """Create the fetched incidents and move lastRun on, in one update; returns the new incident ids."""
        ...

    def incidents(self) -> list[dict[str, Any]]:
        """Every fetched incident, oldest first."""
        ...


class MemoryInstanceState:
    """Instance state for one process (tests, a run without a state folder)."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = _empty()

    def integration_context(self, instance: str) -> tuple[dict[str, Any], int]:
        return _context_of(self.document, instance)

    def set_integration_context(self, instance: str, context: Mapping[str, Any], version: int) -> None:
        _set_context(self.document, instance, context, version)

    def last_run(self, instance: str) -> dict[str, Any]:
        return copy.deepcopy(_entry(self.document, instance).get("last_run") or {})

    def record_fetch(
        self, instance: str, incidents: Sequence[Mapping[str, Any]], last_run: Mapping[str, Any]
    ) -> list[str]:
        return _record_fetch(self.document, instance, incidents, last_run)

    def incidents(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.document["incidents"])


class FileInstanceState:
    """Instance state in `<folder>/instances.json`, each change a locked, atomic read-modify-write."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / STATE_FILE

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _empty()
        except OSError as error:
            raise InstanceStateError(f"cannot read {self.path}: {error.strerror or error}") from error
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.get("version") != _FORMAT:
                raise ValueError("not an instance state document of this version")
            if not isinstance(document.get("instances"), dict) or not isinstance(document.get("incidents"), list):
                raise ValueError("`instances` must be an object and `incidents` a list")
        except ValueError as error:
            raise InstanceStateError(
                f"The instance state {self.path} is corrupt ({error}): delete it to start afresh, or pass another "
                "--state-dir"
            ) from error
        return document

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / f".{STATE_FILE}.lock", "a", encoding="utf-8")  # noqa: SIM115 - held below
        except OSError as error:
            raise InstanceStateError(f"cannot use the state folder {self.folder}: {error.strerror or error}") from error
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            document = self._read()
            yield document
            text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{STATE_FILE}.", suffix=".tmp")
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    def integration_context(self, instance: str) -> tuple[dict[str, Any], int]:
        return _context_of(self._read(), instance)

    def set_integration_context(self, instance: str, context: Mapping[str, Any], version: int) -> None:
        with self._update() as document:
            _set_context(document, instance, context, version)

    def last_run(self, instance: str) -> dict[str, Any]:
        return copy.deepcopy(_entry(self._read(), instance).get("last_run") or {})

    def record_fetch(
        self, instance: str, incidents: Sequence[Mapping[str, Any]], last_run: Mapping[str, Any]
    ) -> list[str]:
        with self._update() as document:
            return _record_fetch(document, instance, incidents, last_run)

    def incidents(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._read()["incidents"])


def _empty() -> dict[str, Any]:
    return {"version": _FORMAT, "instances": {}, "incidents": []}


def _entry(document: Mapping[str, Any], instance: str) -> dict[str, Any]:
    found = document["instances"].get(instance)
    return found if isinstance(found, dict) else {}


def _context_of(document: Mapping[str, Any], instance: str) -> tuple[dict[str, Any], int]:
    entry = _entry(document, instance)
    return copy.deepcopy(entry.get("integration_context") or {}), int(entry.get("integration_context_version") or 0)


def _set_context(document: dict[str, Any], instance: str, context: Mapping[str, Any], version: int) -> None:
    entry = document["instances"].setdefault(instance, {})
    entry["integration_context"] = copy.deepcopy(dict(context))
    entry["integration_context_version"] = int(version)


def _record_fetch(
    document: dict[str, Any], instance: str, incidents: Sequence[Mapping[str, Any]], last_run: Mapping[str, Any]
) -> list[str]:
    stored: list[dict[str, Any]] = document["incidents"]
    next_id = 1 + max((int(item["id"]) for item in stored if str(item.get("id", "")).isdigit()), default=0)
    ids = []
    for offset, incident in enumerate(incidents):
        record = {**copy.deepcopy(dict(incident)), "id": str(next_id + offset), "sourceInstance": instance}
        stored.append(record)
        ids.append(record["id"])
    document["instances"].setdefault(instance, {})["last_run"] = copy.deepcopy(dict(last_run))
    return ids
