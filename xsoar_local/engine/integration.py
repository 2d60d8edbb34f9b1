"""Load an integration folder (or unified YAML) into plain, typed specs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.errors import ContentError
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file, yaml_error_summary

MARKETPLACE = "xsoar"

# The languages an integration may be written in, with its code file's suffix in the package layout.
CODE_SUFFIXES = {"python": ".py", "javascript": ".js"}

# Commands every integration answers without declaring them in its YAML.
BUILTIN_COMMANDS = ("test-module",)


class IntegrationError(ContentError):
    """The integration folder or YAML cannot be used."""


@dataclass(frozen=True)
class ParamSpec:
    """One `configuration` entry of the YAML."""

    name: str
    type: int
    required: bool = False
    default_value: Any = None
    display: str = ""
    options: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name as the instance form shows it."""
        return self.display or self.name


@dataclass(frozen=True)
class ArgSpec:
    """One argument of a command."""

    name: str
    required: bool = False
    default: bool = False  # `default: true` allows the positional form `!cmd value`
    default_value: Any = None
    is_array: bool = False
    secret: bool = False
    predefined: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandSpec:
    """One command of `script.commands` (or a built-in one)."""

    name: str
    arguments: tuple[ArgSpec, ...] = ()
    description: str = ""
    output_paths: tuple[str, ...] = ()

    def argument(self, name: str) -> ArgSpec | None:
        """The argument called `name`, if declared."""
        return next((arg for arg in self.arguments if arg.name == name), None)


@dataclass(frozen=True)
class Integration:
    """What the engine needs to run an integration."""

    id: str
    name: str
    yaml_path: Path
    folder: Path
    params: tuple[ParamSpec, ...]
    commands: tuple[CommandSpec, ...]
    code_path: Path | None = None
    code: str | None = field(default=None, repr=False)  # inline script of a unified YAML
    is_fetch: bool = False
    docker_image: str = ""
    pack: str = ""  # the pack folder's name when loaded from a content root
    type: str = "python"  # python | javascript: the executor that runs it (the same one as scripts of the type)

    @property
    def brand(self) -> str:
        """The brand the server reports in callingContext (the YAML `name`)."""
        return self.name

    def command(self, name: str) -> CommandSpec | None:
        """The command called `name` (declared or built-in)."""
        found = next((command for command in self.commands if command.name == name), None)
        if found is None and (name in BUILTIN_COMMANDS or (name == "fetch-incidents" and self.is_fetch)):
            return CommandSpec(name=name)
        return found

    def param(self, name: str) -> ParamSpec | None:
        """The param called `name`, if declared."""
        return next((param for param in self.params if param.name == name), None)


def marketplace_value(entry: Mapping[str, Any], key: str, marketplace: str = MARKETPLACE) -> Any:
    """Read `key`, preferring its `key:<marketplace>` variant as the content build does."""
    variant = f"{key}:{marketplace}"
    return entry[variant] if variant in entry else entry.get(key)


def arg_spec(arg: Mapping[str, Any]) -> ArgSpec:
    """One argument of a command (integration YAML) or of a script (script YAML): the two share a shape."""
    return ArgSpec(
        name=str(arg["name"]),
        required=bool(marketplace_value(arg, "required")),
        default=bool(arg.get("default")),
        default_value=marketplace_value(arg, "defaultValue"),
        is_array=bool(arg.get("isArray")),
        secret=bool(arg.get("secret")),
        predefined=tuple(str(value) for value in arg.get("predefined") or ()),
    )


def parse_integration_yaml(data: Mapping[str, Any]) -> tuple[tuple[ParamSpec, ...], tuple[CommandSpec, ...]]:
    """Turn a parsed integration YAML into param and command specs."""
    params = tuple(
        ParamSpec(
            name=str(entry["name"]),
            type=int(entry.get("type", 0)),
            required=bool(marketplace_value(entry, "required")),
            default_value=marketplace_value(entry, "defaultvalue"),
            display=str(entry.get("display") or entry.get("displaypassword") or ""),
            options=tuple(str(option) for option in entry.get("options") or ()),
        )
        for entry in data.get("configuration") or ()
    )
    script = data.get("script") or {}
    commands = tuple(
        CommandSpec(
            name=str(command["name"]),
            description=str(command.get("description") or ""),
            arguments=tuple(arg_spec(arg) for arg in command.get("arguments") or ()),
            output_paths=tuple(str(output["contextPath"]) for output in command.get("outputs") or ()),
        )
        for command in script.get("commands") or ()
    )
    return params, commands


def find_yaml(location: Path) -> Path:
    """The integration YAML at `location`: the file itself, or the one YAML in the folder."""
    if location.is_file():
        return location
    if not location.is_dir():
        raise IntegrationError(f"{location} is neither an integration folder nor a YAML file.")
    candidates = sorted(
        path
        for path in [*location.glob("*.yml"), *location.glob("*.yaml")]
        if not path.name.endswith(("_unified.yml", "_image.yml"))
    )
    preferred = location / f"{location.name}.yml"
    if preferred in candidates:
        return preferred
    if len(candidates) != 1:
        raise IntegrationError(f"{location} should hold exactly one integration YAML, found {len(candidates)}.")
    return candidates[0]


def load_integration(location: str | Path) -> Integration:
    """Load an integration from its folder (package layout) or from a unified YAML file."""
    yaml_path = find_yaml(Path(location))
    try:
        data = load_yaml_file(yaml_path)
    except yaml.YAMLError as error:
        raise IntegrationError(f"{yaml_path} is not valid YAML: {yaml_error_summary(error)}") from error
    except (OSError, UnicodeDecodeError, YamlLimitError) as error:
        raise IntegrationError(f"Cannot read {yaml_path}: {error}") from error
    if not isinstance(data, dict) or "script" not in data:
        raise IntegrationError(f"{yaml_path} is not an integration YAML (no `script` section).")
    if not isinstance(data["script"], dict):
        # an automation script's YAML holds its code as the `script:` string; an integration's `script:` is a section
        raise IntegrationError(
            f"{yaml_path} is a script, not an integration: run it with --packs <content root> --command "
            f"'!{data.get('name') or yaml_path.stem} ...' (--integration takes an integration's folder or unified YAML)"
        )
    script = data["script"]
    language = str(script.get("type") or "python")
    if language not in CODE_SUFFIXES:
        raise IntegrationError(
            f"{yaml_path}: only Python and JavaScript integrations can run locally (type {script.get('type')})."
        )
    params, commands = parse_integration_yaml(data)
    code_path: Path | None = None
    code: str | None = None
    inline = script.get("script")
    if inline and str(inline).strip() != "-":
        code = str(inline)
    else:
        code_path = yaml_path.with_suffix(CODE_SUFFIXES[language])
        if not code_path.is_file():
            raise IntegrationError(f"{yaml_path} says `script: '-'` but {code_path.name} is missing beside it.")
    common = data.get("commonfields") or {}
    return Integration(
        id=str(common.get("id") or data.get("name")),
        name=str(data.get("name") or common.get("id")),
        yaml_path=yaml_path,
        folder=yaml_path.parent,
        params=params,
        commands=commands,
        code_path=code_path,
        code=code,
        is_fetch=bool(script.get("isfetch")),
        docker_image=str(script.get("dockerimage") or ""),
        type=language,
    )
