"""Load an automation script folder (or unified script YAML) into a plain spec the engine can run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.engine.integration import (
    ArgSpec,
    CommandSpec,
    IntegrationError,
    arg_spec,
    find_yaml,
)
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file, yaml_error_summary

ENTIRE_LIST_TAG = "entirelist"


class ScriptLoadError(IntegrationError):
    """The script folder or YAML cannot be used (an IntegrationError, so callers handle both alike)."""


@dataclass(frozen=True)
class Script:
    """What the engine needs to run an automation script."""

    id: str
    name: str
    yaml_path: Path
    folder: Path
    type: str  # python | javascript | powershell
    arguments: tuple[ArgSpec, ...] = ()
    tags: tuple[str, ...] = ()
    code_path: Path | None = None
    code: str | None = field(default=None, repr=False)
    docker_image: str = ""
    pack: str = ""

    @property
    def spec(self) -> CommandSpec:
        """The script's args as a command spec, so War Room lines are checked like command args."""
        return CommandSpec(name=self.name, arguments=self.arguments)

    @property
    def entire_list(self) -> bool:
        """Tagged `entirelist`: a transformer that gets the whole list once instead of each item."""
        return ENTIRE_LIST_TAG in self.tags


def is_script_yaml(data: Any) -> bool:
    """A script YAML has `script` as code (a string) and `type`; an integration's `script` is a section."""
    return isinstance(data, dict) and not isinstance(data.get("script"), dict) and "type" in data


def parse_script_args(data: dict[str, Any]) -> tuple[ArgSpec, ...]:
    """The YAML's `args` as argument specs."""
    return tuple(arg_spec(arg) for arg in data.get("args") or () if isinstance(arg, dict) and arg.get("name"))


def load_script(location: str | Path) -> Script:
    """Load a script from its folder (package layout) or from a unified script YAML."""
    yaml_path = find_yaml(Path(location))
    try:
        data = load_yaml_file(yaml_path)
    except yaml.YAMLError as error:
        raise ScriptLoadError(f"{yaml_path} is not valid YAML: {yaml_error_summary(error)}") from error
    except (OSError, UnicodeDecodeError, YamlLimitError) as error:
        raise ScriptLoadError(f"Cannot read {yaml_path}: {error}") from error
    if not is_script_yaml(data):
        raise ScriptLoadError(f"{yaml_path} is not an automation script YAML (needs `type` and a `script` field).")
    common = data.get("commonfields") or {}
    name = str(data.get("name") or common.get("id") or yaml_path.stem)
    script_type = str(data.get("type") or "python")
    code_path: Path | None = None
    code: str | None = None
    inline = data.get("script")
    if inline and str(inline).strip() not in ("-", ""):
        code = str(inline)
    elif script_type in ("python", "javascript"):
        code_path = yaml_path.with_suffix(".py" if script_type == "python" else ".js")
        if not code_path.is_file():
            raise ScriptLoadError(f"{yaml_path} says `script: '-'` but {code_path.name} is missing beside it.")
    return Script(
        id=str(common.get("id") or name),
        name=name,
        yaml_path=yaml_path,
        folder=yaml_path.parent,
        type=script_type,
        arguments=parse_script_args(data),
        tags=tuple(str(tag) for tag in data.get("tags") or ()),
        code_path=code_path,
        code=code,
        docker_image=str(data.get("dockerimage") or ""),
    )
