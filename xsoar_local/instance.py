"""A local integration instance: where its params come from, and the embedded service it may talk to.

A server keeps each instance's settings. Locally they are layered, lowest priority first: the YAML's
defaults, `DEMISTO_PARAMS` (the JSON content's own tooling uses), `--params-file`, `--env-file`, the
embedded service's URL (or, with `--real`, the API key from `$FUNTRANSLATIONS_API_KEY`), then `--param`.
The `run`, `playbook` and `test-playbooks` subcommands all configure instances this way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsoar_local.engine import Integration, ParamError, ParamLayer, build_params, env_file_layers, parse_env_file
from xsoar_local.engine.params import DEMISTO_PARAMS, parse_assignments, parse_params_json
from xsoar_local.funtranslations.faults import parse_fault
from xsoar_local.funtranslations.server import RunningService, ServiceConfig, serve
from xsoar_local.redact import MASK, redact_text

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


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.:=-]+")


def instance_name(
    integration: Integration,
    params: Mapping[str, Any],
    *,
    embedded: bool,
    faults: Sequence[str] = (),
    paid_keys: Sequence[str] = (),
) -> str:
    """The instance a run uses when none is named: one per service and configuration, so caches never mix.

    An instance's integration context (YodaSpeak's translation cache) belongs to the service that answered
    and to the settings it was asked with. The real service (the YAML's URL) is ``<brand>_instance_1``, the
    embedded stand-in ``<brand>_local``, and each set of injected faults is an instance of its own
    (``<brand>_local_fault-status=429``), so a cached answer of one never hides another's behaviour. Any
    other URL gets an instance named after its host, and params that differ from the YAML's defaults (an
    API key, another cache lifetime) add a short digest of themselves: another configuration is another
    instance, as it would be on a server.
    """
    brand = integration.brand
    if embedded:
        specs = [parse_fault(spec).spec for spec in faults]
        base = "_".join([f"{brand}_local", *(["fault-" + "+".join(specs)] if specs else [])])
    else:
        url = params.get("url")
        spec = integration.param("url")
        default = spec.default_value if spec is not None else None
        if not isinstance(url, str) or not url or url.rstrip("/") == str(default or "").rstrip("/"):
            base = f"{brand}_instance_1"
        else:
            where = redact_text(url).replace(f":{MASK}@", "@").split("://", 1)[-1].rstrip("/")
            base = f"{brand}_" + _UNSAFE_NAME.sub("-", where)[:100]
    settings = {name: value for name, value in params.items() if name != "url"}
    try:
        defaults = {name: value for name, value in build_params(integration.params).items() if name != "url"}
    except ParamError:  # a required param without a default: no configuration is the default one
        defaults = {}
    if paid_keys:
        settings["paid keys of the embedded service"] = sorted(paid_keys)
    if settings == defaults:
        return base
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode("utf-8", "surrogatepass"))
    return f"{base}_{digest.hexdigest()[:8]}"


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
        name: str | None = None,
    ) -> None:
        self.name = name  # --instance: the default instance's name, else one per service and configuration
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

    def name_for(self, integration: Integration, params: Mapping[str, Any]) -> str:
        """The default instance's name: --instance, else one per service and configuration (`instance_name`)."""
        if self.name:
            return self.name
        embedded = self.service is not None and params.get("url") == self.service.url
        faults = self.faults if embedded else ()
        paid_keys = self.paid_keys if embedded else ()
        return instance_name(integration, params, embedded=embedded, faults=faults, paid_keys=paid_keys)
