"""One exception base, mapped once per entry point: no module keeps a hand-written list of toolkit errors to catch.

An entry point catches `XsoarLocalError` (or one of its four categories) and maps the category once; a list such as
`except (CatalogError, InstanceError, ...)` is what goes stale when a new error class is added.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import standins
import xsoar_local
from xsoar_local import errors
from xsoar_local.errors import ContentError, EngineError, StateError, UsageError, XsoarLocalError

CATEGORIES = (UsageError, ContentError, StateError, EngineError)


def _modules() -> list[ModuleType]:
    found = []
    for package in (xsoar_local, standins):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith("__main__"):
                continue  # running it is its only effect
            found.append(importlib.import_module(info.name))
    return found


MODULES = _modules()


def _classes(value: Any) -> list[type]:
    items = value if isinstance(value, tuple) else (value,)
    return [item for item in items if inspect.isclass(item)]


def _toolkit_errors(value: Any) -> list[str]:
    return [item.__name__ for item in _classes(value) if issubclass(item, XsoarLocalError)]


def _namespace(module: ModuleType, tree: ast.Module) -> dict[str, Any]:
    """The module's names, plus those its functions import for themselves (`from x import Y` inside a def)."""
    names = dict(vars(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            try:
                source = importlib.import_module(node.module)
            except ImportError:  # a typing-only module (`_typeshed`): it names no exception
                continue
            for alias in node.names:
                if hasattr(source, alias.name):
                    names.setdefault(alias.asname or alias.name, getattr(source, alias.name))
    return names


def _caught(module: ModuleType) -> list[tuple[int, Any]]:
    """What each `except` of `module` catches, evaluated among the module's names (line, value)."""
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    names = _namespace(module, tree)
    caught = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            expression = ast.Expression(node.type)
            try:
                value = eval(compile(expression, str(module.__file__), "eval"), names)
            except NameError as error:  # say so rather than let a catch list pass unseen
                pytest.fail(f"{module.__name__}:{node.lineno}: cannot tell what `except` catches ({error})")
            caught.append((node.lineno, value))
    return caught


@pytest.mark.parametrize("module", MODULES, ids=[module.__name__ for module in MODULES])
def test_no_module_catches_a_hand_written_list_of_toolkit_errors(module: ModuleType) -> None:
    """Given a module of the toolkit, When its `except` clauses are read, Then none lists two or more toolkit
    errors (it catches their base or a category instead)."""
    lists = [
        f"{module.__name__}:{line} catches {', '.join(names)}"
        for line, value in _caught(module)
        if len(names := _toolkit_errors(value)) >= 2
    ]
    assert not lists, "catch XsoarLocalError (or a category) and map it once instead:\n" + "\n".join(lists)


def test_every_error_class_derives_from_one_category() -> None:
    """Given every exception class defined in the toolkit, When its bases are read, Then each is a toolkit error
    through exactly one of the four categories."""
    strays, mixed = [], []
    for module in [*MODULES, errors]:
        for name, value in vars(module).items():
            if not (
                inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__
            ):
                continue
            if value is XsoarLocalError or value in CATEGORIES:
                continue
            if not issubclass(value, XsoarLocalError):
                strays.append(f"{module.__name__}.{name}")
            elif sum(issubclass(value, category) for category in CATEGORIES) != 1:
                mixed.append(f"{module.__name__}.{name}")
    assert not strays, f"derive these from a category of xsoar_local/errors.py: {strays}"
    assert not mixed, f"these belong to more than one category: {mixed}"


def test_error_class_names_are_unique() -> None:
    """Given every toolkit error class, When their names are listed, Then no two classes share one."""
    seen: dict[str, str] = {}
    clashes = []
    for module in MODULES:
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, XsoarLocalError) and value.__module__ == module.__name__:
                if name in seen:
                    clashes.append(f"{name}: {seen[name]} and {module.__name__}")
                seen[name] = module.__name__
    assert not clashes, f"two error classes share a name: {clashes}"
