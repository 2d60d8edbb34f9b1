"""The server core: installed packs, instances, incidents, the War Room and playbook runs, over one state folder.

Both the REST layer (`api.py`) and the web War Room call this object; neither keeps state of its own.
Every public method takes and returns JSON-able dicts shaped as the XSOAR server's REST API shapes them, and
raises `ServerError` (status, id, title, detail) for a request the server refuses.

Concurrency: the state document is changed only under one lock and saved atomically after each change.
Commands run outside the lock (in warm workers, several at once); each result is merged into the incident as it
is when the command finishes, so concurrent commands into one incident all land in its context.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from xsoar_local.commit import merge_run
from xsoar_local.engine import (
    ParamError,
    ParamLayer,
    WarRoomSyntaxError,
    build_params,
    parse_war_room,
)
from xsoar_local.engine.demisto_api import SERVER_VERSION
from xsoar_local.engine.entries import DEBUG, ERROR, NOTE
from xsoar_local.engine.instances import Instance, InstanceSet
from xsoar_local.engine.native import BUILTIN_BRAND, NATIVE_COMMANDS
from xsoar_local.engine.params import MissingParamError
from xsoar_local.engine.registry import CommandRegistry
from xsoar_local.engine.runner import CommandRun
from xsoar_local.engine.session import EngineSession
from xsoar_local.engine.state import StoreInstanceState
from xsoar_local.errors import ContentError, XsoarLocalError
from xsoar_local.incident.lists import StateListStore
from xsoar_local.incident.state import StateStore
from xsoar_local.incident.store import Incident, view_for_expressions
from xsoar_local.playbook.expressions import Resolver
from xsoar_local.playbook.integrations import EngineExecutor
from xsoar_local.playbook.library import CatalogContent
from xsoar_local.playbook.model import Playbook
from xsoar_local.playbook.runner import (
    CONTINUED,
    CommandCall,
    CommandOutcome,
    PlaybookRunner,
    TaskResult,
)
from xsoar_local.playbook.runner import (
    ERROR as TASK_ERROR,
)
from xsoar_local.redact import CREDENTIALS_TYPE, ENCRYPTED_TYPES, Redactor, mask, url_passwords
from xsoar_local.runtime import DEFAULT_DESTINATION
from xsoar_local.server import packs
from xsoar_local.server.content import InstalledContent, InstalledIntegration, scan_installed
from xsoar_local.server.errors import ServerError, bad_request, not_found
from xsoar_local.server.lists import ServerLists, lists_in_pack
from xsoar_local.server.state import StateFolder, snapshot

USER: Final = "admin"
INSTANCE_STATE_DIR: Final = "instances"
PLAYGROUND_TYPE: Final = 9
INCIDENT_TYPE: Final = 0
SECRET_MASK: Final = "<*** kept on the server ***>"
SECRET_TYPES: Final = ENCRYPTED_TYPES | {CREDENTIALS_TYPE}
_SECRET_FIELDS: Final = ("password", "sshkey", "certificate")  # the parts of a credentials value that are secret
DEFAULT_COMMAND_TIMEOUT: Final = 300.0
_QUERY = re.compile(r"^\s*\$\{(.*)\}\s*$", re.DOTALL)
# Playbook run states and task states as /inv-playbook reports them.
RUN_IN_PROGRESS, RUN_COMPLETED, RUN_FAILED = "inprogress", "completed", "failed"
TASK_STATES: Final = {TASK_ERROR: "Error", CONTINUED: "Error"}


def now() -> str:
    """The server's timestamp format (RFC 3339, UTC)."""
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


class ServerCore:
    """One local XSOAR server's behaviour. `open()` takes the state folder; `close()` stops workers and frees it.

    `warm=False` runs every command in a fresh engine child instead of a warm worker (xsoar_local.engine.executors).
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        warm: bool = True,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        runtime_dir: Path = DEFAULT_DESTINATION,
        engine_env: Mapping[str, str] | None = None,
    ) -> None:
        self.state = StateFolder(Path(state_dir))
        self.warm = warm
        self.command_timeout = command_timeout
        self.runtime_dir = runtime_dir
        # What the engine passes to integrations (proxy, CA...): None = the allow-listed part of this environment.
        self.engine_env = dict(engine_env) if engine_env is not None else None
        self._lock = threading.RLock()
        self._doc: dict[str, Any] = {}
        self._entries: dict[str, list[dict[str, Any]]] = {}  # the War Rooms, kept in append-only files
        self._content: InstalledContent | None = None
        self._threads: list[threading.Thread] = []
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._opened = False
        # Integration contexts and lastRun belong to instances: kept in the engine's state store (locked, atomic
        # writes), one command per instance at a time (xsoar_local.engine.state.StoreInstanceState).
        self._instance_store: StateStore | None = None

    # ---- life cycle -----------------------------------------------------------------------------------------
    def open(self) -> ServerCore:
        """Own the state folder, load it, and recover what a stop interrupted."""
        self.state.open()
        try:
            self._doc = self.state.load()
            self._entries = self.state.load_entries()
            self._instance_store = StateStore(self.state.folder / INSTANCE_STATE_DIR)
            self._content = scan_installed(self.state.packs_dir)
            with self._lock:
                if not self._doc["playground_id"]:
                    self._create_playground()
                for inv_id, run in self._doc["playbook_runs"].items():
                    if run.get("state") == RUN_IN_PROGRESS:
                        run["state"] = RUN_FAILED
                        why = "the server stopped while the playbook was running; run it again"
                        run["message"] = why
                        self._add_entries(inv_id, [_error_entry(f"Playbook {run.get('name')}: {why}")], "")
                self._save()
        except BaseException:
            self.state.close()
            raise
        self._opened = True
        return self

    def close(self) -> None:
        """Wait for running playbooks, release the folder (the engine stops its warm workers at process exit)."""
        for thread in list(self._threads):
            thread.join(timeout=self.command_timeout)
        self.state.close()
        self._opened = False

    def __enter__(self) -> ServerCore:
        return self.open()

    def __exit__(self, *_: object) -> None:
        self.close()

    def subscribe(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Call `listener(investigation_id, entry)` for each new War Room entry (the web UI's live view)."""
        self._listeners.append(listener)

    def _save(self) -> None:
        self.state.save(self._doc)

    def _next(self, counter: str) -> int:
        self._doc["counters"][counter] = int(self._doc["counters"].get(counter, 0)) + 1
        return int(self._doc["counters"][counter])

    # ---- server --------------------------------------------------------------------------------------------
    def about(self, saas: bool = False) -> dict[str, Any]:
        """`GET /about`: version and mode; `saas` for the XSOAR 8 (`/xsoar`) paths."""
        return {
            "demistoVersion": SERVER_VERSION["version"],
            "buildNum": SERVER_VERSION["buildNumber"],
            "deploymentMode": "saas" if saas else "opp",
            "productMode": "xsoar",
            "marketplaces": ["xsoar_saas" if saas else "xsoar"],
            "version": SERVER_VERSION["version"],
            "server": "xsoar-local",
        }

    def user(self) -> dict[str, Any]:
        """`GET /user`: the one user of a local server."""
        return {"id": USER, "username": USER, "name": "Local administrator", "roles": {"demisto": ["Administrator"]}}

    # ---- packs ---------------------------------------------------------------------------------------------
    def upload_pack(self, data: bytes, filename: str = "") -> list[dict[str, Any]]:
        """Install the pack(s) in a zip; a ServerError (400, errUploadContentPacks) changes nothing."""
        uploads = packs.read_upload(data, filename)
        pack_lists = [lists_in_pack(pack.files, filename or pack.id) for pack in uploads]  # refused before installing
        with self._lock:
            installed = [packs.install(pack, self.state.packs_dir) for pack in uploads]
            for items in pack_lists:
                self.lists.add_missing(items)
            for meta in installed:
                self._doc["packs"][meta["id"]] = meta
            self._content = scan_installed(self.state.packs_dir)
            self._save()
        return installed

    def installed_packs(self) -> list[dict[str, Any]]:
        """`GET /contentpacks/metadata/installed`."""
        with self._lock:
            return [copy.deepcopy(meta) for meta in self._doc["packs"].values()]

    @property
    def content(self) -> InstalledContent:
        """What the installed packs hold (loaded by `open()`)."""
        if self._content is None:
            raise RuntimeError("the server core is not open")
        return self._content

    # ---- integrations and instances ------------------------------------------------------------------------
    def search_integrations(self) -> dict[str, Any]:
        """`POST /settings/integration/search`: module configurations and instances (secrets masked)."""
        with self._lock:
            instances = [self._shown(instance) for instance in self._doc["instances"].values()]
        return {
            "configurations": [item.module_configuration() for item in self.content.integrations],
            "instances": instances,
            "engines": {"total": 0, "engines": []},
            "health": {},
        }

    def _integration_for(self, brand: str) -> InstalledIntegration:
        found = self.content.integration(brand)
        if found is None:
            known = ", ".join(sorted(item.integration.name for item in self.content.integrations)) or "none"
            raise bad_request(
                f"no installed integration has the brand {brand!r} (installed: {known}); upload its pack first",
                "errIntegrationNotFound",
            )
        return found

    def save_instance(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`PUT /settings/integration`: create an instance, or update the one with the body's `id`."""
        brand = str(body.get("brand") or "").strip()
        name = str(body.get("name") or "").strip()
        if not brand or not name:
            raise bad_request("an instance needs `brand` (the integration) and `name`", "errBadInstance")
        installed = self._integration_for(brand)
        with self._lock:
            existing = self._doc["instances"].get(str(body.get("id") or ""))
            clash = next((item for item in self._doc["instances"].values() if item["name"] == name), None)
            if clash is not None and (existing is None or clash["id"] != existing["id"]):
                raise bad_request(
                    f"an instance named {name!r} already exists; pick another name or update it by its id",
                    "errInstanceExists",
                )
            data = _merge_secrets(list(body.get("data") or []), existing, self._param_types(installed))
            self._params_of(installed, data)  # refuse unusable params now, not at the first command
            instance = {
                "id": existing["id"] if existing else str(uuid.uuid4()),
                "name": name,
                "brand": installed.integration.name,
                "category": str(body.get("category") or installed.yaml.get("category") or ""),
                "enabled": "true" if _truthy(body.get("enabled", "true")) else "false",
                "data": data,
                "isIntegrationScript": True,
                "integrationLogLevel": str(body.get("integrationLogLevel") or ""),
                "engine": str(body.get("engine") or ""),
                "version": int(existing["version"]) + 1 if existing else 1,
                "modified": now(),
                "configvalues": {item["name"]: item.get("value") for item in data if "name" in item},
                "dockerImage": installed.docker_image,
            }
            self._doc["instances"][instance["id"]] = instance
            self._save()
            return self._shown(instance)

    def delete_instance(self, instance_id: str) -> None:
        """`DELETE /settings/integration/{id}`; its integration context and lastRun go with it."""
        with self._lock:
            instance = self._doc["instances"].pop(instance_id, None)
            if instance is None:
                raise not_found(f"no integration instance with id {instance_id!r}", "errInstanceNotFound")
            self._save()
        with self._instances().update() as state:
            state.instances.pop(instance["name"], None)

    def test_instance(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /settings/integration/test`: runs test-module with the body's settings; `{success, message}`."""
        with self._lock:
            saved = self._doc["instances"].get(str(body.get("id") or "")) or next(
                (item for item in self._doc["instances"].values() if item["name"] == body.get("name")), None
            )
        brand = str(body.get("brand") or (saved or {}).get("brand") or "")
        installed = self._integration_for(brand)
        data = _merge_secrets(
            list(body.get("data") or (saved or {}).get("data") or []), saved, self._param_types(installed)
        )
        name = str(body.get("name") or (saved or {}).get("name") or f"{brand}_instance_1")
        try:
            instance = Instance(name, installed.integration, self._params_of(installed, data))
        except ServerError as error:
            return {"success": False, "message": error.detail}
        run = self._session().run_command(instance, "test-module", {}, Incident(fields={"id": ""}))
        if run.is_error:
            return {"success": False, "message": "\n".join(run.error_messages)}
        return {"success": True, "message": ""}

    @staticmethod
    def _param_types(installed: InstalledIntegration | None) -> dict[str, int]:
        """The YAML's type of each param: what says a value is secret, whatever type a request body claims."""
        return {spec.name: spec.type for spec in installed.integration.params} if installed else {}

    def _shown(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        """An instance as every answer of the API shows it: its secrets masked."""
        return _masked(instance, self._param_types(self.content.integration(str(instance.get("brand") or ""))))

    def _params_of(self, installed: InstalledIntegration, data: list[Any]) -> dict[str, Any]:
        known = {spec.name for spec in installed.integration.params}
        values = {
            str(item["name"]): item["value"]
            for item in data
            if isinstance(item, Mapping) and item.get("name") in known and "value" in item
        }
        try:
            return build_params(installed.integration.params, [ParamLayer("the instance settings", values)])
        except MissingParamError as error:
            raise bad_request(error.problem, "errBadInstance") from error
        except ParamError as error:
            raise bad_request(str(error), "errBadInstance") from error

    def _instances(self) -> StateStore:
        if self._instance_store is None:
            raise RuntimeError("the server core is not open")
        return self._instance_store

    @property
    def lists(self) -> ServerLists:
        """The XSOAR lists, kept in the engine's state store beside the instances' state (what scripts reach too)."""
        return ServerLists(StateListStore(self._instances()))

    def _session(self) -> EngineSession:
        """An engine over the installed content and the enabled instances, with warm workers when `warm`."""
        with self._lock:
            records = [copy.deepcopy(item) for item in self._doc["instances"].values() if _truthy(item["enabled"])]
        content = self.content
        configured = []
        for record in records:
            installed = content.integration(record["brand"])
            if installed is None:
                continue
            try:
                configured.append(
                    Instance(record["name"], installed.integration, self._params_of(installed, record["data"]))
                )
            except ServerError:
                continue  # an instance whose settings no longer fit its integration: left out, as if disabled
        instances = InstanceSet(content.catalog, configured, None, _no_default_instance)
        return EngineSession(
            content.catalog,
            instances,
            StoreInstanceState(self._instances()),
            env=self.engine_env,
            timeout=self.command_timeout,
            # warm: the process's warm executors (XSOAR_LOCAL_WARM=off still turns them off); else cold
            warm=None if self.warm else False,
            war_room=self._war_room,
            runtime_dir=self.runtime_dir,
            lists=StateListStore(self._instances()),
        )

    def _war_room(self, incident: Incident) -> list[dict[str, Any]]:
        """The investigation's War Room entries, as stored (what getEntries and getEntry read)."""
        with self._lock:
            return copy.deepcopy(self._entries.get(str(incident.fields.get("id") or ""), []))

    # ---- investigations ------------------------------------------------------------------------------------
    def _create_playground(self) -> None:
        inv_id = str(uuid.uuid4())
        self._doc["playground_id"] = inv_id
        self._doc["incidents"][inv_id] = {
            "fields": {"id": inv_id, "name": "Playground", "type": "Playground", "status": 1, "created": now()},
            "context": {},
            "investigation": {"type": PLAYGROUND_TYPE, "status": 0, "created": now()},
        }
        self._entries[inv_id] = []

    def playground_id(self) -> str:
        with self._lock:
            return str(self._doc["playground_id"])

    def _investigation_view(self, inv_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        investigation = record.get("investigation") or {}
        fields = record["fields"]
        return {
            "id": inv_id,
            "name": fields.get("name", ""),
            "type": investigation.get("type", INCIDENT_TYPE),
            "status": investigation.get("status", 0),
            "created": investigation.get("created", fields.get("created")),
            "modified": investigation.get("modified", investigation.get("created")),
            "creatingUserId": USER,
            "users": [USER],
            "isPlayground": investigation.get("type") == PLAYGROUND_TYPE,
            "closed": investigation.get("closed"),
            "details": fields.get("details", ""),
            "version": len(self._entries.get(inv_id, [])),
        }

    def search_investigations(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /investigations/search`: filter by `type`, `id`, paged by `page`/`size`."""
        given = body.get("filter")
        search: Mapping[str, Any] = given if isinstance(given, Mapping) else body
        types = search.get("type") or []
        ids = [str(item) for item in search.get("id") or []]
        page = max(0, int(search.get("page") or 0))
        size = max(1, int(search.get("size") or 50))
        with self._lock:
            found = [
                self._investigation_view(inv_id, record)
                for inv_id, record in self._doc["incidents"].items()
                if "investigation" in record
                and (not types or (record["investigation"].get("type", INCIDENT_TYPE) in types))
                and (not ids or inv_id in ids)
            ]
        return {"total": len(found), "data": found[page * size : (page + 1) * size]}

    def _record(self, inv_id: str, *, investigation: bool = True) -> dict[str, Any]:
        record: dict[str, Any] | None = self._doc["incidents"].get(str(inv_id))
        if record is None or (investigation and "investigation" not in record):
            what = "investigation" if investigation else "incident"
            raise not_found(f"no {what} with id {inv_id!r}", "errInvestigationNotFound")
        return record

    def create_incident(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /incident`: a new incident; with `createInvestigation`, its investigation and playbook start."""
        playbook_ref = str(body.get("playbookId") or "").strip()
        playbook = self.content.playbook(playbook_ref) if playbook_ref else None
        if playbook_ref and playbook is None:
            known = ", ".join(sorted(book.id for book in self.content.playbooks)) or "none"
            raise bad_request(
                f"playbook {playbook_ref!r} is not installed (installed playbooks: {known})", "errPlaybookNotFound"
            )
        with self._lock:
            inv_id = self._new_incident({**body, "playbookId": playbook.id if playbook else ""})
            self._save()
        if _truthy(body.get("createInvestigation")):
            self.investigate(inv_id)
        return self.incident(inv_id)

    def _new_incident(self, body: Mapping[str, Any], sourced_from: str = "") -> str:
        """Store a new incident (lock held by the caller, who saves); its id."""
        inv_id = str(self._next("incident"))
        created = now()
        custom = body.get("customFields") or body.get("CustomFields") or {}
        fields = {
            "id": inv_id,
            "name": str(body.get("name") or f"Incident {inv_id}"),
            "details": str(body.get("details") or ""),
            "type": str(body.get("type") or "Unclassified"),
            "severity": body.get("severity") or 0,
            "status": 0,
            "labels": list(body.get("labels") or []),
            "owner": str(body.get("owner") or USER),
            "occurred": str(body.get("occurred") or created),
            "created": created,
            "modified": created,
            "playbookId": str(body.get("playbookId") or ""),
            "investigationId": inv_id,
            "CustomFields": dict(custom) if isinstance(custom, Mapping) else {},
        }
        if sourced_from:
            fields.update(sourceInstance=sourced_from, sourceBrand=str(body.get("sourceBrand") or ""))
            fields["rawJSON"] = str(body.get("rawJSON") or "")
        self._doc["incidents"][inv_id] = {"fields": fields, "context": {}}
        self._entries[inv_id] = []
        return inv_id

    def incident(self, inc_id: str) -> dict[str, Any]:
        """The incident's fields as the REST API returns them."""
        with self._lock:
            record = self._record(inc_id, investigation=False)
            fields = copy.deepcopy(record["fields"])
        return {**fields, "isPlayground": False, "runStatus": self._run_status(inc_id)}

    def _run_status(self, inv_id: str) -> str:
        run = self._doc["playbook_runs"].get(inv_id)
        return "" if run is None else str(run.get("state"))

    def investigate(self, inc_id: str) -> dict[str, Any]:
        """`POST /incident/investigate`: open the investigation and start the incident's playbook."""
        with self._lock:
            record = self._record(inc_id, investigation=False)
            if "investigation" not in record:
                record["investigation"] = {"type": INCIDENT_TYPE, "status": 0, "created": now()}
                record["fields"]["status"] = 1
                self._save()
            playbook_id = str(record["fields"].get("playbookId") or "")
        playbook = self.content.playbook(playbook_id) if playbook_id else None
        if playbook is not None and self._run_status(inc_id) != RUN_IN_PROGRESS:
            self.run_playbook(inc_id, playbook)
        return {"response": inc_id, "id": inc_id}

    def investigation(self, inv_id: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """`POST /investigation/{id}`: the investigation with its War Room entries (newest `pageSize`)."""
        body = body or {}
        size = int(body.get("pageSize") or 1000)
        with self._lock:
            record = self._record(inv_id)
            entries = copy.deepcopy(self._entries.get(inv_id, []))
            view = self._investigation_view(inv_id, record)
        return {
            **view,
            "investigation": view,
            "entries": entries[-size:] if size > 0 else entries,
            "total": len(entries),
        }

    def context(self, inv_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._record(inv_id)["context"])

    def query_context(self, inv_id: str, query: str) -> Any:
        """`POST /investigation/{id}/context`: a DT query such as `${.}` or `${Vendor.Item.Value}`."""
        match = _QUERY.match(str(query or ""))
        if match is None:
            raise bad_request(f"the query {query!r} is not a DT expression: write it as ${{path}}, e.g. ${{.}}")
        path = match.group(1).strip()
        with self._lock:
            record = self._record(inv_id)
            incident = Incident(fields=copy.deepcopy(record["fields"]), context=copy.deepcopy(record["context"]))
        if path in (".", ""):
            return incident.context
        try:
            return Resolver(view_for_expressions(incident)).lookup(path)
        except ContentError as error:  # the query cannot be evaluated on this context
            raise bad_request(f"cannot evaluate {query!r}: {error}", "errDTQuery") from error

    def entries(self, inv_id: str, since: int = 0) -> list[dict[str, Any]]:
        """The War Room entries from position `since` on (for a live view)."""
        with self._lock:
            self._record(inv_id)
            return copy.deepcopy(self._entries.get(inv_id, [])[since:])

    def _add_entries(
        self, inv_id: str, raw_entries: Sequence[Mapping[str, Any]], parent: str, **extra: Any
    ) -> list[dict[str, Any]]:
        """Store entries in the War Room (lock held by the caller); returns them as the API shows them."""
        parent = mask(parent)  # the line as typed is shown and saved: a password written into it is not
        stored = [_server_entry(raw, f"{self._next('entry')}@{inv_id}", inv_id, parent, **extra) for raw in raw_entries]
        self.state.append_entries(inv_id, stored)
        self._entries.setdefault(inv_id, []).extend(stored)
        for entry in stored:
            for listener in list(self._listeners):
                with contextlib.suppress(Exception):
                    listener(inv_id, copy.deepcopy(entry))
        return stored

    # ---- the War Room --------------------------------------------------------------------------------------
    def execute(self, inv_id: str, line: str) -> list[dict[str, Any]]:
        """`POST /entry/execute/sync`: run a War Room line (a `!command` or a chat note); the entries it wrote."""
        text = str(line or "").strip()
        with self._lock:
            record = self._record(inv_id)
            if record["investigation"].get("closed"):
                raise ServerError(412, "errInvestigationClosed", "Investigation is closed", f"{inv_id} is closed")
            if not text.startswith("!"):
                if not text:
                    raise bad_request("`data` is empty: send a War Room line such as !Print value=hello")
                stored = self._add_entries(inv_id, [{"Type": NOTE, "ContentsFormat": "markdown", "Contents": text}], "")
                stored[0]["note"] = True
                stored[0]["user"] = USER
                self._save()
                return copy.deepcopy(stored)
        try:
            parsed = parse_war_room(text)
        except WarRoomSyntaxError as error:
            return self._commit_entries(inv_id, text, [_error_entry(str(error))])
        with self._lock:
            record = self._record(inv_id)
            incident = Incident(fields=copy.deepcopy(record["fields"]), context=copy.deepcopy(record["context"]))
        try:
            self._check_runnable(parsed.name, parsed.args)
            run = self._session().war_room(text, incident)
        except XsoarLocalError as error:  # the line could not run: its error is the War Room's answer
            return self._commit_entries(inv_id, text, [_error_entry(str(error))])
        return self._commit_run(inv_id, text, run)

    def _check_runnable(self, name: str, args: Mapping[str, Any]) -> None:
        """A command needs an enabled instance: the server never makes one up (scripts and the engine's own commands
        need none)."""
        if args.get("using-brand") == BUILTIN_BRAND:
            return
        if not args.get("using-brand") and (name in NATIVE_COMMANDS or self.content.catalog.has_script(name)):
            return
        with self._lock:
            enabled = [item for item in self._doc["instances"].values() if _truthy(item["enabled"])]
        for record in enabled:
            installed = self.content.integration(record["brand"])
            if installed is not None and installed.integration.command(name) is not None:
                return
        raise bad_request(
            f"Unsupported Command: {name!r}. No enabled integration instance has it and no installed script is called "
            "that; configure an instance of the integration that provides it (PUT /settings/integration)",
            "errUnsupportedCommand",
        )

    def _commit_run(self, inv_id: str, line: str, run: CommandRun) -> list[dict[str, Any]]:
        """Merge a finished run into the investigation as it is NOW (other commands may have finished meanwhile)."""
        with self._lock:
            record = self._record(inv_id)
            merged = merge_run(Incident(fields=record["fields"], context=record["context"]), run)
            record["context"] = merged.context
            record["fields"] = dict(merged.fields)  # setIncident, closeInvestigation
            if record["fields"].get("status") == "Closed" and not record["investigation"].get("closed"):
                record["investigation"]["closed"] = now()
                record["investigation"]["status"] = 1
            raw = list(run.entries)
            if run.debug:
                raw.append(_debug_entry(run))
            brand = run.brand or self._brand_of(run.instance)
            stored = self._add_entries(inv_id, raw, line, brand=brand, instance=run.instance)
            self._save()
            return copy.deepcopy(stored)

    def _brand_of(self, instance_name: str) -> str:
        if not instance_name:
            return "Scripts"
        found = next((item for item in self._doc["instances"].values() if item["name"] == instance_name), None)
        return str(found["brand"]) if found else ""

    def _commit_entries(self, inv_id: str, parent: str, raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            stored = self._add_entries(inv_id, raw, parent)
            self._save()
            return copy.deepcopy(stored)

    def integration_context(self, instance_name: str) -> dict[str, Any]:
        """An instance's integration context (what `demisto.getIntegrationContext()` returns to it)."""
        return self._instances().read().integration_context(instance_name)[0]

    def last_run(self, instance_name: str) -> dict[str, Any]:
        return self._instances().read().last_run(instance_name)

    def completion_data(self) -> dict[str, Any]:
        """What a War Room command line can complete: built-in scripts and each enabled instance's commands."""
        registry = CommandRegistry(self.content.catalog, InstanceSet(self.content.catalog, []))
        commands: dict[str, dict[str, Any]] = {
            item.name: {
                "name": item.name,
                "brand": item.brand,
                "arguments": list(item.arguments),
                "description": f"{item.description} ({item.kind})" if item.description else f"({item.kind})",
            }
            for item in registry.listing()
            if item.name in NATIVE_COMMANDS  # the engine's own, or the content script that shadows a fallback
        }
        with self._lock:
            brands = {item["brand"] for item in self._doc["instances"].values() if _truthy(item["enabled"])}
        for item in self.content.integrations:
            if item.integration.name not in brands:
                continue
            for spec in item.integration.commands:
                commands[spec.name] = {
                    "name": spec.name,
                    "brand": item.integration.name,
                    "arguments": [arg.name for arg in spec.arguments],
                    "description": spec.description,
                }
        return {"commands": sorted(commands.values(), key=lambda item: item["name"])}

    # ---- playbooks -----------------------------------------------------------------------------------------
    def run_playbook(self, inv_id: str, playbook: Playbook) -> None:
        """Start `playbook` on the investigation in a background thread; `playbook_state` follows it."""
        with self._lock:
            self._record(inv_id)
            self._doc["playbook_runs"][inv_id] = {
                "playbookId": playbook.id,
                "name": playbook.name,
                "state": RUN_IN_PROGRESS,
                "startDate": now(),
                "endDate": None,
                "message": "",
                "tasks": {
                    task_id: {
                        "id": task_id,
                        "state": "",
                        "type": task.type,
                        "task": {"name": task.name, "type": task.type},
                        "message": "",
                    }
                    for task_id, task in playbook.tasks.items()
                },
            }
            self._save()
        thread = threading.Thread(target=self._playbook_thread, args=(inv_id, playbook), name=f"playbook:{inv_id}")
        self._threads = [item for item in self._threads if item.is_alive()] + [thread]
        thread.start()

    def _playbook_thread(self, inv_id: str, playbook: Playbook) -> None:
        def on_task(result: TaskResult) -> None:
            with self._lock:
                task = self._doc["playbook_runs"][inv_id]["tasks"].setdefault(result.task_id, {"id": result.task_id})
                task.update(
                    state=TASK_STATES.get(result.status, "Completed"),
                    message=result.message,
                    completedDate=now(),
                    startDate=task.get("startDate") or now(),
                )
                self._save()

        session = self._session()
        executor = EngineExecutor(session)
        shown: set[int] = set()  # entries already in the War Room (written as their command finished)

        def execute(call: CommandCall, incident: Incident) -> CommandOutcome:
            if call.kind != "script":
                try:
                    self._check_runnable(call.command, {"using-brand": call.brand} if call.brand else {})
                except ServerError as error:
                    return CommandOutcome((), incident, error.detail)
            outcome = executor(call, incident)
            task = {
                "playbookName": playbook.name,
                "taskId": call.task_id,
                "taskName": playbook.tasks[call.task_id].name,
            }
            # The entries reach the War Room now; the task's context changes when the runner merges them.
            with self._lock:
                self._add_entries(inv_id, list(outcome.entries), "", entryTask=task)
                self._save()
            shown.update(id(entry) for entry in outcome.entries)
            return outcome

        try:
            content = CatalogContent(session.catalog, session.instances)
            run = PlaybookRunner(execute, on_task=on_task, operators=executor.operators, content=content).run(
                playbook, _StoredIncident(self, inv_id)
            )
        except Exception as error:  # a bug must still end the run, not leave it "inprogress" forever
            with self._lock:
                state = self._doc["playbook_runs"][inv_id]
                state.update(state=RUN_FAILED, message=f"{type(error).__name__}: {error}", endDate=now())
                self._add_entries(inv_id, [_error_entry(f"Playbook {playbook.name} failed: {error}")], "")
                self._save()
            return
        with self._lock:  # the incident itself was updated task by task (_StoredIncident); never replaced here
            for item in run.entries:
                if id(item.entry) in shown:
                    continue
                task = {"playbookName": playbook.name, "taskId": item.task_id, "taskName": item.task_name}
                self._add_entries(inv_id, [item.entry], "", entryTask=task)
            state = self._doc["playbook_runs"][inv_id]
            state.update(state=RUN_COMPLETED if run.completed else RUN_FAILED, message=run.error or "", endDate=now())
            if run.error:
                self._add_entries(inv_id, [_error_entry(f"Playbook {playbook.name} failed: {run.error}")], "")
            self._save()

    def _update_incident(self, inv_id: str, change: Callable[[Incident], Incident]) -> Incident:
        """Apply `change` to the investigation's latest incident under the lock and save it (nothing if it raises)."""
        with self._lock:
            record = self._record(inv_id)
            latest = Incident(fields=copy.deepcopy(record["fields"]), context=copy.deepcopy(record["context"]))
            after = change(latest)
            record["fields"] = copy.deepcopy(dict(after.fields))
            record["context"] = copy.deepcopy(dict(after.context))
            if record["fields"].get("status") == "Closed" and not record["investigation"].get("closed"):
                record["investigation"]["closed"] = now()
                record["investigation"]["status"] = 1
            self._save()
            return Incident(fields=copy.deepcopy(record["fields"]), context=copy.deepcopy(record["context"]))

    def _read_incident(self, inv_id: str) -> Incident:
        with self._lock:
            record = self._record(inv_id)
            return Incident(fields=copy.deepcopy(record["fields"]), context=copy.deepcopy(record["context"]))

    def playbook_state(self, inv_id: str) -> dict[str, Any]:
        """`GET /inv-playbook/{id}`: the run's state (new, inprogress, completed, failed) and its tasks."""
        with self._lock:
            self._record(inv_id)
            run = copy.deepcopy(self._doc["playbook_runs"].get(inv_id))
        if run is None:
            return {"id": inv_id, "investigationId": inv_id, "state": "new", "playbookId": "", "tasks": {}}
        return {"id": inv_id, "investigationId": inv_id, **run}

    def wait_for_playbook(self, inv_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the investigation's playbook run ends (tests and the CLI); its final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.playbook_state(inv_id)
            if state["state"] not in (RUN_IN_PROGRESS,):
                return state
            time.sleep(0.05)
        return self.playbook_state(inv_id)

    def document(self) -> dict[str, Any]:
        """A copy of the whole state document (diagnostics and tests)."""
        with self._lock:
            return snapshot(self._doc)


# ---- merging and entries ---------------------------------------------------------------------------------------
class _StoredIncident:
    """A playbook run's view of its incident on the server: each task reads and updates the stored copy."""

    def __init__(self, core: ServerCore, inv_id: str) -> None:
        self.core = core
        self.inv_id = inv_id

    def read(self) -> Incident:
        return self.core._read_incident(self.inv_id)

    def update(self, change: Callable[[Incident], Incident]) -> Incident:
        return self.core._update_incident(self.inv_id, change)


def _no_default_instance(integration: Any) -> Mapping[str, Any]:
    raise ParamError(f"no enabled instance of {integration.brand} is configured on this server")


def _error_entry(message: str) -> dict[str, Any]:
    """An error entry of the server's own; its text is masked as every toolkit message is."""
    return {"Type": ERROR, "ContentsFormat": "text", "Contents": mask(message)}


def _debug_entry(run: CommandRun) -> dict[str, Any]:
    """debug-mode=true: the integration's log, as the Type 16 entry demisto-sdk run --debug looks for."""
    lines = [f"{log.level}: {log.message}" for log in run.logs]
    return {"Type": DEBUG, "ContentsFormat": "text", "Contents": "\n".join(lines), "File": "integration-debug.log"}


def _server_entry(
    raw: Mapping[str, Any],
    entry_id: str,
    inv_id: str,
    parent: str,
    *,
    brand: str = "",
    instance: str = "",
    entryTask: Mapping[str, Any] | None = None,  # noqa: N803 - the server's field name
) -> dict[str, Any]:
    """An engine entry as the server stores and returns it: `contents` is what the War Room shows."""
    contents = raw.get("Contents")
    human = raw.get("HumanReadable")
    fmt = str(raw.get("ContentsFormat") or "text")
    if human not in (None, ""):
        shown, fmt = str(human), "markdown"
    elif isinstance(contents, str):
        shown = contents
    else:
        shown, fmt = json.dumps(contents, default=str, ensure_ascii=False), "json"
    try:
        entry_type = int(raw.get("Type", NOTE))
    except (TypeError, ValueError):
        entry_type = NOTE
    stamp = now()
    return {
        "id": entry_id,
        "investigationId": inv_id,
        "type": entry_type,
        "contents": shown,
        "format": fmt,
        "rawContents": contents,
        "entryContext": raw.get("EntryContext"),
        "parentContent": parent,
        "parentId": "",
        "brand": brand,
        "instance": instance,
        "created": stamp,
        "modified": stamp,
        "user": "",
        "note": False,
        "tags": list(raw.get("Tags") or []),
        "entryTask": dict(entryTask) if entryTask else None,
        "file": str(raw.get("File") or ""),
        "engineCrash": bool(raw.get("EngineCrash")),
    }


# ---- secrets in instance settings ------------------------------------------------------------------------------
def _is_secret(item: Mapping[str, Any], types: Mapping[str, int]) -> bool:
    """A secret param by the YAML's type; by the item's own type only for a param the YAML does not have."""
    kind = types.get(str(item.get("name")), item.get("type", 0))
    try:
        return int(kind) in SECRET_TYPES
    except (TypeError, ValueError):
        return False


def _masked(instance: Mapping[str, Any], types: Mapping[str, int]) -> dict[str, Any]:
    """The instance as the API shows it: secret params replaced by a mask that means "keep the saved value", and
    every other trace of them (and every password written into a URL) redacted."""
    shown = copy.deepcopy(dict(instance))
    secrets: list[str] = []
    for item in shown.get("data") or ():
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        if _is_secret(item, types) and value not in (None, "", {}):
            if isinstance(value, dict):
                hidden = {key: SECRET_MASK for key in _SECRET_FIELDS if value.get(key)}
                secrets += [str(value[key]) for key in hidden]
                item["value"] = {**value, **hidden}
            else:
                secrets.append(value if isinstance(value, str) else json.dumps(value))
                item["value"] = SECRET_MASK
        elif isinstance(value, str):
            secrets += url_passwords(value)
    redactor = Redactor(secrets)
    for item in shown.get("data") or ():
        if isinstance(item, dict) and "value" in item and item["value"] != SECRET_MASK:
            item["value"] = redactor.value(item["value"])
    shown["configvalues"] = {
        item["name"]: item.get("value") for item in shown.get("data") or () if isinstance(item, dict) and "name" in item
    }
    return shown


def _merge_secrets(data: list[Any], saved: Mapping[str, Any] | None, types: Mapping[str, int]) -> list[Any]:
    """Replace what the API showed of the saved settings (masks, masked URLs) with the saved values."""
    saved_values = {
        item.get("name"): item.get("value") for item in (saved or {}).get("data") or () if isinstance(item, Mapping)
    }
    shown_values = {
        item.get("name"): item.get("value")
        for item in _masked(saved or {}, types).get("data") or ()
        if isinstance(item, Mapping)
    }
    merged = []
    for item in data:
        if not isinstance(item, Mapping):
            continue
        item = copy.deepcopy(dict(item))
        value = item.get("value")
        name = item.get("name")
        old = saved_values.get(name)
        if value == SECRET_MASK or (name in shown_values and value == shown_values[name] != old):
            item["value"] = old
        elif isinstance(value, dict) and SECRET_MASK in value.values():
            kept = old if isinstance(old, dict) else {}
            item["value"] = {key: kept.get(key, "") if part == SECRET_MASK else part for key, part in value.items()}
        merged.append(item)
    return merged
