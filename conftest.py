"""Repository-wide pytest set-up: the XSOAR runtime modules must be fetched first, and loopback is never proxied."""

import os
from pathlib import Path

import pytest

RUNTIME = Path(__file__).parent / ".xsoar-runtime" / "CommonServerPython.py"


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def never_proxy_loopback(environ: "os._Environ[str]") -> None:
    """Add loopback to NO_PROXY/no_proxy: every service the tests talk to is local, and a corporate shell's
    HTTP(S)_PROXY (set without NO_PROXY) must not route 127.0.0.1 through a proxy that cannot reach it."""
    for name in ("NO_PROXY", "no_proxy"):
        listed = [item.strip() for item in environ.get(name, "").split(",") if item.strip()]
        environ[name] = ",".join(listed + [host for host in LOOPBACK if host not in listed])


def pytest_configure(config: pytest.Config) -> None:
    never_proxy_loopback(os.environ)
    if not RUNTIME.is_file():
        pytest.exit("The XSOAR runtime is missing: run `make setup` (it fetches .xsoar-runtime/).", returncode=4)
