"""A content root (`Packs/`): its integrations and automation scripts, and what a War Room name resolves to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import yaml

from xsoar_local.engine.integration import Integration, IntegrationError, load_integration
from xsoar_local.engine.scripts import Script, is_script_yaml, load_script
from xsoar_local.errors import ContentError
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file

# Commands every integration answers: they need an instance to say which integration is meant.
INSTANCE_COMMANDS = ("test-module", "fetch-incidents")


class CatalogError(ContentError):
    """A name does not resolve to one integration command or script in the content root."""


@dataclass(frozen=True)
class ContentCatalog:
    """The integrations and scripts found under a content root, and the folders that could not be loaded (why)."""

    root: Path
    integrations: tuple[Integration, ...] = ()
    scripts: tuple[Script, ...] = ()
    broken: Mapping[str, str] = field(default_factory=dict)

    def script(self, name: str) -> Script | None:
        """The script called `name` (its name or id); a name two packs hold is a CatalogError, never a pick."""
        found = [item for item in self.scripts if name in (item.name, item.id)]
        if len(found) > 1:
            places = ", ".join(f"{item.pack or '?'} ({item.folder})" for item in found)
            raise CatalogError(
                f"two scripts are called {name!r} in {self.root} ({places}): a server keeps one script per name, "
                "so rename one (its YAML's name and commonfields.id) or keep only one of those packs there"
            )
        return found[0] if found else None

    def has_script(self, name: str) -> bool:
        """True when at least one script is called `name` (without refusing a duplicated name)."""
        return any(name in (item.name, item.id) for item in self.scripts)

    def with_brand(self, brand: str) -> list[Integration]:
        """The integrations whose brand (YAML name, or id) is `brand`."""
        return [item for item in self.integrations if brand in (item.brand, item.id)]

    def with_command(self, command: str) -> list[Integration]:
        """The integrations that answer `command` (declared, test-module, or fetch-incidents when they fetch)."""
        return [item for item in self.integrations if item.command(command) is not None]

    def brands(self) -> list[str]:
        """Every brand, sorted."""
        return sorted({item.brand for item in self.integrations})

    def known(self) -> str:
        """What the root holds, for error messages."""
        brands = ", ".join(self.brands()) or "none"
        scripts = ", ".join(sorted({item.name for item in self.scripts})) or "none"
        broken = "".join(f"; {folder} could not be loaded: {why}" for folder, why in self.broken.items())
        return f"integrations: {brands}; scripts: {scripts}{broken}"

    def resolve(self, name: str) -> Script | list[Integration]:
        """What `!name` runs: a script, or the integrations declaring the command (at least one)."""
        script = self.script(name)
        integrations = self.with_command(name)
        if script is not None and integrations:
            brands = ", ".join(sorted(item.brand for item in integrations))
            raise CatalogError(
                f"{name!r} is both a script and a command of {brands} in {self.root}: add using-brand=<brand> "
                "to run the command"
            )
        if script is not None:
            return script
        if integrations:
            return integrations
        if len(self.integrations) == 1 and not self.scripts:  # --integration: one folder
            only = self.integrations[0]
            commands = ", ".join(sorted(spec.name for spec in only.commands)) or "none"
            raise CatalogError(f"{only.name} has no command {name!r} (its commands: {commands}, test-module)")
        raise CatalogError(f"no integration command or script called {name!r} in {self.root} ({self.known()})")


def _yaml_kind(path: Path) -> str | None:
    """'script', 'integration' or None for a YAML that is neither."""
    try:
        data = load_yaml_file(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlLimitError):
        return None
    if is_script_yaml(data):
        return "script"
    if isinstance(data, dict) and isinstance(data.get("script"), dict):
        return "integration"
    return None


def _locations(pack: Path, folder: str) -> list[Path]:
    """Package folders (`Scripts/X/X.yml`) and unified files (`Scripts/script-X.yml`) under a pack."""
    base = pack / folder
    if not base.is_dir():
        return []
    found = [item for item in sorted(base.iterdir()) if item.is_dir() and any(item.glob("*.yml"))]
    found += [item for item in sorted(base.glob("*.yml")) if not item.name.endswith(("_unified.yml", "_image.yml"))]
    return found


def scan_content(root: Path) -> ContentCatalog:
    """Load every integration and script of every pack under `root`; a broken one is noted, not fatal."""
    root = Path(root)
    if not root.is_dir():
        raise CatalogError(f"the content root {root} is not a folder: pass --packs <folder holding the packs>")
    integrations: list[Integration] = []
    scripts: list[Script] = []
    broken: dict[str, str] = {}
    for pack in sorted(item for item in root.iterdir() if item.is_dir()):
        for location in _locations(pack, "Integrations"):
            try:
                integrations.append(_with_pack(load_integration(location), pack.name))
            except IntegrationError as error:
                broken[str(location)] = str(error)
        for location in _locations(pack, "Scripts"):
            yaml_file = location if location.is_file() else None
            if yaml_file is not None and _yaml_kind(yaml_file) != "script":
                continue
            try:
                scripts.append(_with_pack(load_script(location), pack.name))
            except IntegrationError as error:
                broken[str(location)] = str(error)
    return ContentCatalog(root, tuple(integrations), tuple(scripts), broken)


_Content = TypeVar("_Content", Integration, Script)


def _with_pack(item: _Content, pack: str) -> _Content:
    return replace(item, pack=pack)
