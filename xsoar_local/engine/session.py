"""An engine over one content root: War Room lines, integration commands, scripts, transformers, filters and
fetches. Names resolve through the command registry (registry.py); scripts and commands run on an executor
(executors/, warm unless switched off), the engine's own commands in this process (native.py); nested
`demisto.executeCommand` calls are served here, through the same registry.

    session = EngineSession(catalog, instances, state)           # catalog.py, instances.py, state.py
    run = session.war_room('!HelloWorldScript name=x', incident)  # -> CommandRun (entries, incident after)
    run = session.execute("ip", {"ip": "8.8.8.8"}, incident, brand="HelloWorld")
    value = session.transform("ToUpper", value, {}, incident)      # a `transformer`-tagged script
    holds = session.filter("InRange", left, right, incident)       # a `filter`-tagged script
    fetch = session.fetch("HelloWorld_instance_1")                  # -> FetchRun; lastRun kept on failure

Integration contexts (with their versions) and lastRun belong to instances and live in `state`.
What a session hands back besides a `CommandRun` (a planned line, a fetch's outcome, a server's entries) is in
runs.py.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xsoar_local.engine.catalog import CatalogError, ContentCatalog
from xsoar_local.engine.entries import ERROR, is_error
from xsoar_local.engine.instances import Instance, InstanceError, InstanceSet
from xsoar_local.engine.native import (
    BUILTIN_BRAND,
    BUILTIN_MODULE,
    NativeCommand,
    WarRoom,
    no_war_room,
    run_native,
)
from xsoar_local.engine.registry import CommandRegistry
from xsoar_local.engine.runner import (
    DEFAULT_TIMEOUT,
    CommandRun,
    build_job,
    check_runtime,
    run_command,
    run_job,
    to_command_run,
    with_nested,
)
from xsoar_local.engine.runs import (
    FetchRun,
    Planned,
    incident_record,
    returned_value,
    server_entries,
    test_module_outcome,
    war_room_line_of,
)
from xsoar_local.engine.scripts import Script
from xsoar_local.engine.state import InstanceState, MemoryInstanceState, StoreInstanceState
from xsoar_local.engine.warroom import check_args, parse_war_room, split_debug_mode
from xsoar_local.errors import EngineError, XsoarLocalError
from xsoar_local.incident.lists import (
    ListStore,
    MemoryListStore,
    PackList,
    StateListStore,
    lists_in_root,
)
from xsoar_local.incident.model import Incident
from xsoar_local.redact import mask_error
from xsoar_local.runtime import DEFAULT_DESTINATION

MAX_DEPTH = 8  # nested executeCommand calls: deeper is a loop
USING, USING_BRAND = "using", "using-brand"
SCRIPTS_BRAND = "Scripts"
LANGUAGE_NAMES = {"python": "Python", "javascript": "JavaScript", "powershell": "PowerShell"}

PythonFor = Callable[[str], str]


def _same_python(_image: str) -> str:
    return sys.executable


@dataclass
class _Call:
    """The run a nested request comes from."""

    incident: Incident
    depth: int
    line: str
    nested: list[CommandRun] = field(default_factory=list)


class EngineSession:
    """Runs content from one catalog with its instances; see the module docstring."""

    def __init__(
        self,
        catalog: ContentCatalog,
        instances: InstanceSet,
        state: InstanceState | None = None,
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        python_for: PythonFor = _same_python,
        runtime_dir: Path = DEFAULT_DESTINATION,
        warm: bool | None = None,
        war_room: WarRoom = no_war_room,
        lists: ListStore | None = None,
    ) -> None:
        self.catalog = catalog
        self.instances = instances
        self.state: InstanceState = state if state is not None else MemoryInstanceState()
        # XSOAR lists live beside the instances' state: in its state folder when it has one. The content root is
        # what is installed, so the lists its packs ship are created where missing (a server passes its own store:
        # its packs' lists were created when they were uploaded).
        if lists is None:
            keeper = self.state
            lists = StateListStore(keeper.store) if isinstance(keeper, StoreInstanceState) else MemoryListStore()
            shipped = _shipped_lists(Path(catalog.root))
            if shipped:
                lists.add_missing(list(shipped))
        self.lists: ListStore = lists
        self.env = env
        self.timeout = timeout
        self.python_for = python_for
        self.runtime_dir = runtime_dir
        self.warm = warm  # None: the process's warm switch (xsoar_local.engine.executors)
        self.registry = CommandRegistry(catalog, instances)
        self.war_room_entries = war_room  # what getEntries/getEntry read
        self._held: set[str] = set()

    # -- entry points -------------------------------------------------------------------------------
    def war_room(self, line: str, incident: Incident) -> CommandRun:
        """Run a War Room line: `!name args`, a script or an integration command (`using=`/`using-brand=` pick)."""
        return self.run_planned(self.plan(line), incident)

    def plan(self, line: str) -> Planned:
        """What a War Room line runs, with its checked args; every error a server would refuse it with, raised
        before anything runs."""
        parsed = parse_war_room(line)
        return self.plan_call(parsed.name, parsed.args, positional=parsed.positional, line=line)

    def plan_call(
        self, name: str, args: Mapping[str, Any], *, brand: str = "", positional: str | None = None, line: str = ""
    ) -> Planned:
        """What `name` with raw `args` runs: a script or an instance's command (args checked, defaults applied)."""
        args = dict(args)
        using = str(args.pop(USING, "") or "")
        brand = str(args.pop(USING_BRAND, "") or brand)
        line = line or war_room_line_of(name, args)
        target = self.registry.resolve(name, brand=brand, using=using)
        if target.native is not None:
            return Planned(name, target.native.check(args, positional), line, native=target.native)
        if target.script is not None:
            _refuse_unsupported(target.script)
            return Planned(name, check_args(target.script.spec, args, positional), line, script=target.script)
        instance = target.instance
        assert instance is not None
        spec = instance.integration.command(name)
        assert spec is not None  # for_command checked it
        return Planned(name, check_args(spec, args, positional), line, instance=instance)

    def run_planned(self, planned: Planned, incident: Incident, *, depth: int = 0) -> CommandRun:
        """Run what `plan` resolved."""
        if planned.native is not None:
            return self.run_native(planned.native, planned.args, incident)
        if planned.script is not None:
            return self.run_script(planned.script, planned.args, incident, depth=depth)
        assert planned.instance is not None
        return self.run_command(planned.instance, planned.name, planned.args, incident, depth=depth, line=planned.line)

    def execute(
        self,
        name: str,
        args: Mapping[str, Any],
        incident: Incident,
        *,
        brand: str = "",
        positional: str | None = None,
        line: str = "",
        depth: int = 0,
    ) -> CommandRun:
        """Run `name` (script or command) with raw args, checked as the server checks them."""
        if depth > MAX_DEPTH:
            raise EngineError(f"{name}: executeCommand nested deeper than {MAX_DEPTH} levels (a script calls itself?)")
        planned = self.plan_call(name, args, brand=brand, positional=positional, line=line)
        return self.run_planned(planned, incident, depth=depth)

    def run_command(
        self,
        instance: Instance,
        command: str,
        args: Mapping[str, Any],
        incident: Incident,
        *,
        depth: int = 0,
        line: str = "",
        last_run: Mapping[str, Any] | None = None,
    ) -> CommandRun:
        """Run an integration command on `instance` (args already checked), holding the instance meanwhile: its
        integration context is read, the command runs, and the context it leaves is stored with a new version."""
        with self._hold(instance.name):
            return self._run_held(instance, command, args, incident, depth=depth, line=line, last_run=last_run)

    @contextlib.contextmanager
    def _hold(self, instance: str) -> Iterator[None]:
        """The instance's lock, once per session: a nested command of a held instance does not wait for itself."""
        if instance in self._held:
            yield
            return
        with self.state.hold(instance):
            self._held.add(instance)
            try:
                yield
            finally:
                self._held.discard(instance)

    def _run_held(
        self,
        instance: Instance,
        command: str,
        args: Mapping[str, Any],
        incident: Incident,
        *,
        depth: int,
        line: str,
        last_run: Mapping[str, Any] | None,
    ) -> CommandRun:
        check_runtime(self.runtime_dir)  # before an image's environment is made for it
        context, version = self.state.integration_context(instance.name)
        call = _Call(incident, depth, line or war_room_line_of(command, args))
        run = run_command(
            instance.integration,
            command,
            args,
            instance.params,
            incident.with_integration_context(instance.name, context),
            instance_name=instance.name,
            env=self.env,
            timeout=self.timeout,
            python=self.python_for(instance.integration.docker_image),
            on_request=self._handler(call),
            integration_context_version=version,
            last_run=last_run,
            warm=self.warm,
            runtime_dir=self.runtime_dir,
        )
        if (run.result.integration_context_version or version) != version:  # the code wrote it
            self.state.set_integration_context(instance.name, run.incident.integration_context(instance.name), version)
        if command == "test-module":
            run = test_module_outcome(run)
        return with_nested(run, call.nested)

    def run_native(self, native: NativeCommand, args: Mapping[str, Any], incident: Incident) -> CommandRun:
        """Run a command the engine runs itself (args already checked) on `incident`."""
        return run_native(native, args, incident, self.war_room_entries, self.lists)

    def run_script(
        self,
        script: Script,
        args: Mapping[str, Any],
        incident: Incident,
        *,
        depth: int = 0,
        kind: str = "script",
    ) -> CommandRun:
        """Run an automation script (args already checked) on `incident`."""
        _refuse_unsupported(script)
        args, debug = split_debug_mode(args)
        check_runtime(self.runtime_dir)
        call = _Call(incident, depth, war_room_line_of(script.name, args))
        job = build_job(script, incident, args=args, kind=kind, debug=debug, runtime_dir=self.runtime_dir)
        started = time.monotonic()
        result = run_job(
            job,
            on_request=self._handler(call),
            env=self.env,
            timeout=self.timeout,
            python=self.python_for(script.docker_image),
            warm=self.warm,
        )
        return with_nested(to_command_run(script.name, args, "", incident, result, started, debug), call.nested)

    def transform(self, name: str, value: Any, args: Mapping[str, Any], incident: Incident) -> Any:
        """Apply the `transformer` script `name` to `value` (per item, unless it is tagged `entirelist`)."""
        script = self._tagged(name, "transformer")
        if isinstance(value, list) and not script.entire_list:
            return [self._transform_one(script, item, args, incident) for item in value]
        return self._transform_one(script, value, args, incident)

    def _transform_one(self, script: Script, value: Any, args: Mapping[str, Any], incident: Incident) -> Any:
        # The server hands a transformer its value as it is, empty or not (LastArrayElement turns null into []):
        # `value` is exempt from the required-argument check and never made a string.
        spec = replace(
            script.spec,
            arguments=tuple(
                replace(arg, required=False) if arg.name == "value" else arg for arg in script.spec.arguments
            ),
        )
        checked = {**check_args(spec, {key: item for key, item in args.items() if key != "value"}), "value": value}
        run = self.run_script(script, checked, incident, kind="transformer")
        if run.is_error:
            raise EngineError(f"transformer {script.name}: {'; '.join(run.error_messages)}")
        return returned_value(run)

    def filter(self, name: str, left: Any, right: Any, incident: Incident) -> bool:
        """Whether the `filter` script `name` holds for `left` and `right`."""
        script = self._tagged(name, "filter")
        args = {"left": left} if right is None else {"left": left, "right": right}
        run = self.run_script(script, check_args(script.spec, args), incident, kind="filter")
        if run.is_error:
            raise EngineError(f"filter {script.name}: {'; '.join(run.error_messages)}")
        value = returned_value(run)
        if isinstance(value, list) and len(value) == 1:
            # A returned list is one entry per item: IsInCidrRanges answers ['True'] for its one `left` item.
            value = value[0]
        return value is True or str(value).strip().lower() == "true"

    def is_content_script(self, name: str, tag: str | None = None) -> bool:
        """True when the catalog has a script `name` (with `tag`, when given)."""
        script = self.catalog.script(name)
        return script is not None and (tag is None or tag in script.tags)

    def fetch(self, instance_name: str) -> FetchRun:
        """One fetch-incidents run: incidents created and lastRun moved on, or (on failure) nothing changed."""
        instance = self.instances.by_name(instance_name)
        if not instance.integration.is_fetch:
            raise InstanceError(
                f"instance {instance.name!r} ({instance.brand}) cannot fetch: its integration's YAML does not set "
                "script.isfetch: true"
            )
        with self._hold(instance.name):
            return self._fetch_held(instance)

    def _fetch_held(self, instance: Instance) -> FetchRun:
        old = self.state.last_run(instance.name)
        run = self.run_command(instance, "fetch-incidents", {}, Incident(), last_run=old)
        error = "; ".join(run.error_messages) if run.is_error else None
        records: list[dict[str, Any]] = []
        if error is None:
            try:
                fetched = run.result.fetched_incidents or ()
                records = [incident_record(raw, instance, number) for number, raw in enumerate(fetched, start=1)]
            except EngineError as problem:
                error = str(problem)
        if error is not None:
            return FetchRun(instance.name, [], old, run, error)
        new = dict(run.result.last_run) if run.result.last_run_set else old
        ids = self.state.record_fetch(instance.name, records, new)
        created = [{**record, "id": new_id} for record, new_id in zip(records, ids, strict=True)]
        return FetchRun(instance.name, created, new, run)

    # -- nested executeCommand -------------------------------------------------------------------------
    def _tagged(self, name: str, tag: str) -> Script:
        script = self.catalog.script(name)
        if script is None or tag not in script.tags:
            raise CatalogError(f"no script tagged {tag!r} called {name!r} in {self.catalog.root}")
        return script

    def _handler(self, call: _Call) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def handle(request: dict[str, Any]) -> dict[str, Any]:
            if request.get("type") != "executeCommand":
                return {"error": f"unknown request {request.get('type')!r}"}
            name = str(request.get("command") or "")
            incident = Incident(
                fields=dict(request.get("incident") or call.incident.fields),
                context=dict(request.get("context") or {}),
                integration_contexts=call.incident.integration_contexts,
            )
            try:
                run = self.execute(name, dict(request.get("args") or {}), incident, depth=call.depth + 1)
            except XsoarLocalError as error:  # the nested command could not run: the script reads why
                if isinstance(error, CatalogError):
                    return {"error": f"Unsupported Command : {name}: {mask_error(error)}"}
                return {"entries": [{"Type": ERROR, "ContentsFormat": "text", "Contents": mask_error(error)}]}
            call.nested.append(run)
            brand, module = SCRIPTS_BRAND, name
            native = self.registry.native(name)
            if native is not None and not native.fallback and not run.instance:
                brand, module = BUILTIN_BRAND, BUILTIN_MODULE
            if run.instance:
                instance = self.instances.by_name(run.instance)
                brand, module = instance.brand, instance.name
            investigation = str(incident.fields.get("id") or "1")
            entries = server_entries(run, brand, module, war_room_line_of(name, run.args), investigation)
            return {"entries": entries, "context": run.incident.context}

        return handle


def _refuse_unsupported(script: Script) -> None:
    """A script in a language no executor runs is refused before anything runs."""
    from xsoar_local.engine.executors import languages, supports

    if not supports(script.type):
        shown = ", ".join(LANGUAGE_NAMES.get(name, name) for name in languages())
        raise EngineError(
            f"script {script.name!r} is {script.type} ({script.yaml_path}): the local engine runs {shown} scripts only"
        )


@functools.lru_cache(maxsize=8)
def _shipped_lists(root: Path) -> tuple[PackList, ...]:
    """The lists the content root's packs ship, read once per process (a content repository is large)."""
    return tuple(lists_in_root(root))


__all__ = ["EngineSession", "FetchRun", "incident_record", "is_error", "server_entries"]
