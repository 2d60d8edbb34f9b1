"""A local integration instance: where its params come from, and the embedded stand-in it may talk to.

A server keeps each instance's settings. Locally they are layered, lowest priority first: the YAML's
defaults, `DEMISTO_PARAMS` (the JSON content's own tooling uses), `--params-file`, `--env-file`, the
embedded stand-in's URL (or, with `--real`, the real service's API key from the environment variable its
plugin names), then `--param`. The `run`, `playbook`, `test-playbooks` and `fetch` subcommands all configure
instances this way. Which stand-in serves which integration is the plugins' word (`xsoar_local.services`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsoar_local.engine import Integration, ParamError, ParamLayer, build_params, env_file_layers, parse_env_file
from xsoar_local.engine.params import DEMISTO_PARAMS, parse_assignments, parse_params_json
from xsoar_local.errors import UsageError
from xsoar_local.redact import MASK, redact_text
from xsoar_local.services import RunningStandIn, ServiceError, ServicePlugin, ServiceRegistry, load_registry, started

EMBEDDED_LAYER = "the embedded service"


class InstanceSetupError(UsageError):
    """The instance cannot be configured as asked (an unreadable file, contradictory switches, a bad fault)."""


@contextlib.contextmanager
def _as_setup_error() -> Iterator[None]:
    """A stand-in that cannot be loaded or started is a set-up error like any other (one line, exit 2)."""
    try:
        yield
    except ServiceError as error:
        raise InstanceSetupError(str(error)) from error


def registry(environ: Mapping[str, str] | None = None) -> ServiceRegistry:
    """The installed stand-ins (InstanceSetupError when a plugin is broken)."""
    with _as_setup_error():
        return load_registry(environ)


@dataclass(frozen=True)
class ParamSources:
    """Where a local instance's params come from, besides the YAML's defaults.

    `api_keys` maps the environment variables the plugins name to the keys found there (used with `--real`).
    """

    demisto_params: str | None = None
    params_file: Path | None = None
    env_file: Path | None = None
    assignments: Sequence[str] = ()
    real: bool = False
    api_keys: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(
        cls, options: Any, environ: Mapping[str, str], services: ServiceRegistry | None = None
    ) -> ParamSources:
        """The sources a subcommand's options and the environment name."""
        services = registry(environ) if services is None else services
        return cls(
            demisto_params=environ.get(DEMISTO_PARAMS) or None,
            params_file=Path(options.params_file) if options.params_file else None,
            env_file=Path(options.env_file) if options.env_file else None,
            assignments=tuple(options.param or ()),
            real=bool(options.real),
            api_keys={name: environ[name] for name in services.api_key_envs if environ.get(name)},
        )

    def check(self) -> None:
        """Read every source once: a file the command line names that cannot be read or parsed stops the command
        before anything runs (a set-up error), not as the error of whichever task first needs an instance."""
        if self.demisto_params:
            parse_params_json(self.demisto_params, DEMISTO_PARAMS)
        if self.params_file:
            parse_params_json(_read(self.params_file), str(self.params_file))
        if self.env_file:
            parse_env_file(_read(self.env_file))
        if self.assignments:
            parse_assignments(list(self.assignments))


def stand_in_for(
    integration: Integration,
    option: bool | None,
    real: bool,
    services: ServiceRegistry,
    name: str | None = None,
) -> ServicePlugin | None:
    """The stand-in to start for `integration`, if any.

    `option` is --service/--no-service, `name` --stand-in (which implies --service). Unless asked, the stand-in
    that serves the integration starts, but not with --real. Asked, it is the named one, else the one that serves
    the integration, else the only one installed; the integration needs the param it points at its URL.
    """
    if option is False:
        if name:
            raise InstanceSetupError("--stand-in and --no-service contradict each other: choose one")
        return None
    if option is None and not name:
        return None if real else services.for_integration(integration.id, integration.brand)
    if real:
        raise InstanceSetupError(
            f"{'--stand-in' if name else '--service'} and --real contradict each other: choose one"
        )
    with _as_setup_error():
        plugin = (
            services.named(name)
            if name
            else services.for_integration(integration.id, integration.brand)
            or services.only(f"--service for {integration.name}, which no stand-in serves")
        )
    if integration.param(plugin.url_param) is None:
        raise InstanceSetupError(
            f"--service needs an integration with a `{plugin.url_param}` param; {integration.name} has none"
        )
    return plugin


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.:=-]+")


def instance_name(
    integration: Integration,
    params: Mapping[str, Any],
    *,
    embedded: ServicePlugin | None = None,
    url_param: str = "url",
    faults: Sequence[str] = (),
    options: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The instance a run uses when none is named: one per service and configuration, so caches never mix.

    An instance's integration context (a cache of the service's answers, say) belongs to the service that
    answered and to the settings it was asked with. The real service (the YAML's URL) is ``<brand>_instance_1``,
    the `embedded` stand-in ``<brand>_local``, and each set of injected faults is an instance of its own
    (``<brand>_local_fault-status=429``), so a cached answer of one never hides another's behaviour. Any other
    URL (in `url_param`) gets an instance named after its host, and params that differ from the YAML's
    defaults (an API key, another cache lifetime) or the stand-in's `options` add a short digest of themselves:
    another configuration is another instance, as it would be on a server.
    """
    brand = integration.brand
    if embedded is not None:
        url_param = embedded.url_param
        with _as_setup_error():
            specs = embedded.canonical_faults(faults)
        base = "_".join([f"{brand}_local", *(["fault-" + "+".join(specs)] if specs else [])])
    else:
        url = params.get(url_param)
        spec = integration.param(url_param)
        default = spec.default_value if spec is not None else None
        if not isinstance(url, str) or not url or url.rstrip("/") == str(default or "").rstrip("/"):
            base = f"{brand}_instance_1"
        else:
            where = redact_text(url).replace(f":{MASK}@", "@").split("://", 1)[-1].rstrip("/")
            base = f"{brand}_" + _UNSAFE_NAME.sub("-", where)[:100]
    settings = {name: value for name, value in params.items() if name != url_param}
    try:
        defaults = {name: value for name, value in build_params(integration.params).items() if name != url_param}
    except ParamError:  # a required param without a default: no configuration is the default one
        defaults = {}
    if embedded is not None:
        for option in embedded.options:
            values = (options or {}).get(option.dest, ())
            if values:
                settings[f"{option.label} of the embedded service"] = sorted(values)
    if settings == defaults:
        return base
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode("utf-8", "surrogatepass"))
    return f"{base}_{digest.hexdigest()[:8]}"


def param_layers(
    sources: ParamSources,
    integration: Integration,
    plugin: ServicePlugin | None = None,
    service_url: str | None = None,
) -> list[ParamLayer]:
    """The param layers, lowest priority first (see the module docstring).

    `plugin` is the stand-in started for the integration (its URL is `service_url`), or, with --real, the one
    that serves it: its plugin names where the real service's key comes from.
    """
    layers: list[ParamLayer] = []
    if sources.demisto_params:
        layers.append(ParamLayer(DEMISTO_PARAMS, parse_params_json(sources.demisto_params, DEMISTO_PARAMS)))
    if sources.params_file:
        path = sources.params_file
        layers.append(ParamLayer(str(path), parse_params_json(_read(path), str(path))))
    if sources.env_file:
        layers += env_file_layers(parse_env_file(_read(sources.env_file)), str(sources.env_file))
    if plugin is not None and service_url:
        layers.append(ParamLayer(EMBEDDED_LAYER, {plugin.url_param: service_url}))
    if sources.real and plugin is not None and plugin.api_key_env and plugin.api_key_param:
        key = sources.api_keys.get(plugin.api_key_env)
        if key and integration.param(plugin.api_key_param) is not None:
            layers.append(ParamLayer(plugin.api_key_env, {plugin.api_key_param: key}))
    if sources.assignments:
        layers.append(ParamLayer("--param", parse_assignments(list(sources.assignments))))
    return layers


def instance_params(
    integration: Integration,
    sources: ParamSources,
    plugin: ServicePlugin | None = None,
    service_url: str | None = None,
) -> dict[str, Any]:
    """The params of a new instance: the YAML's defaults under every layer (ParamError names what is wrong)."""
    return build_params(integration.params, param_layers(sources, integration, plugin, service_url))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InstanceSetupError(f"cannot read {path}: {error.strerror or error}") from error


@contextlib.contextmanager
def embedded_stand_in(
    plugin: ServicePlugin, faults: Sequence[str] = (), options: Mapping[str, Sequence[str]] | None = None
) -> Iterator[RunningStandIn]:
    """`plugin`'s stand-in on loopback for the length of the block (fresh each run); a fault spec or option
    value it refuses is an InstanceSetupError naming the switch, raised before it starts."""
    with _as_setup_error(), started(plugin, faults, options) as service:
        yield service


class DefaultInstances:
    """Params for brands without an instance in --instances: the command line's layers, and the embedded
    stand-in (started on first use, inside `stack`, one per plugin) for the integrations it serves.

    `service_option` is --service/--no-service and `stand_in` --stand-in (see `stand_in_for`); `faults` and
    `options` (each plugin option's dest -> values) go to every stand-in the run starts.
    """

    def __init__(
        self,
        sources: ParamSources,
        stack: contextlib.ExitStack,
        *,
        services: ServiceRegistry | None = None,
        service_option: bool | None = None,
        stand_in: str | None = None,
        faults: Sequence[str] = (),
        options: Mapping[str, Sequence[str]] | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name  # --instance: the default instance's name, else one per service and configuration
        self.sources = sources
        self.stack = stack
        self.services = registry() if services is None else services
        self.service_option = service_option
        self.stand_in = stand_in
        self.faults = tuple(faults)
        self.options = {dest: tuple(values) for dest, values in (options or {}).items()}
        self.running: dict[str, RunningStandIn] = {}  # plugin name -> its running stand-in
        self._embedded: dict[str, ServicePlugin] = {}  # integration id -> the stand-in started for it

    @property
    def service(self) -> RunningStandIn | None:
        """The first stand-in this run started, if any."""
        return next(iter(self.running.values()), None)

    def __call__(self, integration: Integration) -> dict[str, Any]:
        """The default instance's params of `integration`."""
        plugin = stand_in_for(integration, self.service_option, self.sources.real, self.services, self.stand_in)
        if plugin is None:
            serving = self.services.for_integration(integration.id, integration.brand)
            return instance_params(integration, self.sources, serving)
        if plugin.name not in self.running:
            self.running[plugin.name] = self.stack.enter_context(embedded_stand_in(plugin, self.faults, self.options))
        self._embedded[integration.id] = plugin
        return instance_params(integration, self.sources, plugin, self.running[plugin.name].url)

    def name_for(self, integration: Integration, params: Mapping[str, Any]) -> str:
        """The default instance's name: --instance, else one per service and configuration (`instance_name`)."""
        if self.name:
            return self.name
        plugin = self._embedded.get(integration.id)
        if plugin is not None and params.get(plugin.url_param) == self.running[plugin.name].url:
            return instance_name(integration, params, embedded=plugin, faults=self.faults, options=self.options)
        serving = self.services.for_integration(integration.id, integration.brand)
        url_param = serving.url_param if serving is not None else "url"
        return instance_name(integration, params, url_param=url_param)
