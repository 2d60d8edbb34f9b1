"""The requests a content process sends back to the engine while it runs: a nested `demisto.executeCommand`,
resolved through the same registry as a War Room line, its `${...}` arguments resolved first as the server
does, and answered with the entries a server would give the script.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xsoar_local.engine.catalog import CatalogError
from xsoar_local.engine.entries import ERROR
from xsoar_local.engine.native import BUILTIN_BRAND, BUILTIN_MODULE
from xsoar_local.engine.runner import CommandRun
from xsoar_local.engine.runs import server_entries, war_room_line_of
from xsoar_local.errors import XsoarLocalError
from xsoar_local.incident.model import Incident, view_for_expressions
from xsoar_local.incident.references import resolve_arguments
from xsoar_local.redact import mask_error

if TYPE_CHECKING:
    from xsoar_local.engine.session import EngineSession

SCRIPTS_BRAND = "Scripts"
PLAYBOOK_ID_ROOT = "currentPlaybookID"  # what `${currentPlaybookID}` reads: the running sub-playbook's id, or ""


@dataclass
class NestedCall:
    """The run a nested request comes from."""

    incident: Incident
    depth: int
    line: str
    playbook_id: str = ""  # the playbook the run is a task of (a sub-playbook's id; "" at the top level)
    nested: list[CommandRun] = field(default_factory=list)


def nested_handler(session: EngineSession, call: NestedCall) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The answerer of the requests `call`'s process sends: each nested command runs on `session` one level deeper."""

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        if request.get("type") != "executeCommand":
            return {"error": f"unknown request {request.get('type')!r}"}
        name = str(request.get("command") or "")
        incident = Incident(
            fields=dict(request.get("incident") or call.incident.fields),
            context=dict(request.get("context") or {}),
            integration_contexts=call.incident.integration_contexts,
        )
        # The server resolves `${...}` in the string arguments a script passes, against the incident as the
        # script sees it (its own setContext calls included) and the playbook run's values.
        view = {**view_for_expressions(incident), PLAYBOOK_ID_ROOT: call.playbook_id}
        args = resolve_arguments(dict(request.get("args") or {}), view)
        try:
            run = session.execute(name, args, incident, depth=call.depth + 1, playbook_id=call.playbook_id)
        except XsoarLocalError as error:  # the nested command could not run: the script reads why
            if isinstance(error, CatalogError):
                return {"error": f"Unsupported Command : {name}: {mask_error(error)}"}
            return {"entries": [{"Type": ERROR, "ContentsFormat": "text", "Contents": mask_error(error)}]}
        call.nested.append(run)
        brand, module = SCRIPTS_BRAND, name
        native = session.registry.native(name)
        if native is not None and not native.fallback and not run.instance:
            brand, module = BUILTIN_BRAND, BUILTIN_MODULE
        if run.instance:
            instance = session.instances.by_name(run.instance)
            brand, module = instance.brand, instance.name
        investigation = str(incident.fields.get("id") or "1")
        entries = server_entries(run, brand, module, war_room_line_of(name, run.args), investigation)
        return {"entries": entries, "context": run.incident.context}

    return handle
