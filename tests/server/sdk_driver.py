"""Drive a running local server with demisto-sdk's and demisto-py's own client classes.

Run with the demisto-sdk environment's Python (`.venv-sdk/bin/python`), not imported by pytest:

    python sdk_driver.py ACTION OUTPUT.json [ARG ...]

DEMISTO_BASE_URL and DEMISTO_API_KEY (and XSIAM_AUTH_ID for `saas`) come from the environment, as for the
clients themselves. The action's findings are written to OUTPUT.json for the test to check.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import demisto_client
from demisto_client.demisto_api import CreateIncidentRequest
from demisto_sdk.commands.common.clients import get_client_from_server_type
from demisto_sdk.commands.common.constants import InvestigationPlaybookState

BRAND = "YodaSpeak"
INSTANCE = "yoda_1"
TRANSLATE = "!yoda-speak-translate"
DONE = (InvestigationPlaybookState.COMPLETED, InvestigationPlaybookState.FAILED)


def _entries(entries: list[Any]) -> list[dict[str, Any]]:
    return [{"type": entry.type, "contents": entry.contents, "parent": entry.parent_content} for entry in entries]


def _query(api: Any, investigation: str, query: str) -> Any:
    body = {"query": query}
    answer, _, _ = api.generic_request(f"/investigation/{investigation}/context", "POST", body, response_type="object")
    return answer


def _incident(api: Any, name: str, details: str = "", playbook: str | None = None) -> str:
    request = CreateIncidentRequest(name=name, details=details, playbook_id=playbook, create_investigation=True)
    return str(api.create_incident(create_incident_request=request).id)


def journey(service_url: str) -> dict[str, Any]:
    """What a user does after `make upload`: instance, test, War Room in the playground and an incident, playbooks."""
    client = get_client_from_server_type(os.environ["DEMISTO_BASE_URL"], os.environ["DEMISTO_API_KEY"])
    api = client.xsoar_client
    found: dict[str, Any] = {"client": type(client).__name__, "version": str(client.version)}
    found["installed"] = [pack["id"] for pack in client.installed_packs]
    client.create_integration_instance(
        BRAND, INSTANCE, {"url": service_url, "cache_hours": "24"}, should_test=True
    )  # raises when test-module fails
    found["instances"] = [item["name"] for item in client.search_integrations()["instances"]]
    playground = client.get_playground_id()
    found["playground"] = playground
    entries, context = client.run_cli_command(
        f'{TRANSLATE} text="Hello there, General Kenobi"', investigation_id=playground
    )
    found["playground_entries"], found["playground_context"] = _entries(entries), context
    blank, _ = client.run_cli_command(f'{TRANSLATE} text="   "', investigation_id=playground)
    found["blank_entries"] = _entries(blank)
    incident = _incident(api, "Translate in an incident")
    entries, context = client.run_cli_command(f'{TRANSLATE} text="You were the chosen one"', investigation_id=incident)
    found["incident"], found["incident_entries"], found["incident_context"] = incident, _entries(entries), context
    found["dt_translation"] = _query(api, incident, "${YodaSpeak.TheForce.Translation}")
    found["dt_whole"] = _query(api, incident, "${.}")
    runs = {}
    for playbook, details in (("Yoda Speak", "The prequel movies are great"), ("YodaSpeak_Test", "")):
        run_incident = _incident(api, f"Run {playbook}", details, playbook)
        state = client.poll_playbook_state(run_incident, expected_states=DONE, timeout=120)
        runs[playbook] = {
            "incident": run_incident,
            "state": state["state"],
            "playbookId": state["playbookId"],
            "tasks": {task_id: task["state"] for task_id, task in state["tasks"].items()},
            "context": client.get_investigation_context(run_incident),
        }
    found["playbooks"] = runs
    return found


def concurrent(count: str) -> dict[str, Any]:
    """`count` War Room commands sent at once into one new incident; its context afterwards."""
    api = demisto_client.configure(connection_pool_maxsize=int(count) + 2)
    incident = _incident(api, "Concurrent translations")
    texts = [f"Concurrent sentence number {number} for the council" for number in range(int(count))]

    def send(text: str) -> list[dict[str, Any]]:
        update = {"investigationId": incident, "data": f'{TRANSLATE} text="{text}"'}
        return _entries(api.investigation_add_entries_sync(update_entry=update))

    with ThreadPoolExecutor(max_workers=int(count)) as pool:
        results = list(pool.map(send, texts))
    return {"incident": incident, "texts": texts, "results": results, "context": _query(api, incident, "${.}")}


def inspect(incidents: str) -> dict[str, Any]:
    """What the server shows of earlier work (after a restart): packs, instances, contexts, playbook runs."""
    client = get_client_from_server_type(os.environ["DEMISTO_BASE_URL"], os.environ["DEMISTO_API_KEY"])
    api = client.xsoar_client
    found: dict[str, Any] = {
        "installed": [pack["id"] for pack in client.installed_packs],
        "instances": [item["name"] for item in client.search_integrations()["instances"]],
        "playground": client.get_playground_id(),
        "contexts": {},
        "playbooks": {},
        "entries": {},
    }
    for incident in filter(None, incidents.split(",")):
        found["contexts"][incident] = client.get_investigation_context(incident)
        found["playbooks"][incident] = client.get_playbook_state(incident)["state"]
        found["entries"][incident] = len(client.get_investigation_status(incident)["entries"])
    found["playground_context"] = _query(api, found["playground"], "${.}")
    return found


def saas() -> dict[str, Any]:
    """An XSOAR 8 style client (auth id set): demisto-py sends x-xdr-auth-id and puts /xsoar before every path."""
    api = demisto_client.configure()
    about, status, _ = api.generic_request("/about", "GET", response_type="object")
    playground = api.search_investigations(filter={"filter": {"type": [9], "page": 0}}).data[0].id
    update = {"investigationId": playground, "data": '!Print value="through /xsoar"'}
    entries = _entries(api.investigation_add_entries_sync(update_entry=update))
    client = get_client_from_server_type(os.environ["DEMISTO_BASE_URL"], os.environ["DEMISTO_API_KEY"])
    return {
        "host": api.api_client.configuration.host,
        "about": about,
        "status": status,
        "entries": entries,
        "client": type(client).__name__,
    }


def secrets(name: str, url: str, api_key: str) -> dict[str, Any]:
    """An instance created with a password in its URL and an API key; what the PUT and the search answer."""
    client = get_client_from_server_type(os.environ["DEMISTO_BASE_URL"], os.environ["DEMISTO_API_KEY"])
    answer = client.create_integration_instance(
        BRAND, name, {"url": url, "apikey": {"identifier": "", "password": api_key}}
    )
    search = client.search_integrations()
    client.delete_integration_instance(answer["id"])
    return {"put": answer, "search": search}


def lists(name: str) -> dict[str, Any]:
    """A list uploaded as demisto-sdk uploads one, read with demisto-py's generic requests, changed by War Room lines
    in the playground, then deleted; what each step answered."""
    api = demisto_client.configure()
    uploaded = {  # the fields of a list content item, as demisto-sdk's List._upload sends them
        "id": name,
        "name": name,
        "data": "10.0.0.1",
        "type": "plain_text",
        "description": "Hosts never to isolate",
        "version": -1,
        "fromVersion": "6.5.0",
        "allRead": False,
        "allReadWrite": False,
        "locked": False,
        "nameLocked": False,
        "system": False,
        "truncated": False,
        "tags": [],
    }
    found: dict[str, Any] = {}
    found["saved"], found["save_status"], _ = api.generic_request(
        "lists/save", "POST", uploaded, response_type="object"
    )
    found["all"], _, _ = api.generic_request("lists/", "GET", response_type="object")
    found["names"], _, _ = api.generic_request("lists/names", "GET", response_type="object")
    playground = api.search_investigations(filter={"filter": {"type": [9], "page": 0}}).data[0].id
    for line in (f'!addToList listName="{name}" listData=10.0.0.2', f'!getList listName="{name}"'):
        found[line.split()[0]] = _entries(
            api.investigation_add_entries_sync(update_entry={"investigationId": playground, "data": line})
        )
    found["download"], _, _ = api.generic_request(f"lists/download/{name}", "GET", accept="text/plain")
    _, found["delete_status"], _ = api.generic_request("lists/delete", "POST", {"id": name})
    try:
        api.generic_request(f"lists/download/{name}", "GET", accept="text/plain")
        found["after_delete"] = "still there"
    except demisto_client.demisto_api.rest.ApiException as error:
        found["after_delete"] = {"status": error.status, "body": json.loads(error.body)}
    return found


ACTIONS = {
    "journey": journey,
    "concurrent": concurrent,
    "inspect": inspect,
    "saas": saas,
    "secrets": secrets,
    "lists": lists,
}


def main() -> int:
    action, output, *args = sys.argv[1:]
    result = ACTIONS[action](*args)
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
