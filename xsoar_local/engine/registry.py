"""The one command registry: what a name runs, for a War Room line, a playbook task and `demisto.executeCommand`.

A name resolves to one of three targets:

- an installed integration's command, on an instance (`Brand|||cmd`, `using=`, `using-brand=`, or the one
  integration that has the command);
- a script of the content root;
- a command the engine runs itself (native.py): a server-native command (`Builtin` brand: closeInvestigation,
  setIncident, delContext, getEntry, getEntries, and the list commands getList, setList, addToList,
  removeFromList, createList), or a toolkit fallback for a CommonScripts script (Print,
  PrintErrorEntry, Set, DeleteContext).

The rule for names, the same on every path:

1. `Builtin|||name` is always the engine's own command of that name.
2. A server-native name is the server's command. A pack script with that name is a clash, reported like two packs
   holding one script name: rename the script.
3. A content root's own script wins over the toolkit's fallback of the same name (every server has CommonScripts
   installed, so the content's copy is what a server would run). `listing()` says which one runs.
4. Otherwise the content's scripts and integration commands, as the catalog resolves them; a name that is both a
   script and a command needs `using-brand=`.
5. A fallback name nothing else holds runs the fallback.

Playbook task forms: `Brand|||cmd` (that brand), `|||cmd` (any instance), `Builtin|||cmd`, and a plain script name.
"""

from __future__ import annotations

from dataclasses import dataclass

from xsoar_local.engine.catalog import CatalogError, ContentCatalog
from xsoar_local.engine.instances import Instance, InstanceError, InstanceSet
from xsoar_local.engine.native import BUILTIN_BRAND, NATIVE_COMMANDS, NativeCommand
from xsoar_local.engine.scripts import Script

COMMAND_SEPARATOR = "|||"
SERVER_NATIVE = "server-native"
FALLBACK = "toolkit fallback"
CONTENT_SCRIPT = "content script"
INTEGRATION_COMMAND = "integration command"
SCRIPTS_MODULE = "Scripts"  # the brand the server gives scripts' entries, and their module in getAllSupportedCommands


@dataclass(frozen=True)
class Target:
    """What a name runs: exactly one of `script`, `native`, or `instance` (an integration command)."""

    name: str
    script: Script | None = None
    native: NativeCommand | None = None
    instance: Instance | None = None


@dataclass(frozen=True)
class Listed:
    """One runnable name, with what runs it (`kind`) and where it comes from (`source`)."""

    name: str
    kind: str
    source: str
    brand: str
    arguments: tuple[str, ...] = ()
    description: str = ""


def split_task_script(script: str) -> tuple[str, str]:
    """A playbook task's `script` as (brand, name): `Brand|||cmd`, `|||cmd` (brand ""), or a plain name."""
    if COMMAND_SEPARATOR not in script:
        return "", script.strip()
    brand, _, name = script.partition(COMMAND_SEPARATOR)
    return brand.strip(), name.strip()


class CommandRegistry:
    """Resolves names over one catalog and its instances (see the module docstring for the rule)."""

    def __init__(self, catalog: ContentCatalog, instances: InstanceSet) -> None:
        self.catalog = catalog
        self.instances = instances

    def native(self, name: str) -> NativeCommand | None:
        """The engine's own command `name` (server-native or fallback), if it has one."""
        return NATIVE_COMMANDS.get(name)

    def resolve(self, name: str, *, brand: str = "", using: str = "") -> Target:
        """What `name` runs; CatalogError or InstanceError (with the fix) when it runs nothing, or is ambiguous."""
        native = NATIVE_COMMANDS.get(name)
        if brand == BUILTIN_BRAND:
            if native is None:
                known = ", ".join(sorted(NATIVE_COMMANDS))
                raise CatalogError(f"the server has no built-in command {name!r} (built-in: {known})")
            return Target(name, native=native)
        if not brand and not using:
            if native is not None and not native.fallback:
                self._refuse_clash(native)
                return Target(name, native=native)
            script = self.catalog.script(name)
            if script is None and native is not None and not self.catalog.with_command(name):
                return Target(name, native=native)
            found = self.catalog.resolve(name)
            if isinstance(found, Script):
                return Target(name, script=found)
        return Target(name, instance=self.instances.for_command(name, brand, using))

    def _refuse_clash(self, native: NativeCommand) -> None:
        clashing = [item for item in self.catalog.scripts if native.name in (item.name, item.id)]
        if clashing:
            places = ", ".join(f"{item.pack or '?'} ({item.folder})" for item in clashing)
            raise CatalogError(
                f"the script {native.name!r} in {places} clashes with the server-native command {native.name} "
                f"(brand {BUILTIN_BRAND}): a server keeps one command per name, so rename the script (its YAML's "
                "name and commonfields.id)"
            )

    def supported_commands(self) -> dict[str, list[dict[str, str]]]:
        """What a script's `getAllSupportedCommands()` answers, in the shape CommonServer.js's and
        CommonServerPython's `isCommandAvailable` read: `{module: [{name, description}, ...]}`. Each integration's
        brand with an instance lists its commands (a configured instance, or the default one where the instances
        make defaults: a server does not), `Scripts`
        the content's scripts and the fallbacks no content script shadows, `Builtin` the server's own commands."""
        supported: dict[str, list[dict[str, str]]] = {}
        for integration in self.catalog.integrations:
            if not self._has_instance(integration.brand):
                continue
            commands = supported.setdefault(integration.brand, [])
            commands.extend({"name": spec.name, "description": spec.description} for spec in integration.commands)
        scripts = {item.name: {"name": item.name, "description": ""} for item in self.catalog.scripts}
        builtin = []
        for native in NATIVE_COMMANDS.values():
            if not native.fallback:
                builtin.append({"name": native.name, "description": native.description})
            elif native.name not in scripts:
                scripts[native.name] = {"name": native.name, "description": native.description}
        supported[SCRIPTS_MODULE] = sorted(scripts.values(), key=lambda item: item["name"])
        supported[BUILTIN_BRAND] = sorted(builtin, key=lambda item: item["name"])
        return supported

    def _has_instance(self, brand: str) -> bool:
        try:
            self.instances.for_brand(brand)
        except InstanceError:
            return False
        return True

    def listing(self) -> list[Listed]:
        """Every name a War Room line can run, each with what runs it: a content script shadows the fallback of its
        name (the fallback is then not listed), and a server-native name is listed once, as the server's."""
        listed: dict[str, Listed] = {}
        for native in NATIVE_COMMANDS.values():
            kind = FALLBACK if native.fallback else SERVER_NATIVE
            source = "xsoar-local (no content script of this name)" if native.fallback else "the server"
            listed[native.name] = Listed(
                native.name, kind, source, native.brand, tuple(sorted(native.arguments)), native.description
            )
        for script in self.catalog.scripts:
            current = listed.get(script.name)
            if current is not None and current.kind == SERVER_NATIVE:
                continue  # a clash: resolving it says so
            listed[script.name] = Listed(
                script.name,
                CONTENT_SCRIPT,
                f"{script.pack or '?'} ({script.folder})",
                "Scripts",
                tuple(arg.name for arg in script.arguments),
            )
        for integration in self.catalog.integrations:
            for spec in integration.commands:
                listed.setdefault(
                    spec.name,
                    Listed(
                        spec.name,
                        INTEGRATION_COMMAND,
                        f"{integration.pack or '?'} ({integration.folder})",
                        integration.brand,
                        tuple(arg.name for arg in spec.arguments),
                        spec.description,
                    ),
                )
        return sorted(listed.values(), key=lambda item: item.name)
