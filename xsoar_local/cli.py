"""The `xsoar-local` command line: a thin layer over the engine, the incident store and the service stand-ins."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from xsoar_local.cli_args import DEFAULT_PACKS, build_parser
from xsoar_local.commit import merge_run
from xsoar_local.contentroot import resolve_packs, resolve_state_dir
from xsoar_local.engine import CommandRun, load_integration
from xsoar_local.engine.catalog import ContentCatalog, scan_content
from xsoar_local.engine.confine import Limits
from xsoar_local.engine.executors import set_warm
from xsoar_local.engine.images import python_chooser
from xsoar_local.engine.instances import InstanceSet, load_instances
from xsoar_local.engine.session import EngineSession
from xsoar_local.engine.state import StoreInstanceState
from xsoar_local.errors import UsageError, XsoarLocalError
from xsoar_local.exitstatus import ExitStatus, exit_status
from xsoar_local.incident.model import Incident
from xsoar_local.incident.state import StateStore
from xsoar_local.instance import DefaultInstances, ParamSources, registry
from xsoar_local.redact import mask, mask_error
from xsoar_local.render import neutralise, render_run, terminal_json
from xsoar_local.runtime import ensure_runtime
from xsoar_local.services import ServiceRegistry

__all__ = ["DEFAULT_PACKS", "ServiceInfo", "build_parser", "main", "run_to_json", "saved_after", "war_room_line"]


@dataclass(frozen=True)
class ServiceInfo:
    """An embedded stand-in a run used: its URL and how many requests it received."""

    url: str
    requests: int


# ---- pure helpers ----------------------------------------------------------------------------
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
        session = EngineSession(
            catalog,
            instances,
            StoreInstanceState(store),
            python_for=python_chooser(),
            timeout=Limits.from_environment(timeout=options.timeout).timeout,
        )
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
    return ExitStatus.FAILED if run.is_error else ExitStatus.OK


def cmd_fetch(options: argparse.Namespace, console: Console) -> int:
    """`fetch`: one fetch-incidents run of an instance; incidents stored, lastRun kept per instance."""
    sources = ParamSources.from_options(options, os.environ)
    with contextlib.ExitStack() as stack:
        options.integration = None
        store = StateStore(Path(options.state_dir))
        defaults = DefaultInstances(sources, stack)
        catalog, instances = _content(options, defaults)
        session = EngineSession(
            catalog,
            instances,
            StoreInstanceState(store),
            python_for=python_chooser(),
            timeout=Limits.from_environment(timeout=options.timeout).timeout,
        )
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
        print(f"error: {neutralise(mask(message))}", file=sys.stderr)
        return ExitStatus.FAILED
    return ExitStatus.OK


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


def cmd_serve(options: argparse.Namespace, console: Console, arguments: Sequence[str]) -> int:
    """`serve`: one service stand-in on its own (`make serve`), with its own command line."""
    services = registry()
    if options.stand_in:
        plugin = services.named(options.stand_in)
    else:
        plugin = services.only("serve runs one stand-in", "--stand-in NAME (STANDIN=<name> for make serve)")
    if plugin.main is None:
        raise UsageError(f"the {plugin.title} stand-in cannot run on its own")
    return plugin.main(list(arguments[1:] if arguments[:1] == ["--"] else arguments))


def _server(options: argparse.Namespace, console: Console) -> int:
    from xsoar_local.server.cli import serve_foreground  # the server's modules load only when it is asked for

    return serve_foreground(options)


def _test_playbooks(options: argparse.Namespace, console: Console) -> int:
    # Imported when the command runs: `run` and the others never pay for the test-playbooks command's modules.
    from xsoar_local.testplaybooks import run_test_playbooks

    return run_test_playbooks(options, console)


def _playbook(options: argparse.Namespace, console: Console) -> int:
    # imported when used: `run` and `fetch` do not load the playbook engine
    from xsoar_local.playbook.cli import cmd_playbook

    return cmd_playbook(options, console)


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "run": cmd_run,
    "fetch": cmd_fetch,
    "playbook": _playbook,
    "test-playbooks": _test_playbooks,
    "server": _server,
}


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    options, extra = parser.parse_known_args(argv)
    set_warm(False if getattr(options, "cold", False) else None)  # None: XSOAR_LOCAL_WARM decides
    try:
        return _dispatch(parser, options, extra)
    finally:
        set_warm(None)  # the switch is this invocation's only (main() may be called again in one process)


def _dispatch(parser: argparse.ArgumentParser, options: argparse.Namespace, extra: list[str]) -> int:
    if options.subcommand == "serve":  # a stand-in runs no XSOAR content: it needs no runtime and no content root
        return cmd_serve(options, Console(), extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    ensure_runtime()  # before any slow set-up: without a runtime, one line says where to get it
    resolve_packs(options)
    resolve_state_dir(options)
    return COMMANDS[options.subcommand](options, Console())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the subcommand, and map what stops it to one `ExitStatus`, once for all
    subcommands: a toolkit error (`XsoarLocalError`) is one masked line and its category's status.

    Ctrl-C ends with INTERRUPTED and one line; an unexpected failure with one line and INTERNAL (its traceback
    only with XSOAR_LOCAL_DEBUG=1): no path a user can reach prints a traceback they did not ask for.
    """
    _tolerant_streams()
    _interruptible()
    try:
        return _run(argv)
    except XsoarLocalError as error:
        print(f"error: {neutralise(mask_error(error))}", file=sys.stderr)
        return exit_status(error)
    except KeyboardInterrupt:
        print("interrupted: nothing was saved for the command that was running", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        message = neutralise(mask(" ".join(str(error).split())))
        print(
            f"error: unexpected {type(error).__name__}: {message} "
            f"(a bug in xsoar-local: set {DEBUG_ENV}=1 to see the traceback, and report it)",
            file=sys.stderr,
        )
        return ExitStatus.INTERNAL
