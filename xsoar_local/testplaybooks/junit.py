"""The JUnit XML report CI systems read: one test case per selected playbook, a skipped one marked skipped."""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from xsoar_local.errors import UsageError
from xsoar_local.testplaybooks.run import FAILED, SKIPPED, Outcome

SUITE_NAME = "xsoar-local test-playbooks"


class ReportError(UsageError):
    """The report file cannot be written where the command line asked."""


def _relative(path: Path, root: Path | None) -> str:
    """The playbook's file as CI annotates it: relative to the repository when it lies inside."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def junit_tree(
    outcomes: Sequence[Outcome], suite_name: str = SUITE_NAME, repository: Path | None = None
) -> ET.ElementTree[ET.Element]:
    """`<testsuites><testsuite><testcase classname=pack name=playbook id time=...>` with failure/skipped; `file` is
    relative to `repository`."""
    failures = sum(outcome.status == FAILED for outcome in outcomes)
    skipped = sum(outcome.status == SKIPPED for outcome in outcomes)
    total = sum(outcome.seconds for outcome in outcomes)
    counts = {
        "tests": str(len(outcomes)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{total:.3f}",
    }
    root = ET.Element("testsuites", {"name": suite_name, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": suite_name, **counts})
    for outcome in outcomes:
        item = outcome.playbook
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": item.pack,
                "name": item.id,
                "file": _relative(item.path, repository),
                "time": f"{outcome.seconds:.3f}",
            },
        )
        if outcome.status == FAILED:
            first_line = outcome.message.splitlines()[0][:500] if outcome.message else "did not complete"
            failure = ET.SubElement(case, "failure", {"message": first_line})
            failure.text = outcome.message
        elif outcome.status == SKIPPED:
            ET.SubElement(case, "skipped", {"message": outcome.message})
    ET.indent(root)
    return ET.ElementTree(root)


def check_report_path(path: Path) -> Path:
    """The folder the report goes to, checked before anything runs (a run's report must not be lost at the end)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ReportError(f"--junit-xml {path}: the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise ReportError(f"--junit-xml {path} is a folder: give a file name, e.g. {path / 'junit.xml'}")
    return folder


def write_junit(path: Path, outcomes: Sequence[Outcome], repository: Path | None = None) -> None:
    """Write the report whole (a temporary file renamed over `path`): CI never reads half a report."""
    folder = check_report_path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            junit_tree(outcomes, repository=repository).write(stream, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
