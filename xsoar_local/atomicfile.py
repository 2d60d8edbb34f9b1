"""The one atomic writer of the toolkit: the CLI's state store and the server's state write through it.

A replaced file is written to a temporary file beside it, flushed and synced, then renamed over it, so a reader
never sees half a file. Several files change together in two phases: every temporary file and every append is
written first (the step that fails on a full disk or with no file handles left), and only then is anything
renamed. A failure in the first phase removes the temporary files and cuts the appended files back to their old
length, so the folder is as it was. A symlinked file keeps its link: the file it points to is replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["commit_files", "write_atomically"]


def _stage(target: Path, data: bytes, mode: int) -> Path:
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _append(path: Path, data: bytes, mode: int) -> int:
    """Append `data`, synced; returns the file's length before (0 for a new file), to cut it back to on a later
    failure."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    try:
        before = os.fstat(descriptor).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, before)
            raise
        return before
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    """Make the renames themselves durable (where the platform allows opening a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(descriptor)


def commit_files(
    replacements: Mapping[Path, bytes], appends: Mapping[Path, bytes] | None = None, *, mode: int = 0o600
) -> None:
    """Replace each file of `replacements` and append to each of `appends`, all or nothing (see the module doc).

    An OSError (ENOSPC, EMFILE, EACCES...) is raised as it is, with the folder left as it was.
    """
    staged: dict[Path, Path] = {}
    appended: dict[Path, int] = {}
    targets = [Path(os.path.realpath(path)) for path in replacements]
    try:
        for target, data in zip(targets, replacements.values(), strict=True):
            staged[target] = _stage(target, data, mode)
        for path, data in (appends or {}).items():
            appended[path] = _append(path, data, mode)
        for target, temporary in list(staged.items()):
            os.replace(temporary, target)
            del staged[target]
    except BaseException:
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        for path, length in appended.items():
            with contextlib.suppress(OSError):
                os.truncate(path, length)
        raise
    # A rename is durable once its folder is synced; so is a file an append created (one that was empty may be new).
    created = [Path(os.path.realpath(path)) for path, length in appended.items() if length == 0]
    for folder in {target.parent for target in (*targets, *created)}:
        _fsync_folder(folder)


def write_atomically(path: Path, data: bytes | str, mode: int = 0o600) -> None:
    """Replace one file atomically (text is written as UTF-8)."""
    commit_files({Path(path): data.encode("utf-8") if isinstance(data, str) else data}, mode=mode)
