"""Done when (issue 20): the wheel, installed in a fresh environment outside the repository, works in a content
repository from a pack's subfolder; it holds no pack, test or runtime file; without a runtime it fails fast."""

from __future__ import annotations

import argparse
import re
import subprocess
import time
import xml.etree.ElementTree as ET
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.testplaybooks.contentrepo import git_init, write_conf, write_playbook
from xsoar_local import runtime
from xsoar_local.cli import build_parser

from .conftest import ROOT, Installed

# Arguments each subcommand needs to get past its parser (the runtime check comes right after).
REQUIRED_ARGS = {"fetch": ["--instance", "x"], "playbook": ["--playbook", "x"]}
# `serve` runs a service stand-in, which runs no XSOAR content: it needs no runtime.
NEEDS_NO_RUNTIME = {"serve"}


def subcommands() -> list[str]:
    """Every subcommand of the command line, from its one definition."""
    parser = build_parser()
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


@pytest.fixture(scope="module")
def content_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git content repository: the YodaSpeak pack, a pack with a passing and a skipped test playbook, conf.json."""
    repo = tmp_path_factory.mktemp("content") / "my-content"
    (repo / "Packs").mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD", "Packs/YodaSpeak"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    write_playbook(repo, "Alpha", "Alpha_Works")
    write_playbook(repo, "Alpha", "Alpha_Later", passes=False)
    write_conf(
        repo,
        {
            "tests": [{"playbookID": "YodaSpeak_Test", "integrations": "YodaSpeak"}, {"playbookID": "Alpha_Works"}],
            "skipped_tests": {"Alpha_Later": "Needs a server feature (issue 99)"},
            "skipped_integrations": {},
        },
    )
    git_init(repo)
    return repo


def test_the_wheel_holds_the_toolkit_only_with_pinned_ranges(wheels: Path) -> None:
    """Given the built wheels, When their contents and metadata are read,
    Then the core holds xsoar_local only (no pack, test, stand-in or runtime file), every dependency is a range
    with both bounds, and the stand-in installs through the `funtranslations` extra."""
    core = next(wheels.glob("xsoar_local-*.whl"))
    with zipfile.ZipFile(core) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"xsoar_local"}, f"only the xsoar_local package belongs in the wheel, found {sorted(top)}"
    runtime_names = set(runtime.PINS)
    assert not [name for name in names if Path(name).name in runtime_names], "a runtime file is in the wheel"
    assert any(name.startswith("xsoar_local/web/templates/") for name in names), "the web templates are missing"
    assert "xsoar_local/engine/javascript/glue.js" in names, "the JavaScript engine's glue.js is missing"
    requirements = metadata.get_all("Requires-Dist") or []
    core_requirements = [item for item in requirements if "extra ==" not in item]
    for requirement in core_requirements:
        assert re.search(r">=[\d.]+", requirement), f"{requirement}: no lower bound"
        assert re.search(r"<[\d.]+", requirement), f"{requirement}: no upper bound"
    assert "funtranslations" in (metadata.get_all("Provides-Extra") or []), metadata.get_all("Provides-Extra")
    assert any("xsoar-local-funtranslations" in item and 'extra == "funtranslations"' in item for item in requirements)
    plugin = next(wheels.glob("xsoar_local_funtranslations-*.whl"))
    with zipfile.ZipFile(plugin) as archive:
        entry_points = archive.read(next(n for n in archive.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "[xsoar_local.services]" in entry_points, entry_points


def test_the_installed_tool_works_in_a_content_repository(
    installed: Installed, runtime_source: Path, content_repo: Path, tmp_path: Path
) -> None:
    """Given xsoar-local installed from its wheel outside the repository, XSOAR_RUNTIME_DIR set, and a content
    repository, When --help, --version, a War Room command and test-playbooks --junit-xml run from a pack's subfolder,
    Then each works: every subcommand is listed, the content root is found, the JUnit XML has one case per playbook
    with the skipped one marked skipped."""
    env = installed.environ(XSOAR_RUNTIME_DIR=str(runtime_source))
    where = content_repo / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"

    helped = installed.run("--help", cwd=where, env=env)
    assert helped.returncode == 0, helped.stderr
    for name in subcommands():
        assert re.search(rf"\b{re.escape(name)}\b", helped.stdout), f"--help should list {name}:\n{helped.stdout}"

    version = installed.run("--version", cwd=where, env=env)
    assert version.returncode == 0, version.stderr
    assert re.fullmatch(r"xsoar-local \d+\.\d+\.\d+\S*\n", version.stdout), version.stdout

    translated = installed.run("run", "--text", "Hello there", "--json", cwd=where, env=env)
    assert translated.returncode == 0, f"{translated.stdout}\n{translated.stderr}"
    assert "YodaSpeak" in translated.stdout, translated.stdout
    state = content_repo / ".xsoar-local"
    assert state.is_dir(), "the incident is kept in the content repository's .xsoar-local/, not in site-packages"

    report = tmp_path / "junit.xml"
    tested = installed.run("test-playbooks", "-j", "2", "--junit-xml", str(report), cwd=where, env=env)
    assert tested.returncode == 0, f"{tested.stdout}\n{tested.stderr}"
    cases = {case.attrib["name"]: case for case in ET.parse(report).iter("testcase")}
    assert sorted(cases) == ["Alpha_Later", "Alpha_Works", "YodaSpeak_Test"], sorted(cases)
    assert cases["Alpha_Later"].find("skipped") is not None, ET.tostring(cases["Alpha_Later"])
    assert [name for name, case in cases.items() if len(case)] == ["Alpha_Later"], "only the skip has a child"
    assert (installed.home / ".cache" / "xsoar-local" / "runtime" / runtime.pins_digest()).is_dir(), (
        "the runtime should be cached per user under $XDG_CACHE_HOME"
    )


def test_without_a_runtime_every_command_fails_fast_in_one_line(installed: Installed, content_repo: Path) -> None:
    """Given no XSOAR_RUNTIME_DIR, an empty cache and no network (a proxy that refuses), When each subcommand starts,
    Then each that runs XSOAR content exits 2 within 5 s with one line naming XSOAR_RUNTIME_DIR and every pinned
    URL."""
    refused = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused at once
    env = installed.environ(https_proxy=refused, HTTPS_PROXY=refused, http_proxy=refused, HTTP_PROXY=refused)
    env["XDG_CACHE_HOME"] = str(installed.home / "empty-cache")
    for name in sorted(set(subcommands()) - NEEDS_NO_RUNTIME):
        started = time.monotonic()
        completed = installed.run(name, *REQUIRED_ARGS.get(name, []), cwd=content_repo / "Packs", env=env, timeout=60)
        seconds = time.monotonic() - started
        lines = completed.stderr.strip().splitlines()
        assert completed.returncode == 2, f"{name}: exit {completed.returncode}\n{completed.stderr}"
        assert len(lines) == 1, f"{name}: one line expected:\n{completed.stderr}"
        assert "XSOAR_RUNTIME_DIR" in lines[0], lines[0]
        for url in (item.url for item in runtime.RUNTIME_FILES if item.url):
            assert url in lines[0], f"{name}: the line should name {url}: {lines[0]}"
        assert seconds < 5, f"{name} took {seconds:.1f}s to fail without a runtime (the limit is 5 s)"
