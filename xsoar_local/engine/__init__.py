"""The local engine: run any integration in Packs/ the way an XSOAR engine would, offline.

For callers (the CLI, the playbook runner):

    from xsoar_local.engine import load_integration, build_params, check_args, run_command

    integration = load_integration("Packs/MyPack/Integrations/MyIntegration")     # folder or unified YAML
    params = build_params(integration.params, [ParamLayer("--param", {"url": url})])  # YAML defaults + layers
    args = check_args(integration.command("my-command"), {"text": "Hello"})  # ArgError if wrong
    run = run_command(integration, "my-command", args, params, incident)      # fresh child process
    run.entries      # normalised War Room entries (Type 4 = error; `EngineCrash: True` for unhandled exceptions)
    run.is_error     # any error entry
    run.logs         # LogEntry(level, message): debug/info/error/log (print)/stdout/stderr
    run.incident     # a NEW Incident: EntryContext merged (xsoar_local.incident), integration context stored
                     # under run.instance (default "<brand>_instance_1"); the caller saves it (StateStore)

`run_command(..., check=True)` checks the args itself; `debug-mode=true` in the args is removed and turns on
debug mode. A War Room line over a content root goes through `EngineSession.war_room` (session.py), which
resolves it with the command registry (registry.py). Jobs run on executors (executors/): warm by default.
Errors before running: ParamError, ArgError, WarRoomSyntaxError, EngineError, IntegrationError (all Exceptions
with a message meant for the user).

The child sees an allow-listed environment, not the caller's (debug mode logs `os.environ` unmasked): what
Python needs to run, the proxy/CA/REQUESTS_TIMEOUT variables an engine passes through, and `env=` on top; see
`runner.child_environment`.

Embedding the engine in-process: when CommonServerPython is imported it replaces
`demistomock.callingContext['params']` with a copy (a `SmartGetDict` of `demisto.params()`), and its `LOG`
collects the secrets to mask from those params. Params must therefore be final before the first import: a change
made to your dict afterwards is neither seen by the integration nor masked. The sandbox installs them before that
import, and a fresh process (or fork) per command keeps one command's import from serving the next.
"""

import importlib
from typing import TYPE_CHECKING, Any

# The sandbox child imports xsoar_local.engine.sandbox inside an image's environment, which holds only that image's
# packages (no PyYAML in most): so this package imports its modules on first use, not when it is imported.
if TYPE_CHECKING:
    from xsoar_local.engine.entries import ERROR, NOTE, LogEntry, is_error, normalise_entry, normalise_results
    from xsoar_local.engine.integration import (
        ArgSpec,
        CommandSpec,
        Integration,
        IntegrationError,
        ParamSpec,
        load_integration,
    )
    from xsoar_local.engine.params import ParamError, ParamLayer, build_params, env_file_layers, parse_env_file
    from xsoar_local.engine.runner import (
        CommandRun,
        command_spec,
        default_instance_name,
        run_command,
    )
    from xsoar_local.engine.warroom import (
        ArgError,
        ParsedCommand,
        WarRoomSyntaxError,
        check_args,
        parse_war_room,
        split_debug_mode,
    )
    from xsoar_local.errors import EngineError

_LOCATIONS = {
    "ArgError": "xsoar_local.engine.warroom",
    "ArgSpec": "xsoar_local.engine.integration",
    "CommandRun": "xsoar_local.engine.runner",
    "CommandSpec": "xsoar_local.engine.integration",
    "ERROR": "xsoar_local.engine.entries",
    "EngineError": "xsoar_local.errors",
    "Integration": "xsoar_local.engine.integration",
    "IntegrationError": "xsoar_local.engine.integration",
    "LogEntry": "xsoar_local.engine.entries",
    "NOTE": "xsoar_local.engine.entries",
    "ParamError": "xsoar_local.engine.params",
    "ParamLayer": "xsoar_local.engine.params",
    "ParamSpec": "xsoar_local.engine.integration",
    "ParsedCommand": "xsoar_local.engine.warroom",
    "WarRoomSyntaxError": "xsoar_local.engine.warroom",
    "build_params": "xsoar_local.engine.params",
    "check_args": "xsoar_local.engine.warroom",
    "command_spec": "xsoar_local.engine.runner",
    "default_instance_name": "xsoar_local.engine.runner",
    "env_file_layers": "xsoar_local.engine.params",
    "is_error": "xsoar_local.engine.entries",
    "load_integration": "xsoar_local.engine.integration",
    "normalise_entry": "xsoar_local.engine.entries",
    "normalise_results": "xsoar_local.engine.entries",
    "parse_env_file": "xsoar_local.engine.params",
    "parse_war_room": "xsoar_local.engine.warroom",
    "run_command": "xsoar_local.engine.runner",
    "split_debug_mode": "xsoar_local.engine.warroom",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ERROR",
    "NOTE",
    "ArgError",
    "ArgSpec",
    "CommandRun",
    "CommandSpec",
    "EngineError",
    "Integration",
    "IntegrationError",
    "LogEntry",
    "ParamError",
    "ParamLayer",
    "ParamSpec",
    "ParsedCommand",
    "WarRoomSyntaxError",
    "build_params",
    "check_args",
    "command_spec",
    "default_instance_name",
    "env_file_layers",
    "is_error",
    "load_integration",
    "normalise_entry",
    "normalise_results",
    "parse_env_file",
    "parse_war_room",
    "run_command",
    "split_debug_mode",
]
