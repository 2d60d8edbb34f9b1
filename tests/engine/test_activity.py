"""The engine's idle signal (`executors.ACTIVITY`): the process is idle once no job runs and no caller holds it busy,
and only then does a warm worker's waiting fork copy the pages its command will write (`executors.pages`)."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from xsoar_local.engine.executors import ACTIVITY, Activity, set_prefault_default, shutdown
from xsoar_local.engine.jobs import Job
from xsoar_local.engine.runner import run_job
from xsoar_local.runtime import DEFAULT_DESTINATION, REPO_ROOT


def test_listeners_are_told_once_the_last_piece_of_work_ends() -> None:
    """Given an Activity with a listener, When work is nested and overlaps another thread's,
    Then the listener is told only when the count falls to zero: once per quiet moment, never in between."""
    activity = Activity()
    told: list[str] = []
    activity.listen(lambda: told.append("idle"))
    with activity.busy():
        with activity.busy():
            pass
        assert told == [], "told while outer work was still under way"
        other_started, other_may_end = threading.Event(), threading.Event()

        def other() -> None:
            with activity.busy():
                other_started.set()
                other_may_end.wait(10)

        thread = threading.Thread(target=other)
        thread.start()
        assert other_started.wait(10)
    assert told == [], "told while another thread's work was under way"
    other_may_end.set()
    thread.join(10)
    assert told == ["idle"]
    activity.enter()
    activity.leave()
    assert told == ["idle", "idle"]


def test_a_failing_listener_changes_nothing_for_the_work_or_the_others() -> None:
    """Given two listeners, the first of which raises, When work ends, Then the work's own exit is clean and the
    second listener is still told; a forgotten listener is not told again."""
    activity = Activity()
    told: list[str] = []

    def broken() -> None:
        raise RuntimeError("listener failed")

    def second() -> None:
        told.append("second")

    activity.listen(broken)
    activity.listen(second)
    with activity.busy():
        pass
    assert told == ["second"]
    activity.forget(second)
    with activity.busy():
        pass
    assert told == ["second"]


# Faults the script's own work takes: the pages it writes that its process has not copied from the worker yet.
FAULTS = """
import resource
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
table = tableToMarkdown("Rows", [{"name": f"row {index}", "value": index} for index in range(20)])
CommandResults(outputs_prefix="Probe", outputs={"rows": 20}, readable_output=table).to_context()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
demisto.results({"Type": 1, "ContentsFormat": "json", "Contents": {"faults": after - before}})
"""


@pytest.fixture
def copying_ahead() -> Iterator[None]:
    """Warm workers started in this test copy pages ahead, as in a server; none outlives the test."""
    shutdown()
    previous = set_prefault_default(True)
    try:
        yield
    finally:
        shutdown()
        set_prefault_default(previous)


def _faults() -> int:
    """The page faults of FAULTS's own work, run as a warm job."""
    job = Job(
        kind="script",
        name="Faults",
        folder=str(REPO_ROOT),
        runtime_dir=str(DEFAULT_DESTINATION.resolve()),
        code=FAULTS,
    )
    result = run_job(job, warm=True)
    assert not result.crashed, result.entries
    return int(result.entries[0]["Contents"]["faults"])


def test_the_next_commands_pages_are_copied_only_once_the_process_is_idle(copying_ahead: None) -> None:
    """Given a warm worker that has learned which pages its commands write (its first commands report them),
    When commands follow one another with the process idle in between, and then while a caller holds it busy
    (a server still writing the previous answer),
    Then a command that followed an idle moment takes a fraction of the page faults of one that did not: its
    process copied those pages while it waited, and only once it was told the process was idle."""
    for _ in range(4):  # the first three report what they wrote; the fourth's process is the first to copy
        _faults()
        time.sleep(0.1)
    after_idle = []
    for _ in range(5):
        after_idle.append(_faults())
        time.sleep(0.2)  # idle: the waiting process copies its pages meanwhile
    while_busy = []
    with ACTIVITY.busy():
        _faults()  # its process was made and told before this section: the next ones are not told
        for _ in range(5):
            time.sleep(0.2)
            while_busy.append(_faults())
    idle, busy = statistics.median(after_idle), statistics.median(while_busy)
    assert busy >= 10, f"without copying ahead the script took {while_busy} faults: the test proves nothing"
    assert idle <= busy / 2, f"after an idle moment {after_idle} faults, while busy {while_busy}"
