"""CommonServerPython's module body run once per warm worker, not once per command.

A warm worker (`zygote`) runs CommonServerPython before it forks, so each command's fork starts with every
function, class, regex and import of it in place: a pristine copy of what the worker made, since a fork owns its
memory (what one command changes dies with its fork, and the worker itself never runs a command).

Part of the module body must still run per command, because a fresh import would compute it from the command:
CommonServerPython copies `demisto.params()` into `callingContext` (`SmartGetDict`), collects the secrets its
`LOG` masks from the params, turns on request logging in debug mode, and notes the time it starts
(`SAFE_SLEEP_START_TIME`). Those top-level statements are found, not listed by hand, so a new runtime is handled
the same way. A top-level statement runs again in each fork when:

- it used the server's `demisto` object while the worker ran it (recorded: any attribute of the stand-in
  `demisto` read during that statement, at any call depth), or
- it names `demisto`, reads the clock (`.now()`, `.time()`, ...) or the environment (`os.getenv`, `os.environ`)
  in the part that runs at import (function bodies run later, when called, and see the command's values then), or
- it reads a name one of those statements binds (a default argument, a base class, an alias), repeatedly.

In the fork these statements run in their file order after the server's `demisto` object for the command has
replaced the worker's stand-in, with the command's environment in place, so they see what a fresh import of
that command would see.
"""

from __future__ import annotations

import ast
import bisect
import contextlib
import io
import os
import sys
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsoar_local.engine import codecache
from xsoar_local.engine.demisto_api import ServerDemisto
from xsoar_local.engine.jobs import INTEGRATION, Job

_CLOCK_OR_ENVIRONMENT = frozenset({"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter", "getenv"})


@dataclass
class PreparedRuntime:
    """CommonServerPython's namespace as the worker left it, and the statements each command runs again."""

    filename: str
    data: bytes  # the verified bytes it was prepared from
    namespace: dict[str, Any]
    per_command: tuple[types.CodeType, ...]
    per_command_lines: tuple[int, ...]  # the first line of each, for the record
    owner: int  # the worker's pid: only its forks take it
    module: types.ModuleType | None = None  # `import CommonServerPython` finds this copy of the namespace
    rebound: frozenset[str] = frozenset()  # the names the per-command statements (or `demisto`) may bind

    def module_for_command(self) -> types.ModuleType:
        """The module a stray `import CommonServerPython` finds, after this command's statements ran: the copy the
        worker made (on the first call), with the names those statements may have bound taken again (copying the
        whole namespace per command would cost more than the statements)."""
        module = self.module
        if module is None:
            module = self.module = types.ModuleType(Path(self.filename).stem)
            module.__dict__.update(self.namespace)
            self.rebound = frozenset(
                {"demisto", *(name for code in self.per_command for name in _referenced_names(code))}
            )
        else:
            module.__dict__.update({name: self.namespace[name] for name in self.rebound if name in self.namespace})
        module.__name__ = Path(self.filename).stem
        return module


def _referenced_names(code: types.CodeType) -> tuple[str, ...]:
    """Every name a top-level statement's code refers to (a superset of what it binds), nested code included."""
    names = list(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names += _referenced_names(constant)
    return tuple(names)


_PREPARED: PreparedRuntime | None = None


class _RecordingDemisto(ServerDemisto):
    """The worker's stand-in `demisto` (no command, no params): it notes which top-level statement of the
    runtime module was running each time one of its attributes was read."""

    def __init__(self, module_code: types.CodeType) -> None:
        self._module_code = module_code
        self.read_at: set[int] = set()
        super().__init__(Job(kind=INTEGRATION, name="", folder=".", runtime_dir=""))

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_"):
            module_code = object.__getattribute__(self, "_module_code")
            frame = sys._getframe(1)
            while frame is not None and frame.f_code is not module_code:
                frame = frame.f_back  # type: ignore[assignment]
            if frame is not None:
                object.__getattribute__(self, "read_at").add(frame.f_lineno)
        return super().__getattribute__(name)


def _runs_at_import(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a statement that run when it runs: not the bodies of the functions and lambdas it defines."""
    yield node
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        arguments = node.args
        children: list[ast.AST] = [*arguments.defaults, *(value for value in arguments.kw_defaults if value)]
        if not isinstance(node, ast.Lambda):
            children += node.decorator_list
            children += [
                argument.annotation
                for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
                if argument.annotation
            ]
            children += [node.returns] if node.returns else []
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _runs_at_import(child)


def _bound_names(statement: ast.stmt) -> set[str]:
    names: set[str] = set()
    for node in _runs_at_import(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _read_names(statement: ast.stmt) -> set[str]:
    return {
        node.id for node in _runs_at_import(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _reads_command_state(statement: ast.stmt) -> bool:
    """Names `demisto`, or reads the clock or the environment, in the part that runs at import."""
    for node in _runs_at_import(statement):
        if isinstance(node, ast.Name) and node.id == "demisto":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            return True
        if isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name in _CLOCK_OR_ENVIRONMENT:
                return True
    return False


def _start_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def per_command_statements(tree: ast.Module, read_at: set[int]) -> list[ast.stmt]:
    """The top-level statements each command runs again (see the module doc), in file order."""
    statements = tree.body
    starts = [_start_line(statement) for statement in statements]
    chosen = {index for index, statement in enumerate(statements) if _reads_command_state(statement)}
    for line in read_at:
        index = bisect.bisect_right(starts, line) - 1
        if index >= 0:
            chosen.add(index)
    bound: set[str] = set()
    while True:
        for index in chosen:
            bound |= _bound_names(statements[index])
        grown = {
            index
            for index, statement in enumerate(statements)
            if index not in chosen and _read_names(statement) & bound
        }
        if not grown:
            return [statements[index] for index in sorted(chosen)]
        chosen |= grown


def prepare_runtime(filename: str, data: bytes, module_code: types.CodeType) -> PreparedRuntime:
    """Run CommonServerPython (`data`, verified; `module_code` its compiled form) in this worker with a stand-in
    `demisto`, and keep its namespace and per-command statements for this worker's forks (`take_prepared`).
    Raises whatever the module body raises: the worker then prepares nothing and each command imports it whole."""
    global _PREPARED
    stand_in = _RecordingDemisto(module_code)
    sys.modules["demistomock"] = stand_in  # type: ignore[assignment]
    namespace: dict[str, Any] = {"__name__": "builtins", "__builtins__": __builtins__, "demisto": stand_in}
    # The worker's stdout is its protocol with the server: nothing the module prints may reach it.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(module_code, namespace)  # the verified runtime

    def build() -> tuple[tuple[types.CodeType, ...], tuple[int, ...]]:
        statements = per_command_statements(ast.parse(data, filename), stand_in.read_at)
        return (
            tuple(compile(ast.Module(body=[statement], type_ignores=[]), filename, "exec") for statement in statements),
            tuple(_start_line(statement) for statement in statements),
        )

    def valid(value: object) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[0], tuple)
            and isinstance(value[1], tuple)
            and len(value[0]) == len(value[1])
            and all(isinstance(code, types.CodeType) and code.co_filename == filename for code in value[0])
            and all(isinstance(line, int) for line in value[1])
        )

    # Parsing and walking the module is most of a worker's start: the statements chosen are a function of the
    # verified bytes and the reads recorded just now, so they are kept beside the compiled code under both.
    reads = ",".join(str(line) for line in sorted(stand_in.read_at))
    codes, lines = codecache.derived(
        filename,
        data,
        Path(filename).parent / codecache.CACHE_FOLDER,
        f"per-command statements 1 {reads}",
        build,
        valid,
    )
    _PREPARED = PreparedRuntime(
        filename=filename,
        data=data,
        namespace=namespace,
        per_command=codes,
        per_command_lines=lines,
        owner=os.getpid(),
    )
    _PREPARED.module_for_command()  # made here once, so each fork only takes its statements' names again
    return _PREPARED


def take_prepared(filename: str, verified: Mapping[str, bytes]) -> PreparedRuntime | None:
    """In a fork of the worker that prepared the runtime: its prepared runtime, once (a second command in the
    same process gets None and imports the runtime whole). None in the worker itself, for another file, or when
    the verified bytes are not the ones prepared."""
    global _PREPARED
    prepared = _PREPARED
    if prepared is None or prepared.owner == os.getpid():
        return None
    _PREPARED = None
    data = verified.get(os.path.basename(filename))
    # the same bytes object when the fork's read_verified found the worker's kept bytes; else compared in full
    if prepared.filename != filename or data is None or (data is not prepared.data and data != prepared.data):
        return None
    return prepared
