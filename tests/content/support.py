"""Running the CLI on the fixture content root (tests/fixtures/content) and reading what it printed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "content"
PACKS = FIXTURES / "Packs"
INSTANCES = FIXTURES / "instances.yml"


@dataclass(frozen=True)
class Outcome:
    """What one CLI invocation did: its exit status and output."""

    status: int
    out: str
    err: str

    @property
    def document(self) -> Any:
        """The --json output."""
        try:
            return json.loads(self.out)
        except json.JSONDecodeError as error:
            raise AssertionError(f"not JSON ({error}); stdout={self.out!r} stderr={self.err!r}") from error

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The War Room entries of a `run --json`."""
        entries: list[dict[str, Any]] = self.document["entries"]
        return entries

    @property
    def contents(self) -> Any:
        """The Contents of the only entry."""
        assert len(self.entries) == 1, f"expected one entry, got {self.entries}"
        return self.entries[0]["Contents"]


def xsoar(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Run `python -m xsoar_local ARGV` in-process."""
    capsys.readouterr()
    status = main(list(argv))
    captured = capsys.readouterr()
    return Outcome(status, captured.out, captured.err)


def run_line(
    capsys: pytest.CaptureFixture[str],
    state: Path,
    line: str,
    *extra: str,
    packs: Path = PACKS,
    instances: Path | None = INSTANCES,
) -> Outcome:
    """`run --packs PACKS --instances FILE --state-dir STATE --command LINE --json`."""
    argv = ["run", "--packs", str(packs), "--state-dir", str(state), "--command", line, "--json", *extra]
    if instances is not None:
        argv += ["--instances", str(instances)]
    return xsoar(capsys, *argv)


def probe(capsys: pytest.CaptureFixture[str], state: Path, function: str, payload: Any = None, **options: Any) -> Any:
    """The Probe integration's answer for one demisto function (fails the test on an error entry)."""
    line = f"!probe-call function={function}"
    if payload is not None:
        line += f" payload='{json.dumps(payload)}'"
    outcome = run_line(capsys, state, line, **options)
    assert outcome.status == 0, f"probe {function} failed: {outcome.err or outcome.entries}"
    return outcome.contents


def write_instances(path: Path, instances: list[dict[str, Any]]) -> Path:
    """An instances file."""
    import yaml

    path.write_text(yaml.safe_dump({"instances": instances}), encoding="utf-8")
    return path
