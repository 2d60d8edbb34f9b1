"""Repository-wide pytest set-up: the XSOAR runtime modules must be fetched first."""

from pathlib import Path

import pytest

RUNTIME = Path(__file__).parent / ".xsoar-runtime" / "CommonServerPython.py"


def pytest_configure(config: pytest.Config) -> None:
    if not RUNTIME.is_file():
        pytest.exit("The XSOAR runtime is missing: run `make setup` (it fetches .xsoar-runtime/).", returncode=4)
