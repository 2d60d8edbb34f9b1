"""xsoar-local: run Cortex XSOAR content (integrations, scripts, playbooks) on one machine, offline."""

from __future__ import annotations


def package_version() -> str:
    """The installed distribution's version (`xsoar-local --version`)."""
    # Imported here, not with the package: every engine child imports this package, and importlib.metadata
    # costs it about a tenth of a bare Python start.
    from importlib import metadata

    try:
        return metadata.version("xsoar-local")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"
