"""A content root (`Packs/`): its integrations and automation scripts, and what a War Room name resolves to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import yaml

from xsoar_local.engine.integration import Integration, IntegrationError, load_integration
from xsoar_local.engine.scripts import Script, is_script_yaml, load_script
from xsoar_local.engine.versions import other_version
from xsoar_local.errors import ContentError
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file


class CatalogError(ContentError):
    """A name does not resolve to one integration command or script in the content root."""


@dataclass(frozen=True)
class ContentCatalog:
    """The integrations and scripts found under a content root, the folders that could not be loaded (why), and
    the items left out as a server of the toolkit's version would not hold them (their name -> why)."""

    root: Path
    integrations: tuple[Integration, ...] = ()
    scripts: tuple[Script, ...] = ()
    broken: Mapping[str, str] = field(default_factory=dict)
    playbooks: tuple[PlaybookFile, ...] = ()
    other_versions: Mapping[str, str] = field(default_factory=dict)

    def playbook(self, reference: str) -> PlaybookFile | None:
        """The playbook whose id (else name) is `reference`; one two packs hold is a CatalogError."""
        for key in ("id", "name"):
            found = [item for item in self.playbooks if getattr(item, key) == reference]
            if len(found) > 1:
                places = ", ".join(str(item.path) for item in found)
                raise CatalogError(f"two playbooks have the {key} {reference!r} in {self.root} ({places})")
            if found:
                return found[0]
        return None

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
        if name in self.other_versions:
            raise CatalogError(f"{name!r} in {self.root} is not for this server: {self.other_versions[name]}")
        if len(self.integrations) == 1 and not self.scripts:  # --integration: one folder
            only = self.integrations[0]
            commands = ", ".join(sorted(spec.name for spec in only.commands)) or "none"
            raise CatalogError(f"{only.name} has no command {name!r} (its commands: {commands}, test-module)")
        raise CatalogError(f"no integration command or script called {name!r} in {self.root} ({self.known()})")


# Folders of a pack that hold no content items: skipped when looking for YAMLs.
_SKIPPED_FOLDERS = frozenset({"ReleaseNotes", "test_data", "TestData", "doc_files", "doc_imgs", "node_modules"})
_SKIPPED_SUFFIXES = ("_unified.yml", "_image.yml")


@dataclass(frozen=True)
class PlaybookFile:
    """A playbook YAML found in a pack (recognised by its content: a `tasks` map and a `starttaskid`)."""

    path: Path
    id: str
    name: str
    pack: str = ""


def yaml_kind(data: object) -> str | None:
    """'playbook', 'integration', 'script' or None, from a parsed YAML's content (never from its folder).

    A playbook has a `tasks` map and a `starttaskid`; an integration's `script` is a section (a map); a script's
    `script` is its code (a string, empty or `-` when the code sits beside it) and it has a `type`."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("tasks"), dict) and "starttaskid" in data:
        return "playbook"
    if "script" not in data:
        return None
    if isinstance(data["script"], dict):
        return "integration"
    if is_script_yaml(data):
        return "script"
    return None


def _yaml_files(pack: Path) -> list[Path]:
    """Every YAML of a pack, in a stable order, outside hidden and non-content folders."""
    found: list[Path] = []
    pending = [pack]
    while pending:
        folder = pending.pop()
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        for child in children:
            if child.name.startswith(".") or child.name in _SKIPPED_FOLDERS:
                continue
            if child.is_dir():
                pending.append(child)
            elif child.suffix in (".yml", ".yaml") and not child.name.endswith(_SKIPPED_SUFFIXES):
                found.append(child)
    return sorted(found)


def _location(pack: Path, path: Path) -> Path | None:
    """Where an `Integrations/` or `Scripts/` YAML is reported: its package folder, or the unified file itself;
    None for YAMLs elsewhere in the pack (which are content only when their content says so)."""
    parts = path.relative_to(pack).parts
    if len(parts) == 2 and parts[0] in ("Integrations", "Scripts"):
        return path
    if len(parts) == 3 and parts[0] in ("Integrations", "Scripts"):
        return path.parent
    return None


def scan_content(root: Path) -> ContentCatalog:
    """Load every integration, script and playbook of every pack under `root`, wherever in the pack it sits
    (`TestPlaybooks/script-*.yml` included); what each YAML is comes from its content. A YAML that is an
    integration or script but cannot be loaded is noted as broken, not fatal. An item whose `fromversion` to
    `toversion` range leaves out the toolkit's server version (`versions.SERVER_VERSION`) is left out, as a
    server of that version does not hold it."""
    root = Path(root)
    if not root.is_dir():
        raise CatalogError(f"the content root {root} is not a folder: pass --packs <folder holding the packs>")
    integrations: list[Integration] = []
    scripts: list[Script] = []
    playbooks: list[PlaybookFile] = []
    broken: dict[str, str] = {}
    other_versions: dict[str, str] = {}
    for pack in sorted(item for item in root.iterdir() if item.is_dir() and not item.name.startswith(".")):
        for path in _yaml_files(pack):
            where = _location(pack, path)
            try:
                data = load_yaml_file(path)
            except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlLimitError) as error:
                broken[str(where or path)] = f"Cannot read {path}: {error}"
                continue
            kind = yaml_kind(data)
            reason = other_version(data) if kind is not None and isinstance(data, dict) else None
            if reason is not None:  # its copy for this version, if content has one, is read instead
                other_versions[_item_name(data, path)] = f"{path.relative_to(root)} has {reason}"
                continue
            try:
                if kind == "integration":
                    integrations.append(_with_pack(load_integration(path), pack.name))
                elif kind == "script":
                    scripts.append(_with_pack(load_script(path), pack.name))
                elif kind is None and where is not None:
                    broken[str(where)] = (
                        f"{path} is neither an integration (no `script` section) nor an automation script YAML"
                    )
            except IntegrationError as error:
                broken[str(where or path)] = str(error)
            if kind == "playbook" and isinstance(data, dict):
                name = str(data.get("name") or data.get("id") or path.stem)
                playbooks.append(PlaybookFile(path, str(data.get("id") or name), name, pack.name))
    held = {item.name for item in integrations} | {item.name for item in scripts}
    held |= {playbook.id for playbook in playbooks} | {playbook.name for playbook in playbooks}
    for name in held:  # a name this version holds is not reported as another version's
        other_versions.pop(name, None)
    return ContentCatalog(root, tuple(integrations), tuple(scripts), broken, tuple(playbooks), other_versions)


def _item_name(data: Mapping[str, object], path: Path) -> str:
    common = data.get("commonfields")
    identifier = common.get("id") if isinstance(common, Mapping) else None
    return str(data.get("name") or identifier or data.get("id") or path.stem)


_Content = TypeVar("_Content", Integration, Script)


def _with_pack(item: _Content, pack: str) -> _Content:
    return replace(item, pack=pack)
