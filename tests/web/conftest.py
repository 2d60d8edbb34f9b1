"""Fixtures for the browser tests: the real local server (with the web War Room mounted, as `make server` runs it),
the pack installed through its REST API, an instance pointing at the FunTranslations stand-in, and Chromium."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium import webdriver

from standins.funtranslations.server import RunningService, ServiceConfig, serve
from tests.web.browser import start_chromium
from xsoar_local.server.cli import web_war_room
from xsoar_local.server.serve import RunningServer, run_server

ROOT = Path(__file__).parents[2]
PACK = ROOT / "Packs" / "YodaSpeak"
API_KEY = "browser-test-key-3f9c2e7a"
INSTANCE = "YodaSpeak_instance_1"


def pack_zip(folder: Path) -> bytes:
    """The pack folder as an uploadable zip (pack_metadata.json at its root), without caches and tests."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith("_test.py"):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def api(server: RunningServer, method: str, path: str, **kwargs: Any) -> Any:
    """One REST call with the API key, as demisto-sdk makes it; the JSON answer."""
    response = requests.request(method, server.url + path, headers={"Authorization": API_KEY}, timeout=60, **kwargs)
    assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def set_instance_url(server: RunningServer, url: str) -> None:
    """Create or update the Yoda Speak instance so that it calls `url`."""
    found = api(server, "POST", "/settings/integration/search", json={})
    existing = next((item for item in found["instances"] if item["name"] == INSTANCE), None)
    body = {
        "brand": "YodaSpeak",
        "name": INSTANCE,
        "enabled": "true",
        "data": [{"name": "url", "value": url, "hasvalue": True}],
    }
    if existing is not None:
        body["id"] = existing["id"]
    api(server, "PUT", "/settings/integration", json=body)


@pytest.fixture(scope="module")
def funtranslations() -> Iterator[RunningService]:
    with serve(ServiceConfig(rate_limit=None)) as service:
        yield service


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, funtranslations: RunningService) -> Iterator[RunningServer]:
    """The local server on a free port with the pack uploaded and its instance configured."""
    state = tmp_path_factory.mktemp("server-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEMISTO_API_KEY", API_KEY)  # as `DEMISTO_API_KEY=... make server` runs it
        with run_server(state, port=0, web_app_factory=web_war_room) as running:  # what `make server` mounts
            api(running, "POST", "/contentpacks/installed/upload", files={"file": ("YodaSpeak.zip", pack_zip(PACK))})
            set_instance_url(running, funtranslations.url)
            yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()
