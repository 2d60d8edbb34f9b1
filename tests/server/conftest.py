"""Fixtures: the FunTranslations stand-in and a local server started as users start it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from standins.funtranslations.server import RunningService, ServiceConfig, serve
from tests.server.support import ServerProcess


@pytest.fixture(scope="module")
def service() -> Iterator[RunningService]:
    """The FunTranslations stand-in on loopback, without a rate limit (the tests send many translations)."""
    with serve(ServiceConfig(rate_limit=None)) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`python -m xsoar_local.server --port 0` on a fresh state folder, stopped with Ctrl-C at the end."""
    process = ServerProcess(Path(tmp_path_factory.mktemp("server-state"))).start()
    yield process
    if process.process is not None and process.process.poll() is None:
        process.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Start servers for one test; any still running at its end (a failed assertion) is killed, never left behind."""
    started: list[ServerProcess] = []

    def start(state_dir: Path, **options: Any) -> ServerProcess:
        process = ServerProcess(state_dir, **options)
        started.append(process)
        return process.start()

    yield start
    for server in started:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait()
