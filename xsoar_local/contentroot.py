"""The content root a command works on: `--packs` when given, else the `Packs/` folder of the content repository
around the working folder, found by walking up from it (as demisto-sdk finds its content repository), so that
commands work from any folder of a pack."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from xsoar_local.errors import UsageError
from xsoar_local.runtime import REPO_ROOT, in_checkout

PACKS = "Packs"
# demisto-sdk's own override of the content repository it works on (it otherwise takes the git repository around
# the working folder): honoured here too, so one setting serves both tools.
CONTENT_PATH_ENV = "DEMISTO_SDK_CONTENT_PATH"


class ContentRootError(UsageError):
    """No content repository around the working folder, and no --packs."""


def find_packs(start: Path | None = None, environ: Mapping[str, str] = os.environ) -> Path:
    """$DEMISTO_SDK_CONTENT_PATH/Packs when set, else the nearest `Packs/` in `start` (default: the working folder)
    or a folder above it."""
    configured = environ.get(CONTENT_PATH_ENV)
    if configured:
        packs = Path(configured) / PACKS
        if not packs.is_dir():
            raise ContentRootError(
                f"{CONTENT_PATH_ENV}={configured} has no {PACKS}/ folder: point it at a content repository, or unset it"
            )
        return packs
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PACKS).is_dir():
            return folder / PACKS
    raise ContentRootError(
        f"no {PACKS}/ folder in {here} or any folder above it: run xsoar-local inside a content repository "
        "(a folder holding Packs/), or pass --packs FOLDER"
    )


def resolve_packs(options: argparse.Namespace, start: Path | None = None) -> None:
    """Fill in `options.packs` for a command that has the option, was not given it and needs a content root."""
    if getattr(options, "packs", "") is None and not getattr(options, "integration", None):
        options.packs = str(find_packs(start))


def resolve_state_dir(options: argparse.Namespace, start: Path | None = None) -> None:
    """An installed tool keeps its default state folder in the content repository (`.xsoar-local/` beside
    `Packs/`, as a checkout of this repository keeps it beside its own), never inside site-packages.

    Only a default is moved: a `--state-dir` or $XSOAR_LOCAL_STATE_DIR the user gave stays as given.
    """
    # The defaults of `run`/`fetch`/`playbook` and of `server` (xsoar_local.incident.model, xsoar_local.server.cli).
    default_dir, server_dir = REPO_ROOT / ".xsoar-local", REPO_ROOT / ".xsoar-local" / "server"
    given = getattr(options, "state_dir", None)
    if in_checkout() or given is None or Path(given) not in (default_dir, server_dir):
        return
    packs = getattr(options, "packs", None)
    if packs:
        repository = Path(packs).resolve().parent
    else:
        try:
            repository = find_packs(start).parent
        except ContentRootError:
            repository = (start or Path.cwd()).resolve()
    local = repository / ".xsoar-local"
    options.state_dir = type(given)(local / "server" if Path(given) == server_dir else local)
