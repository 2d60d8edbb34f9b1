"""What the web War Room asks of the server's core: a Protocol, so the pages stay thin over whatever runs them.

Everything comes back in the server's REST shapes (entries as /entry/execute/sync answers them, the run state as
GET /inv-playbook/{id}); the pages only render it. Raise LookupError for an unknown id (the page answers 404)
and an `xsoar_local.errors` error with a message meant for the user for bad input (the page shows it with the
status of its category).
"""

from __future__ import annotations

from typing import Any, Protocol


class WarRoomCore(Protocol):
    """The calls the pages make."""

    def playground_id(self) -> str:
        """The user's playground investigation (type 9)."""

    def execute(self, investigation_id: str, line: str) -> list[dict[str, Any]]:
        """Run one War Room line as /entry/execute/sync does; the entries it wrote (errors are entries too)."""

    def entries(self, investigation_id: str) -> list[dict[str, Any]]:
        """Every entry of the investigation, oldest first."""

    def context(self, investigation_id: str) -> dict[str, Any]:
        """The investigation's whole context (`${.}`)."""

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident (id, name, created, status, severity, playbookId, details ...), newest first."""

    def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident's fields."""

    def create_incident(self, name: str, details: str, playbook_id: str, severity: float) -> dict[str, Any]:
        """Create an incident with an investigation and start its playbook in the background (as POST /incident)."""

    def playbook_run(self, investigation_id: str) -> dict[str, Any] | None:
        """The playbook run state (GET /inv-playbook/{id}); None when no playbook runs on it."""

    def playbooks(self) -> list[dict[str, Any]]:
        """Installed playbooks: at least `id` and `name`."""

    def completions(self) -> list[dict[str, Any]]:
        """Commands and scripts for completion.

        Each: {name, description, kind ("command" | "script"), source (brand or pack), arguments: [{name,
        description, required, default, predefined: [values]}]}.
        """
