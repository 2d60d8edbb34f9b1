"""The `xsoar-local` command line: a thin layer over the engine, the incident store and the service stand-ins."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from xsoar_local.commit import merge_run
from xsoar_local.engine import (
    ArgError,
    CommandRun,
    EngineError,
    Integration,
    IntegrationError,
    ParamError,
    WarRoomSyntaxError,
    check_args,
    command_spec,
    load_integration,
    parse_war_room,
)
from xsoar_local.engine.catalog import CatalogError, ContentCatalog, scan_content
from xsoar_local.engine.executors import add_cold_option, set_warm
from xsoar_local.engine.images import ImageError, python_chooser
from xsoar_local.engine.instances import InstanceError, InstanceSet, load_instances
from xsoar_local.engine.session import EngineSession
from xsoar_local.engine.state import StoreInstanceState
from xsoar_local.incident.state import StateError, StateStore
from xsoar_local.incident.store import DEFAULT_STATE_DIR, STATE_DIR_ENV, Incident
from xsoar_local.instance import DefaultInstances, InstanceSetupError, ParamSources, registry
from xsoar_local.playbook.cli import add_playbook_parsers
from xsoar_local.redact import redact_text
from xsoar_local.render import neutralise, render_run, terminal_json
from xsoar_local.runtime import REPO_ROOT
from xsoar_local.services import ServiceRegistry

DEFAULT_PACKS = REPO_ROOT / "Packs"

EXIT_OK, EXIT_ERROR_ENTRY, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line asks for something that cannot run (exit status 2)."""


@dataclass(frozen=True)
class ServiceInfo:
    """An embedded stand-in a run used: its URL and how many requests it received."""

    url: str
    requests: int


# ---- pure helpers ----------------------------------------------------------------------------
def resolve_command(integration: Integration, command: str | None, text: str | None) -> tuple[str, dict[str, Any]]:
    """The command name and checked args from `--command '!cmd ...'` or `--text TEXT`."""
    if command:
        parsed = parse_war_room(command)
        return parsed.name, check_args(command_spec(integration, parsed.name), parsed.args, parsed.positional)
    if text is None:
        raise UsageError("say what to run: --command '!command arg=value' or --text TEXT")
    spec = next((c for c in integration.commands if c.argument("text") is not None), None)
    if spec is None:
        raise UsageError(f"{integration.name} has no command with a `text` argument: use --command '!command ...'")
    return spec.name, check_args(spec, {"text": text})


def war_room_line(command: str, args: dict[str, Any]) -> str:
    """The War Room line that runs `command` with `args` (quotes escaped, so it can be pasted back)."""
    quoted = []
    for name, value in args.items():
        escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
        quoted.append(f'{name}="{escaped}"')
    return " ".join([f"!{command}", *quoted])


def run_to_json(run: CommandRun, incident: Incident, service: ServiceInfo | None) -> dict[str, Any]:
    """The `--json` document: entries, the incident's context after the run, logs and what the run used."""
    return {
        "command": run.command,
        "args": run.args,
        "instance": run.instance,
        "entries": run.entries,
        "context": incident.context,
        "is_error": run.is_error,
        "crashed": run.crashed,
        "logs": [log.to_json() for log in run.logs],
        "service": None if service is None else {"url": service.url, "requests": service.requests},
    }


# ---- I/O edges --------------------------------------------------------------------------------
def _content(options: argparse.Namespace, defaults: DefaultInstances) -> tuple[ContentCatalog, InstanceSet]:
    """The catalog (--integration: that one folder; else the --packs content root) and its instances."""
    if options.integration:
        integration = load_integration(options.integration)
        catalog = ContentCatalog(integration.folder, (integration,))
    else:
        catalog = scan_content(Path(options.packs))
    instances_file = Path(options.instances) if getattr(options, "instances", None) else None
    return catalog, load_instances(catalog, instances_file, defaults, defaults.name_for)


def _war_room_line(catalog: ContentCatalog, command: str | None, text: str | None) -> str:
    """The War Room line `run` executes: --command as given, or --text for the command with a `text` argument."""
    if command:
        return command if command.lstrip().startswith("!") else f"!{command}"
    if text is None:
        raise UsageError("say what to run: --command '!command arg=value' or --text TEXT")
    for integration in catalog.integrations:
        spec = next((c for c in integration.commands if c.argument("text") is not None), None)
        if spec is not None:
            return war_room_line(spec.name, {"text": text})
    raise UsageError("there is no command with a `text` argument here: use --command '!command ...'")


def saved_after(latest: Incident, before: Incident, run: CommandRun) -> Incident:
    """The incident to save after `run` on `before`: the run's incident, or, when something else changed the
    incident meanwhile, the latest copy with this run's own setContext calls and entries merged in."""
    if latest == before:
        return Incident(fields=run.incident.fields, context=run.incident.context)
    return merge_run(latest, run)


def _option_values(services: ServiceRegistry, options: argparse.Namespace) -> list[tuple[str, Any]]:
    return [(option.flag, getattr(options, option.dest, None)) for option in services.options]


def cmd_run(options: argparse.Namespace, console: Console) -> int:
    """`run`: one War Room line (an integration command or a script), printed as entries plus the context."""
    # The folder is checked before anything runs: a result that could not be saved would be lost.
    store = StateStore(Path(options.state_dir))
    services = registry()
    sources = ParamSources.from_options(options, os.environ, services)
    stand_in_options = {option.dest: getattr(options, option.dest, None) or () for option in services.options}
    with contextlib.ExitStack() as stack:
        defaults = DefaultInstances(
            sources,
            stack,
            services=services,
            service_option=options.service,
            stand_in=options.stand_in,
            faults=options.fault or (),
            options=stand_in_options,
            name=options.instance,
        )
        catalog, instances = _content(options, defaults)
        line = _war_room_line(catalog, options.command, options.text)
        if options.debug:
            line += " debug-mode=true"
        session = EngineSession(catalog, instances, StoreInstanceState(store), python_for=python_chooser())
        planned = session.plan(line)  # a line the server would refuse changes nothing
        given = [flag for flag, values in [("--fault", options.fault), *_option_values(services, options)] if values]
        if given and defaults.service is None:
            works = "works" if len(given) == 1 else "work"
            raise UsageError(
                f"{' and '.join(given)} only {works} with an embedded stand-in (the real service cannot change)"
            )
        with store.update() as state:
            incident_id, before = state.reset_current() if options.reset else state.current_incident()
        run = session.run_planned(planned, before)
        with store.update() as state:
            state.put_incident(incident_id, saved_after(state.incidents.get(incident_id, before), before, run))
            incident = state.incidents[incident_id]
    # Counted once the stand-ins have stopped: a request still being answered counts too.
    used = [ServiceInfo(url=service.url, requests=len(service.requests)) for service in defaults.running.values()]
    if options.json:
        print(terminal_json(run_to_json(run, incident, used[0] if used else None)))
    else:
        title = war_room_line(run.command, run.args)
        console.print(render_run(run.entries, incident.context, title=title, logs=run.logs, verbose=options.verbose))
        for service_info in used:
            plural = "request" if service_info.requests == 1 else "requests"
            console.print(
                f"Local service {service_info.url}: {service_info.requests} {plural} received during this run.",
                soft_wrap=True,
            )
    return EXIT_ERROR_ENTRY if run.is_error else EXIT_OK


def cmd_fetch(options: argparse.Namespace, console: Console) -> int:
    """`fetch`: one fetch-incidents run of an instance; incidents stored, lastRun kept per instance."""
    sources = ParamSources.from_options(options, os.environ)
    with contextlib.ExitStack() as stack:
        options.integration = None
        store = StateStore(Path(options.state_dir))
        defaults = DefaultInstances(sources, stack)
        catalog, instances = _content(options, defaults)
        session = EngineSession(catalog, instances, StoreInstanceState(store), python_for=python_chooser())
        fetch = session.fetch(options.instance)
    if options.json:
        document: dict[str, Any] = {"incidents": fetch.incidents, "last_run": fetch.last_run}
        if fetch.error:
            document["error"] = fetch.error
        print(terminal_json(document))
    elif fetch.ok:
        console.print(neutralise(f"{fetch.instance}: fetched {len(fetch.incidents)} incident(s)"), soft_wrap=True)
        for incident in fetch.incidents:
            line = f"  #{incident['id']} {incident.get('name', '')} (occurred {incident.get('occurred')})"
            console.print(neutralise(line), markup=False, soft_wrap=True)
    if fetch.error:
        message = f"fetch-incidents of {fetch.instance} failed (lastRun kept): {fetch.error}"
        print(f"error: {neutralise(message)}", file=sys.stderr)
        return EXIT_ERROR_ENTRY
    return EXIT_OK


def add_fetch_parser(subparsers: Any) -> None:
    """The `fetch` subcommand's options."""
    parser = subparsers.add_parser(
        "fetch",
        help="run one fetch-incidents of an instance",
        description="Run fetch-incidents once for an instance: its incidents are stored, its lastRun moves on.",
    )
    parser.add_argument("--packs", default=str(DEFAULT_PACKS), help="the content root holding the packs")
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
    add_cold_option(parser)
    parser.set_defaults(handler=cmd_fetch)


def add_run_parser(subparsers: Any, services: ServiceRegistry) -> None:
    """The `run` subcommand's options; the installed stand-ins add theirs (and say what --fault accepts)."""
    parser = subparsers.add_parser(
        "run",
        help="run one integration command locally",
        description="Run one command of an integration in a local engine; print its War Room entry and the context.",
    )
    parser.add_argument("--integration", help="one integration folder or unified YAML (instead of --packs)")
    parser.add_argument(
        "--packs", default=str(DEFAULT_PACKS), help="the content root: !name is a command or script found there"
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
    add_cold_option(parser)
    parser.set_defaults(handler=cmd_run)
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


def build_parser() -> argparse.ArgumentParser:
    """The parser; each subcommand registers itself with an `add_*_parser` function."""
    parser = argparse.ArgumentParser(prog="xsoar-local", description="Run XSOAR integrations and playbooks locally.")
    subparsers = parser.add_subparsers(dest="subcommand", required=True)
    add_run_parser(subparsers, registry())
    add_fetch_parser(subparsers)
    add_playbook_parsers(subparsers)
    return parser


USER_ERRORS = (
    UsageError,
    InstanceSetupError,
    IntegrationError,
    ParamError,
    ArgError,
    WarRoomSyntaxError,
    EngineError,
    StateError,
    CatalogError,
    InstanceError,
    ImageError,
)


EXIT_INTERRUPTED, EXIT_INTERNAL = 130, 70
DEBUG_ENV = "XSOAR_LOCAL_DEBUG"  # set to 1 to see the traceback of an unexpected failure


def _tolerant_streams() -> None:
    """Text that is not valid Unicode (a lone surrogate from a mis-encoded argument) is printed escaped, not fatal."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def _interruptible() -> None:
    """Ctrl-C raises KeyboardInterrupt even when the shell started us with SIGINT ignored (a job run with `&`)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the subcommand, and turn user errors into one line and exit status 2.

    Ctrl-C ends with status 130 and one line; an unexpected failure with one line and status 70 (its traceback
    only with XSOAR_LOCAL_DEBUG=1): no path a user can reach prints a traceback they did not ask for.
    """
    _tolerant_streams()
    _interruptible()
    try:
        options = build_parser().parse_args(argv)
        set_warm(False if getattr(options, "cold", False) else None)  # None: XSOAR_LOCAL_WARM decides
        console = Console()
        status: int = options.handler(options, console)
    except USER_ERRORS as error:
        print(f"error: {neutralise(redact_text(str(error)))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: nothing was saved for the command that was running", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        message = neutralise(redact_text(" ".join(str(error).split())))
        print(
            f"error: unexpected {type(error).__name__}: {message} "
            f"(a bug in xsoar-local: set {DEBUG_ENV}=1 to see the traceback, and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return status
