"""A local integration instance: where its params come from, and the embedded service it may talk to.

A server keeps each instance's settings. Locally they are layered, lowest priority first: the YAML's
defaults, `DEMISTO_PARAMS` (the JSON content's own tooling uses), `--params-file`, `--env-file`, the
embedded service's URL (or, with `--real`, the API key from `$FUNTRANSLATIONS_API_KEY`), then `--param`.
The `run`, `playbook` and `test-playbooks` subcommands all configure instances this way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsoar_local.engine import Integration, ParamLayer, build_params, env_file_layers, parse_env_file
from xsoar_local.engine.params import DEMISTO_PARAMS, parse_assignments, parse_params_json
from xsoar_local.funtranslations.faults import parse_fault
from xsoar_local.funtranslations.server import RunningService, ServiceConfig, serve

# Integrations whose service the embedded FunTranslations stand-in imitates (started unless --real/--no-service).
SERVICE_INTEGRATIONS = frozenset({"YodaSpeak"})
API_KEY_ENV = "FUNTRANSLATIONS_API_KEY"
API_KEY_PARAM = "apikey"


class InstanceSetupError(Exception):
    """The instance cannot be configured as asked (an unreadable file, contradictory switches, a bad fault)."""


@dataclass(frozen=True)
class ParamSources:
    """Where a local instance's params come from, besides the YAML's defaults."""

    demisto_params: str | None = None
    params_file: Path | None = None
    env_file: Path | None = None
    assignments: Sequence[str] = ()
    real: bool = False
    api_key: str | None = None

    @classmethod
    def from_options(cls, options: Any, environ: Mapping[str, str]) -> ParamSources:
        """The sources a subcommand's options and the environment name."""
        return cls(
            demisto_params=environ.get(DEMISTO_PARAMS) or None,
            params_file=Path(options.params_file) if options.params_file else None,
            env_file=Path(options.env_file) if options.env_file else None,
            assignments=tuple(options.param or ()),
            real=bool(options.real),
            api_key=environ.get(API_KEY_ENV) or None,
        )


def service_wanted(integration: Integration, option: bool | None, real: bool) -> bool:
    """Start the embedded service? Explicit --service/--no-service wins; else on for its integrations unless --real."""
    if option is not None:
        if option and real:
            raise InstanceSetupError("--service and --real contradict each other: choose one")
        if option and integration.param("url") is None:
            raise InstanceSetupError(f"--service needs an integration with a `url` param; {integration.name} has none")
        return option
    return integration.id in SERVICE_INTEGRATIONS and not real


def param_layers(sources: ParamSources, integration: Integration, service_url: str | None) -> list[ParamLayer]:
    """The param layers, lowest priority first (see the module docstring)."""
    layers: list[ParamLayer] = []
    if sources.demisto_params:
        layers.append(ParamLayer(DEMISTO_PARAMS, parse_params_json(sources.demisto_params, DEMISTO_PARAMS)))
    if sources.params_file:
        path = sources.params_file
        layers.append(ParamLayer(str(path), parse_params_json(_read(path), str(path))))
    if sources.env_file:
        layers += env_file_layers(parse_env_file(_read(sources.env_file)), str(sources.env_file))
    if service_url:
        layers.append(ParamLayer("the embedded service", {"url": service_url}))
    if sources.real and sources.api_key and integration.param(API_KEY_PARAM) is not None:
        layers.append(ParamLayer(API_KEY_ENV, {API_KEY_PARAM: sources.api_key}))
    if sources.assignments:
        layers.append(ParamLayer("--param", parse_assignments(list(sources.assignments))))
    return layers


def instance_params(integration: Integration, sources: ParamSources, service_url: str | None) -> dict[str, Any]:
    """The params of a new instance: the YAML's defaults under every layer (ParamError names what is wrong)."""
    return build_params(integration.params, param_layers(sources, integration, service_url))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InstanceSetupError(f"cannot read {path}: {error.strerror or error}") from error


@contextlib.contextmanager
def embedded_service(faults: Sequence[str] = (), paid_keys: Sequence[str] = ()) -> Iterator[RunningService]:
    """The local FunTranslations stand-in on a free loopback port, at the free tier's limit (fresh each run).

    Like the real service it refuses API keys it does not know (401); `paid_keys` are the keys it accepts,
    without a rate limit, so the paid-plan path can be tried locally.
    """
    try:
        parsed = tuple(parse_fault(spec) for spec in faults)
    except ValueError as error:
        raise InstanceSetupError(f"--fault: {error}") from error
    config = ServiceConfig(rate_limit=5, window_seconds=3600, paid_keys=frozenset(paid_keys), faults=parsed, tls=False)
    with serve(config) as service:
        yield service


class DefaultInstances:
    """Params for brands without an instance in --instances: the command line's layers, and the embedded
    service (started on first use, inside `stack`) for integrations it imitates.

    `service_option` is --service/--no-service (None: on for the service's own integrations unless --real).
    """

    def __init__(
        self,
        sources: ParamSources,
        stack: contextlib.ExitStack,
        *,
        service_option: bool | None = None,
        faults: Sequence[str] = (),
        paid_keys: Sequence[str] = (),
    ) -> None:
        self.sources = sources
        self.stack = stack
        self.service_option = service_option
        self.faults = tuple(faults)
        self.paid_keys = tuple(paid_keys)
        self.service: RunningService | None = None

    def __call__(self, integration: Integration) -> dict[str, Any]:
        """The default instance's params of `integration`."""
        url = None
        if service_wanted(integration, self.service_option, self.sources.real):
            if self.service is None:
                self.service = self.stack.enter_context(embedded_service(self.faults, self.paid_keys))
            url = self.service.url
        return instance_params(integration, self.sources, url)
