"""Shared command line of the scripts that draw the pack's pictures: write the file, or --check it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def run(doc: str, default_output: Path, produce: Callable[[], bytes], argv: list[str] | None = None) -> int:
    """Write what `produce` returns to --output, or with --check fail if the file on disk differs."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--output", type=Path, default=default_output, help="where to write the file")
    parser.add_argument("--check", action="store_true", help="fail if the file differs from a fresh drawing")
    args = parser.parse_args(argv)
    script = Path(sys.argv[0]).name
    data = produce()
    if args.check:
        if not args.output.is_file() or args.output.read_bytes() != data:
            print(f"{script}: {args.output} differs from what tools/{script} draws; run it", file=sys.stderr)
            return 1
        print(f"{script}: {args.output} is up to date ({len(data)} bytes)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"{script}: wrote {args.output} ({len(data)} bytes)")
    return 0
