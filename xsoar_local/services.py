"""Service stand-ins: local imitations of the services integrations call, plugged in from outside the core.

The core knows no service. A stand-in package declares a `ServicePlugin` and registers it under the
`xsoar_local.services` entry-point group of its distribution (pyproject.toml):

    [project.entry-points."xsoar_local.services"]
    myservice = "my_standins.myservice.plugin:PLUGIN"

`$XSOAR_LOCAL_SERVICES` adds plugins that are not installed: comma-separated `module:attribute` references.
The plugin says which integrations (ids or brands) it serves, which param takes its URL, where a key for the
real service comes from, and how to start it with faults and its own repeatable options; `run`, `playbook`,
`test-playbooks` and `fetch` start it through this module only (see `xsoar_local.instance`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, metadata
from typing import Protocol

from xsoar_local.errors import UsageError

ENTRY_POINT_GROUP = "xsoar_local.services"
PLUGINS_ENV = "XSOAR_LOCAL_SERVICES"

_FLAG = re.compile(r"--[a-z][a-z0-9-]*")


class ServiceError(UsageError):
    """A service plugin cannot be loaded or used as asked (the message says what to change)."""


class RunningStandIn(Protocol):
    """A started stand-in: its base URL for the integration's URL param, and the requests it has received."""

    @property
    def url(self) -> str: ...

    @property
    def requests(self) -> Sized: ...


StartStandIn = Callable[
    [tuple[str, ...], Mapping[str, tuple[str, ...]]], contextlib.AbstractContextManager[RunningStandIn]
]


@dataclass(frozen=True)
class ServiceOption:
    """A repeatable command-line option of `run` the plugin defines (e.g. `--paid-key KEY`).

    Its values reach `start` under `dest`; `label` names them in the instance's configuration, so a run with
    other values uses another instance (another cache).
    """

    flag: str
    dest: str
    help: str
    label: str
    metavar: str = "VALUE"

    def __post_init__(self) -> None:
        if not _FLAG.fullmatch(self.flag):
            raise ValueError(f"option flag {self.flag!r} must look like --lower-case-words")
        if not self.dest.isidentifier():
            raise ValueError(f"option dest {self.dest!r} must be a Python identifier")


@dataclass(frozen=True)
class ServicePlugin:
    """What a stand-in tells the core.

    `start(faults, options)` returns a context manager that runs the stand-in on loopback for the length of a
    `with` block: `faults` are `check_fault`'s canonical specs, `options` maps each `ServiceOption.dest` to its
    values. `check_fault(spec)` returns the canonical form of a fault spec, or raises ValueError saying what
    is accepted (`fault_help`); a plugin without it takes no faults.
    """

    name: str
    title: str
    integrations: frozenset[str]
    start: StartStandIn
    url_param: str = "url"
    api_key_env: str | None = None
    api_key_param: str | None = None
    check_fault: Callable[[str], str] | None = None
    fault_help: str = ""
    options: tuple[ServiceOption, ...] = ()
    main: Callable[[Sequence[str]], int] | None = None  # the stand-in on its own (`make serve`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "integrations", frozenset(self.integrations))
        object.__setattr__(self, "options", tuple(self.options))
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", self.name):
            raise ValueError(f"plugin name {self.name!r} must be lower-case letters, digits, '-' or '_'")
        if (self.api_key_env is None) != (self.api_key_param is None):
            raise ValueError(f"plugin {self.name}: give both api_key_env and api_key_param, or neither")

    def serves(self, integration_id: str, brand: str) -> bool:
        """Does this stand-in imitate the service of that integration (by id or brand)?"""
        return integration_id in self.integrations or brand in self.integrations

    def canonical_faults(self, specs: Sequence[str]) -> tuple[str, ...]:
        """The fault specs in canonical form; ServiceError (naming --fault) for one the stand-in rejects."""
        if not specs:
            return ()
        if self.check_fault is None:
            raise ServiceError(f"--fault: the {self.title} stand-in takes no faults")
        try:
            return tuple(self.check_fault(spec) for spec in specs)
        except ValueError as error:
            raise ServiceError(f"--fault: {error}") from error


def _how_to_install() -> str:
    """How to get a stand-in: the tool's extras (each a plugin), from its own metadata, or the repository's set-up."""
    try:
        extras = metadata("xsoar-local").get_all("Provides-Extra") or []
    except PackageNotFoundError:
        extras = []
    plugins = " or ".join(f"`pip install 'xsoar-local[{extra}]'`" for extra in extras)
    where = plugins or f"a package with an entry point in the group {ENTRY_POINT_GROUP}"
    return f"install one ({where}), or run `make setup` in xsoar-local's repository"


@dataclass(frozen=True)
class ServiceRegistry:
    """The installed stand-ins, checked for clashes."""

    plugins: tuple[ServicePlugin, ...] = ()

    def __post_init__(self) -> None:
        names: set[str] = set()
        claimed: dict[str, str] = {}
        flags: dict[str, ServiceOption] = {}
        for plugin in self.plugins:
            if plugin.name in names:
                raise ServiceError(f"two service plugins are named {plugin.name!r}: uninstall one")
            names.add(plugin.name)
            for integration in sorted(plugin.integrations):
                if integration in claimed:
                    raise ServiceError(
                        f"the stand-ins {claimed[integration]!r} and {plugin.name!r} both serve {integration}: "
                        "uninstall one"
                    )
                claimed[integration] = plugin.name
            for option in plugin.options:
                known = flags.setdefault(option.flag, option)
                if known.dest != option.dest:
                    raise ServiceError(f"two stand-ins define {option.flag} differently: uninstall one")

    def for_integration(self, integration_id: str, brand: str) -> ServicePlugin | None:
        """The stand-in that serves that integration, if one does."""
        return next((plugin for plugin in self.plugins if plugin.serves(integration_id, brand)), None)

    def named(self, name: str) -> ServicePlugin:
        """The stand-in called `name` (ServiceError naming the installed ones)."""
        for plugin in self.plugins:
            if plugin.name == name:
                return plugin
        raise ServiceError(f"no stand-in named {name!r}; installed: {self.describe_names()}")

    def only(self, why: str, choose: str = "--stand-in NAME") -> ServicePlugin:
        """The one installed stand-in; ServiceError (`why` it is needed) when there are none or several."""
        if len(self.plugins) == 1:
            return self.plugins[0]
        if not self.plugins:
            raise ServiceError(f"{why}, but no service stand-in is installed: {_how_to_install()}")
        raise ServiceError(f"{why}: several stand-ins are installed ({self.describe_names()}); choose with {choose}")

    def describe_names(self) -> str:
        return ", ".join(plugin.name for plugin in self.plugins) or "none"

    @property
    def options(self) -> tuple[ServiceOption, ...]:
        """Every plugin's options, once per flag."""
        unique: dict[str, ServiceOption] = {}
        for plugin in self.plugins:
            for option in plugin.options:
                unique.setdefault(option.flag, option)
        return tuple(unique.values())

    @property
    def api_key_envs(self) -> tuple[str, ...]:
        """The environment variables the plugins read a real service's key from."""
        return tuple(plugin.api_key_env for plugin in self.plugins if plugin.api_key_env)

    def served(self) -> str:
        """The integrations the stand-ins serve, for help texts: `A, B (title); C (title)`."""
        parts = [f"{', '.join(sorted(p.integrations))} ({p.title})" for p in self.plugins if p.integrations]
        return "; ".join(parts) or "none"

    def fault_help(self) -> str:
        """What --fault accepts, as the plugins say."""
        helps = [f"{p.title}: {p.fault_help}" for p in self.plugins if p.check_fault is not None and p.fault_help]
        return " ".join(helps)


def _load(reference: str, loader: Callable[[], object]) -> ServicePlugin:
    try:
        plugin = loader()
    except Exception as error:  # any failure of third-party plugin code: one line, not a traceback
        raise ServiceError(
            f"the service plugin {reference} cannot be loaded: {type(error).__name__}: {error}"
        ) from None
    if not isinstance(plugin, ServicePlugin):
        raise ServiceError(f"the service plugin {reference} is a {type(plugin).__name__}, not a ServicePlugin")
    return plugin


def _from_reference(reference: str) -> ServicePlugin:
    module, sep, attribute = reference.strip().partition(":")
    if not sep or not module or not attribute:
        raise ServiceError(f"${PLUGINS_ENV}: {reference!r} is not a `module:attribute` reference")

    def load() -> object:
        value: object = importlib.import_module(module)
        for part in attribute.split("."):
            value = getattr(value, part)
        return value

    return _load(reference, load)


def _from_entry_point(entry_point: EntryPoint) -> ServicePlugin:
    return _load(f"{entry_point.name} ({entry_point.value})", entry_point.load)


@functools.cache
def _registry(extra: str) -> ServiceRegistry:
    installed = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda entry: entry.name)
    plugins = [_from_entry_point(entry) for entry in installed]
    plugins += [_from_reference(reference) for reference in extra.split(",") if reference.strip()]
    return ServiceRegistry(tuple(plugins))


def load_registry(environ: Mapping[str, str] | None = None) -> ServiceRegistry:
    """The installed stand-ins (entry points), plus those `$XSOAR_LOCAL_SERVICES` names; loaded once per process."""
    return _registry((os.environ if environ is None else environ).get(PLUGINS_ENV, ""))


@contextlib.contextmanager
def started(
    plugin: ServicePlugin, faults: Sequence[str] = (), options: Mapping[str, Sequence[str]] | None = None
) -> Iterator[RunningStandIn]:
    """Run `plugin`'s stand-in for the length of the block, with those faults and option values."""
    canonical = plugin.canonical_faults(faults)
    values = {option.dest: tuple((options or {}).get(option.dest, ())) for option in plugin.options}
    with contextlib.ExitStack() as stack:
        try:
            service = stack.enter_context(plugin.start(canonical, values))
        except ValueError as error:  # e.g. an option value the stand-in refuses
            raise ServiceError(f"the {plugin.title} stand-in cannot start: {error}") from error
        yield service
