"""The local engine: run any integration in Packs/ the way an XSOAR engine would, offline.

For callers (the CLI, the playbook runner):

    from xsoar_local.engine import load_integration, build_params, check_args, run_command

    integration = load_integration("Packs/YodaSpeak/Integrations/YodaSpeak")      # folder or unified YAML
    params = build_params(integration.params, [ParamLayer("--param", {"url": url})])  # YAML defaults + layers
    args = check_args(integration.command("yoda-speak-translate"), {"text": "Hello"})  # ArgError if wrong
    run = run_command(integration, "yoda-speak-translate", args, params, incident)      # fresh child process
    run.entries      # normalised War Room entries (Type 4 = error; `EngineCrash: True` for unhandled exceptions)
    run.is_error     # any error entry
    run.logs         # LogEntry(level, message): debug/info/error/log (print)/stdout/stderr
    run.incident     # a NEW Incident: EntryContext merged (xsoar_local.incident), integration context stored
                     # under run.instance (default "<brand>_instance_1"); the caller saves it (StateStore)

`run_command(..., check=True)` checks the args itself; `debug-mode=true` in the args is removed and turns on
debug mode. `run_war_room(integration, '!cmd arg="v"', params, incident)` parses and checks a War Room line.
Errors before running: ParamError, ArgError, WarRoomSyntaxError, EngineError, IntegrationError (all Exceptions
with a message meant for the user).

The child sees an allow-listed environment, not the caller's (debug mode logs `os.environ` unmasked): what
Python needs to run, the proxy/CA/REQUESTS_TIMEOUT variables an engine passes through, and `env=` on top; see
`runner.child_environment`.

Embedding the engine in-process: when CommonServerPython is imported it replaces
`demistomock.callingContext['params']` with a copy (a `SmartGetDict` of `demisto.params()`), and its `LOG`
collects the secrets to mask from those params. Params must therefore be final before the first import: a change
made to your dict afterwards is neither seen by the integration nor masked. The sandbox installs them before that
import, and a fresh process per command keeps one command's import from serving the next.
"""

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
    EngineError,
    command_spec,
    default_instance_name,
    run_command,
    run_war_room,
)
from xsoar_local.engine.warroom import (
    ArgError,
    ParsedCommand,
    WarRoomSyntaxError,
    check_args,
    parse_war_room,
    split_debug_mode,
)

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
    "run_war_room",
    "split_debug_mode",
]
