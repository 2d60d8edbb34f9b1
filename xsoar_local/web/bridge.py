"""The web War Room over the local server's core (xsoar_local.server.core.ServerCore): the WarRoomCore calls.

Typed loosely on purpose: this module imports nothing from xsoar_local.server (the server imports the web app to
mount it), it only calls the core's public methods, which answer in the REST shapes. The server's errors carry an
HTTP `status` and a `detail`; a 404 becomes the LookupError of the pages, the others reach the page as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import yaml

from xsoar_local.errors import XsoarLocalError, http_status
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file
from xsoar_local.web.app import WebApp, create_app

T = TypeVar("T")
PLAYGROUND_TYPE = 9  # the server's investigation type for a playground

# Values the built-in scripts' arguments take, offered by completion as the War Room does.
BUILTIN_PREDEFINED: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "DeleteContext": {"all": ("yes", "no"), "subplaybook": ("auto", "yes", "no")},
    "Set": {"append": ("true", "false"), "stringify": ("true", "false")},
}


def _translated(call: Callable[[], T]) -> T:
    """Run a core call; an unknown id becomes the LookupError the pages answer with 404, any other refusal (a
    toolkit error carrying its HTTP status) reaches the page as it is."""
    try:
        return call()
    except XsoarLocalError as error:
        if http_status(error) == 404:
            raise LookupError(str(error)) from error
        raise


class ServerCoreBridge:
    """`WarRoomCore` for the local server's core object."""

    def __init__(self, core: Any) -> None:
        self.core = core

    def playground_id(self) -> str:
        return str(_translated(self.core.playground_id))

    def execute(self, investigation_id: str, line: str) -> list[dict[str, Any]]:
        return list(_translated(lambda: self.core.execute(investigation_id, line)))

    def entries(self, investigation_id: str) -> list[dict[str, Any]]:
        return list(_translated(lambda: self.core.entries(investigation_id)))

    def context(self, investigation_id: str) -> dict[str, Any]:
        return dict(_translated(lambda: self.core.context(investigation_id)))

    def incidents(self) -> list[dict[str, Any]]:
        found = _translated(lambda: self.core.search_investigations({"filter": {"page": 0, "size": 10_000}}))
        ids = [str(item["id"]) for item in found.get("data") or () if item.get("type") != PLAYGROUND_TYPE]
        incidents = [self.incident(incident_id) for incident_id in ids]
        return sorted(incidents, key=lambda item: (len(str(item.get("id"))), str(item.get("id"))), reverse=True)

    def incident(self, incident_id: str) -> dict[str, Any]:
        return dict(_translated(lambda: self.core.incident(incident_id)))

    def create_incident(self, name: str, details: str, playbook_id: str, severity: float) -> dict[str, Any]:
        body = {
            "name": name,
            "details": details,
            "severity": severity,
            "playbookId": playbook_id,
            "createInvestigation": True,
        }
        return dict(_translated(lambda: self.core.create_incident(body)))

    def playbook_run(self, investigation_id: str) -> dict[str, Any] | None:
        run = dict(_translated(lambda: self.core.playbook_state(investigation_id)))
        if not run.get("playbookId"):
            return None
        playbook = self._playbook(str(run["playbookId"]))
        if playbook is not None:  # the graph gives the work plan its order, as the server's run state does
            run.setdefault("startTaskId", playbook.start_task_id)
            tasks = run.setdefault("tasks", {})
            for task_id, task in playbook.tasks.items():
                entry = tasks.setdefault(task_id, {"id": task_id, "state": "", "task": {"name": task.name}})
                entry.setdefault("nextTasks", {label: list(ids) for label, ids in task.next_tasks.items()})
        return run

    def _content(self) -> Any:
        return self.core.content

    def _playbook(self, reference: str) -> Any:
        return self._content().playbook(reference)

    def playbooks(self) -> list[dict[str, Any]]:
        return [{"id": book.id, "name": book.name} for book in self._content().playbooks]

    def completions(self) -> list[dict[str, Any]]:
        data = _translated(self.core.completion_data)
        details = self._argument_details()
        listed = {str(command.get("name")) for command in data.get("commands") or ()}
        # The pack scripts the War Room runs, listed or not by the core, with their arguments.
        scripts: dict[
            str, Any
        ] = {}  # by name: a name several packs hold is offered once (running it says which packs clash)
        for script in self._content().catalog.scripts:
            if script.name not in listed:
                scripts.setdefault(script.name, script)
        extra = []
        for script in scripts.values():
            document = _script_yaml(script)
            details[("Scripts", script.name)] = _script_arguments(script, document)
            arguments = [arg.name for arg in script.arguments]
            extra.append(
                {
                    "name": script.name,
                    "brand": "Scripts",
                    "arguments": arguments,
                    "description": document.get("comment"),
                }
            )
        result = []
        for command in sorted([*(data.get("commands") or ()), *extra], key=lambda item: str(item.get("name"))):
            name = str(command.get("name"))
            brand = str(command.get("brand") or "")
            known = details.get((brand, name), {})
            arguments = []
            for arg in command.get("arguments") or ():
                arg_name = str(arg.get("name") if isinstance(arg, Mapping) else arg)
                arguments.append(
                    {
                        "name": arg_name,
                        "description": "",
                        "required": False,
                        "default": False,
                        "predefined": list(BUILTIN_PREDEFINED.get(name, {}).get(arg_name, ())),
                    }
                    | known.get(arg_name, {})
                )
            result.append(
                {
                    "name": name,
                    "description": str(command.get("description") or ""),
                    "kind": "script" if brand in ("", "Builtin", "Scripts") else "command",
                    "source": brand or "script",
                    "arguments": arguments,
                }
            )
        return result

    def _argument_details(self) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
        """(brand, command) -> argument -> description, required, default, predefined, from the installed YAML."""
        found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        for item in self._content().integrations:
            script = item.yaml.get("script") or {}
            for command in script.get("commands") or ():
                arguments: dict[str, dict[str, Any]] = {}
                for arg in command.get("arguments") or ():
                    arguments[str(arg.get("name"))] = {
                        "description": str(arg.get("description") or ""),
                        "required": bool(arg.get("required")),
                        "default": bool(arg.get("default")),
                        "predefined": [str(value) for value in _as_list(arg.get("predefined"))],
                    }
                found[(item.integration.name, str(command.get("name")))] = arguments
        return found


def _script_yaml(script: Any) -> dict[str, Any]:
    """The script's YAML (for the descriptions the engine does not keep); {} when it cannot be read."""
    try:
        document = load_yaml_file(script.yaml_path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlLimitError):
        return {}
    return document if isinstance(document, dict) else {}


def _script_arguments(script: Any, document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A pack script's arguments as completion shows them."""
    described = {str(arg.get("name")): str(arg.get("description") or "") for arg in document.get("args") or ()}
    return {
        arg.name: {
            "description": described.get(arg.name, ""),
            "required": bool(arg.required),
            "default": bool(arg.default),
            "predefined": [str(value) for value in arg.predefined],
        }
        for arg in script.arguments
    }


def _as_list(value: Any) -> Iterable[Any]:
    if isinstance(value, (list, tuple)):
        return [item for item in value if item not in (None, "")]
    return []


def server_web_app(core: Any, api_key: str, announce: Callable[[str], None] | None = None) -> WebApp:
    """The web War Room over the server's core (`web_app_factory` for the server's app); `announce` prints the
    fresh log-in links it makes."""
    return create_app(ServerCoreBridge(core), api_key, announce=announce)
