"""An engine over one content root: War Room lines, integration commands, scripts, transformers, filters and
fetches. Names resolve through the command registry (registry.py); scripts and commands run on an executor
(executors/, warm unless switched off), the engine's own commands in this process (native.py); nested
`demisto.executeCommand` calls are served on this session, through the same registry (nested.py).

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
from dataclasses import replace
from pathlib import Path
from typing import Any

from xsoar_local.engine.catalog import CatalogError, ContentCatalog
from xsoar_local.engine.entries import is_error
from xsoar_local.engine.instances import Instance, InstanceError, InstanceSet
from xsoar_local.engine.native import (
    NativeCommand,
    WarRoom,
    no_war_room,
    run_native,
)
from xsoar_local.engine.nested import NestedCall, nested_handler
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
    server_numbers,
    test_module_outcome,
    war_room_line_of,
)
from xsoar_local.engine.scripts import Script
from xsoar_local.engine.state import InstanceState, MemoryInstanceState, StoreInstanceState
from xsoar_local.engine.warroom import check_args, parse_war_room, split_debug_mode
from xsoar_local.errors import EngineError
from xsoar_local.incident.lists import (
    ListStore,
    MemoryListStore,
    PackList,
    StateListStore,
    lists_in_root,
)
from xsoar_local.incident.model import Incident
from xsoar_local.runtime import DEFAULT_DESTINATION

MAX_DEPTH = 8  # nested executeCommand calls: deeper is a loop
USING, USING_BRAND = "using", "using-brand"
LANGUAGE_NAMES = {"python": "Python", "javascript": "JavaScript", "powershell": "PowerShell"}

PythonFor = Callable[[str], str]


def _same_python(_image: str) -> str:
    return sys.executable


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

    @functools.cached_property
    def supported_commands(self) -> dict[str, list[dict[str, str]]]:
        """What scripts' `getAllSupportedCommands()` answers (the registry's; the content does not change)."""
        return self.registry.supported_commands()

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

    def run_planned(self, planned: Planned, incident: Incident, *, depth: int = 0, playbook_id: str = "") -> CommandRun:
        """Run what `plan` resolved (`playbook_id`: see `execute`)."""
        if planned.native is not None:
            return self.run_native(planned.native, planned.args, incident, playbook_id=playbook_id)
        if planned.script is not None:
            return self.run_script(planned.script, planned.args, incident, depth=depth, playbook_id=playbook_id)
        assert planned.instance is not None
        return self.run_command(
            planned.instance,
            planned.name,
            planned.args,
            incident,
            depth=depth,
            line=planned.line,
            playbook_id=playbook_id,
        )

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
        playbook_id: str = "",
    ) -> CommandRun:
        """Run `name` (script or command) with raw args, checked as the server checks them. `playbook_id` is the
        sub-playbook a task runs it in ("" at a playbook's top level or outside one): what `${currentPlaybookID}`
        gives in the arguments of the `executeCommand` calls it makes."""
        if depth > MAX_DEPTH:
            raise EngineError(f"{name}: executeCommand nested deeper than {MAX_DEPTH} levels (a script calls itself?)")
        planned = self.plan_call(name, args, brand=brand, positional=positional, line=line)
        return self.run_planned(planned, incident, depth=depth, playbook_id=playbook_id)

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
        playbook_id: str = "",
    ) -> CommandRun:
        """Run an integration command on `instance` (args already checked), holding the instance meanwhile: its
        integration context is read, the command runs, and the context it leaves is stored with a new version."""
        with self._hold(instance.name):
            call = NestedCall(incident, depth, line or war_room_line_of(command, args), playbook_id)
            return self._run_held(instance, command, args, call, last_run=last_run)

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
        call: NestedCall,
        *,
        last_run: Mapping[str, Any] | None,
    ) -> CommandRun:
        check_runtime(self.runtime_dir)  # before an image's environment is made for it
        context, version = self.state.integration_context(instance.name)
        incident = call.incident
        if instance.integration.type == "python":  # numbers as the server's JSON gives them, as for scripts
            args = server_numbers(args)
        run = run_command(
            instance.integration,
            command,
            args,
            instance.params,
            incident.with_integration_context(instance.name, context),
            instance_name=instance.name,
            env=self.env,
            timeout=self.timeout,
            python=self._python(instance.integration.docker_image, instance.integration.type),
            on_request=nested_handler(self, call),
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

    def run_native(
        self, native: NativeCommand, args: Mapping[str, Any], incident: Incident, *, playbook_id: str = ""
    ) -> CommandRun:
        """Run a command the engine runs itself (args already checked) on `incident` (`playbook_id`: see `execute`)."""
        return run_native(native, args, incident, self.war_room_entries, self.lists, playbook_id)

    def run_script(
        self,
        script: Script,
        args: Mapping[str, Any],
        incident: Incident,
        *,
        depth: int = 0,
        kind: str = "script",
        playbook_id: str = "",
    ) -> CommandRun:
        """Run an automation script (args already checked) on `incident` (`playbook_id`: see `execute`)."""
        _refuse_unsupported(script)
        args, debug = split_debug_mode(args)
        if script.type == "python":  # transformers' and filters' values too: numbers as the server's JSON gives them
            args = server_numbers(args)
        check_runtime(self.runtime_dir)
        call = NestedCall(incident, depth, war_room_line_of(script.name, args), playbook_id)
        job = build_job(script, incident, args=args, kind=kind, debug=debug, runtime_dir=self.runtime_dir)
        job = job.with_values(supported_commands=self.supported_commands)
        started = time.monotonic()
        result = run_job(
            job,
            on_request=nested_handler(self, call),
            env=self.env,
            timeout=self.timeout,
            python=self._python(script.docker_image, script.type),
            warm=self.warm,
        )
        return with_nested(to_command_run(script.name, args, "", incident, result, started, debug), call.nested)

    def _python(self, image: str, language: str) -> str:
        """The Python for code of `image`; JavaScript runs in the engine, so no image's environment is made for it."""
        return self.python_for(image) if language == "python" else sys.executable

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
        # A filter's first result is its answer: a filter that splits its `left` on commas itself writes a result a
        # piece (True, then False, for the item "{a:1,b:2}"), and a server keeps that item.
        value = returned_value(run, first=True)
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
