"""Find the integration behind `Brand|||command` in Packs/, and run its commands through the local engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsoar_local.engine import (
    ArgError,
    CommandRun,
    EngineError,
    Integration,
    IntegrationError,
    ParamError,
    check_args,
    command_spec,
    load_integration,
    run_command,
)
from xsoar_local.incident.store import Incident
from xsoar_local.playbook.runner import CommandCall, CommandOutcome


class BrandError(Exception):
    """No integration, or more than one, answers a task's `Brand|||command`."""


@dataclass(frozen=True)
class IntegrationCatalog:
    """The integrations found under Packs/, and the folders that could not be loaded (with why)."""

    integrations: tuple[Integration, ...]
    broken: Mapping[str, str] = field(default_factory=dict)

    def find(self, brand: str, command: str) -> Integration:
        """The integration for a brand (its id or name); an empty brand means the one that has `command`."""
        if brand:
            matches = [item for item in self.integrations if brand in (item.id, item.name)]
            if not matches:
                raise BrandError(f"no integration with brand {brand!r} in Packs/*/Integrations{self._known()}")
            return matches[0]
        matches = [item for item in self.integrations if any(spec.name == command for spec in item.commands)]
        if not matches:
            raise BrandError(f"no integration in Packs/*/Integrations has the command {command!r}{self._known()}")
        if len(matches) > 1:
            names = ", ".join(sorted(item.name for item in matches))
            raise BrandError(f"the command {command!r} is ambiguous without a brand: {names} all have it")
        return matches[0]

    def _known(self) -> str:
        found = ", ".join(sorted(item.name for item in self.integrations)) or "none"
        broken = "".join(f"; {folder} could not be loaded: {why}" for folder, why in self.broken.items())
        return f" (found: {found}{broken})"


def scan_integrations(packs_root: Path) -> IntegrationCatalog:
    """Load every `Packs/*/Integrations/*` integration; a broken one is noted, not fatal to the others."""
    found: list[Integration] = []
    broken: dict[str, str] = {}
    for folder in sorted(Path(packs_root).glob("*/Integrations/*")):
        if not folder.is_dir() or not any(folder.glob("*.yml")):
            continue
        try:
            found.append(load_integration(folder))
        except IntegrationError as error:
            broken[str(folder)] = str(error)
    return IntegrationCatalog(tuple(found), broken)


ParamsFor = Callable[[Integration], Mapping[str, Any]]
RunCommand = Callable[[Integration, str, Mapping[str, Any], Mapping[str, Any], Incident], CommandRun]


def _run(
    integration: Integration, command: str, args: Mapping[str, Any], params: Mapping[str, Any], incident: Incident
) -> CommandRun:
    return run_command(integration, command, args, params, incident)


class EngineExecutor:
    """The playbook runner's command executor: checks args (defaultValues applied) and runs them on the engine."""

    def __init__(self, catalog: IntegrationCatalog, params_for: ParamsFor, run: RunCommand = _run) -> None:
        self.catalog = catalog
        self.params_for = params_for
        self.run = run
        self._params: dict[str, Mapping[str, Any]] = {}

    def __call__(self, call: CommandCall, incident: Incident) -> CommandOutcome:
        """Run one command; anything that stops it from running is reported as the task's error."""
        try:
            integration = self.catalog.find(call.brand, call.command)
            args = check_args(command_spec(integration, call.command), call.args)
            if integration.id not in self._params:  # one instance per brand for the whole run
                self._params[integration.id] = self.params_for(integration)
            run = self.run(integration, call.command, args, self._params[integration.id], incident)
        except (BrandError, EngineError, ArgError, ParamError, IntegrationError) as error:
            return CommandOutcome((), incident, str(error))
        return CommandOutcome(tuple(run.entries), run.incident, "; ".join(run.error_messages) or None)
