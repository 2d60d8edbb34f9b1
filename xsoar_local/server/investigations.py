"""The investigations feature: incidents, their investigations (the playground among them), context and entries.

It is also the incident holder a playbook run reads and updates task by task (`read_incident`,
`update_incident`, as `xsoar_local.commit.StoredIncident` calls them).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from xsoar_local.errors import ContentError
from xsoar_local.incident.model import Incident, view_for_expressions
from xsoar_local.playbook.expressions import Resolver
from xsoar_local.server.content import Packs
from xsoar_local.server.errors import bad_request
from xsoar_local.server.records import (
    INCIDENT_TYPE,
    PLAYGROUND_TYPE,
    USER,
    IncidentRecord,
    Investigation,
    now,
    truthy,
)
from xsoar_local.server.repository import Changes, StateRepository

_QUERY: Final = re.compile(r"^\s*\$\{(.*)\}\s*$", re.DOTALL)
RUN_IN_PROGRESS: Final = "inprogress"


class Investigations:
    """Incidents and investigations over the state repository; `start_playbook(inv_id, playbook)` runs one."""

    def __init__(self, state: StateRepository, packs: Packs, start_playbook: Callable[[str, Any], None]) -> None:
        self.state = state
        self.packs = packs
        self.start_playbook = start_playbook

    # ---- the playground ----------------------------------------------------------------------------------------
    def ensure_playground(self) -> None:
        if self.state.settings.playground_id:
            return
        with self.state.transaction() as changes:
            inv_id = str(uuid.uuid4())
            changes.settings.playground_id = inv_id
            fields = {"id": inv_id, "name": "Playground", "type": "Playground", "status": 1, "created": now()}
            changes.add_incident(IncidentRecord(inv_id, fields, {}, Investigation(PLAYGROUND_TYPE, 0, now())))

    def playground_id(self) -> str:
        with self.state.lock:
            return self.state.settings.playground_id

    # ---- views -------------------------------------------------------------------------------------------------
    def _view(self, record: IncidentRecord) -> dict[str, Any]:
        investigation = record.investigation or Investigation()
        fields = record.fields
        return {
            "id": record.id,
            "name": fields.get("name", ""),
            "type": investigation.type,
            "status": investigation.status,
            "created": investigation.created or fields.get("created"),
            "modified": investigation.created,
            "creatingUserId": USER,
            "users": [USER],
            "isPlayground": investigation.type == PLAYGROUND_TYPE,
            "closed": investigation.closed,
            "details": fields.get("details", ""),
            "version": len(self.state.entries(record.id)),
        }

    def search(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /investigations/search`: filter by `type`, `id`, paged by `page`/`size`."""
        given = body.get("filter")
        search: Mapping[str, Any] = given if isinstance(given, Mapping) else body
        types = search.get("type") or []
        ids = [str(item) for item in search.get("id") or []]
        page = max(0, int(search.get("page") or 0))
        size = max(1, int(search.get("size") or 50))
        with self.state.lock:
            found = [
                self._view(record)
                for record in self.state.incidents()
                if record.investigation is not None
                and (not types or record.investigation.type in types)
                and (not ids or record.id in ids)
            ]
        return {"total": len(found), "data": found[page * size : (page + 1) * size]}

    def investigation(self, inv_id: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """`POST /investigation/{id}`: the investigation with its War Room entries (newest `pageSize`)."""
        size = int((body or {}).get("pageSize") or 1000)
        with self.state.lock:
            record = self.state.incident(inv_id)
            entries = self.state.entries(inv_id)
            shown = entries[-size:] if size > 0 else entries
            view = self._view(record)
            listed = [entry.to_json() for entry in shown]
        return {**view, "investigation": view, "entries": listed, "total": len(entries)}

    def entries(self, inv_id: str, since: int = 0) -> list[dict[str, Any]]:
        """The War Room entries from position `since` on (for a live view)."""
        with self.state.lock:
            self.state.incident(inv_id)
            return [entry.to_json() for entry in self.state.entries(inv_id)[since:]]

    def incident(self, inc_id: str) -> dict[str, Any]:
        """The incident's fields as the REST API returns them."""
        with self.state.lock:
            record = self.state.incident(inc_id, investigation=False)
            fields = record.incident().fields
            status = record.run_status
        return {**fields, "isPlayground": False, "runStatus": status}

    def context(self, inv_id: str) -> dict[str, Any]:
        with self.state.lock:
            return self.state.incident(inv_id).incident().context

    def query_context(self, inv_id: str, query: str) -> Any:
        """`POST /investigation/{id}/context`: a DT query such as `${.}` or `${Vendor.Item.Value}`."""
        match = _QUERY.match(str(query or ""))
        if match is None:
            raise bad_request(f"the query {query!r} is not a DT expression: write it as ${{path}}, e.g. ${{.}}")
        path = match.group(1).strip()
        incident = self.read_incident(inv_id)
        if path in (".", ""):
            return incident.context
        try:
            return Resolver(view_for_expressions(incident)).lookup(path)
        except ContentError as error:  # the query cannot be evaluated on this context
            raise bad_request(f"cannot evaluate {query!r}: {error}", "errDTQuery") from error

    # ---- creating ----------------------------------------------------------------------------------------------
    def create_incident(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /incident`: a new incident; with `createInvestigation`, its investigation and playbook start."""
        playbook_ref = str(body.get("playbookId") or "").strip()
        playbook = self.packs.content.playbook(playbook_ref) if playbook_ref else None
        if playbook_ref and playbook is None:
            known = ", ".join(sorted(book.id for book in self.packs.content.playbooks)) or "none"
            raise bad_request(
                f"playbook {playbook_ref!r} is not installed (installed playbooks: {known})", "errPlaybookNotFound"
            )
        with self.state.transaction() as changes:
            inv_id = self.new_incident(changes, {**body, "playbookId": playbook.id if playbook else ""})
        if truthy(body.get("createInvestigation")):
            self.investigate(inv_id)
        return self.incident(inv_id)

    def new_incident(self, changes: Changes, body: Mapping[str, Any], sourced_from: str = "") -> str:
        """Store a new incident in `changes`; its id."""
        changes.settings.last_incident += 1
        inv_id = str(changes.settings.last_incident)
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
        changes.add_incident(IncidentRecord(inv_id, fields))
        return inv_id

    def investigate(self, inc_id: str) -> dict[str, Any]:
        """`POST /incident/investigate`: open the investigation and start the incident's playbook."""
        with self.state.transaction() as changes:
            record = self.state.incident(inc_id, investigation=False)
            if record.investigation is None:
                record = changes.incident(inc_id, investigation=False)
                record.investigation = Investigation(INCIDENT_TYPE, 0, now())
                record.fields["status"] = 1
            playbook_id = str(record.fields.get("playbookId") or "")
            running = record.run_status == RUN_IN_PROGRESS
        playbook = self.packs.content.playbook(playbook_id) if playbook_id else None
        if playbook is not None and not running:
            self.start_playbook(inc_id, playbook)
        return {"response": inc_id, "id": inc_id}

    # ---- the incident holder of a playbook run -----------------------------------------------------------------
    def read_incident(self, inv_id: str) -> Incident:
        with self.state.lock:
            return self.state.incident(inv_id).incident()

    def update_incident(self, inv_id: str, change: Callable[[Incident], Incident]) -> Incident:
        """Apply `change` to the investigation's latest incident and save it (nothing if it raises)."""
        with self.state.transaction() as changes:
            record = changes.incident(inv_id)
            record.apply(change(record.incident()))
            return record.incident()
