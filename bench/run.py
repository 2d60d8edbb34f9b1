"""`make bench`: what the YodaSpeak integration costs, measured against the local FunTranslations service.

1. Quota: API calls for 1,000 translations of 50 distinct sentences, for the integration (its real code path
   with the cache, in process, the engine's integration context store) and for a naive client (one
   requests.post per translation). The service's request log counts the calls; the floor is 50.
2. Overhead: one warm in-process `yoda-speak-translate` (cache off, so every call reaches the service) against
   a bare requests.post to the same service; medians of interleaved runs, and their ratio.
3. Cold start: one command end to end in fresh processes, as `make run` does, against the same bare request
   in a fresh `python -c` process; medians of a few runs, and their ratio.
4. Warm execution: one War Room command through the local server (`POST /entry/execute/sync`, HTTP round trip
   included, warm workers) against the in-process call (interleaved) and the cold engine child of section 3.

    python -m bench.run [--markdown docs/benchmark.md] [--overhead-runs N] [--cold-runs N] [--warm-runs N]

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from rich.console import Console
from rich.table import Table

from bench.inprocess import TRANSLATE, YODA_FOLDER, InProcessYodaSpeak
from bench.sampling import interleaved
from bench.warm import measure_warm
from bench.workload import REPEATS, SENTENCES, workload
from standins.funtranslations.server import RunningService, ServiceConfig, serve
from xsoar_local.engine import ParamLayer, build_params, load_integration, run_command
from xsoar_local.incident.store import Incident
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
    warm: tuple[Timing, Timing]  # through the server, in process (interleaved)


def timing(label: str, samples: list[float]) -> Timing:
    return Timing(label, statistics.median(samples), len(samples), (min(samples), max(samples)))


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
    env = {name: value for name, value in os.environ.items() if name not in PROXY_VARIABLES}
    yoda = load_integration(YODA_FOLDER)
    params = build_params(yoda.params, [ParamLayer("bench", {"url": service.url})])
    samples: dict[str, list[float]] = {"cli": [], "engine": [], "bare": []}
    for run in range(runs):
        text = f"{OVERHEAD_TEXT} (cold start {run})"  # never cached
        with tempfile.TemporaryDirectory(prefix="bench-state-") as state:
            argv = [sys.executable, "-m", "xsoar_local", "run", "--integration", str(YODA_FOLDER)]
            started = time.perf_counter()
            completed = subprocess.run(
                [*argv, "--state-dir", state, "--text", text], cwd=REPO_ROOT, env=env, capture_output=True, check=False
            )
            samples["cli"].append(time.perf_counter() - started)
            if completed.returncode != 0:
                raise RuntimeError(f"make run failed: {completed.stdout.decode()}{completed.stderr.decode()}")
        started = time.perf_counter()
        result = run_command(yoda, TRANSLATE, {"text": text}, params, Incident(), env=env, warm=False)
        samples["engine"].append(time.perf_counter() - started)
        if result.is_error:
            raise RuntimeError(f"the engine run failed: {result.error_messages}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", BARE_CHILD, service.url + "yoda", text], env=env, check=True)
        samples["bare"].append(time.perf_counter() - started)
    return (
        timing("make run: CLI process + its service + engine child", samples["cli"]),
        timing("engine child alone (run_command, one fresh process)", samples["engine"]),
        timing("bare: python -c 'requests.post(...)'", samples["bare"]),
    )


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
                "ratio server / in process (goal: at most 10x)",
                ratio(server, in_process),
                f"median of {server.runs} each",
            ],
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
        "process's threads; HTTP round trip, auth, the War Room and the state folder's atomic writes included; "
        "the command runs in a fork of the warm worker for its docker image, made while the previous command "
        "finished and handed the command when it arrives; CommonServerPython's module body still runs in it per "
        "command) against the same command in process "
        f"(`main()`), interleaved, cache off, {options.warm_runs} runs each after a warm-up, medians; and the cold "
        "engine child of the section above (one fresh process per command).",
    )
    for name, table_rows in rows(results).items():
        title, text = sections[name]
        headers = HEADERS[name]
        lines += [title, "", text, "", "| " + " | ".join(headers) + " |", "| --- |" + " ---: |" * (len(headers) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in table_rows]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--overhead-runs", type=int, default=500, help="warm runs of each side (default 500)")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh-process runs of each side (default 7)")
    parser.add_argument("--warm-runs", type=int, default=100, help="runs of each side through the server (default 100)")
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
        with console.status(f"warm execution: {options.warm_runs} runs through the local server"):
            warm_samples = measure_warm(service, yoda, OVERHEAD_TEXT, options.warm_runs)
        warm = (
            timing("War Room command through the local server (HTTP, warm worker)", warm_samples["server"]),
            timing("the same command in process (main(), cache off)", warm_samples["in process"]),
        )
    results = Results(quota, overhead, cold, warm)
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
