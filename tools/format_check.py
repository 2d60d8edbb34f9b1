"""Fail when `demisto-sdk format` would change anything in the pack (make format-check).

The formatter runs on a temporary copy of the pack (with the repository's Config/ and
validation settings beside it), never in place, so the check works the same on a fresh clone,
on a dirty working tree and in CI. Without git history every file looks new to the formatter,
which is its strictest case. Any file it changes, adds or removes is reported with a diff.

    .venv/bin/python tools/format_check.py

Options the formatter gets: -nv (no validation: make validate does that), -n (answer "no" to
its questions: "yes" would turn a new playbook into a "silent" one), -ngr (no content graph,
which needs a database). The Python formatter (autopep8) is not installed in the SDK
environment, so the formatter reports the .py file as failed and leaves it alone; ruff formats
Python in `make lint`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SDK = Path(os.environ.get("DEMISTO_SDK", REPO_ROOT / ".venv-sdk" / "bin" / "demisto-sdk")).absolute()
PACK = Path("Packs") / "YodaSpeak"
# What the formatter reads besides the pack: approved lists and the validation settings.
SUPPORT_FILES = (Path("Config"), Path("validation_config.toml"), Path(".demisto-sdk-conf"))
IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".coverage"}
FAILED_STATUS = re.compile(r"Format Status on file: (\S+) - Failed")


def sdk_env() -> dict[str, str]:
    """The environment for demisto-sdk: no version check against the package index, no nagging."""
    env = dict(os.environ)
    env.update(DEMISTO_SDK_SKIP_VERSION_CHECK="1", DEMISTO_SDK_IGNORE_CONTENT_WARNING="1")
    return env


def snapshot(root: Path) -> dict[str, bytes]:
    """Map each file under root (relative path) to its bytes, skipping caches."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not IGNORED_PARTS.intersection(path.relative_to(root).parts)
    }


def copy_tree(source_root: Path, work: Path, pack: Path) -> None:
    """Copy the pack and the support files from source_root into work."""
    for item in (pack, *SUPPORT_FILES):
        source = source_root / item
        if source.is_dir():
            shutil.copytree(source, work / item, ignore=shutil.ignore_patterns(*IGNORED_PARTS))
        elif source.is_file():
            shutil.copy2(source, work / item)


def describe_changes(before: dict[str, bytes], after: dict[str, bytes], pack: Path) -> list[str]:
    """Human-readable report of every file the formatter added, removed or changed."""
    report: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            report.append(f"format added {pack / name}")
        elif new is None:
            report.append(f"format removed {pack / name}")
        else:
            old_text, new_text = old.decode("utf-8", "replace"), new.decode("utf-8", "replace")
            diff = "".join(
                difflib.unified_diff(
                    old_text.splitlines(keepends=True),
                    new_text.splitlines(keepends=True),
                    fromfile=f"{pack / name} (committed)",
                    tofile=f"{pack / name} (after demisto-sdk format)",
                )
            )
            if not diff:  # only the final newline differs
                diff = f"{pack / name}: only the newline at the end of the file differs\n"
            report.append(diff)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the formatter on a copy of the pack and report what it changed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this repository)")
    parser.add_argument("--pack", type=Path, default=PACK, help="pack folder, relative to the root")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="format-check-") as tmp:
        work = Path(tmp)
        copy_tree(args.root, work, args.pack)
        before = snapshot(work / args.pack)
        result = subprocess.run(
            [str(SDK), "format", "-i", str(args.pack), "-nv", "-n", "-ngr"],
            cwd=work,
            env=sdk_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        after = snapshot(work / args.pack)

    output = result.stdout + result.stderr
    failed = [name for name in FAILED_STATUS.findall(output) if not name.endswith(".py")]
    if result.returncode != 0 or failed:
        print(output)
        print(f"format-check: demisto-sdk format failed (exit {result.returncode}; files: {failed or 'none named'})")
        return 1
    changes = describe_changes(before, after, args.pack)
    if changes:
        print("\n".join(changes))
        print(f"format-check: demisto-sdk format changes {len(changes)} file(s); apply its changes and commit them")
        return 1
    print(f"format-check: demisto-sdk format leaves all {len(before)} files of {args.pack} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
