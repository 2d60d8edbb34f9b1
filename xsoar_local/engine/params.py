"""Build an instance's params the way a new instance gets them: YAML defaults, then overrides."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xsoar_local.engine.integration import ParamSpec
from xsoar_local.errors import UsageError

BOOLEAN = 8
CREDENTIALS = 9
MULTI_SELECT = 16
DEMISTO_PARAMS = "DEMISTO_PARAMS"

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off", ""})


class ParamError(UsageError):
    """The params cannot make a valid instance."""


class MissingParamError(ParamError):
    """Required params have no value. `problem` says which; `hint` says how this entry point sets them (a caller
    with its own way, such as the server's instance settings, shows `problem` alone)."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(f"{problem}: {hint}")
        self.problem = problem
        self.hint = hint


@dataclass(frozen=True)
class ParamLayer:
    """Values from one source (e.g. `--param`), named so that errors can say where a value came from."""

    source: str
    values: Mapping[str, Any]


def parse_env_file(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines (comments, blank lines, `export ` and matching quotes allowed)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            # the line is not shown: a mistyped line may well hold the secret it meant to set
            raise ParamError(f"env file line {number} is not KEY=VALUE (the line is not shown, it may hold a secret)")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Parse `name=value` command-line overrides."""
    values: dict[str, str] = {}
    for position, item in enumerate(items, start=1):
        key, sep, value = item.partition("=")
        if not sep or not key:
            # `apikey:KEY` is a typo for `apikey=KEY`: the value must not be echoed back to the terminal
            raise ParamError(
                f"--param number {position} is not name=value (e.g. --param url=https://host/); "
                "it is not shown, as it may hold a secret"
            )
        values[key] = value
    return values


def parse_params_json(text: str, source: str) -> dict[str, Any]:
    """Parse a JSON object of params (the `DEMISTO_PARAMS` format)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParamError(f"{source} is not valid JSON: {error}") from error
    except RecursionError:
        raise ParamError(
            f"{source} is nested too deeply to be params: give a JSON object of param names to values"
        ) from None
    if not isinstance(data, dict):
        raise ParamError(f"{source} must be a JSON object of param names to values.")
    return data


def env_file_layers(values: Mapping[str, str], source: str) -> list[ParamLayer]:
    """An env file may carry `DEMISTO_PARAMS=<json>` (as demisto-sdk setup-env writes) and plain params."""
    layers = []
    if DEMISTO_PARAMS in values:
        layers.append(ParamLayer(f"{DEMISTO_PARAMS} in {source}", parse_params_json(values[DEMISTO_PARAMS], source)))
    plain = {key: value for key, value in values.items() if key != DEMISTO_PARAMS}
    if plain:
        layers.append(ParamLayer(source, plain))
    return layers


def coerce(spec: ParamSpec, value: Any, source: str) -> Any:
    """Give `value` the shape the code receives for the param's type."""
    if spec.type == BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        # the value is not quoted: it may be a secret put in the wrong place
        raise ParamError(f"param {spec.name!r} ({source}) is a checkbox: use true or false")
    if spec.type == CREDENTIALS:
        if isinstance(value, Mapping):
            return {"identifier": str(value.get("identifier") or ""), "password": str(value.get("password") or "")}
        return {"identifier": "", "password": "" if value is None else str(value)}
    if spec.type == MULTI_SELECT:
        if isinstance(value, list):
            return [str(item) for item in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if isinstance(value, (Mapping, list)):
        return value
    return "" if value is None else str(value)


def _is_missing(spec: ParamSpec, value: Any) -> bool:
    if value is None:
        return True
    if spec.type == BOOLEAN:
        return False
    if spec.type == CREDENTIALS:
        return not (value.get("password") or value.get("identifier"))
    return value in ("", [])


def _split_dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    """`apikey.password=...` and `creds.identifier=...` set one half of a credentials param."""
    merged: dict[str, Any] = {}
    for key, value in values.items():
        name, dot, part = key.partition(".")
        if dot and part in ("identifier", "password"):
            current = merged.get(name)
            current = dict(current) if isinstance(current, Mapping) else {}
            current[part] = value
            merged[name] = current
        else:
            merged[key] = value
    return merged


def build_params(
    specs: Sequence[ParamSpec], layers: Sequence[ParamLayer] = (), missing_hint: str | None = None
) -> dict[str, Any]:
    """YAML `defaultvalue`s, then each layer in order; coerce by type; refuse unknown and missing required params.

    `missing_hint` replaces the default advice (the command-line ways to set a param) in the missing-param error.
    """
    by_name = {spec.name: spec for spec in specs}
    params: dict[str, Any] = {}
    for spec in specs:
        if spec.default_value is not None:
            params[spec.name] = coerce(spec, spec.default_value, "YAML defaultvalue")
        elif spec.type == BOOLEAN:
            params[spec.name] = False  # an unticked checkbox is saved as false
    for layer in layers:
        for name, value in _split_dotted(layer.values).items():
            found = by_name.get(name)
            if found is None:
                known = ", ".join(sorted(by_name)) or "none"
                raise ParamError(f"unknown param {name!r} in {layer.source} (the integration's params: {known})")
            if found.type == CREDENTIALS and isinstance(value, Mapping) and isinstance(params.get(name), Mapping):
                value = {**params[name], **value}  # one half given: keep the other half
            params[name] = coerce(found, value, layer.source)
    missing = [spec for spec in specs if spec.required and _is_missing(spec, params.get(spec.name))]
    if missing:
        names = ", ".join(f"{item.name!r} ({item.label})" for item in missing)
        first = missing[0].name
        hint = missing_hint or (
            f"set it with --param {first}=VALUE, a {first}=VALUE line in --env-file, or the {DEMISTO_PARAMS} JSON"
        )
        raise MissingParamError(f"missing required param {names}", hint.format(name=first))
    return params
