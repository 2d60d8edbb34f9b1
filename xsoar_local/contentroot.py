"""The content root a command works on: `--packs` when given, else the `Packs/` folder of the content repository
around the working folder, found by walking up from it (as demisto-sdk finds its content repository), so that
commands work from any folder of a pack."""

from __future__ import annotations

import argparse
from pathlib import Path

from xsoar_local.errors import UsageError

PACKS = "Packs"


class ContentRootError(UsageError):
    """No content repository around the working folder, and no --packs."""


def find_packs(start: Path | None = None) -> Path:
    """The nearest `Packs/` folder in `start` (default: the working folder) or a folder above it."""
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
