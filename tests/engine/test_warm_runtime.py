"""CommonServerPython's module body runs once per warm worker, yet every command sees a fresh import of it.

The warm worker runs the module body before it forks; each fork re-runs only the statements that read the
command (params, debug mode, the clock). These tests run real jobs through the warm executor and, for comparison,
through the cold one (a fresh process each time).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine.codecache import compiled
from xsoar_local.engine.executors import RunOptions, refuse_nested
from xsoar_local.engine.executors.cold import ColdExecutor
from xsoar_local.engine.executors.warm import WarmExecutor
from xsoar_local.engine.jobs import Job
from xsoar_local.engine.prepared import prepare_runtime
from xsoar_local.runtime import DEFAULT_DESTINATION, read_verified

# What a fresh import computes from the command: the code reports it, then changes CSP's globals in every way it
# can (rebinding a function, mutating a module-level dict, rebinding a constant) to see whether the next
# command inherits any of it.
PROBE = """
import json, os
from datetime import datetime
import CommonServerPython as imported
demisto.results(json.dumps({
    "imported": {
        "secrets": sorted(imported.LOG.replace_strs),
        "same_demisto": imported.demisto is demisto,
        "started_after_sending": imported.SAFE_SLEEP_START_TIME >= datetime.fromisoformat(demisto.args()["sent_at"]),
    },
    "worker": os.getppid(),
    "secrets": sorted(LOG.replace_strs),
    "params_type": type(demisto.callingContext["params"]).__name__,
    "started_after_sending": SAFE_SLEEP_START_TIME >= datetime.fromisoformat(demisto.args()["sent_at"]),
    "debug_logger": _requests_logger is not None,
    "left_by_the_previous_command": {
        "table_function": not callable(tableToMarkdown),
        "line_mapping": "PlantedByACommand" in _MODULES_LINE_MAPPING,
        "constant": IS_PY3 is None,
        "new_global": "PLANTED_GLOBAL" in globals(),
    },
}))
tableToMarkdown = None
_MODULES_LINE_MAPPING["PlantedByACommand"] = {}
IS_PY3 = None
PLANTED_GLOBAL = True
"""


def probe_job(folder: Path, secret: str, debug: bool = False) -> dict[str, Any]:
    """An integration command job as the engine builds it, with the probe as the code."""
    return {
        "kind": "integration",
        "name": "WarmProbe",
        "code": PROBE,
        "folder": str(folder),
        "runtime_dir": str(DEFAULT_DESTINATION),
        "command": "warm-probe",
        "args": {"sent_at": datetime.now().isoformat()},
        "params": {"url": "https://probe.example", "credentials": {"identifier": "user", "password": secret}},
        "is_debug": debug,
        "brand": "WarmProbe",
        "instance": "WarmProbe_instance_1",
        "docker_image": "demisto/python3:warm-probe",
        "context": {},
        "incident": {"id": "1"},
    }


def report(result: dict[str, Any]) -> dict[str, Any]:
    entries = result.get("entries") or []
    assert entries, f"the probe wrote no entry: {result}"
    assert not result.get("crashed"), f"the probe crashed: {result}"
    return dict(json.loads(entries[0]["Contents"]))


@pytest.fixture(scope="module")
def pool() -> Iterator[WarmExecutor]:
    warm = WarmExecutor()
    yield warm
    warm.close()


@pytest.mark.parametrize(
    "warm",
    [pytest.param(True, id="warm worker (module body once)"), pytest.param(False, id="fresh process each time")],
)
def test_each_command_sees_a_fresh_import(pool: WarmExecutor, tmp_path: Path, warm: bool) -> None:
    """Given three commands of one integration with different secrets, the second in debug mode,
    When they run one after the other (through one warm worker, or each in a fresh process),
    Then each saw its own params' secrets in LOG and in callingContext, its own debug mode and a start time after it
    was sent, and none saw the globals the previous command changed."""
    executor = pool if warm else ColdExecutor()
    secrets = ["first-secret-1111", "second-secret-2222", "third-secret-3333"]
    reports = []
    for index, secret in enumerate(secrets):
        job = Job.from_json(probe_job(tmp_path, secret, debug=index == 1))
        result = executor.run(job, refuse_nested, RunOptions()).to_json()
        reports.append(report(result))
    for secret, seen in zip(secrets, reports, strict=True):
        assert secret in seen["secrets"], f"LOG does not mask this command's secret {secret}: {seen['secrets']}"
        assert not set(secrets) - {secret} & set(seen["secrets"]), f"LOG masks another command's secret: {seen}"
        assert seen["params_type"] == "SmartGetDict", f"callingContext params not set from this command: {seen}"
        assert seen["started_after_sending"], "SAFE_SLEEP_START_TIME is older than the command"
        assert not any(seen["left_by_the_previous_command"].values()), f"a previous command's change leaked: {seen}"
        imported = seen["imported"]  # what `import CommonServerPython` gives the code: this command's values too
        assert secret in imported["secrets"], f"the imported module's LOG is another command's: {imported}"
        assert imported["same_demisto"], "the imported module's demisto is not this command's"
        assert imported["started_after_sending"], (
            "the imported module's SAFE_SLEEP_START_TIME is older than the command"
        )
    assert [seen["debug_logger"] for seen in reports] == [False, True, False], "debug mode was not per command"
    if warm:
        assert len({seen["worker"] for seen in reports}) == 1, "the commands did not run in forks of one worker"


def test_only_the_statements_that_read_the_command_run_per_command() -> None:
    """Given the pinned CommonServerPython,
    When a worker prepares it,
    Then exactly four top-level statements are kept to run per command: the start time, the params copy into
    callingContext, LOG with the params' secrets, and the debug-mode request logger; the rest ran once."""
    verified = read_verified(DEFAULT_DESTINATION)
    filename = str(DEFAULT_DESTINATION / "CommonServerPython.py")
    data = verified["CommonServerPython.py"]
    prepared = prepare_runtime(filename, data, compiled(filename, data, None))
    lines = data.decode("utf-8").splitlines()
    kept = [" ".join(line.strip() for line in lines[number - 1 : number + 1]) for number in prepared.per_command_lines]
    expected = [
        "SAFE_SLEEP_START_TIME = datetime.now()",
        "SmartGetDict(demisto.params())",
        "LOG = IntegrationLogger",
        "is_debug_mode()",
    ]
    assert len(kept) == len(expected), f"per-command statements: {kept}"
    for statement, part in zip(kept, expected, strict=True):
        assert part in statement, f"per-command statement {statement!r} is not the expected one ({part!r})"
