"""The War Room feature: a War Room line (a chat note or a `!command`) run in an investigation, and its entries.

Names resolve through the engine's command registry (server-native commands such as `getEntries` or
`closeInvestigation`, the toolkit's fallback scripts, content scripts, integration commands). Commands run outside
the lock (on the engine's executors, warm unless switched off, several at once); each result is merged into the
incident as it is when the command finishes, so concurrent commands into one incident all land in its context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from xsoar_local.commit import merge_run
from xsoar_local.engine import ParamError, WarRoomSyntaxError, parse_war_room
from xsoar_local.engine.entries import DEBUG, NOTE
from xsoar_local.engine.instances import Instance, InstanceSet
from xsoar_local.engine.native import BUILTIN_BRAND, NATIVE_COMMANDS
from xsoar_local.engine.registry import CommandRegistry
from xsoar_local.engine.runner import CommandRun
from xsoar_local.engine.session import EngineSession
from xsoar_local.engine.state import StoreInstanceState
from xsoar_local.errors import XsoarLocalError
from xsoar_local.incident.context import ContextPathError
from xsoar_local.incident.lists import StateListStore
from xsoar_local.incident.model import Incident
from xsoar_local.runtime import DEFAULT_DESTINATION
from xsoar_local.server.content import Packs
from xsoar_local.server.errors import ServerError, bad_request
from xsoar_local.server.instances import Instances
from xsoar_local.server.records import error_entry
from xsoar_local.server.repository import StateRepository

DEFAULT_COMMAND_TIMEOUT: Final = 300.0


def _no_default_instance(integration: Any) -> Mapping[str, Any]:
    raise ParamError(f"no enabled instance of {integration.brand} is configured on this server")


def _debug_entry(run: CommandRun) -> dict[str, Any]:
    """debug-mode=true: the integration's log, as the Type 16 entry demisto-sdk run --debug looks for."""
    lines = [f"{log.level}: {log.message}" for log in run.logs]
    return {"Type": DEBUG, "ContentsFormat": "text", "Contents": "\n".join(lines), "File": "integration-debug.log"}


class WarRoom:
    """Runs War Room lines over the installed content and the enabled instances (warm executors when `warm`)."""

    def __init__(
        self,
        state: StateRepository,
        packs: Packs,
        instances: Instances,
        *,
        warm: bool = True,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        runtime_dir: Any = DEFAULT_DESTINATION,
        engine_env: Mapping[str, str] | None = None,
    ) -> None:
        self.state = state
        self.packs = packs
        self.instances = instances
        self.warm = warm
        self.command_timeout = command_timeout
        self.runtime_dir = runtime_dir
        # What the engine passes to integrations (proxy, CA...): None = the allow-listed part of this environment.
        self.engine_env = dict(engine_env) if engine_env is not None else None

    @property
    def content(self) -> Any:
        return self.packs.content

    def execute(self, inv_id: str, line: str) -> list[dict[str, Any]]:
        """`POST /entry/execute/sync`: run a War Room line (a `!command` or a chat note); the entries it wrote."""
        text = str(line or "").strip()
        with self.state.transaction() as changes:
            record = self.state.incident(inv_id)
            if record.investigation is not None and record.investigation.closed:
                raise ServerError(412, "errInvestigationClosed", "Investigation is closed", f"{inv_id} is closed")
            if not text.startswith("!"):
                if not text:
                    raise bad_request("`data` is empty: send a War Room line such as !Print value=hello")
                stored = changes.add_entries(
                    inv_id, [{"Type": NOTE, "ContentsFormat": "markdown", "Contents": text}], "", note=True
                )
                return [entry.to_json() for entry in stored]
        try:
            parsed = parse_war_room(text)
        except WarRoomSyntaxError as error:
            return self._commit_entries(inv_id, text, [error_entry(str(error))])
        with self.state.lock:
            incident = self.state.incident(inv_id).incident()
        try:
            self._check_runnable(parsed.name, parsed.args)
            run = self._session().war_room(text, incident)
        except ContextPathError as error:  # a context key the content made that no path can address
            message = f"The command's outputs were not saved to the context: {error}"
            return self._commit_entries(inv_id, text, [error_entry(message)])
        except XsoarLocalError as error:  # the line could not run: its error is the War Room's answer
            return self._commit_entries(inv_id, text, [error_entry(str(error))])
        return self._commit_run(inv_id, text, run)

    def _check_runnable(self, name: str, args: Mapping[str, Any]) -> None:
        """A command needs an enabled instance: the server never makes one up (scripts and the engine's own commands
        need none)."""
        if args.get("using-brand") == BUILTIN_BRAND:
            return
        if not args.get("using-brand") and (name in NATIVE_COMMANDS or self.content.catalog.has_script(name)):
            return
        with self.state.lock:
            enabled = self.state.settings.enabled_instances()
        for record in enabled:
            installed = self.content.integration(record.brand)
            if installed is not None and installed.integration.command(name) is not None:
                return
        raise bad_request(
            f"Unsupported Command: {name!r}. No enabled integration instance has it and no installed script is called "
            "that; configure an instance of the integration that provides it (PUT /settings/integration)",
            "errUnsupportedCommand",
        )

    def _commit_run(self, inv_id: str, line: str, run: CommandRun) -> list[dict[str, Any]]:
        """Merge a finished run into the investigation as it is NOW (other commands may have finished meanwhile)."""
        with self.state.transaction() as changes:
            record = changes.incident(inv_id)
            raw = list(run.entries)
            try:
                record.apply(merge_run(record.incident(), run))
            except ContextPathError as error:  # a context key the content made that no path can address
                raw.append(error_entry(f"The command's outputs were not saved to the context: {error}"))
            if run.debug:
                raw.append(_debug_entry(run))
            brand = run.brand or self.instances.brand_of(run.instance)
            stored = changes.add_entries(inv_id, raw, line, brand=brand, instance=run.instance)
            return [entry.to_json() for entry in stored]

    def _commit_entries(self, inv_id: str, parent: str, raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        with self.state.transaction() as changes:
            self.state.incident(inv_id)
            return [entry.to_json() for entry in changes.add_entries(inv_id, raw, parent)]

    def _session(self) -> EngineSession:
        """An engine over the installed content and the enabled instances (warm executors unless `warm` is off)."""
        with self.state.lock:
            records = self.state.settings.enabled_instances()
        content = self.content
        configured = []
        for record in records:
            installed = content.integration(record.brand)
            if installed is None:
                continue
            try:
                configured.append(
                    Instance(record.name, installed.integration, self.instances.params_of(installed, record.data))
                )
            except ServerError:
                continue  # an instance whose settings no longer fit its integration: left out, as if disabled
        instances = InstanceSet(content.catalog, configured, None, _no_default_instance)
        return EngineSession(
            content.catalog,
            instances,
            StoreInstanceState(self.instances.store),
            env=self.engine_env,
            timeout=self.command_timeout,
            # warm: the process's warm executors (XSOAR_LOCAL_WARM=off still turns them off); else cold
            warm=None if self.warm else False,
            war_room=self._war_room,
            runtime_dir=self.runtime_dir,
            lists=StateListStore(self.instances.store),
        )

    def _war_room(self, incident: Incident) -> list[dict[str, Any]]:
        """The investigation's War Room entries, as stored (what getEntries and getEntry read)."""
        with self.state.lock:
            return [entry.to_json() for entry in self.state.entries(str(incident.fields.get("id") or ""))]

    def completion_data(self) -> dict[str, Any]:
        """What a War Room command line can complete: the engine's own commands (or the content script that shadows
        a fallback) and each enabled instance's commands."""
        registry = CommandRegistry(self.content.catalog, InstanceSet(self.content.catalog, []))
        commands: dict[str, dict[str, Any]] = {
            item.name: {
                "name": item.name,
                "brand": item.brand,
                "arguments": list(item.arguments),
                "description": f"{item.description} ({item.kind})" if item.description else f"({item.kind})",
            }
            for item in registry.listing()
            if item.name in NATIVE_COMMANDS
        }
        with self.state.lock:
            brands = {item.brand for item in self.state.settings.enabled_instances()}
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
