"""The `xsoar-local` command line's definition: every subcommand with its flags and help, and nothing that runs them.

The commands live apart: `xsoar_local.cli` (run, fetch, serve), `xsoar_local.playbook.cli` (playbook,
test-playbooks) and `xsoar_local.server.cli` (server). The parsed `subcommand` names the command, and
`xsoar_local.cli.main` runs the command of that name and maps what stops it to one `ExitStatus`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xsoar_local import package_version
from xsoar_local.engine.confine import DEFAULT_TIMEOUT, TIMEOUT_VARIABLE, parse_timeout
from xsoar_local.engine.executors import add_cold_option
from xsoar_local.incident.model import DEFAULT_STATE_DIR, STATE_DIR_ENV
from xsoar_local.instance import InstanceSetupError, registry
from xsoar_local.playbook.runner import DEFAULT_MAX_STEPS
from xsoar_local.runtime import REPO_ROOT
from xsoar_local.services import ServiceRegistry
from xsoar_local.testplaybooks.selection import parse_shard

__all__ = ["DEFAULT_PACKS", "DEFAULT_PORT", "DEFAULT_SERVER_STATE_DIR", "build_parser"]

DEFAULT_PACKS = REPO_ROOT / "Packs"
DEFAULT_SERVER_STATE_DIR = REPO_ROOT / ".xsoar-local" / "server"
DEFAULT_PORT = 8080


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; `xsoar-local --help` lists them all."""
    parser = argparse.ArgumentParser(
        prog="xsoar-local", description="Run, test and serve XSOAR content locally, offline."
    )
    parser.add_argument("--version", action="version", version=f"xsoar-local {package_version()}")
    subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    add_run_parser(subparsers, registry())
    add_fetch_parser(subparsers)
    add_playbook_parsers(subparsers)
    add_server_parser(subparsers)
    add_serve_parser(subparsers)
    return parser


def add_server_parser(subparsers: Any) -> None:
    """`server`: the local XSOAR server for demisto-sdk, demisto-py and the page."""
    parser = subparsers.add_parser(
        "server",
        help="serve the XSOAR REST API and the War Room page locally",
        description="A local XSOAR server for demisto-sdk and demisto-py, with the War Room in a browser; "
        "Ctrl-C stops it.",
    )
    add_server_arguments(parser)


def add_serve_parser(subparsers: Any) -> None:
    """`serve`: one service stand-in on its own; every flag but --stand-in is the stand-in's own."""
    parser = subparsers.add_parser(
        "serve",
        help="serve a service stand-in on its own (its own flags follow; --help lists them)",
        description="Serve an installed service stand-in on its own, for other clients. Every argument after "
        "the optional --stand-in is the stand-in's own: `xsoar-local serve --help` shows them.",
        add_help=False,  # --help is the stand-in's
        allow_abbrev=False,
    )
    parser.add_argument("--stand-in", metavar="NAME", help="the stand-in to serve (default: the only one installed)")


def add_timeout_argument(parser: argparse.ArgumentParser) -> None:
    """`--timeout SECONDS`: the time limit of each command (xsoar_local.engine.confine)."""
    parser.add_argument(
        "--timeout",
        type=parse_timeout,
        metavar="SECONDS",
        help=f"stop a command that runs longer (default ${TIMEOUT_VARIABLE}, else {DEFAULT_TIMEOUT:g})",
    )


def add_run_parser(subparsers: Any, services: ServiceRegistry) -> None:
    """The `run` subcommand's options; the installed stand-ins add theirs (and say what --fault accepts)."""
    parser = subparsers.add_parser(
        "run",
        help="run one integration command locally",
        description="Run one command of an integration in a local engine; print its War Room entry and the context.",
    )
    parser.add_argument("--integration", help="one integration folder or unified YAML (instead of --packs)")
    parser.add_argument(
        "--packs",
        help="the content root: !name is a command or script found there "
        "(default: the nearest Packs/ at or above the working folder, or $DEMISTO_SDK_CONTENT_PATH/Packs)",
    )
    parser.add_argument("--instances", help="YAML file of instances: instances: [{brand, name, params}]")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--command", help="a War Room line, e.g. '!command arg=\"value\"', or test-module")
    what.add_argument("--text", help="the text for the integration's command that has a `text` argument")
    parser.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a param (repeatable)")
    parser.add_argument("--params-file", help="JSON object of params (the DEMISTO_PARAMS format)")
    parser.add_argument("--env-file", help="NAME=VALUE lines of params (or a DEMISTO_PARAMS=<json> line)")
    parser.add_argument(
        "--fault",
        action="append",
        metavar="SPEC",
        help=_help(" ".join(["make the embedded stand-in fail (repeatable).", services.fault_help()]).strip()),
    )
    keys = " or ".join(f"${name}" for name in services.api_key_envs)
    parser.add_argument(
        "--real",
        action="store_true",
        help=_help(
            "use the real service (the YAML's URL), not the embedded stand-in"
            + (f"; its API key from {keys} if set" if keys else "")
        ),
    )
    parser.add_argument(
        "--service",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=_help(
            "start the embedded stand-in and point the integration's URL param at it "
            f"(default: on for the integrations a stand-in serves: {services.served()})"
        ),
    )
    parser.add_argument(
        "--stand-in",
        metavar="NAME",
        help=_help(f"the stand-in --service starts for an integration none serves ({services.describe_names()})"),
    )
    parser.add_argument(
        "--instance",
        help="the instance (its integration context): default one per service, "
        "<brand>_instance_1 for the real one, <brand>_local[_fault-...] for the embedded one",
    )
    parser.add_argument(
        "--state-dir",
        default=os.environ.get(STATE_DIR_ENV) or str(DEFAULT_STATE_DIR),
        help=f"the state folder: incidents, instances' contexts (default: ${STATE_DIR_ENV}, else .xsoar-local)",
    )
    parser.add_argument("--reset", action="store_true", help="start from a fresh incident (empty context)")
    parser.add_argument("--debug", action="store_true", help="run with debug-mode=true")
    parser.add_argument("--json", action="store_true", help="print the entries and context as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the integration's logs")
    add_timeout_argument(parser)
    add_cold_option(parser)
    _add_stand_in_options(parser, services)


def _help(text: str) -> str:
    """Help text as argparse wants it: a plugin's `%` is not a format directive."""
    return text.replace("%", "%%")


def _add_stand_in_options(parser: argparse.ArgumentParser, services: ServiceRegistry) -> None:
    """The options the installed stand-ins define; one that would shadow `run`'s own is a set-up error."""
    taken = set(vars(parser.parse_known_args([])[0]))
    for option in services.options:
        clash = f"the stand-in option {option.flag} clashes with run's own options: rename it in its plugin"
        if option.dest in taken:
            raise InstanceSetupError(clash)
        try:
            parser.add_argument(
                option.flag, dest=option.dest, action="append", metavar=option.metavar, help=_help(option.help)
            )
        except argparse.ArgumentError:
            raise InstanceSetupError(clash) from None
        taken.add(option.dest)


def add_fetch_parser(subparsers: Any) -> None:
    """The `fetch` subcommand's options."""
    parser = subparsers.add_parser(
        "fetch",
        help="run one fetch-incidents of an instance",
        description="Run fetch-incidents once for an instance: its incidents are stored, its lastRun moves on.",
    )
    parser.add_argument(
        "--packs",
        help="the content root holding the packs "
        "(default: the nearest Packs/ at or above the working folder, or $DEMISTO_SDK_CONTENT_PATH/Packs)",
    )
    parser.add_argument("--instances", help="YAML file of instances: instances: [{brand, name, params}]")
    parser.add_argument("--instance", required=True, help="the instance to fetch with (a name in --instances)")
    parser.add_argument("--param", action="append", metavar="NAME=VALUE", help="param of a default instance")
    parser.add_argument("--params-file", help="JSON object of params of a default instance")
    parser.add_argument("--env-file", help="NAME=VALUE lines of params of a default instance")
    parser.add_argument("--real", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--state-dir",
        default=os.environ.get(STATE_DIR_ENV) or str(DEFAULT_STATE_DIR),
        help=f"the state folder: incidents and instances' lastRun (default: ${STATE_DIR_ENV}, else .xsoar-local)",
    )
    parser.add_argument("--json", action="store_true", help='print {"incidents": [...], "last_run": {...}}')
    add_timeout_argument(parser)
    add_cold_option(parser)


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--packs",
        help="the content root: playbooks, integrations and scripts "
        "(default: the nearest Packs/ at or above the working folder, or $DEMISTO_SDK_CONTENT_PATH/Packs)",
    )
    parser.add_argument("--instances", help="YAML file of instances: instances: [{brand, name, params}]")
    parser.add_argument(
        "--real", action="store_true", help="use the real services (the YAMLs' URLs) instead of the embedded stand-ins"
    )
    parser.add_argument(
        "--param", action="append", metavar="NAME=VALUE", help="override an integration param (repeatable)"
    )
    parser.add_argument("--params-file", help="JSON object of integration params (the DEMISTO_PARAMS format)")
    parser.add_argument("--env-file", help="NAME=VALUE lines of integration params")
    parser.add_argument(
        "--max-steps",
        type=_positive_steps,
        default=DEFAULT_MAX_STEPS,
        help="stop a looping playbook after this many tasks",
    )
    parser.add_argument("--json", action="store_true", help="print the run(s) as JSON")
    add_timeout_argument(parser)
    add_cold_option(parser)


def add_playbook_parsers(subparsers: Any) -> None:
    """Register the `playbook` and `test-playbooks` subcommands."""
    run = subparsers.add_parser(
        "playbook",
        help="run a playbook locally",
        description="Run a playbook (a YAML path, id or name) on a local incident and show its work plan.",
    )
    run.add_argument("--playbook", required=True, help="a playbook YAML, or the id/name of one under --packs")
    run.add_argument(
        "--incident", action="append", metavar="KEY=VALUE", help='an incident field, e.g. details="Hello" (repeatable)'
    )
    run.add_argument("--incident-file", help="a JSON object of incident fields (optionally with a `context` object)")
    run.add_argument(
        "--state-dir",
        default=os.environ.get(STATE_DIR_ENV) or None,
        help="a state folder: add the incident to it and use its instances' contexts "
        "(default: $XSOAR_LOCAL_STATE_DIR if set, else nothing is saved)",
    )
    _common_options(run)
    tests = subparsers.add_parser(
        "test-playbooks",
        help="run the test playbooks of a content repository",
        description="Run test playbooks (Packs/*/TestPlaybooks/), each on a fresh incident, with Tests/conf.json's "
        "instances and skips; exit 0 only when every selected one completes.",
    )
    tests.add_argument("-v", "--verbose", action="store_true", help="also print each run's War Room and context")
    _common_options(tests)
    _selection_options(tests)


def _at_least_one(what: str, note: str = "") -> Callable[[str], int]:
    """An argparse `type=` for a whole number of 1 or more, `what` naming it in the error (then `note`)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}: give 1 or more{note}")
        return number

    return parse


_positive_steps = _at_least_one("a number of tasks", f" (default {DEFAULT_MAX_STEPS})")
_workers = _at_least_one("a number of parallel runs")
_whole_seconds = _at_least_one("a whole number of seconds")


def _selection_options(parser: argparse.ArgumentParser) -> None:
    """`test-playbooks`: which playbooks, how many at once, which shard, the report (xsoar_local.testplaybooks)."""
    parser.add_argument(
        "playbooks",
        nargs="*",
        metavar="PLAYBOOK",
        help="a test playbook's path, folder, id or name, or a glob of them (default: every test playbook)",
    )
    parser.add_argument(
        "--pack", action="append", metavar="NAME", help="only the test playbooks of this pack (repeatable)"
    )
    parser.add_argument(
        "-j", "--jobs", type=_workers, default=1, metavar="N", help="run N playbooks at once (default 1)"
    )
    parser.add_argument(
        "--shard",
        type=parse_shard,
        metavar="K/N",
        help="run only shard K of N of the selection (a CI matrix: the same split on every machine)",
    )
    parser.add_argument("--junit-xml", metavar="FILE", help="write a JUnit XML report (one test case per playbook)")
    parser.add_argument(
        "--playbook-timeout",
        type=_whole_seconds,
        metavar="SECONDS",
        help="fail a playbook still running after this long, unless its Tests/conf.json entry has its own `timeout` "
        "(default: conf.json's testTimeout, else none)",
    )
    parser.add_argument(
        "--changed",
        action="store_true",
        help="the PLAYBOOK arguments are changed files (a pre-commit hook): run the test playbooks of their packs",
    )


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The `server` subcommand's flags."""
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_SERVER_STATE_DIR,
        help="the server's state folder (default .xsoar-local/server)",
    )
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a certificate from a local CA (its path is printed)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a --host that is not a loopback address")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="with --allow-remote: a name clients may use in the Host header besides loopback ones (repeatable)",
    )
    parser.add_argument(
        "--auth-id",
        default=os.environ.get("XSIAM_AUTH_ID") or "1",
        help="the API key's id for XSOAR 8 clients (x-xdr-auth-id; default $XSIAM_AUTH_ID or 1)",
    )
    parser.add_argument("--cold", action="store_true", help="run each command in a fresh process (no warm workers)")
    add_timeout_argument(parser)
    parser.add_argument("--verbose", action="store_true", help="log every request")
