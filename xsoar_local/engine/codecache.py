"""The runtime's compiled code, kept between runs so a cold engine child does not compile 450 KB every time.

The engine runs CommonServerPython from the bytes whose SHA-256 matched the pin (`runtime.read_verified`), never
from the file again and never from Python's `__pycache__`: a `.pyc` is trusted by the source file's mtime and size,
which say nothing about the bytes that were checked. Compiling those bytes is most of a cold child's extra time,
so the compiled form is cached here, under rules that keep the same guarantee:

- An entry's name and header hold a key: the SHA-256 of the verified source, the file name the code reports, and
  the interpreter's bytecode magic number, cache tag and optimisation level. The source digest is computed from
  the bytes that were just verified, so an entry can only be used for exactly those bytes on exactly this
  interpreter; a changed runtime or another Python never finds an entry (there is no mtime or size to imitate).
- The header also holds the SHA-256 of the marshalled code that follows it. A torn, truncated or edited payload
  fails that check and is compiled again from the verified source (and the entry rewritten).
- The folder (`.compiled` inside the runtime folder) is created with mode 0700 and used only if it is a real
  folder (not a symlink) owned by the current user that neither group nor others can write; each entry must be a
  regular file owned by the user, not writable by group or others. Both are checked on the open descriptors, so
  nothing can be swapped in between the check and the read. Entries are written to a fresh file and renamed into
  place, so a reader never sees half of one.
- Entries are written by the engine's own processes: the parent before it starts a cold child (`ensure`), and
  a warm worker before it forks. Content runs in a sandbox (`engine.confine`) that may read the runtime folder but
  write only its job folder, so content cannot write an entry.
- What this does not stop: a process running as the same user outside the sandbox (or with the sandbox off) can
  write an entry with a matching header and code of its own. Such a process can equally change the toolkit's code
  or its virtual environment, which every run imports; the user's own write access is the boundary, as for those.

Where these rules cannot be checked (no `geteuid`, no `O_NOFOLLOW`), nothing is cached: the code is compiled.
Re-installing the runtime (`make runtime`) replaces its folder, and this cache with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import marshal
import os
import secrets
import stat
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CACHE_FOLDER = ".compiled"
_HEADER_TAG = b"xsoar-local compiled runtime 1\n"
_DIGEST_SIZE = 32
_HEADER_SIZE = len(_HEADER_TAG) + 2 * _DIGEST_SIZE
_SUPPORTED = hasattr(os, "geteuid") and hasattr(os, "O_NOFOLLOW") and os.open in os.supports_dir_fd


def cache_key(filename: str, source: bytes) -> bytes:
    """What an entry must match: the verified source, the code's file name, and this interpreter's bytecode."""
    material = [
        b"source " + hashlib.sha256(source).digest(),
        b"filename " + filename.encode("utf-8", "surrogateescape"),
        b"magic " + importlib.util.MAGIC_NUMBER,
        b"tag " + str(sys.implementation.cache_tag).encode(),
        b"optimize " + str(sys.flags.optimize).encode(),
    ]
    return hashlib.sha256(b"\0".join(material)).digest()


def _private(status: os.stat_result, kind: int) -> bool:
    """Owned by this user, of the expected kind, and not writable by group or others."""
    return (
        stat.S_IFMT(status.st_mode) == kind
        and status.st_uid == os.geteuid()
        and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _open_folder(folder: Path, create: bool) -> int | None:
    """A descriptor of the cache folder if it passes the ownership rules (see the module doc), else None."""
    if create:
        with contextlib.suppress(OSError):  # there already, or not ours to make (a sandboxed child reads only)
            os.mkdir(folder, 0o700)
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    if not _private(os.fstat(descriptor), stat.S_IFDIR):
        os.close(descriptor)
        return None
    return descriptor


def _load(folder: int, name: str, key: bytes, filename: str) -> types.CodeType | None:
    code = _load_value(folder, name, key)
    if not isinstance(code, types.CodeType) or code.co_filename != filename:
        return None
    return code


def _load_value(folder: int, name: str, key: bytes) -> object:
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
    except OSError:
        return None
    with open(descriptor, "rb") as handle:
        if not _private(os.fstat(handle.fileno()), stat.S_IFREG):
            return None
        data = handle.read()
    tag, header, payload = data[: len(_HEADER_TAG)], data[len(_HEADER_TAG) : _HEADER_SIZE], data[_HEADER_SIZE:]
    stored_key, payload_digest = header[:_DIGEST_SIZE], header[_DIGEST_SIZE:]
    if tag != _HEADER_TAG or stored_key != key or hashlib.sha256(payload).digest() != payload_digest:
        return None
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None


def _store(folder: int, name: str, key: bytes, code: Any) -> None:
    payload = marshal.dumps(code)
    data = _HEADER_TAG + key + hashlib.sha256(payload).digest() + payload
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder)
    try:
        with open(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise


def ensure(filename: str, source: bytes, folder: Path) -> None:
    """Write the entry for `source` (verified bytes) unless one is there: the engine calls this before it starts
    a sandboxed child, which may read the cache but not write it. A broken entry found here is left to the
    reader's checks (it compiles from source and, where it may, rewrites it)."""
    if not _SUPPORTED:
        return
    key = cache_key(filename, source)
    name = key.hex() + ".code"
    descriptor = _open_folder(folder, create=True)
    if descriptor is None:
        return
    try:
        try:
            os.stat(name, dir_fd=descriptor, follow_symlinks=False)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                _store(descriptor, name, key, compile(source, filename, "exec"))
        except OSError:
            pass
    finally:
        os.close(descriptor)


def compiled(filename: str, source: bytes, folder: Path | None) -> types.CodeType:
    """`compile(source, filename, "exec")`, from the cache in `folder` when it holds a valid entry.

    `source` must be bytes that were verified against their pinned digest: the cache never sees the file again.
    `folder` None, or a folder that breaks the rules of the module doc, means no cache (compiled every time).
    Failing to write an entry is not an error: the cache is only a help.
    """
    if folder is None or not _SUPPORTED:
        return compile(source, filename, "exec")
    key = cache_key(filename, source)
    name = key.hex() + ".code"
    descriptor = _open_folder(folder, create=True)
    if descriptor is None:
        return compile(source, filename, "exec")
    try:
        code = _load(descriptor, name, key, filename)
        if code is None:
            code = compile(source, filename, "exec")
            with contextlib.suppress(OSError):
                _store(descriptor, name, key, code)
        return code
    finally:
        os.close(descriptor)


def derived(
    filename: str,
    source: bytes,
    folder: Path | None,
    what: str,
    build: Callable[[], T],
    valid: Callable[[object], bool],
) -> T:
    """`build()`, a value derived from `source` alone (verified bytes) plus `what` (which derivation, and any input
    it has besides the source), from the cache in `folder` when it holds a valid entry: same key rules, folder
    and entry checks as compiled code. The value must be marshal-able (tuples of str, int, code); `valid` checks
    the shape of what was read back (anything else is built again)."""
    if folder is None or not _SUPPORTED:
        return build()
    key = hashlib.sha256(cache_key(filename, source) + b"\0derived " + what.encode("utf-8", "surrogateescape")).digest()
    name = key.hex() + ".derived"
    descriptor = _open_folder(folder, create=True)
    if descriptor is None:
        return build()
    try:
        value = _load_value(descriptor, name, key)
        if value is not None and valid(value):
            return value  # type: ignore[return-value]
        built = build()
        with contextlib.suppress(OSError, ValueError):
            _store(descriptor, name, key, built)
        return built
    finally:
        os.close(descriptor)
