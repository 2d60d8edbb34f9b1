"""`make bench`: what the YodaSpeak integration costs, measured against the local FunTranslations service.

1. Quota: API calls for 1,000 translations of 50 distinct sentences, for the integration (its real code path
   with the cache, in process, the engine's integration context store) and for a naive client (one
   requests.post per translation). The service's request log counts the calls; the floor is 50.
2. Overhead: one warm in-process `yoda-speak-translate` (cache off, so every call reaches the service) against
   a bare requests.post to the same service; medians of interleaved runs, and their ratio.
3. Cold start: one command end to end in fresh processes, as `make run` does, against the same bare request
   in a fresh `python -c` process; medians of a few runs, and their ratio.
4. Warm execution: one War Room command through the local server (`POST /entry/execute/sync`, HTTP round trip
   included, warm workers) against the in-process call (interleaved, in several runs) and the cold engine child
   of section 3.
5. Done when (issue #19): every figure of the issue as a ratio of two sides measured alternately in this run,
   with its target (bench/donewhen.py); a figure whose feature the checkout lacks is reported as skipped.

    python -m bench.run [--markdown docs/benchmark.md] [--overhead-runs N] [--cold-runs N] [--warm-runs N] ...
    (python -m bench.run --help lists the counts of every figure)

Exit status 1 if the integration spent more calls than the floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from rich.console import Console
from rich.table import Table

from bench import donewhen
from bench.donewhen import CODE_NOTE, Row, measured_environment
from bench.inprocess import TRANSLATE, YODA_FOLDER, InProcessYodaSpeak
from bench.method import DONE_WHEN_METHOD, VARIATION
from bench.sampling import interleaved
from bench.warm import SeedingTooSlowError, measure_scale, measure_scripts, measure_warm
from bench.workload import REPEATS, SENTENCES, workload
from standins.funtranslations.server import RunningService, ServiceConfig, serve
from xsoar_local.engine import ParamLayer, build_params, load_integration, run_command
from xsoar_local.incident.model import Incident
from xsoar_local.runtime import REPO_ROOT

OVERHEAD_TEXT = SENTENCES[0]
BARE_CHILD = (
    "import sys, requests\n"
    "response = requests.post(sys.argv[1], data={'text': sys.argv[2]}, timeout=30)\n"
    "response.raise_for_status()\n"
    "assert response.json()['contents']['translated']\n"
)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass(frozen=True)
class Quota:
    translations: int
    distinct: int
    integration_calls: int
    naive_calls: int


@dataclass(frozen=True)
class Timing:
    label: str
    median: float
    runs: int
    spread: tuple[float, float]  # min, max


@dataclass(frozen=True)
class Results:
    quota: Quota
    overhead: tuple[Timing, Timing]  # integration, bare
    cold: tuple[Timing, Timing, Timing]  # make run (CLI), engine child, bare process
    warm: tuple[Timing, Timing]  # through the server, in process (interleaved; every round's samples)
    back_to_back: tuple[Timing, Timing]  # the same, with no pause between the calls
    done_when: tuple[Row, ...] = ()  # issue #19's figures


def timing(label: str, samples: list[float]) -> Timing:
    return Timing(label, statistics.median(samples), len(samples), (min(samples), max(samples)))


def warm_timings(rounds: list[dict[str, list[float]]], spacing: str) -> tuple[Timing, Timing]:
    """The War Room command through the server and in process, over every round's samples."""
    return (
        timing(
            f"War Room command through the local server (HTTP, warm worker), {spacing}",
            [sample for samples in rounds for sample in samples["server"]],
        ),
        timing(
            f"the same command in process (main(), cache off), {spacing}",
            [sample for samples in rounds for sample in samples["in process"]],
        ),
    )


def measure_quota(service: RunningService, yoda: InProcessYodaSpeak) -> Quota:
    """Runs the 1,000-translation workload through the integration (cache on) and through a naive client."""
    texts = workload()
    yoda.set_cache_hours(24)
    service.clear_requests()
    for text in texts:
        yoda.translate(text)
    integration_calls = len(service.requests)
    service.clear_requests()
    for text in texts:
        requests.post(service.url + "yoda", data={"text": text}, timeout=30).raise_for_status()
    naive_calls = len(service.requests)
    return Quota(len(texts), len(set(texts)), integration_calls, naive_calls)


def measure_overhead(service: RunningService, yoda: InProcessYodaSpeak, runs: int) -> tuple[Timing, Timing]:
    """Warm, interleaved: one integration command (cache off), then one bare requests.post, `runs` times each."""
    yoda.set_cache_hours(0)
    url = service.url + "yoda"

    def bare() -> None:
        requests.post(url, data={"text": OVERHEAD_TEXT}, timeout=30).raise_for_status()

    def integration() -> None:
        yoda.translate(OVERHEAD_TEXT)

    calls = {"integration": integration, "bare": bare}
    samples = interleaved(calls, runs, warm_up=max(10, runs // 10), service=service)  # warm-up: imports, pools
    return (
        timing("yoda-speak-translate in process (main(), cache off)", samples["integration"]),
        timing("bare requests.post", samples["bare"]),
    )


def measure_cold_start(service: RunningService, runs: int) -> tuple[Timing, Timing, Timing]:
    """Fresh processes: `make run`'s CLI (its own service + the engine child), the engine child alone, bare python."""
    env = measured_environment()
    yoda = load_integration(YODA_FOLDER)
    params = build_params(yoda.params, [ParamLayer("bench", {"url": service.url})])
    samples: dict[str, list[float]] = {"cli": [], "engine": [], "bare": []}
    for run in range(-1, runs):  # run -1: untimed, so bytecode and the runtime's compiled code are in place
        text = f"{OVERHEAD_TEXT} (cold start {run})"  # never cached
        with tempfile.TemporaryDirectory(prefix="bench-state-") as state:
            argv = [sys.executable, "-m", "xsoar_local", "run", "--integration", str(YODA_FOLDER)]
            started = time.perf_counter()
            completed = subprocess.run(
                [*argv, "--state-dir", state, "--text", text], cwd=REPO_ROOT, env=env, capture_output=True, check=False
            )
            if run >= 0:
                samples["cli"].append(time.perf_counter() - started)
            if completed.returncode != 0:
                raise RuntimeError(f"make run failed: {completed.stdout.decode()}{completed.stderr.decode()}")
        started = time.perf_counter()
        result = run_command(yoda, TRANSLATE, {"text": text}, params, Incident(), env=env, warm=False)
        if run >= 0:
            samples["engine"].append(time.perf_counter() - started)
        if result.is_error:
            raise RuntimeError(f"the engine run failed: {result.error_messages}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", BARE_CHILD, service.url + "yoda", text], env=env, check=True)
        if run >= 0:
            samples["bare"].append(time.perf_counter() - started)
    return (
        timing("make run: CLI process + its service + engine child", samples["cli"]),
        timing("engine child alone (run_command, one fresh process)", samples["engine"]),
        timing("bare: python -c 'requests.post(...)'", samples["bare"]),
    )


# ---- issue #19's Done-when figures --------------------------------------------------------------------------
def _guarded(figure: str, target: str, measure: Callable[[], Row]) -> Row:
    """A figure's row; a figure that fails to measure says so in its row and the others still run."""
    try:
        return measure()
    except Exception as error:  # the bench reports every figure it can
        return Row(figure, target, note=f"could not be measured: {type(error).__name__}: {error}")


def warm_rounds_row(rounds: list[dict[str, list[float]]]) -> Row:
    """War Room command through the server / in process: the median ratio over every round, and each round's."""
    server = [sample for samples in rounds for sample in samples["server"]]
    local = [sample for samples in rounds for sample in samples["in process"]]
    ratio = statistics.median(server) / statistics.median(local)
    each = [statistics.median(samples["server"]) / statistics.median(samples["in process"]) for samples in rounds]
    detail = f"server {ms(statistics.median(server))}, in process {ms(statistics.median(local))}; "
    detail += "runs: " + ", ".join(f"{value:.2f}x" for value in each)
    return Row(
        f"War Room command: through the server / in process ({len(rounds)} runs of {len(rounds[0]['server'])})",
        "at most 5x; no run over 6x",
        ratio,
        ratio <= 5 and max(each) <= 6,
        detail,
    )


def cold_rows(cold: tuple[Timing, Timing, Timing]) -> list[Row]:
    cli, engine, bare = cold
    return [
        Row(
            f"cold engine child / bare python -c 'requests.post(...)' (median of {engine.runs})",
            "at most 1.9x",
            engine.median / bare.median,
            engine.median / bare.median <= 1.9,
            f"child {ms(engine.median)}, bare {ms(bare.median)}",
        ),
        Row(
            f"make run end to end / bare (median of {cli.runs})",
            "at most 4.5x",
            cli.median / bare.median,
            cli.median / bare.median <= 4.5,
            f"make run {ms(cli.median)}, bare {ms(bare.median)}",
        ),
    ]


def scale_row(service: RunningService, options: argparse.Namespace) -> Row:
    small, large = 10, options.incidents
    figure = f"War Room command with {large:,} incidents in the state / with {small} (median of {options.scale_runs})"
    target = "at most 1.5x"
    try:
        samples = measure_scale(service, OVERHEAD_TEXT, options.scale_runs, small, large, options.seed_budget)
    except SeedingTooSlowError as slow:
        note = f"creating {large:,} incidents took over {options.seed_budget:g} s (stopped at {slow.reached:,})"
        return Row(figure, target, note=note)
    few, many = (statistics.median(samples[f"{count} incidents"]) for count in (small, large))
    return Row(figure, target, many / few, many / few <= 1.5, f"{large:,}: {ms(many)}, {small}: {ms(few)}")


def javascript_row(options: argparse.Namespace) -> Row:
    figure = f"JavaScript script command (warm) / Python script command (warm) (median of {options.script_runs})"
    target = "at most 3x"
    if not donewhen.javascript_available():
        return Row(figure, target, note=f"no JavaScript engine in this checkout yet ({donewhen.JS_PACKAGE})")
    lines = {"javascript": "!BenchJsEcho value=bench", "python": "!BenchPyEcho value=bench"}
    samples = measure_scripts(donewhen.script_pack(), lines, options.script_runs)
    javascript, python = statistics.median(samples["javascript"]), statistics.median(samples["python"])
    return Row(
        figure, target, javascript / python, javascript / python <= 3, f"JS {ms(javascript)}, Python {ms(python)}"
    )


def done_when(
    service: RunningService,
    options: argparse.Namespace,
    cold: tuple[Timing, Timing, Timing],
    warm_rounds: list[dict[str, list[float]]],
    console: Console,
) -> tuple[Row, ...]:
    """Every figure of issue #19's Done-when list, in its order."""
    rows: list[Row] = []
    with console.status("script tasks in playbooks: warm and --cold"):
        rows.append(
            _guarded(
                "script task in a playbook: --cold / warm",
                "at least 10x",
                lambda: donewhen.playbook_task_row(options.task_rounds, options.task_playbooks, options.tasks),
            )
        )
    rows.append(warm_rounds_row(warm_rounds))
    rows += cold_rows(cold)
    with console.status(f"test-playbooks -j 1 and -j 2 on {options.parallel_playbooks} playbooks"):
        rows.append(
            _guarded(
                "test-playbooks -j 1 / -j 2",
                "at least 1.6x",
                lambda: donewhen.parallel_row(options.parallel_rounds, options.parallel_playbooks, options.tasks),
            )
        )
    with console.status(f"a War Room command with {options.incidents:,} incidents in the state and with 10"):
        rows.append(
            _guarded("War Room command, many incidents / few", "at most 1.5x", lambda: scale_row(service, options))
        )
    with console.status("JavaScript and Python script commands, warm"):
        rows.append(_guarded("JavaScript / Python script command", "at most 3x", lambda: javascript_row(options)))
    return tuple(rows)


DONE_WHEN_HEADERS = ("figure (issue #19, Done when)", "ratio", "target", "met", "medians / why not measured")


def done_when_rows(rows: tuple[Row, ...]) -> list[list[str]]:
    return [[row.figure, row.ratio_text(), row.target, row.met_text(), row.note or row.detail] for row in rows]


# ---- reporting ----------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    """Where the figures come from."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
    return {
        "date (UTC)": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M"),
        "nproc": str(nproc),
        "CPU model": cpu,
        "Python": platform.python_version(),
        "requests": requests.__version__,
        "OS": f"{platform.system()} {platform.release()}",
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def ratio(numerator: Timing, denominator: Timing) -> str:
    return f"{numerator.median / denominator.median:.2f}x"


def rows(results: Results) -> dict[str, list[list[str]]]:
    """The three tables as rows of text (used by both the console and the markdown)."""
    q = results.quota
    integration, bare = results.overhead
    cli, engine, bare_cold = results.cold
    server, in_process = results.warm
    close_server, close_local = results.back_to_back
    return {
        "quota": [
            ["YodaSpeak (cache on, in process)", str(q.integration_calls), f"{q.integration_calls / q.distinct:.2f}"],
            ["naive client (requests.post per translation)", str(q.naive_calls), f"{q.naive_calls / q.distinct:.2f}"],
            ["floor (one call per distinct text)", str(q.distinct), "1.00"],
        ],
        "overhead": [
            [integration.label, ms(integration.median), f"{ms(integration.spread[0])} - {ms(integration.spread[1])}"],
            [bare.label, ms(bare.median), f"{ms(bare.spread[0])} - {ms(bare.spread[1])}"],
            ["ratio (integration / bare)", ratio(integration, bare), f"median of {integration.runs} each"],
        ],
        "cold": [
            [cli.label, ms(cli.median), f"{ms(cli.spread[0])} - {ms(cli.spread[1])}"],
            [engine.label, ms(engine.median), f"{ms(engine.spread[0])} - {ms(engine.spread[1])}"],
            [bare_cold.label, ms(bare_cold.median), f"{ms(bare_cold.spread[0])} - {ms(bare_cold.spread[1])}"],
            ["ratio make run / bare", ratio(cli, bare_cold), f"median of {cli.runs} each"],
            ["ratio engine child / bare", ratio(engine, bare_cold), f"median of {engine.runs} each"],
        ],
        "warm": [
            [server.label, ms(server.median), f"{ms(server.spread[0])} - {ms(server.spread[1])}"],
            [in_process.label, ms(in_process.median), f"{ms(in_process.spread[0])} - {ms(in_process.spread[1])}"],
            [engine.label, ms(engine.median), f"{ms(engine.spread[0])} - {ms(engine.spread[1])}"],
            [
                "ratio server / in process (goal: at most 5x)",
                ratio(server, in_process),
                f"median of {server.runs} each",
            ],
            [
                close_server.label,
                ms(close_server.median),
                f"{ms(close_server.spread[0])} - {ms(close_server.spread[1])}",
            ],
            [close_local.label, ms(close_local.median), f"{ms(close_local.spread[0])} - {ms(close_local.spread[1])}"],
            ["ratio back to back (no goal)", ratio(close_server, close_local), f"median of {close_server.runs} each"],
            ["ratio cold engine child / server (goal: at least 5x)", ratio(engine, server), "medians"],
        ],
    }


HEADERS = {
    "quota": ("client", "API calls", "calls per distinct text"),
    "overhead": ("one translation, warm", "median", "min - max"),
    "cold": ("one translation, fresh processes", "median", "min - max"),
    "warm": ("one War Room command", "median", "min - max"),
}


def print_results(console: Console, results: Results, info: dict[str, str]) -> None:
    q = results.quota
    titles = {
        "quota": f"Quota: {q.translations:,} translations of {q.distinct} distinct texts (service request log)",
        "overhead": "Overhead: in process, warm, cache off",
        "cold": "Cold start: one command end to end",
        "warm": "Warm execution: the local server's War Room against in process and a cold engine child",
    }
    for name, table_rows in rows(results).items():
        table = Table(title=titles[name], title_justify="left")
        for index, header in enumerate(HEADERS[name]):
            table.add_column(header, justify="left" if index == 0 else "right")
        for row in table_rows:
            table.add_row(*row)
        console.print(table)
    if results.done_when:
        table = Table(title="Done when (issue #19): ratios from this run", title_justify="left")
        for index, header in enumerate(DONE_WHEN_HEADERS):
            table.add_column(header, justify="right" if index in (1, 3) else "left")
        for row in done_when_rows(results.done_when):
            table.add_row(*row)
        console.print(table)
        console.print(CODE_NOTE, soft_wrap=True)
        missed = donewhen.failing_text(results.done_when)
        if missed:
            console.print(f"[yellow]{missed}[/yellow]", soft_wrap=True)
    console.print("Machine: " + ", ".join(f"{key} {value}" for key, value in info.items()), soft_wrap=True)


def markdown(results: Results, info: dict[str, str], options: argparse.Namespace) -> str:
    q = results.quota
    lines = [
        "# Benchmark",
        "",
        "Figures from one run of `make bench` (`python -m bench.run`), on the machine below. Everything runs",
        "offline against the local FunTranslations service on 127.0.0.1 (rate limit off), so the figures measure",
        "the integration and the engine, not the internet. Re-run `make bench` to get figures for your machine;",
        "`make bench BENCH_ARGS='--markdown docs/benchmark.md'` rewrites this page.",
        "",
        "| machine | |",
        "| --- | --- |",
        *[f"| {key} | {value} |" for key, value in info.items()],
        "",
    ]
    sections = {
        "quota": (
            f"## Quota: {q.translations:,} translations of {q.distinct} distinct texts",
            f"{len(SENTENCES)} realistic English sentences, each asked for {REPEATS} times in a fixed shuffled order. "
            "YodaSpeak runs in process through its own `main()` (the `yoda-speak-translate` command with the "
            "translation cache in the local engine's integration context store); the naive client sends one "
            "`requests.post` per translation. The service's request log counts the calls. The floor is one call "
            "per distinct text.",
        ),
        "overhead": (
            "## Overhead: one translation, in process, warm",
            f"`yoda-speak-translate` through the integration's `main()` with the cache off (every call reaches the "
            f"service) against a bare `requests.post` to the same service; {options.overhead_runs} interleaved runs "
            "each after a warm-up, medians. The difference is the integration's own work: parameter checks, the "
            "CommonServerPython client, parsing and checking the answer, the War Room table and the context.",
        ),
        "cold": (
            "## Cold start: one command end to end, fresh processes",
            f"`make run`'s command line (`python -m xsoar_local run --text ...`: a CLI process that starts the "
            "embedded service and one engine child process, with a fresh state folder) and the engine child alone "
            "(`run_command`, against the benchmark's service), against the same request from a fresh "
            f"`python -c` process that imports requests; {options.cold_runs} runs each, medians.",
        ),
    }
    sections["warm"] = (
        "## Warm execution: a War Room command through the local server",
        f"`POST /entry/execute/sync` with `!{TRANSLATE}` to the local server (`xsoar_local.server`, in this "
        "process's threads; HTTP round trip on a connection kept open, as a `requests.Session` keeps it, auth, "
        "the War Room and the state folder's atomic writes included; the command runs in a fork of the warm worker "
        "for its docker image, made while the previous command finished and handed the command when it arrives; "
        "CommonServerPython's module body ran once in the worker, which also rehearsed a few HTTP requests on "
        "loopback before its first fork, and the fork re-runs only its statements that read the command; while it "
        "waited the fork joined its cgroup, added the Landlock rules every command shares (worked out once by the "
        "worker) and copied the memory pages commands write (learned from the worker's first three commands), so "
        "the command takes almost no copy-on-write faults; its folder is in memory (/dev/shm); its process group is "
        "killed once its result is written, its folder removed after the answer) against the same command in "
        "process "
        f"(`main()`), interleaved, cache off, {options.warm_rounds} runs of {options.warm_runs} each after a "
        f"warm-up, medians of every sample, the calls {options.warm_settle:g} ms apart (the bench's core kept "
        "awake: a War Room user's commands are seconds apart); then the same back to back, where what the server "
        "does after each answer lands on the next timed call, the in-process one included; and the cold engine "
        "child of the section above (one fresh process per command).",
    )
    tables = dict(rows(results).items())
    if results.done_when:
        sections["done_when"] = (
            "## Done when (issue #19): ratios from this run",
            DONE_WHEN_METHOD[0]
            + "\n\n"
            + "\n".join(DONE_WHEN_METHOD[1:])
            + "\n\n"
            + CODE_NOTE.replace("\n", " ")
            + "\n\n"
            + VARIATION,
        )
        tables["done_when"] = done_when_rows(results.done_when)
    for name, table_rows in tables.items():
        title, text = sections[name]
        headers = DONE_WHEN_HEADERS if name == "done_when" else HEADERS[name]
        lines += [title, "", text, "", "| " + " | ".join(headers) + " |", "| --- |" + " ---: |" * (len(headers) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in table_rows]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--overhead-runs", type=int, default=500, help="warm runs of each side (default 500)")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh-process runs of each side (default 7)")
    parser.add_argument("--warm-runs", type=int, default=100, help="runs of each side through the server (default 100)")
    parser.add_argument("--warm-rounds", type=int, default=5, help="runs of the server figure (default 5)")
    parser.add_argument(
        "--warm-settle", type=float, default=10, help="milliseconds between War Room commands (default 10)"
    )
    parser.add_argument("--task-rounds", type=int, default=2, help="test-playbooks runs per side (default 2)")
    parser.add_argument("--task-playbooks", type=int, default=5, help="playbooks for the task figure (default 5)")
    parser.add_argument("--tasks", type=int, default=4, help="script tasks per generated playbook (default 4)")
    parser.add_argument("--parallel-playbooks", type=int, default=20, help="playbooks for -j (default 20)")
    parser.add_argument("--parallel-rounds", type=int, default=3, help="test-playbooks runs per -j (default 3)")
    parser.add_argument("--incidents", type=int, default=10_000, help="incidents in the big state (default 10000)")
    parser.add_argument("--scale-runs", type=int, default=50, help="commands per state size (default 50)")
    parser.add_argument("--seed-budget", type=float, default=300, help="seconds allowed to create them (default 300)")
    parser.add_argument("--script-runs", type=int, default=50, help="JavaScript and Python commands (default 50)")
    parser.add_argument("--markdown", type=Path, help="also write the figures as markdown to this file")
    options = parser.parse_args(argv)
    for name in PROXY_VARIABLES:  # loopback only; CommonServerPython would drop them in process anyway
        os.environ.pop(name, None)
    console = Console()
    with serve(ServiceConfig(rate_limit=None)) as service:
        yoda = InProcessYodaSpeak(service.url, cache_hours=24)
        with console.status("quota: 1,000 translations, twice"):
            quota = measure_quota(service, yoda)
        with console.status(f"overhead: {options.overhead_runs} warm runs each"):
            overhead = measure_overhead(service, yoda, options.overhead_runs)
        with console.status(f"cold start: {options.cold_runs} fresh-process runs each"):
            cold = measure_cold_start(service, options.cold_runs)
        settle = options.warm_settle / 1000
        warm_rounds, close_rounds = [], []
        for number in range(options.warm_rounds):
            with console.status(f"warm execution, run {number + 1}: {options.warm_runs} runs through the local server"):
                warm_rounds.append(measure_warm(service, yoda, OVERHEAD_TEXT, options.warm_runs, settle))
                close_rounds.append(measure_warm(service, yoda, OVERHEAD_TEXT, options.warm_runs))
        warm = warm_timings(warm_rounds, f"{options.warm_settle:g} ms apart")
        back_to_back = warm_timings(close_rounds, "back to back")
        rows_ = done_when(service, options, cold, warm_rounds, console)
    results = Results(quota, overhead, cold, warm, back_to_back, rows_)
    info = machine()
    print_results(console, results, info)
    if options.markdown:
        options.markdown.write_text(markdown(results, info, options), encoding="utf-8")
        console.print(f"Wrote {options.markdown}")
    if quota.integration_calls > quota.distinct:
        console.print(f"[red]YodaSpeak made {quota.integration_calls} calls; the floor is {quota.distinct}.[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
