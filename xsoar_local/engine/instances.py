"""Integration instances per brand, as a server keeps them: from an instances file, or a brand's default instance.

The file (`--instances FILE`) is YAML:

    instances:
      - brand: HelloWorld          # the integration's brand (its YAML `name`)
        name: HelloWorld_prod      # the instance name (War Room `using=`, fetch `--instance`)
        pack: HelloWorld           # only needed when two packs hold an integration of this brand
        params: {url: "https://api.example", credentials: {password: "..."}}

Params are secrets like any other: no error message quotes a value from the file. A brand without an instance in
the file gets a default instance `<brand>_instance_1` whose params come from `default_params(integration)` (the
command line's --param/--env-file layers and YAML defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.engine.catalog import ContentCatalog
from xsoar_local.engine.integration import Integration
from xsoar_local.engine.params import ParamError, ParamLayer, build_params
from xsoar_local.errors import UsageError
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file

ENTRY_KEYS = frozenset({"brand", "name", "params", "pack"})


class InstanceError(UsageError):
    """The instances file, or the instance a run needs, is wrong; the message names the file and the fix."""


@dataclass(frozen=True)
class Instance:
    """A configured instance: its name, its integration and its final params."""

    name: str
    integration: Integration
    params: Mapping[str, Any] = field(repr=False)
    source: str = ""  # where it was configured (the file), "" for a default instance

    @property
    def brand(self) -> str:
        """The integration's brand."""
        return self.integration.brand


DefaultParams = Callable[[Integration], Mapping[str, Any]]
# The name of a brand's default instance, given its params (default: `<brand>_instance_1`).
DefaultName = Callable[[Integration, Mapping[str, Any]], str]


def _yaml_defaults_only(integration: Integration) -> Mapping[str, Any]:
    return build_params(integration.params)


def _first_instance(integration: Integration, _params: Mapping[str, Any]) -> str:
    return f"{integration.brand}_instance_1"


class InstanceSet:
    """The instances of one content root: those of the file, and default ones made on first use."""

    def __init__(
        self,
        catalog: ContentCatalog,
        configured: list[Instance],
        source: Path | None = None,
        default_params: DefaultParams = _yaml_defaults_only,
        default_name: DefaultName = _first_instance,
    ) -> None:
        self.catalog = catalog
        self._default_name = default_name
        self.configured = configured
        self.source = source
        self._default_params = default_params
        self._defaults: dict[str, Instance] = {}

    def _where(self) -> str:
        return str(self.source) if self.source else "an --instances file"

    def by_name(self, name: str) -> Instance:
        """The instance called `name` (a configured one, or a brand's default `<brand>_instance_1`)."""
        for instance in self.configured:
            if instance.name == name:
                return instance
        for brand in self.catalog.brands():
            if self._configured_for(brand) or len(self.catalog.with_brand(brand)) != 1:
                continue
            try:
                default = self.for_brand(brand)
            except InstanceError:  # a brand whose default instance cannot be made is not the one asked for
                continue
            if default.name == name:
                return default
        names = ", ".join(item.name for item in self.configured) or "none"
        raise InstanceError(f"no instance named {name!r} in {self._where()} (its instances: {names})")

    def _configured_for(self, brand: str) -> list[Instance]:
        return [item for item in self.configured if item.brand == brand or item.integration.id == brand]

    def for_brand(self, brand: str) -> Instance:
        """The one instance of `brand`: configured in the file, or its default instance."""
        configured = self._configured_for(brand)
        if len(configured) == 1:
            return configured[0]
        if len(configured) > 1:
            names = ", ".join(item.name for item in configured)
            raise InstanceError(
                f"brand {brand!r} has several instances in {self._where()} ({names}): add using=<instance name>"
            )
        integrations = self.catalog.with_brand(brand)
        if not integrations:
            raise InstanceError(f"no integration of brand {brand!r} in {self.catalog.root} ({self.catalog.known()})")
        if len(integrations) > 1:
            raise InstanceError(_duplicate_brand(brand, integrations, self._where()))
        return self._default(integrations[0])

    def _default(self, integration: Integration) -> Instance:
        if integration.brand not in self._defaults:
            try:
                params = self._default_params(integration)
            except ParamError as error:
                if self.source is None:
                    raise InstanceError(
                        f"{integration.brand}'s default instance cannot be made: {error} (or give --instances FILE "
                        f"with an instance of brand {integration.brand!r} and its params)"
                    ) from error
                raise InstanceError(
                    f"{integration.brand} has no instance in {self.source} and its default instance cannot be made: "
                    f"{error} (or add an instance of brand {integration.brand!r} with its params to {self.source})"
                ) from error
            name = self._default_name(integration, params)
            self._defaults[integration.brand] = Instance(name, integration, params)
        return self._defaults[integration.brand]

    def for_command(self, command: str, brand: str = "", using: str = "") -> Instance:
        """The instance that runs `command`: `using` names it, `brand` narrows it, else the one that has it."""
        if using:
            instance = self.by_name(using)
            if instance.integration.command(command) is None:
                raise InstanceError(f"instance {using!r} ({instance.brand}) has no command {command!r}")
            return instance
        if brand:
            instance = self.for_brand(brand)
            if instance.integration.command(command) is None:
                raise InstanceError(f"brand {brand!r} has no command {command!r}")
            return instance
        brands = sorted({item.brand for item in self.catalog.with_command(command)})
        if not brands:
            raise InstanceError(f"no integration in {self.catalog.root} has the command {command!r}")
        if len(brands) > 1:
            raise InstanceError(
                f"the command {command!r} is ambiguous: brands {', '.join(brands)} all have it; "
                "add using-brand=<brand> or using=<instance name>"
            )
        return self.for_brand(brands[0])


def _duplicate_brand(brand: str, integrations: list[Integration], where: str) -> str:
    places = ", ".join(f"{item.pack or '?'} ({item.folder})" for item in integrations)
    first = integrations[0].pack
    return (
        f"two integrations have the brand {brand!r} ({places}): say which in {where} with an instance "
        f"`- brand: {brand}, name: <name>, pack: {first}, params: {{...}}`"
    )


def _entry_error(source: Path, index: int, message: str) -> InstanceError:
    return InstanceError(f"{source}: instances[{index}] {message}")


def load_instances(
    catalog: ContentCatalog,
    source: Path | None,
    default_params: DefaultParams = _yaml_defaults_only,
    default_name: DefaultName = _first_instance,
) -> InstanceSet:
    """Read and check the instances file (None: no file, only default instances)."""
    if source is None:
        return InstanceSet(catalog, [], None, default_params, default_name)
    try:
        document = load_yaml_file(Path(source))
    except OSError as error:
        raise InstanceError(f"cannot read the instances file {source}: {error.strerror or error}") from error
    except (UnicodeDecodeError, YamlLimitError) as error:
        raise InstanceError(f"cannot use the instances file: {error}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InstanceError(f"{source} is not valid YAML{where}: fix its syntax") from error
    if not isinstance(document, Mapping) or not isinstance(document.get("instances"), list):
        raise InstanceError(f"{source} must hold `instances:` with a list of {{brand, name, params}} entries")
    configured: list[Instance] = []
    for index, entry in enumerate(document["instances"]):
        configured.append(_instance(catalog, source, index, entry))
    names = [item.name for item in configured]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InstanceError(f"{source}: instance name(s) {', '.join(map(repr, duplicates))} used twice: rename one")
    return InstanceSet(catalog, configured, Path(source), default_params, default_name)


def _instance(catalog: ContentCatalog, source: Path, index: int, entry: Any) -> Instance:
    if not isinstance(entry, Mapping):
        raise _entry_error(source, index, "must be a map with brand, name and params")
    unknown = sorted(str(key) for key in entry if key not in ENTRY_KEYS)
    if unknown:
        raise _entry_error(source, index, f"has unknown key(s) {unknown}: use brand, name, pack and params")
    brand, name = str(entry.get("brand") or ""), str(entry.get("name") or "")
    if not brand or not name:
        raise _entry_error(source, index, "needs both `brand` and `name`")
    params = entry.get("params") or {}
    if not isinstance(params, Mapping):
        raise _entry_error(source, index, f"({name}): `params` must be a map of param names to values")
    integrations = catalog.with_brand(brand)
    if entry.get("pack"):
        integrations = [item for item in integrations if item.pack == str(entry["pack"])]
    if not integrations:
        pack = f" in pack {entry['pack']!r}" if entry.get("pack") else ""
        raise InstanceError(
            f"{source}: instance {name!r} has brand {brand!r}, but no integration of that brand{pack} is in "
            f"{catalog.root} (brands there: {', '.join(catalog.brands()) or 'none'}): fix the brand or --packs"
        )
    if len(integrations) > 1:
        raise InstanceError(_duplicate_brand(brand, integrations, f"{source} (instance {name!r})"))
    integration = integrations[0]
    layer = ParamLayer(f"{source} (instance {name!r})", dict(params))
    hint = f"add `{{name}}` under the params of instance {name!r} in {source}"
    try:
        built = build_params(integration.params, [layer], missing_hint=hint)
    except ParamError as error:
        raise InstanceError(f"{source}: instance {name!r} ({brand}): {error}") from error
    return Instance(name, integration, built, str(source))
