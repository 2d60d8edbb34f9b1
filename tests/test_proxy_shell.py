"""The test suite itself works in a corporate shell: HTTP(S)_PROXY set to a proxy that cannot be reached."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_loopback_tests_pass_with_an_unreachable_proxy_and_no_no_proxy() -> None:
    """Given HTTP_PROXY/HTTPS_PROXY (both cases) pointing at a closed port and no NO_PROXY,
    When tests that call the local service over HTTP run, Then they pass: loopback is never proxied."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: connections are refused
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
        env.update({"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy})
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/standins/funtranslations/test_server.py",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert completed.returncode == 0, completed.stdout[-3000:]
