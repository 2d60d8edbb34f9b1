"""The server core: a thin facade over the feature modules, for the REST layer (`api.py`) and the page.

    records.py         typed records: incidents with their investigation, instances, War Room entries
    state.py           the state folder: layout, lock, loading, the API key
    repository.py      the records in memory, the lock over them, all-or-nothing saves, size caps
    content.py         packs: upload, listing, what the installed packs hold
    instances.py       integration instances and their secrets
    investigations.py  incidents, investigations, context, entries (and the playbook runs' incident holder)
    warroom.py         War Room lines: notes, commands and server-native commands through the engine registry
    playbooks.py       playbook runs in background threads

Every public method takes and returns JSON-able dicts shaped as the XSOAR server's REST API shapes them, and
raises `ServerError` (status, id, title, detail) for a request the server refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xsoar_local.engine.versions import SERVER_VERSION
from xsoar_local.incident.lists import StateListStore
from xsoar_local.playbook.model import Playbook
from xsoar_local.runtime import DEFAULT_DESTINATION
from xsoar_local.server.content import InstalledContent, Packs
from xsoar_local.server.instances import SECRET_MASK, Instances
from xsoar_local.server.investigations import Investigations
from xsoar_local.server.lists import ServerLists
from xsoar_local.server.playbooks import PlaybookRuns
from xsoar_local.server.records import USER
from xsoar_local.server.repository import StateRepository
from xsoar_local.server.warroom import DEFAULT_COMMAND_TIMEOUT, WarRoom

__all__ = ["SECRET_MASK", "ServerCore"]


class ServerCore:
    """One local XSOAR server's behaviour. `open()` takes the state folder; `close()` frees it.

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
        self.state = StateRepository(Path(state_dir))
        self.packs = Packs(self.state)
        self.instances = Instances(self.state, self.packs)
        self.war_room = WarRoom(
            self.state,
            self.packs,
            self.instances,
            warm=warm,
            command_timeout=command_timeout,
            runtime_dir=runtime_dir,
            engine_env=engine_env,
        )
        self.investigations = Investigations(self.state, self.packs, self.run_playbook)
        self.playbooks = PlaybookRuns(self.state, self.investigations, self.war_room)

    # ---- life cycle -----------------------------------------------------------------------------------------
    def open(self) -> ServerCore:
        """Own the state folder, load it, and recover what a stop interrupted."""
        self.state.open()
        try:
            self.instances.open()
            self.packs.load()
            self.investigations.ensure_playground()
            self.playbooks.recover()
        except BaseException:
            self.state.close()
            raise
        return self

    def close(self) -> None:
        """Wait for running playbooks, release the folder (the engine stops its warm workers at process exit)."""
        self.playbooks.join(self.war_room.command_timeout)
        self.state.close()

    def __enter__(self) -> ServerCore:
        return self.open()

    def __exit__(self, *_: object) -> None:
        self.close()

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
    @property
    def content(self) -> InstalledContent:
        """What the installed packs hold (loaded by `open()`)."""
        return self.packs.content

    def upload_pack(self, data: bytes, filename: str = "") -> list[dict[str, Any]]:
        return self.packs.upload(data, filename, self.lists)

    @property
    def lists(self) -> ServerLists:
        """The XSOAR lists, kept in the engine's state store beside the instances' state (what scripts reach too)."""
        return ServerLists(StateListStore(self.instances.store))

    def installed_packs(self) -> list[dict[str, Any]]:
        return self.packs.installed()

    # ---- instances -----------------------------------------------------------------------------------------
    def search_integrations(self) -> dict[str, Any]:
        return self.instances.search()

    def save_instance(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.instances.save(body)

    def delete_instance(self, instance_id: str) -> None:
        self.instances.delete(instance_id)

    def test_instance(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.instances.test(body, self.war_room._session)

    def integration_context(self, instance_name: str) -> dict[str, Any]:
        return self.instances.integration_context(instance_name)

    def last_run(self, instance_name: str) -> dict[str, Any]:
        return self.instances.last_run(instance_name)

    # ---- investigations ------------------------------------------------------------------------------------
    def playground_id(self) -> str:
        return self.investigations.playground_id()

    def search_investigations(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.investigations.search(body)

    def create_incident(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.investigations.create_incident(body)

    def incident(self, inc_id: str) -> dict[str, Any]:
        return self.investigations.incident(inc_id)

    def investigate(self, inc_id: str) -> dict[str, Any]:
        return self.investigations.investigate(inc_id)

    def investigation(self, inv_id: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.investigations.investigation(inv_id, body)

    def context(self, inv_id: str) -> dict[str, Any]:
        return self.investigations.context(inv_id)

    def query_context(self, inv_id: str, query: str) -> Any:
        return self.investigations.query_context(inv_id, query)

    def entries(self, inv_id: str, since: int = 0) -> list[dict[str, Any]]:
        return self.investigations.entries(inv_id, since)

    # ---- the War Room --------------------------------------------------------------------------------------
    def execute(self, inv_id: str, line: str) -> list[dict[str, Any]]:
        return self.war_room.execute(inv_id, line)

    def completion_data(self) -> dict[str, Any]:
        return self.war_room.completion_data()

    # ---- playbooks -----------------------------------------------------------------------------------------
    def run_playbook(self, inv_id: str, playbook: Playbook) -> None:
        self.playbooks.run(inv_id, playbook)

    def playbook_state(self, inv_id: str) -> dict[str, Any]:
        return self.playbooks.state_of(inv_id)
