"""The child process that runs one integration command, as the engine's Docker container would.

Run as `python -m xsoar_local.engine.sandbox`: it reads a JSON job on stdin and writes a JSON result
to the file named in the job (stdout belongs to the integration's prints). One process per command,
because CommonServerPython mutates process-wide state (proxy and CA variables, its secret-masking logger).
"""

from __future__ import annotations

import io
import json
import sys
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xsoar_local.engine.entries import ERROR, LogEntry, crash_entry, normalise_results
from xsoar_local.runtime import RuntimeTamperedError, module_from_verified, read_verified

SERVER_VERSION = {"version": "8.9.0", "buildNumber": "local"}
# Commands for which CommonServerPython's return_error raises instead of writing an entry and exiting.
SERVER_HANDLED_COMMANDS = frozenset(
    {"fetch-incidents", "fetch-credentials", "long-running-execution", "fetch-indicators"}
)


class _LogWriter(io.TextIOBase):
    """A text stream that turns each written line into a log entry (print goes to the log, as on the server)."""

    def __init__(self, logs: list[LogEntry], level: str) -> None:
        self._logs = logs
        self._level = level
        self._buffer = ""

    # some libraries read sys.stdout.encoding; the captured text is kept as str either way
    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._logs.append(LogEntry(self._level, line))
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._logs.append(LogEntry(self._level, self._buffer))
            self._buffer = ""


def _format(message: Any, args: tuple[Any, ...]) -> str:
    """Format like the logging calls the mock stands for (`msg % args`), tolerating mismatches."""
    text = str(message)
    if args:
        try:
            text = text % args
        except (TypeError, ValueError):
            text = " ".join([text, *map(str, args)])
    return text


def _dotted_get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _dotted_set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[parts[-1]] = value


class Engine:
    """The server side of one command run: what `demistomock`'s functions answer and what they record."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.entries: list[dict[str, Any]] = []
        self.logs: list[LogEntry] = []
        self.integration_context: dict[str, Any] = dict(job.get("integration_context") or {})
        self.version: int = int(job.get("integration_context_version") or 0)
        self.context: dict[str, Any] = dict(job.get("context") or {})
        self.context_sets: list[list[Any]] = []
        self.last_run: dict[str, Any] = dict(job.get("last_run") or {})
        self.exit_code: int | None = None
        self.crashed = False

    def calling_context(self) -> dict[str, Any]:
        """The `callingContext` the engine hands an integration command."""
        incident_id = str((self.job.get("incident") or {}).get("id", "1"))
        return {
            "args": self.job["args"],
            "params": self.job["params"],
            "command": self.job["command"],
            "integration": True,
            "context": {
                "IntegrationBrand": self.job["brand"],
                "IntegrationInstance": self.job["instance"],
                "ExecutionContext": self.context,
                "Inv": {"id": incident_id},
                "Incidents": [self.incident()],
                "ParentEntry": {},
                "IsDebug": bool(self.job.get("is_debug")),
                "DockerImage": self.job.get("docker_image", ""),
                "ScriptName": "",
                "ExecutedCommands": [{"moduleBrand": self.job["brand"], "name": self.job["command"]}],
            },
        }

    def incident(self) -> dict[str, Any]:
        """The incident the command runs in."""
        return dict(self.job.get("incident") or {"id": "1"})

    # -- demistomock replacements ----------------------------------------------------------
    def results(self, results: Any) -> None:
        self.entries.extend(normalise_results(results))

    def logger(self, level: str) -> Callable[..., None]:
        def log(message: Any, *args: Any) -> None:
            self.logs.append(LogEntry(level, _format(message, args)))

        return log

    def get_integration_context(self) -> dict[str, Any]:
        return self.integration_context

    def set_integration_context(self, context: dict[str, Any]) -> None:
        self.integration_context = context

    def get_integration_context_versioned(self, refresh: bool = False) -> dict[str, Any]:
        return {"context": self.integration_context, "version": self.version}

    def set_integration_context_versioned(self, context: dict[str, Any], version: int = -1, sync: bool = False) -> None:
        # the server refuses a stale version with a ValueError; CSP retries on it
        if version not in (-1, None) and int(version) != self.version:
            raise ValueError(f"DB Version: the integration context is at version {self.version}, not {version}")
        self.integration_context = context
        self.version += 1

    def set_context(self, path: str, value: Any) -> dict[str, Any]:
        _dotted_set(self.context, path, value)
        self.context_sets.append([path, value])
        return {"status": True}

    def dt(self, obj: Any = None, transform: str | None = None) -> Any:
        return _dotted_get(obj, transform) if transform else None

    def execute_command(self, command: str, args: Any = None) -> list[dict[str, Any]]:
        message = f"executeCommand({command!r}) is not available to integrations in the local engine"
        return [{"Type": ERROR, "ContentsFormat": "text", "Contents": message}]

    def set_last_run(self, obj: dict[str, Any]) -> None:
        self.last_run = obj

    def install(self, demisto: types.ModuleType) -> None:
        """Patch the `demistomock` module before CommonServerPython is imported (its logger reads params then)."""
        calling_context = self.calling_context()
        patches: dict[str, Any] = {
            "callingContext": calling_context,
            "is_debug": bool(self.job.get("is_debug")),
            "params": lambda: calling_context["params"],
            "args": lambda: calling_context["args"],
            "command": lambda: calling_context["command"],
            "results": self.results,
            "log": self.logger("log"),
            "debug": self.logger("debug"),
            "info": self.logger("info"),
            "error": self.logger("error"),
            "context": lambda: self.context,
            "setContext": self.set_context,
            "dt": self.dt,
            "incident": self.incident,
            "incidents": lambda incidents=None: (
                [self.incident()]
                if incidents is None
                else self.results({"Type": 1, "Contents": json.dumps(incidents), "ContentsFormat": "json"})
            ),
            "investigation": lambda: {"id": self.incident().get("id", "1")},
            "getIntegrationContext": self.get_integration_context,
            "setIntegrationContext": self.set_integration_context,
            "getIntegrationContextVersioned": self.get_integration_context_versioned,
            "setIntegrationContextVersioned": self.set_integration_context_versioned,
            "getLastRun": lambda: self.last_run,
            "setLastRun": self.set_last_run,
            "executeCommand": self.execute_command,
            "integrationInstance": lambda: self.job["instance"],
            "demistoVersion": lambda: dict(SERVER_VERSION),
        }
        for name, value in patches.items():
            setattr(demisto, name, value)

    def result(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "logs": [log.to_json() for log in self.logs],
            "integration_context": self.integration_context,
            "integration_context_version": self.version,
            "context_sets": self.context_sets,
            "last_run": self.last_run,
            "exit_code": self.exit_code,
            "crashed": self.crashed,
        }


def _load_module(job: dict[str, Any]) -> types.ModuleType:
    """Execute the integration's code as a module named after it (so its `__main__` guard does not fire)."""
    name = str(job["module_name"])
    filename = str(job.get("code_path") or f"<{name}>")
    source = Path(filename).read_text(encoding="utf-8") if job.get("code_path") else str(job["code"])
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), module.__dict__)  # running the integration is the point
    return module


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one command in this process and return what the engine captured."""
    if str(job["folder"]) not in sys.path:
        sys.path.insert(0, str(job["folder"]))
    sys.dont_write_bytecode = True
    engine = Engine(job)
    runtime_dir = Path(job["runtime_dir"])
    verified = read_verified(runtime_dir)  # checked again here: these very bytes are what runs
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _LogWriter(engine.logs, "log"), _LogWriter(engine.logs, "stderr")
    try:
        demistomock = module_from_verified("demistomock", verified["demistomock.py"], runtime_dir / "demistomock.py")
        engine.install(demistomock)
        # Imported here, after the mock is patched (CommonServerPython reads params on import), from verified
        # bytes: the integration's `from CommonServerPython import *` then finds them and no file is read again.
        for name in ("CommonServerPython", "CommonServerUserPython"):
            module_from_verified(name, verified[f"{name}.py"], runtime_dir / f"{name}.py")
        module = _load_module(job)
        main = getattr(module, "main", None)
        if not callable(main):
            raise RuntimeError(f"{job['module_name']} defines no main() for the engine to call")
        main()
    except SystemExit as exit_:
        # return_error writes its Type 4 entry and then calls sys.exit(0)
        engine.exit_code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if engine.exit_code != 0 and not any(entry.get("Type") == ERROR for entry in engine.entries):
            engine.crashed = True
            engine.entries.append(crash_entry(f"The integration exited with status {engine.exit_code}."))
    except BaseException as error:
        engine.logs.append(LogEntry("error", traceback.format_exc()))
        if job["command"] in SERVER_HANDLED_COMMANDS:
            # return_error raises instead of exiting for these; the server reports the message as the error
            engine.entries.append({"Type": ERROR, "ContentsFormat": "text", "Contents": str(error)})
        else:
            engine.crashed = True
            engine.entries.append(
                crash_entry(
                    f"The integration raised {type(error).__name__} without handling it: {error} "
                    "(engine-side crash report; the traceback is in the logs)"
                )
            )
    finally:
        for writer in (sys.stdout, sys.stderr):
            writer.flush()
        sys.stdout, sys.stderr = stdout, stderr
    return engine.result()


def main() -> int:
    """Read the job on stdin, run it, write the result file."""
    job = json.loads(sys.stdin.read())
    try:
        result = run_job(job)
    except RuntimeTamperedError as error:
        result = {"entries": [crash_entry(str(error))], "crashed": True}
    Path(job["result_path"]).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
