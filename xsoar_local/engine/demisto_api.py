"""The server's `demisto` object, as the engine hands it to integrations and scripts (child side).

Written from the documented API (../shared/reference/xsoar-scripts-fetch-api.md §4, the xsoar.pan.dev "Demisto
Class" page), not from the `demistomock` test stub: `get` takes `defaultParam`, `dt` evaluates DT, `context()`
sees what `setContext` and nested `executeCommand` calls changed, lastRun and integration contexts carry
versions, and `executeCommand` asks the parent engine to run the command. Every documented function the local
engine does not implement raises `NotImplementedError` naming it; nothing answers with a silent constant.
"""

from __future__ import annotations

import copy
import json
import types
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from xsoar_local.engine.entries import NOTE, LogEntry, normalise_results
from xsoar_local.engine.jobs import INTEGRATION, Job
from xsoar_local.engine.versions import SERVER_VERSION
from xsoar_local.incident.context import ContextPathError, get_path, set_path

# Channel to the parent engine: a request dict in, a reply dict out.
Channel = Callable[[dict[str, Any]], dict[str, Any]]

# Documented functions (demisto class API) the local engine does not provide: calling one fails loudly.
NOT_IMPLEMENTED = frozenset(
    {
        "getFilePath",
        "mapObject",
        "createIndicators",
        "searchIndicators",
        "searchRelationships",
        "getLicenseID",
        "getLicenseCustomField",
        "internalHttpRequest",
        "getAutoFocusApiKey",
        "getIndexHash",
        "getModules",
        "parentEntry",
        "credentials",
        "createIncidents",
        "addEntry",
        "mirrorInvestigation",
        "directMessage",
        "findUser",
        "handleEntitlementForUser",
        "updateModuleHealth",
        "getLastMirrorRun",
        "setLastMirrorRun",
        "getAssetsLastRun",
        "setAssetsLastRun",
    }
)


def _format(message: Any, args: tuple[Any, ...]) -> str:
    """Format like the logging calls they stand for (`msg % args`), tolerating mismatches."""
    text = str(message)
    if args:
        try:
            text = text % args
        except (TypeError, ValueError):
            text = " ".join([text, *map(str, args)])
    return text


class _ScriptOnly:
    """A function the server's `demisto` object has in scripts only: in an integration the attribute does not
    exist (`hasattr` is False), as on a server, where CommonServerPython's `execute_command` then raises "Cannot run
    demisto.executeCommand() from integrations"."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        if instance._job.kind == INTEGRATION:
            raise AttributeError(f"'demisto' has no attribute {self._name!r} in an integration (scripts only)")
        return types.MethodType(self._function, instance)


class ServerDemisto:
    """One command's or script's view of the server.

    `job` is the engine job (xsoar_local.engine.jobs.Job); `channel` reaches the parent engine for
    `executeCommand` (None: no engine to ask, so the call fails naming why).
    """

    def __init__(self, job: Job, channel: Channel | None = None) -> None:
        self._job = job
        self._channel = channel
        self._context: dict[str, Any] = copy.deepcopy(dict(job.context))
        self._incident: dict[str, Any] = copy.deepcopy(dict(job.incident or {"id": "1"}))
        self.entries: list[dict[str, Any]] = []
        self.raw_results: list[Any] = []
        self.logs: list[LogEntry] = []
        self.context_sets: list[list[Any]] = []
        self.integration_context: dict[str, Any] = copy.deepcopy(dict(job.integration_context))
        self.integration_context_version = job.integration_context_version
        self.last_run: dict[str, Any] = copy.deepcopy(dict(job.last_run))
        self.last_run_set = False
        self.fetched_incidents: list[Any] | None = None
        self.is_debug = job.is_debug
        self.callingContext = self._calling_context()

    # -- identity ---------------------------------------------------------------------------------
    def _calling_context(self) -> dict[str, Any]:
        job = self._job
        integration = job.kind == INTEGRATION
        name = job.name
        context: dict[str, Any] = {
            "Inv": {"id": self._investigation_id()},
            "Incidents": [self._incident],
            "ExecutionContext": self._context,
            "ParentEntry": {},
            "IsDebug": self.is_debug,
            "DockerImage": job.docker_image,
            "IntegrationBrand": job.brand if integration else "",
            "IntegrationInstance": job.instance if integration else "",
            "ScriptName": "" if integration else name,
            "ExecutedCommands": [
                {
                    "moduleBrand": job.brand if integration else "Scripts",
                    "name": job.command or name,
                }
            ],
        }
        calling: dict[str, Any] = {"args": copy.deepcopy(dict(job.args)), "integration": integration}
        calling["context"] = context
        if integration:
            calling["params"] = copy.deepcopy(dict(job.params))
            calling["command"] = job.command
        return calling

    def _investigation_id(self) -> str:
        return str(self._incident.get("investigationId") or self._incident.get("id") or "1")

    def params(self) -> dict[str, Any]:
        """The instance's params (integrations; `{}` in scripts)."""
        params: dict[str, Any] = self.callingContext.get("params", {})
        return params

    def args(self) -> dict[str, Any]:
        """The command's or script's arguments."""
        args: dict[str, Any] = self.callingContext["args"]
        return args

    def command(self) -> str:
        """The integration command being run (`''` in scripts)."""
        return str(self.callingContext.get("command", ""))

    def getArg(self, arg: str) -> Any:  # noqa: N802 - the server's names
        """`args().get(arg)`."""
        return self.args().get(arg)

    def getParam(self, param: str) -> Any:  # noqa: N802
        """`params().get(param)`."""
        return self.params().get(param)

    def integrationInstance(self) -> str:  # noqa: N802
        """The instance's name."""
        return self._job.instance

    def demistoVersion(self) -> dict[str, str]:  # noqa: N802
        """The server version CommonServerPython gates features on."""
        return dict(SERVER_VERSION)

    def getAllSupportedCommands(self) -> dict[str, Any]:  # noqa: N802
        """(Scripts) The commands that can run, by module: `{module: [{name, description}]}`, as CSP's
        `isCommandAvailable` reads it. An integration gets {}, as demistomock documents it for scripts only."""
        return copy.deepcopy(dict(self._job.supported_commands))

    def demistoUrls(self) -> dict[str, str]:  # noqa: N802
        """Links into the (local) server for this investigation."""
        base = "http://localhost"
        investigation = self._investigation_id()
        return {
            "server": base,
            "investigation": f"{base}/#/Details/{investigation}",
            "warRoom": f"{base}/#/WarRoom/{investigation}",
            "workPlan": f"{base}/#/WorkPlan/{investigation}",
            "evidenceBoard": f"{base}/#/EvidenceBoard/{investigation}",
            "relatedIncidents": f"{base}/#/Cluster/{investigation}",
        }

    def uniqueFile(self) -> str:  # noqa: N802
        """A fresh random name for a file in the working directory."""
        return str(uuid.uuid4())

    def investigation(self) -> dict[str, Any]:
        """The investigation the code runs in."""
        return {"id": self._investigation_id(), "name": self._incident.get("name", ""), "type": 0}

    # -- incident and context ---------------------------------------------------------------------
    def incident(self) -> dict[str, Any]:
        """The current incident (read when the run started)."""
        return self._incident

    def incidents(self, incidents: Any = None) -> Any:
        """Without an argument, `[incident]`; with a list in fetch-incidents, the incidents to create."""
        if incidents is None:
            return [self._incident]
        if self.command() == "fetch-incidents":
            if isinstance(incidents, str):
                incidents = json.loads(incidents)
            if not isinstance(incidents, list):
                raise TypeError(f"demisto.incidents() takes a list of incidents, not {type(incidents).__name__}")
            self.fetched_incidents = copy.deepcopy(incidents)
            return None
        self.results({"Type": NOTE, "Contents": json.dumps(incidents, default=str), "ContentsFormat": "json"})
        return None

    def context(self) -> dict[str, Any]:
        """The investigation's context as it is now."""
        return self._context

    def setContext(self, contextPath: str, value: Any) -> dict[str, Any]:  # noqa: N802, N803
        """Overwrite one context path."""
        self._context = set_path(self._context, str(contextPath), value)
        self.callingContext["context"]["ExecutionContext"] = self._context
        self.context_sets.append([str(contextPath), value])
        return {"status": True}

    def get(self, obj: Any, field: str, defaultParam: Any = None) -> Any:  # noqa: N803
        """The value at the dotted path `field` of `obj`, or `defaultParam` when a step is missing or empty."""
        value = obj
        for part in str(field).split("."):
            if value and isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                return defaultParam
        return value

    def gets(self, obj: Any, field: str) -> str:
        """`str(get(obj, field))`."""
        return str(self.get(obj, field))

    def dt(self, obj: Any = None, trnsfrm: str | None = None) -> Any:
        """Evaluate a DT expression (`Path.To.Key`, `Path(val.X == 1).Y`, `.[0]`) over `obj`."""
        if trnsfrm is None:
            return None
        try:
            value = get_path({"root": obj} if not isinstance(obj, Mapping) else obj, _dt_path(str(trnsfrm), obj))
        except ContextPathError:
            return None
        return value

    # -- entries and logs -------------------------------------------------------------------------
    def results(self, results: Any) -> None:
        """Write entries to the War Room (a dict, a list of dicts, or a bare value)."""
        self.raw_results.append(copy.deepcopy(results))
        self.entries.extend(normalise_results(results))

    def _logger(self, level: str) -> Callable[..., None]:
        def log(message: Any, *args: Any) -> None:
            self.logs.append(LogEntry(level, _format(message, args)))

        return log

    def log(self, msg: Any) -> None:
        """A War Room log line (what `print` writes)."""
        self.logs.append(LogEntry("log", str(msg)))

    def debug(self, msg: Any, *args: Any) -> None:
        """Server log at debug level."""
        self._logger("debug")(msg, *args)

    def info(self, msg: Any, *args: Any) -> None:
        """Server log at info level."""
        self._logger("info")(msg, *args)

    def error(self, msg: Any, *args: Any) -> None:
        """Server log at error level."""
        self._logger("error")(msg, *args)

    # -- instance state ---------------------------------------------------------------------------
    def getLastRun(self) -> dict[str, Any]:  # noqa: N802
        """The fetch state the previous successful fetch left (`{}` at first)."""
        return copy.deepcopy(self.last_run)

    def setLastRun(self, obj: Any) -> None:  # noqa: N802
        """The fetch state for the next fetch (kept only if this fetch succeeds)."""
        self.last_run = copy.deepcopy(obj) if obj is not None else {}
        self.last_run_set = True

    def getIntegrationContext(self) -> dict[str, Any]:  # noqa: N802
        """The instance's cache dict."""
        return copy.deepcopy(self.integration_context)

    def setIntegrationContext(self, context: Any) -> None:  # noqa: N802
        """Replace the instance's cache dict (a new version)."""
        self.integration_context = copy.deepcopy(dict(context or {}))
        self.integration_context_version += 1

    def getIntegrationContextVersioned(self, refresh: bool = False) -> dict[str, Any]:  # noqa: N802
        """`{'context': ..., 'version': n}`."""
        del refresh  # one process holds the instance's context for the run: it is always fresh
        return {"context": copy.deepcopy(self.integration_context), "version": self.integration_context_version}

    def setIntegrationContextVersioned(self, context: Any, version: Any = -1, sync: bool = False) -> None:  # noqa: N802
        """Replace the cache if `version` is the stored one (or -1); a stale version is a ValueError."""
        del sync
        if version not in (-1, None) and int(version) != self.integration_context_version:
            raise ValueError(
                f"DB Version: the integration context is at version {self.integration_context_version}, "
                f"not {version} (read it again with getIntegrationContextVersioned)"
            )
        self.setIntegrationContext(context)

    # -- commands -----------------------------------------------------------------------------------
    @_ScriptOnly
    def executeCommand(self, command: str, args: Any = None) -> list[dict[str, Any]]:  # noqa: N802
        """Run an integration command or a script through the parent engine; its entries come back (scripts only).

        As on the server, an unknown command raises ValueError, and the context the command wrote is visible
        to `context()` afterwards.
        """
        if self._channel is None:
            raise ValueError(
                f"executeCommand({command!r}): this sandbox has no engine to run nested commands "
                "(run_job was called without a channel)"
            )
        reply = self._Demisto__do(
            {
                "type": "executeCommand",
                "command": str(command),
                "args": copy.deepcopy(dict(args or {})),
                "context": self._context,
                "incident": self._incident,
            }
        )
        if reply.get("error"):
            raise ValueError(str(reply["error"]))
        if isinstance(reply.get("context"), dict):
            self._context = reply["context"]
            self.callingContext["context"]["ExecutionContext"] = self._context
        return list(reply.get("entries") or [])

    def _Demisto__do(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        """One request to the parent engine and its reply. The server's own demisto object sends every call
        through its private `__do`, and CommonServerPython's `support_multithreading()` wraps that method with a
        lock, so the name is the server's."""
        if self._channel is None:
            raise ValueError("this sandbox has no engine to ask (run_job was called without a channel)")
        return self._channel(request)

    def __getattr__(self, name: str) -> Any:
        if name in NOT_IMPLEMENTED:

            def not_implemented(*_args: Any, **_kwargs: Any) -> Any:
                raise NotImplementedError(f"demisto.{name}() is not implemented by the local engine")

            return not_implemented
        if isinstance(getattr(type(self), name, None), _ScriptOnly):
            raise AttributeError(
                f"the server's demisto object has no attribute {name!r} in an integration: it is for scripts only "
                "(as on a server; run the command from a script, or call the API from the integration itself)"
            )
        raise AttributeError(f"the server's demisto object has no attribute {name!r}")


def _dt_path(expression: str, obj: Any) -> str:
    """A DT expression as a context path; a non-dict `obj` is reached under `root`."""
    path = expression.strip()
    if path.startswith("${") and path.endswith("}"):
        path = path[2:-1]
    if not isinstance(obj, Mapping):
        return "root" + ("" if path.startswith(".") else ".") + path
    return path
