"""The GitHub Actions workflow content repositories copy (docs/ci/test-playbooks.yml): valid YAML, a matrix of
shards, and xsoar-local commands this command line accepts."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from xsoar_local.cli import build_parser

from .conftest import ROOT

WORKFLOW = ROOT / "docs" / "ci" / "test-playbooks.yml"
# Sample values for the expressions GitHub substitutes, to parse the commands as a runner would run them.
EXPRESSIONS = {"matrix.shard": "2", "strategy.job-total": "4"}


def load() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{WORKFLOW} should be a YAML mapping"
    return document


def substituted(command: str) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        assert expression in EXPRESSIONS, f"no sample value for ${{{{ {expression} }}}} in {command!r}"
        return EXPRESSIONS[expression]

    return re.sub(r"\$\{\{([^}]*)\}\}", value, command)


def xsoar_local_commands() -> list[list[str]]:
    """Every `xsoar-local ...` command of every step, as argv after substitution."""
    commands = []
    for job in load()["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                argv = shlex.split(substituted(line))
                if argv and argv[0] == "xsoar-local":
                    commands.append(argv)
    return commands


def test_the_workflow_runs_on_a_matrix_of_shards() -> None:
    """Given the workflow, When read as YAML, Then its job has a shard matrix and runs --shard K/N with K from the
    matrix and N from the matrix's size."""
    document = load()
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads the key `on` as true
    assert triggers, "the workflow has no triggers"
    assert "pull_request" in triggers, triggers
    job = document["jobs"]["test-playbooks"]
    shards = job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)), f"shards must be 1..N: {shards}"
    runs = " ".join(str(step.get("run", "")) for step in job["steps"])
    assert "--shard ${{ matrix.shard }}/${{ strategy.job-total }}" in runs, runs
    assert job["strategy"]["fail-fast"] is False, "one failing shard must not cancel the others' reports"


@pytest.mark.parametrize("argv", xsoar_local_commands(), ids=lambda argv: " ".join(argv[1:3]))
def test_its_commands_exist_in_the_cli(argv: list[str]) -> None:
    """Given each xsoar-local command of the workflow, When the command line parses it, Then it is accepted
    (the subcommand and every flag exist), with the shard the matrix gives."""
    options = build_parser().parse_args(argv[1:])
    assert options.subcommand == "test-playbooks", options
    assert str(options.shard) == "2/4", options.shard
    assert options.junit_xml == "junit-2.xml", options.junit_xml


def test_the_workflow_has_xsoar_local_commands() -> None:
    """Given the workflow, When its steps are read, Then it runs test-playbooks with --junit-xml (the report kept)."""
    commands = xsoar_local_commands()
    assert any("--junit-xml" in argv for argv in commands), commands
