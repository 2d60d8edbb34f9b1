"""The packs feature: uploading and listing installed packs, and what they hold (integrations with the module
configuration the server shows, scripts, playbooks)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.engine.catalog import ContentCatalog, scan_content
from xsoar_local.engine.integration import Integration
from xsoar_local.playbook.model import Playbook, PlaybookError, load_playbook
from xsoar_local.server import packs
from xsoar_local.server.lists import ServerLists, lists_in_pack
from xsoar_local.server.repository import StateRepository, storable


@dataclass(frozen=True)
class InstalledIntegration:
    """An integration of an installed pack: the engine's spec and its raw YAML (for the module configuration)."""

    pack: str
    integration: Integration
    yaml: Mapping[str, Any]

    @property
    def id(self) -> str:
        return self.integration.id

    @property
    def docker_image(self) -> str:
        return self.integration.docker_image or "demisto/python3:latest"

    def module_configuration(self) -> dict[str, Any]:
        """The integration as `/settings/integration/search` lists it under `configurations`."""
        data = self.yaml
        script = data.get("script") or {}
        params = []
        for entry in data.get("configuration") or ():
            default = entry.get("defaultvalue:xsoar", entry.get("defaultvalue"))
            params.append(
                {
                    "display": str(entry.get("display") or ""),
                    "displayPassword": str(entry.get("displaypassword") or ""),
                    "name": str(entry.get("name")),
                    "type": int(entry.get("type", 0)),
                    "required": bool(entry.get("required:xsoar", entry.get("required"))),
                    "defaultValue": "" if default is None else str(default),
                    "options": list(entry.get("options") or []),
                    "hidden": bool(entry.get("hidden")),
                    "hiddenUsername": bool(entry.get("hiddenusername")),
                    "info": str(entry.get("additionalinfo") or ""),
                }
            )
        commands = [
            {
                "name": command.get("name"),
                "description": command.get("description", ""),
                "arguments": command.get("arguments") or [],
                "outputs": command.get("outputs") or [],
            }
            for command in script.get("commands") or ()
        ]
        return {
            "id": self.id,
            "name": self.integration.name,
            "brand": self.integration.name,
            "display": str(data.get("display") or self.integration.name),
            "category": str(data.get("category") or ""),
            "description": str(data.get("description") or ""),
            "version": -1,
            "packID": self.pack,
            "configuration": params,
            "integrationScript": {
                "type": script.get("type", "python"),
                "subtype": script.get("subtype", "python3"),
                "dockerImage": self.docker_image,
                "isFetch": bool(script.get("isfetch")),
                "longRunning": bool(script.get("longRunning")),
                "commands": commands,
            },
            "defaultMapperIn": "",
            "defaultClassifier": "",
            "defaultMapperOut": "",
        }


@dataclass(frozen=True)
class InstalledContent:
    """Everything the installed packs provide: the engine's catalog, module configurations and playbooks."""

    catalog: ContentCatalog
    integrations: tuple[InstalledIntegration, ...] = ()
    playbooks: tuple[Playbook, ...] = ()
    broken: Mapping[str, str] = field(default_factory=dict)

    def integration(self, brand: str) -> InstalledIntegration | None:
        """The integration whose id or name (brand) is `brand`."""
        return next((item for item in self.integrations if brand in (item.id, item.integration.name)), None)

    def playbook(self, reference: str) -> Playbook | None:
        """A playbook by id, else by name."""
        found = next((book for book in self.playbooks if book.id == reference), None)
        return found or next((book for book in self.playbooks if book.name == reference), None)


def scan_installed(packs_dir: Path) -> InstalledContent:
    """Load what every pack folder under `packs_dir` holds (the engine's catalog, plus playbooks)."""
    catalog = scan_content(Path(packs_dir))
    integrations: list[InstalledIntegration] = []
    broken: dict[str, str] = dict(catalog.broken)
    for integration in catalog.integrations:
        try:
            raw = yaml.safe_load(integration.yaml_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            broken[str(integration.yaml_path)] = str(error)
            continue
        integrations.append(InstalledIntegration(integration.pack or "", integration, raw))
    playbooks: list[Playbook] = []
    # Playbooks are recognised by their content wherever they sit in a pack: the test-only scripts kept in
    # TestPlaybooks (`script-*.yml`) are scripts, already in the catalog.
    for found in catalog.playbooks:
        try:
            playbooks.append(load_playbook(found.path))
        except PlaybookError as error:
            broken[str(found.path)] = str(error)
    return InstalledContent(catalog, tuple(integrations), tuple(playbooks), broken)


class Packs:
    """The packs feature: upload and list installed packs, and what they hold (`content`)."""

    def __init__(self, state: StateRepository) -> None:
        self.state = state
        self._content: InstalledContent | None = None

    def load(self) -> None:
        """Scan the installed packs (on open)."""
        self._content = scan_installed(self.state.packs_dir)

    @property
    def content(self) -> InstalledContent:
        if self._content is None:
            raise RuntimeError("the server core is not open")
        return self._content

    def upload(self, data: bytes, filename: str = "", lists: ServerLists | None = None) -> list[dict[str, Any]]:
        """Install the pack(s) in a zip; a ServerError (400, errUploadContentPacks) changes nothing.

        The lists a pack ships (`Lists/`) are created in `lists` where missing; existing lists keep their data."""
        uploads = packs.read_upload(data, filename)
        for pack in uploads:  # refused before any file is installed
            storable(pack.metadata, f"the pack_metadata.json of {pack.id!r}")
        pack_lists = [lists_in_pack(pack.files, filename or pack.id) for pack in uploads]
        with self.state.transaction() as changes:
            installed = [packs.install(pack, self.state.packs_dir) for pack in uploads]
            if lists is not None:
                for items in pack_lists:
                    lists.add_missing(items)
            for meta in installed:
                changes.settings.packs[meta["id"]] = meta
            self._content = scan_installed(self.state.packs_dir)
        return installed

    def installed(self) -> list[dict[str, Any]]:
        """`GET /contentpacks/metadata/installed`."""
        with self.state.lock:
            return [copy.deepcopy(meta) for meta in self.state.settings.packs.values()]
