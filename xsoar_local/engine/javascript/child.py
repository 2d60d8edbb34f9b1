"""The command's side of a JavaScript run: what the server-native globals do, inside the command's own process.

`glue.js` sends every call of a server-native function (`executeCommand`, `setContext`, `dq`, `log`, ...) to
`CommandState.answer`. The state lives in the forked process that runs the command; only `executeCommand`
reaches the engine that started it, through `request` (the same request and reply dicts the Python sandbox's
`demisto.executeCommand` sends).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from xsoar_local.engine.entries import ERROR, LogEntry
from xsoar_local.engine.versions import SERVER_VERSION
from xsoar_local.incident.context import ContextPathError, get_path, set_path
from xsoar_local.incident.selector import UnsupportedSelectorError

BIGINT_KEY = "__xsoar_bigint__"
Request = Callable[[dict[str, Any]], dict[str, Any]]


def decode(text: str) -> Any:
    """JSON from the JavaScript side, with its BigInts as Python ints (exact, however large)."""

    def bigint(item: dict[str, Any]) -> Any:
        if len(item) == 1 and BIGINT_KEY in item:
            return int(item[BIGINT_KEY])
        return item

    return json.loads(text, object_hook=bigint)


def dq(obj: Any, expression: str) -> Any:
    """The server's `dq(obj, dt)`: the value at a DT path of `obj` (None when nothing is there).

    A malformed path reads as nothing, as on the server; a selector the local engine cannot evaluate raises
    (the script fails saying so) rather than pass for a missing value.
    """
    path = expression.strip()
    if path.startswith("${") and path.endswith("}"):
        path = path[2:-1]
    if not isinstance(obj, Mapping):
        obj, path = {"root": obj}, "root" + ("" if path.startswith(".") else ".") + path
    try:
        return get_path(obj, path)
    except UnsupportedSelectorError:
        raise
    except ContextPathError:
        return None


class CommandState:
    """One command's view of the server, as the JavaScript globals read and change it."""

    def __init__(self, job: Mapping[str, Any], request: Request | None) -> None:
        self._job = job
        self._request = request
        self.context: dict[str, Any] = copy.deepcopy(dict(job.get("context") or {}))
        self.incident: dict[str, Any] = copy.deepcopy(dict(job.get("incident") or {"id": "1"}))
        self.context_sets: list[list[Any]] = []
        self.logs: list[LogEntry] = []
        self.integration_context: dict[str, Any] = copy.deepcopy(dict(job.get("integration_context") or {}))
        self.integration_context_version = int(job.get("integration_context_version") or 0)
        self.last_run: dict[str, Any] = copy.deepcopy(dict(job.get("last_run") or {}))
        self.last_run_set = False

    def bindings(self) -> dict[str, Any]:
        """The per-command globals `__xsoar_bind` sets: args, params, command, invContext, incidents, ..."""
        investigation = str(self.incident.get("investigationId") or self.incident.get("id") or "1")
        return {
            "args": dict(self._job.get("args") or {}),
            "params": dict(self._job.get("params") or {}),
            "command": str(self._job.get("command") or ""),
            "context": self.context,
            "incident": self.incident,
            "investigation": {"id": investigation, "name": self.incident.get("name", ""), "type": 0},
        }

    def answer(self, operation: str, payload_json: str) -> str:
        """Answer one call from `glue.js`: `{"value": ...}` as JSON, `{}` for `undefined`, or `{"throw": message}`
        for a failure glue.js throws into the script (a Python exception must not cross into the engine)."""
        try:
            payload = decode(payload_json)
            handler = getattr(self, "_op_" + operation, None)
            if handler is None:
                raise ValueError(f"unknown server-native call {operation!r}")
            value = handler(payload)
            return json.dumps({} if value is _UNDEFINED else {"value": value}, default=str)
        except Exception as error:  # any failure becomes the script's exception, which it may catch
            return json.dumps({"throw": f"{operation}: {error}"})

    # -- the operations glue.js sends ------------------------------------------------------------------
    def _op_executeCommand(self, payload: dict[str, Any]) -> Any:  # noqa: N802 - the server's name
        command = str(payload.get("command") or "")
        given = payload.get("args")
        if not isinstance(given, dict):
            raise ValueError(f"executeCommand({command!r}) takes its arguments as an object, not {given!r}")
        if self._request is None:
            return {"entries": [_error(f"executeCommand({command!r}): no engine to run it")], "context": self.context}
        reply = self._request(
            {
                "type": "executeCommand",
                "command": command,
                "args": payload["args"],
                "context": self.context,
                "incident": self.incident,
            }
        )
        if isinstance(reply.get("context"), dict):
            self.context = reply["context"]
        if reply.get("error"):
            # as CommonServer.js's isValidRes expects: a failure is an array holding an error entry
            return {"entries": [_error(str(reply["error"]))], "context": self.context}
        return {"entries": list(reply.get("entries") or []), "context": self.context}

    def _op_setContext(self, payload: dict[str, Any]) -> Any:  # noqa: N802
        path, value = str(payload.get("path")), payload.get("value")
        self.context = set_path(self.context, path, value)
        self.context_sets.append([path, value])
        return self.context

    def _op_dq(self, payload: dict[str, Any]) -> Any:
        found = dq(payload.get("obj"), str(payload.get("path") or ""))
        return _UNDEFINED if found is None else found

    def _op_log(self, payload: dict[str, Any]) -> Any:
        self.logs.append(LogEntry(str(payload.get("level") or "log"), str(payload.get("message"))))
        return _UNDEFINED

    def _op_demistoVersion(self, _payload: dict[str, Any]) -> Any:  # noqa: N802
        return dict(SERVER_VERSION)

    def _op_getAllSupportedCommands(self, _payload: dict[str, Any]) -> Any:  # noqa: N802
        return dict(self._job.get("supported_commands") or {})

    def _op_getIntegrationContext(self, payload: dict[str, Any]) -> Any:  # noqa: N802
        # CommonServer.js's getVersionedIntegrationContext: with `sync` the server answers {context, version}
        if payload.get("sync"):
            return {"context": self.integration_context, "version": self.integration_context_version}
        return self.integration_context

    def _op_setIntegrationContext(self, payload: dict[str, Any]) -> Any:  # noqa: N802
        version = payload.get("version")
        if version not in (None, -1) and int(version) != self.integration_context_version:
            # CommonServer.js's mergeVersionedIntegrationContext reads `.Error` and retries
            return {"Error": f"DB Version: the integration context is at version {self.integration_context_version}"}
        context = payload.get("context")
        self.integration_context = dict(context) if isinstance(context, Mapping) else {}
        self.integration_context_version += 1
        return {}

    def _op_getLastRun(self, _payload: dict[str, Any]) -> Any:  # noqa: N802
        return self.last_run

    def _op_setLastRun(self, payload: dict[str, Any]) -> Any:  # noqa: N802
        value = payload.get("value")
        self.last_run = dict(value) if isinstance(value, Mapping) else {}
        self.last_run_set = True
        return _UNDEFINED

    def _op_wait(self, payload: dict[str, Any]) -> Any:
        seconds = float(payload.get("seconds") or 0)
        if seconds > 0:
            time.sleep(seconds)  # the engine's time limit still applies: it counts wall time
        return _UNDEFINED


class _Undefined:
    """JavaScript's `undefined`, as an answer (JSON has only null)."""


_UNDEFINED = _Undefined()


def _error(message: str) -> dict[str, Any]:
    return {"Type": ERROR, "ContentsFormat": "text", "Contents": message}
