"""xsoar-local: run Cortex XSOAR content (integrations, scripts, playbooks) on one machine, offline."""

from __future__ import annotations

from importlib import metadata


def package_version() -> str:
    """The installed distribution's version (`xsoar-local --version`)."""
    try:
        return metadata.version("xsoar-local")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"
