"""The test suite itself works in a corporate shell: HTTP(S)_PROXY set to a proxy that cannot be reached.

The guarantee is structural (the root conftest.py adds loopback to NO_PROXY before any test runs, and children
inherit it); this test checks it on a fast selection from every area that talks to something on loopback, so a
test that builds its own environment, client or session and bypasses it is caught without running the whole suite.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# area -> tests that reach a loopback service over HTTP(S), chosen to be quick (a few seconds in all)
SELECTION = {
    "stand-in": ["tests/standins/funtranslations/test_server.py"],
    "server": ["tests/server/test_access.py"],
    "web core": ["tests/web/test_app.py", "tests/web/test_bridge.py"],
    "resilience": [
        "tests/resilience/test_retries.py::test_rate_limit_is_never_retried",
        "tests/resilience/test_retries.py::test_an_untrusted_certificate_is_tried_once_not_retried",
    ],
    "cli": [
        "tests/cli/test_cli.py::test_success_prints_the_table_and_context_and_saves_them",
        "tests/cli/test_make.py::test_make_run_blank_text_holds_the_readme_row",
        "tests/cli/test_make.py::test_make_playbook_details_reach_the_incident_untouched",
    ],
}


@pytest.mark.timeout(360)  # a few seconds when loopback is not proxied; a broken guarantee takes longer to fail
def test_loopback_tests_pass_with_an_unreachable_proxy_and_no_no_proxy() -> None:
    """Given HTTP_PROXY/HTTPS_PROXY (both cases) pointing at a closed port and no NO_PROXY,
    When tests of the stand-in, the server, the web core, resilience and the CLI run,
    Then they all pass (none skipped): loopback is never proxied."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: connections are refused
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
        env.update({"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy})
        tests = [test for area in SELECTION.values() for test in area]
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", "--timeout", "60", *tests],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    summary = completed.stdout[-3000:]
    assert completed.returncode == 0, f"tests failed behind an unreachable proxy:\n{summary}"
    # a selected test that no longer exists fails the run above (pytest: "not found", exit status 4)
    assert not re.search(r"\d+ (skipped|deselected)", summary), f"some tests did not run:\n{summary}"
