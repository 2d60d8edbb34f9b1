"""The warm-execution row of `make bench`: one War Room command through the local server (HTTP round trip
included) against the same command in process, interleaved, with the cache off so every run reaches the service.

The server runs in this process's threads (`run_server`) on a fresh state folder; the pack is installed from
Packs/YodaSpeak as it is in the repository (the package layout), with an instance pointing at the benchmark's
FunTranslations stand-in.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.inprocess import TRANSLATE, InProcessYodaSpeak
from bench.sampling import interleaved
from standins.funtranslations.server import RunningService
from xsoar_local.errors import StateError
from xsoar_local.runtime import REPO_ROOT
from xsoar_local.server.serve import run_server

PACK = REPO_ROOT / "Packs" / "YodaSpeak"
_SKIPPED = ("__pycache__", ".pytest_cache", ".hypothesis")


def pack_zip(folder: Path = PACK) -> bytes:
    """The pack folder zipped with its files at the root (tests and caches left out)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not any(part in _SKIPPED for part in relative.parts) and "_test" not in path.stem:
                archive.write(path, relative.as_posix())
    return buffer.getvalue()


def _instance(configuration: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    data = []
    for param in configuration["configuration"]:
        entry = dict(param)
        if param["name"] in values:
            entry.update(value=values[param["name"]], hasvalue=True)
        data.append(entry)
    return {"brand": configuration["name"], "name": "bench_yoda", "enabled": "true", "data": data}


def measure_warm(
    service: RunningService, yoda: InProcessYodaSpeak, text: str, runs: int, settle: float = 0.0
) -> dict[str, list[float]]:
    """Interleaved samples (seconds): `server` (POST /entry/execute/sync) and `in process` (main() in this process),
    `settle` seconds apart (`interleaved`)."""
    key = secrets.token_hex(16)
    yoda.set_cache_hours(0)
    with (
        tempfile.TemporaryDirectory(prefix="bench-server-") as state,
        run_server(Path(state), environ={"DEMISTO_API_KEY": key}) as server,
    ):
        core = server.core
        core.upload_pack(pack_zip(), "YodaSpeak.zip")
        configuration = core.search_integrations()["configurations"][0]
        core.save_instance(_instance(configuration, {"url": service.url, "cache_hours": "0"}))
        session = requests.Session()
        session.headers["Authorization"] = key
        body = {"investigationId": core.playground_id(), "data": f'!{TRANSLATE} text="{text}"'}

        def through_server() -> None:
            response = session.post(server.url + "/entry/execute/sync", json=body, timeout=60)
            response.raise_for_status()
            entries = response.json()
            if [entry["type"] for entry in entries] != [1]:
                raise RuntimeError(f"the command failed through the server: {entries}")

        calls = {"server": through_server, "in process": lambda: yoda.translate(text)}
        # warm-up: the worker process, connection pools
        return interleaved(calls, runs, warm_up=max(5, runs // 10), service=service, settle=settle)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


class SeedingTooSlowError(StateError):
    """Seeding the server state took longer than the budget."""

    def __init__(self, reached: int) -> None:
        super().__init__(reached)
        self.reached = reached


SEED_BATCH = 500


def seed_incidents(core: Any, count: int, details: str, deadline: float) -> None:
    """`count` incidents in the server's state, made as `POST /incident` makes them (`new_incident`: the same
    records, ids and files) but saved `SEED_BATCH` to a transaction, not one save and its fsyncs per incident:
    the figure is a War Room command on a big state, not the time to build it. SeedingTooSlowError past
    `deadline` (time.monotonic())."""
    made = 0
    while made < count:
        with core.state.transaction() as changes:
            for index in range(made, min(count, made + SEED_BATCH)):
                core.investigations.new_incident(changes, {"name": f"bench incident {index}", "details": details})
        made = min(count, made + SEED_BATCH)
        if time.monotonic() > deadline and made < count:
            raise SeedingTooSlowError(made)


def measure_scale(
    service: RunningService, text: str, runs: int, small: int, large: int, budget: float
) -> dict[str, list[float]]:
    """Interleaved samples (seconds) of one War Room command on a server holding `small` incidents and on one
    holding `large`; SeedingTooSlowError when creating the incidents (`seed_incidents`) outlasts `budget`."""
    key = secrets.token_hex(16)
    with contextlib.ExitStack() as stack:
        calls = {}
        for label, count in ((f"{small} incidents", small), (f"{large} incidents", large)):
            state = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scale-"))
            server = stack.enter_context(run_server(Path(state), environ={"DEMISTO_API_KEY": key}))
            core = server.core
            core.upload_pack(pack_zip(), "YodaSpeak.zip")
            configuration = core.search_integrations()["configurations"][0]
            core.save_instance(_instance(configuration, {"url": service.url, "cache_hours": "0"}))
            seed_incidents(core, count, text, time.monotonic() + budget)
            session = requests.Session()
            session.headers["Authorization"] = key
            calls[label] = _war_room_call(session, server.url, core.playground_id(), f'!{TRANSLATE} text="{text}"')
        return interleaved(calls, runs, warm_up=max(3, runs // 10), service=service)


def _war_room_call(session: requests.Session, url: str, investigation: str, line: str) -> Callable[[], None]:
    body = {"investigationId": investigation, "data": line}

    def call() -> None:
        response = session.post(url + "/entry/execute/sync", json=body, timeout=120)
        response.raise_for_status()
        entries = response.json()
        if [entry["type"] for entry in entries] != [1]:
            raise RuntimeError(f"{line} failed through the server: {entries}")

    return call


def measure_scripts(files: dict[str, bytes], lines: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Interleaved samples (seconds) of War Room lines (label -> line) on a server with the pack `files`."""
    key = secrets.token_hex(16)
    with (
        tempfile.TemporaryDirectory(prefix="bench-scripts-") as state,
        run_server(Path(state), environ={"DEMISTO_API_KEY": key}) as server,
    ):
        server.core.upload_pack(_zip(files), "BenchScripts.zip")
        session = requests.Session()
        session.headers["Authorization"] = key
        investigation = server.core.playground_id()
        calls = {label: _war_room_call(session, server.url, investigation, line) for label, line in lines.items()}
        return interleaved(calls, runs, warm_up=max(3, runs // 10), service=None)
