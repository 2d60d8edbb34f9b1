"""The figures of issue #19's "Done when", each a ratio of two things measured side by side in one `make bench` run.

Each measurement alternates its two sides (warm and cold, `-j 2` and `-j 1`, 10,000 incidents and 10, ...), so a
busy moment of the machine hits both alike. A figure whose feature is not in this checkout yet (`--cold`, `-j`,
JavaScript scripts) is reported as skipped with the reason, never as a number.

Content for the playbook figures is generated: one pack with one Python script and N test playbooks, each a
chain of script tasks, in a temporary content root (`synthetic_content`). Integrations run in the toolkit's own
environment (XSOAR_LOCAL_IMAGES=off), so nothing reaches a package index.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsoar_local.errors import UsageError
from xsoar_local.runtime import REPO_ROOT

SCRIPT = "BenchEcho"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass(frozen=True)
class Row:
    """One Done-when figure: what was compared, the ratio, and the issue's target for it."""

    figure: str
    target: str
    ratio: float | None = None  # None: not measured (see `note`)
    met: bool | None = None
    detail: str = ""  # the medians and how many samples
    note: str = ""  # why it was not measured

    def ratio_text(self) -> str:
        return "-" if self.ratio is None else f"{self.ratio:.2f}x"

    def met_text(self) -> str:
        return {True: "yes", False: "NO", None: "skipped"}[self.met]


def measured_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every process the bench starts: offline, the toolkit's own environment for content,
    and bytecode written as on a user's machine (a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise make
    every fresh process compile the toolkit's modules, which no user's `make run` does after its first run)."""
    env = {name: value for name, value in os.environ.items() if name not in PROXY_VARIABLES}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["XSOAR_LOCAL_IMAGES"] = "off"
    env.update(extra or {})
    return env


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# ---- generated content --------------------------------------------------------------------------------------
_SCRIPT_CODE = """\
import demistomock as demisto
from CommonServerPython import *


def main() -> None:
    value = demisto.args().get("value", "")
    return_results(CommandResults(outputs_prefix="Bench.Echo", outputs={"value": value}, readable_output=value))


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
"""

_SCRIPT_YAML = """\
commonfields:
  id: BenchEcho
  version: -1
name: BenchEcho
script: '-'
type: python
subtype: python3
dockerimage: demisto/python3:3.11.10.116949
tags: []
comment: Echoes its value into the context (benchmark content).
enabled: true
args:
- name: value
  description: The value to echo.
outputs:
- contextPath: Bench.Echo.value
  description: The value.
  type: String
runas: DBotWeakRole
fromversion: 6.0.0
"""


def _task(task_id: str, kind: str, name: str, following: str | None, script: str = "") -> dict[str, Any]:
    task: dict[str, Any] = {"id": task_id, "version": -1, "name": name, "description": "", "type": kind}
    task.update({"iscommand": False, "brand": ""})
    if script:
        task["scriptName"] = script
    body: dict[str, Any] = {"id": task_id, "taskid": task_id, "type": kind, "task": task}
    body["nexttasks"] = {"#none#": [following]} if following else {}
    if script:
        body["scriptarguments"] = {"value": {"simple": f"task {task_id}"}}
    body.update({"separatecontext": False, "view": json.dumps({"position": {"x": 450, "y": int(task_id) * 150}})})
    return body


def playbook_yaml(name: str, tasks: int) -> str:
    """A test playbook: start, then `tasks` BenchEcho script tasks in a chain."""
    steps = {"0": _task("0", "start", "", "1" if tasks else None)}
    for index in range(1, tasks + 1):
        following = str(index + 1) if index < tasks else None
        steps[str(index)] = _task(str(index), "regular", f"Echo {index}", following, SCRIPT)
    document = {"id": name, "version": -1, "name": name, "starttaskid": "0", "tasks": steps}
    return json.dumps(document, indent=1)  # JSON is YAML


def synthetic_content(root: Path, playbooks: int, tasks: int) -> Path:
    """A content root with one pack (BenchPack): the BenchEcho script and `playbooks` test playbooks; returns
    its Packs folder (what `--packs` takes)."""
    pack = root / "Packs" / "BenchPack"
    script = pack / "Scripts" / SCRIPT
    script.mkdir(parents=True)
    (script / f"{SCRIPT}.py").write_text(_SCRIPT_CODE, encoding="utf-8")
    (script / f"{SCRIPT}.yml").write_text(_SCRIPT_YAML, encoding="utf-8")
    metadata = {"name": "BenchPack", "description": "Benchmark content.", "support": "community"}
    metadata.update({"currentVersion": "1.0.0", "author": "make bench", "categories": ["Utilities"]})
    (pack / "pack_metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    folder = pack / "TestPlaybooks"
    folder.mkdir()
    for index in range(playbooks):
        name = f"Bench_Test_{index:02d}"
        (folder / f"playbook-{name}.yml").write_text(playbook_yaml(name, tasks), encoding="utf-8")
    return root / "Packs"


# ---- test-playbooks -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    """One `xsoar-local test-playbooks --json` run: its wall time and the seconds of each script task."""

    seconds: float
    task_seconds: list[float]
    cpu_seconds: float = 0.0  # user + system time of the command and every process it waited for


class FeatureMissingError(UsageError):
    """This checkout's command line lacks an option the figure needs."""


def run_test_playbooks(packs: Path, options: Sequence[str], env: Mapping[str, str]) -> Invocation:
    """Run `test-playbooks --json` on `packs` with `options`; FeatureMissingError if the command line lacks one."""
    return run_at_once([packs], options, env)


def run_at_once(folders: Sequence[Path], options: Sequence[str], env: Mapping[str, str]) -> Invocation:
    """`test-playbooks --json` with `options` on each of `folders`, as separate commands started together: the wall
    time until the last one ends, every task's seconds, and the CPU time of them all."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        running = []
        for packs in folders:
            argv = [sys.executable, "-m", "xsoar_local", "test-playbooks", "--packs", str(packs), "--json", *options]
            # files, not pipes: a full pipe would stop one command while the other is waited for
            out, err = (stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8")) for _ in range(2))
            running.append((subprocess.Popen(argv, cwd=REPO_ROOT, env=dict(env), stdout=out, stderr=err), out, err))
        for process, _, _ in running:
            process.wait()
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        task_seconds = []
        for process, out, err in running:
            out.seek(0)
            err.seek(0)
            task_seconds += _task_seconds(process.returncode, out.read(), err.read(), options)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Invocation(seconds, task_seconds, cpu)


def _task_seconds(status: int, stdout: str, stderr: str, options: Sequence[str]) -> list[float]:
    """The script tasks' seconds of one `test-playbooks --json` run; why it failed, if it did."""
    if status != 0 and "unrecognized arguments" in stderr:
        raise FeatureMissingError(stderr.strip().splitlines()[-1])
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"test-playbooks {' '.join(options)} failed: {stdout}{stderr}") from None
    if document.get("failed"):
        raise RuntimeError(f"test-playbooks {' '.join(options)}: a playbook failed: {stdout[-2000:]}")
    return [
        float(task["seconds"])
        for run in document.get("runs", [])
        for task in run.get("tasks", [])
        if task.get("action") == SCRIPT
    ]


def _alternate(sides: Mapping[str, Callable[[], Invocation]], rounds: int) -> dict[str, list[Invocation]]:
    """Each side once per round, in turn (after one untimed round of each)."""
    for call in sides.values():
        call()
    found: dict[str, list[Invocation]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, call in sides.items():
            found[name].append(call())
    return found


def playbook_task_row(rounds: int, playbooks: int, tasks: int) -> Row:
    """A script task in a playbook, warm against `--cold` (XSOAR_LOCAL_WARM=off too): medians over every task."""
    figure = f"script task in a playbook: --cold / warm (median of {rounds * playbooks * tasks} tasks each)"
    target = "at least 10x"
    with tempfile.TemporaryDirectory(prefix="bench-content-") as folder:
        packs = synthetic_content(Path(folder), playbooks, tasks)
        warm_env, cold_env = measured_environment(), measured_environment({"XSOAR_LOCAL_WARM": "off"})
        try:
            found = _alternate(
                {
                    "warm": lambda: run_test_playbooks(packs, [], warm_env),
                    "cold": lambda: run_test_playbooks(packs, ["--cold"], cold_env),
                },
                rounds,
            )
        except FeatureMissingError as missing:
            return Row(figure, target, note=f"test-playbooks has no --cold in this checkout yet ({missing})")
    warm = statistics.median(second for run in found["warm"] for second in run.task_seconds)
    cold = statistics.median(second for run in found["cold"] for second in run.task_seconds)
    ratio = cold / warm
    return Row(figure, target, ratio, ratio >= 10, f"warm {ms(warm)}, --cold {ms(cold)}")


def parallel_row(rounds: int, playbooks: int, tasks: int) -> Row:
    """`test-playbooks -j 2` against `-j 1` on `playbooks` playbooks: wall time of the whole run. Beside them, the
    most any `-j 2` could give on this machine: two `-j 1` commands started together, each on half the playbooks
    (no work shared between them, nothing to hand out)."""
    figure = f"test-playbooks on {playbooks} playbooks: -j 1 / -j 2 (wall time, {rounds} runs each)"
    target = "at least 1.6x"
    with tempfile.TemporaryDirectory(prefix="bench-content-") as folder:
        packs = synthetic_content(Path(folder) / "all", playbooks, tasks)
        halves = [
            synthetic_content(Path(folder) / "first", playbooks // 2, tasks),
            synthetic_content(Path(folder) / "second", playbooks - playbooks // 2, tasks),
        ]
        env = measured_environment()
        try:
            found = _alternate(
                {
                    "-j 1": lambda: run_test_playbooks(packs, ["-j", "1"], env),
                    "-j 2": lambda: run_test_playbooks(packs, ["-j", "2"], env),
                    "halves": lambda: run_at_once(halves, ["-j", "1"], env),
                },
                rounds,
            )
        except FeatureMissingError as missing:
            return Row(figure, target, note=f"test-playbooks has no -j in this checkout yet ({missing})")
    one, two, halved = (statistics.median(run.seconds for run in found[name]) for name in ("-j 1", "-j 2", "halves"))
    ratio = one / two
    # The CPU time says how much a second core can still add: -j 1 already keeps part of it busy (each command's
    # next process is forked and prepared while the command runs).
    cores = {name: statistics.median(run.cpu_seconds / run.seconds for run in runs) for name, runs in found.items()}
    detail = f"-j 1 {ms(one)} ({cores['-j 1']:.2f} cores busy), -j 2 {ms(two)} ({cores['-j 2']:.2f} cores busy); "
    detail += f"two -j 1 on half each, at once: {ms(halved)} ({one / halved:.2f}x, {cores['halves']:.2f} cores busy)"
    return Row(figure, target, ratio, ratio >= 1.6, detail)


# ---- JavaScript -------------------------------------------------------------------------------------------------
JS_PACKAGE = "xsoar_local.engine.javascript"

_JS_CODE = "var value = args.value || '';\nreturn {Type: 1, ContentsFormat: 'text', Contents: value};\n"
_PY_CODE = "demisto.results({'Type': 1, 'ContentsFormat': 'text', 'Contents': demisto.args().get('value', '')})\n"


def _script_yaml(name: str, kind: str) -> str:
    document = {
        "commonfields": {"id": name, "version": -1},
        "name": name,
        "script": "-",
        "type": kind,
        "tags": [],
        "comment": "Echoes its value (benchmark content).",
        "enabled": True,
        "args": [{"name": "value", "description": "The value to echo."}],
        "fromversion": "6.0.0",
    }
    if kind == "python":
        document.update(subtype="python3", dockerimage="demisto/python3:3.11.10.116949")
    return json.dumps(document, indent=1)


def script_pack() -> dict[str, bytes]:
    """A pack (file name -> bytes, as a zip holds it) with one JavaScript and one Python echo script."""
    metadata = {"name": "BenchScripts", "description": "Benchmark content.", "support": "community"}
    metadata.update({"currentVersion": "1.0.0", "author": "make bench", "categories": ["Utilities"]})
    return {
        "pack_metadata.json": json.dumps(metadata).encode(),
        "Scripts/BenchJsEcho/BenchJsEcho.yml": _script_yaml("BenchJsEcho", "javascript").encode(),
        "Scripts/BenchJsEcho/BenchJsEcho.js": _JS_CODE.encode(),
        "Scripts/BenchPyEcho/BenchPyEcho.yml": _script_yaml("BenchPyEcho", "python").encode(),
        "Scripts/BenchPyEcho/BenchPyEcho.py": _PY_CODE.encode(),
    }


def javascript_available() -> bool:
    import importlib.util

    return importlib.util.find_spec(JS_PACKAGE) is not None


# ---- reporting --------------------------------------------------------------------------------------------------
def failing_text(rows: Sequence[Row]) -> str:
    """One line naming the figures that missed their targets (empty when none did)."""
    missed = [row.figure for row in rows if row.met is False]
    return ("Missed: " + "; ".join(missed)) if missed else ""


CODE_NOTE = textwrap.dedent(
    """\
    Every fresh process the bench starts runs with bytecode written (PYTHONDONTWRITEBYTECODE removed), as a
    user's checkout has it after its first run, and with XSOAR_LOCAL_IMAGES=off (content in the toolkit's own
    environment, offline)."""
)
