"""Which memory pages a command writes in its fork, so the next spare fork can copy them before its command comes.

A fork shares the warm worker's memory until it writes to a page; each first write costs a page fault and a copy
(CPython writes to every object it merely uses, through its reference count). A command in a fork of a worker
that holds CommonServerPython takes a thousand or more such faults, a large share of a short command's time. The
pages are mostly the same from one command to the next (the runtime's and the libraries' objects), so the first
forks of a worker report which of the worker's pages they wrote (`written`), and each later spare, while it waits
for its command, asks the kernel to copy those pages at once (`populate`: MADV_POPULATE_WRITE, Linux 5.14+).
Nothing is shared back: each spare copies into its own memory, as its command would have on first write.

Only private writable mappings are populated (never a shared mapping, whose pages belong to a file or another
process); ranges the spare does not have are skipped; the work stops as soon as the command arrives.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import os
from collections.abc import Callable, Iterable
from typing import Any, Final

PAGE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MAX_PAGES: Final = 16_384  # what the worker keeps (64 MB of 4 kB pages): the rest is left to fault as usual
_POPULATE_WRITE: Final = 23  # MADV_POPULATE_WRITE
_EINVAL: Final = 22
_CHUNK: Final = 64  # pages per request to the kernel, between two looks at whether the command arrived
_PRESENT: Final = 1 << 63
_EXCLUSIVE: Final = 1 << 56  # "page exclusively mapped": written by this process since the fork (or new)
_SKIPPED: Final = ("[stack]", "[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]")

_libc: Any = None


def _madvise() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return _libc.madvise


def private_writable() -> list[tuple[int, int]]:
    """This process's private writable mappings (start, end), from /proc/self/maps."""
    found = []
    with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) < 5 or fields[1][:2] != "rw" or fields[1][3:4] != "p":
                continue
            if len(fields) > 5 and fields[5] in _SKIPPED:
                continue
            start, _, end = fields[0].partition("-")
            found.append((int(start, 16), int(end, 16)))
    return found


def written() -> list[int]:
    """The page numbers this process wrote since it was forked (or mapped anew), in its private writable
    mappings; at most MAX_PAGES of them. Empty where /proc/self/pagemap cannot be read."""
    pages: list[int] = []
    try:
        descriptor = os.open("/proc/self/pagemap", os.O_RDONLY)
    except OSError:
        return pages
    try:
        for start, end in private_writable():
            first, count = start // PAGE, (end - start) // PAGE
            entries = array.array("Q")
            entries.frombytes(os.pread(descriptor, count * 8, first * 8))
            wanted = _PRESENT | _EXCLUSIVE
            pages.extend(first + index for index, entry in enumerate(entries) if entry & wanted == wanted)
            if len(pages) >= MAX_PAGES:
                return pages[:MAX_PAGES]
    except OSError:
        return []
    finally:
        os.close(descriptor)
    return pages


def ranges(pages: Iterable[int]) -> list[tuple[int, int]]:
    """Page numbers as runs (first page, count), in order."""
    runs: list[tuple[int, int]] = []
    for page in sorted(set(pages)):
        if runs and runs[-1][0] + runs[-1][1] == page:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((page, 1))
    return runs


def encode(pages: list[int]) -> bytes:
    return array.array("Q", pages[:MAX_PAGES]).tobytes()


def decode(data: bytes) -> list[int]:
    """What `encode` wrote; a torn or foreign message gives what it holds of whole numbers, capped."""
    entries = array.array("Q")
    entries.frombytes(data[: len(data) - len(data) % 8][: MAX_PAGES * 8])
    return list(entries)


def populate(runs: list[tuple[int, int]], arrived: Callable[[], bool]) -> int:
    """Copy the pages of `runs` into this process now, until `arrived()` says the command is here. Returns how
    many pages were asked for.

    The runs come from forks of the same worker, so they lie in the private writable mappings this process
    inherited; a run the process no longer has is refused by the kernel and skipped. (Reading /proc/self/maps to
    check first would cost about as much as the copying saves.)"""
    if not runs:
        return 0
    try:
        madvise = _madvise()
    except (OSError, AttributeError):
        return 0
    done = checked = 0
    for first, count in runs:
        low, high = first * PAGE, (first + count) * PAGE
        while low < high:
            size = min(high - low, _CHUNK * PAGE)
            if madvise(low, size, _POPULATE_WRITE) != 0 and ctypes.get_errno() == _EINVAL:
                return done  # a kernel without MADV_POPULATE_WRITE: nothing more to try
            done += size // PAGE
            low += size
        if done >= checked + _CHUNK:
            if arrived():
                return done
            checked = done
    return done


def report(descriptor: int, before: set[int]) -> None:
    """Write the pages this process wrote since `before` (`written()` when its command arrived: what the spare
    wrote for itself is written by every spare anyway) to `descriptor` (a pipe to the worker), never blocking: a
    full pipe cuts the report short (it only makes later commands faster)."""
    data = encode([page for page in written() if page not in before])
    with contextlib.suppress(OSError):
        os.set_blocking(descriptor, False)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
