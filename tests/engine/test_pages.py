"""The pages a warm worker's fork writes, learned and copied ahead by the next spare (engine/executors/pages.py).

The forks below are real: a buffer made before the fork is shared with it until the child writes to it, which is
what a command does to the worker's memory.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Callable

import pytest

from xsoar_local.engine.executors import pages

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pagemap and madvise are Linux's")

PAGES = 256


def _read_to_end(read_end: int, pid: int) -> bytes:
    """Everything the forked child `pid` wrote to the pipe, read until it is closed; then the child is reaped."""
    data = b""
    while chunk := os.read(read_end, 1 << 16):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    return data


def _in_fork(work: Callable[[], object]) -> object:
    """Run `work` in a forked child; its JSON result (or its error) comes back through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            answer = json.dumps({"value": work()})
        except BaseException as error:
            answer = json.dumps({"error": repr(error)})
        os.write(write_end, answer.encode())
        os._exit(0)
    os.close(write_end)
    data = _read_to_end(read_end, pid)
    message = json.loads(data)
    assert "error" not in message, f"the child failed: {message.get('error')}"
    return message["value"]


def _buffer_pages(buffer: bytearray) -> list[int]:
    import ctypes

    address = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
    first = -(-address // pages.PAGE)  # whole pages inside the buffer only
    last = (address + len(buffer)) // pages.PAGE
    return list(range(first, last))


def _touch(buffer: bytearray) -> None:
    for offset in range(0, len(buffer), pages.PAGE):
        buffer[offset] = (buffer[offset] + 1) % 256


@pytest.fixture
def shared_buffer() -> bytearray:
    buffer = bytearray(b"\x01" * (PAGES + 2) * pages.PAGE)  # written here: real pages the fork will share
    return buffer


def test_a_fork_reports_the_shared_pages_it_wrote(shared_buffer: bytearray) -> None:
    """Given a buffer the parent wrote before forking,
    When the child writes to every page of it, Then `written()` in the child lists those pages,
    and before the writes it listed none of them."""
    wanted = set(_buffer_pages(shared_buffer))

    def child() -> dict[str, int]:
        before = wanted & set(pages.written())
        _touch(shared_buffer)
        after = wanted & set(pages.written())
        return {"before": len(before), "after": len(after)}

    seen = _in_fork(child)
    assert seen == {"before": 0, "after": len(wanted)}, f"of {len(wanted)} pages written: {seen}"


def test_copied_ahead_pages_are_written_without_faults(shared_buffer: bytearray) -> None:
    """Given the runs of a buffer's pages (what an earlier fork reported),
    When a new fork populates them and then writes every page,
    Then the writes take (almost) no page faults, where a fork that did not populate takes one per page."""
    runs = pages.ranges(_buffer_pages(shared_buffer))

    def child(copy_ahead: bool) -> int:
        if copy_ahead:
            assert pages.populate(runs, lambda: False) >= PAGES
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        _touch(shared_buffer)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    cold = _in_fork(lambda: child(False))
    ahead = _in_fork(lambda: child(True))
    assert isinstance(cold, int)
    assert isinstance(ahead, int)
    assert cold >= PAGES * 0.9, f"without copying ahead, {cold} faults for {PAGES} pages: the test proves nothing"
    assert ahead <= PAGES * 0.1, f"{ahead} faults after copying {PAGES} pages ahead"


def test_populating_stops_when_the_command_arrives(shared_buffer: bytearray) -> None:
    """Given many runs to copy, When `arrived()` says yes at its first look, Then populate stops early."""
    runs = [(page, 1) for page in _buffer_pages(shared_buffer)]
    done = _in_fork(lambda: pages.populate(runs, lambda: True))
    assert isinstance(done, int)
    assert 0 < done < len(runs), f"copied {done} of {len(runs)} pages"


def test_a_report_goes_through_a_pipe(shared_buffer: bytearray) -> None:
    """Given a fork that wrote a buffer's pages, When it reports them on a pipe, Then the reader decodes exactly the
    pages it wrote since `before` (not the ones it wrote earlier)."""
    wanted = _buffer_pages(shared_buffer)
    half = len(wanted) // 2
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        for page in wanted[:half]:  # written before the command: the spare's own
            shared_buffer[page * pages.PAGE - _address(shared_buffer)] = 7
        before = set(pages.written())
        _touch(shared_buffer)
        pages.report(write_end, before)
        os._exit(0)
    os.close(write_end)
    data = _read_to_end(read_end, pid)
    reported = set(pages.decode(data))
    assert set(wanted[half:]) <= reported, "pages written during the command are missing from the report"
    assert not set(wanted[:half]) & reported, "pages written before the command were reported"


def _address(buffer: bytearray) -> int:
    import ctypes

    return ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))


@pytest.mark.parametrize(
    ("numbers", "runs"),
    [
        pytest.param([], [], id="none"),
        pytest.param([5], [(5, 1)], id="one"),
        pytest.param([3, 1, 2, 2], [(1, 3)], id="unsorted-with-a-repeat"),
        pytest.param([1, 2, 4, 5, 9], [(1, 2), (4, 2), (9, 1)], id="three-runs"),
    ],
)
def test_pages_become_runs(numbers: list[int], runs: list[tuple[int, int]]) -> None:
    """Given page numbers, When made into runs, Then each run is (first page, count) in order, repeats merged."""
    assert pages.ranges(numbers) == runs


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(pages.encode([1, 2, 3]), [1, 2, 3], id="whole"),
        pytest.param(pages.encode([1, 2, 3])[:-3], [1, 2], id="torn-at-the-end"),
        pytest.param(b"", [], id="empty"),
    ],
)
def test_a_report_decodes_to_whole_numbers(data: bytes, expected: list[int]) -> None:
    """Given a report as written (possibly cut short by a full pipe), When decoded, Then only whole numbers come
    back."""
    assert pages.decode(data) == expected


def test_a_report_is_capped() -> None:
    """Given more pages than the worker keeps, When encoded and decoded, Then MAX_PAGES come back."""
    assert len(pages.decode(pages.encode(list(range(pages.MAX_PAGES + 10))))) == pages.MAX_PAGES
