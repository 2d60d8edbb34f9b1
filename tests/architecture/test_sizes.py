"""Size limits of the core: no module under xsoar_local/ over 500 lines, no class over 300 (counted on the AST, so a
long docstring or comment block counts like code: a module is read as a whole)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xsoar_local"
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300


def oversized(source: str, name: str) -> list[str]:
    """What in one module's source is over the limits, each as a line that names it and its length."""
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES}): split it by responsibility")
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
            length = node.end_lineno - node.lineno + 1
            if length > MAX_CLASS_LINES:
                found.append(f"{name}:{node.lineno}: class {node.name} is {length} lines (at most {MAX_CLASS_LINES})")
    return found


def test_no_module_or_class_of_the_core_is_over_the_limits() -> None:
    """Given every module under xsoar_local/, When measured, Then none is over 500 lines and no class over 300."""
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50, f"expected the whole package under {PACKAGE}, found {len(modules)} modules"
    found = [
        line for path in modules for line in oversized(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not found, "over the size limits:\n" + "\n".join(found)


def _class_of(lines: int) -> str:
    body = "\n".join(f"    value_{index} = {index}" for index in range(lines - 1))
    return f"class Big:\n{body}\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("x = 1\n" * 501, "501 lines", id="module-of-501-lines"),
        pytest.param(_class_of(301), "class Big is 301 lines", id="class-of-301-lines"),
        pytest.param("class Outer:\n    " + _class_of(301).replace("\n", "\n    "), "class Big is 301", id="nested"),
    ],
)
def test_a_module_or_class_over_the_limit_is_reported(source: str, expected: str) -> None:
    """Given a module or a class one line over its limit, When measured, Then it is reported with its length."""
    found = oversized(source, "xsoar_local/example.py")
    assert any(expected in line for line in found), f"expected {expected!r} to be reported, got {found}"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = 1\n" * 500, id="module-of-500-lines"),
        pytest.param(_class_of(300), id="class-of-300-lines"),
    ],
)
def test_a_module_or_class_at_the_limit_passes(source: str) -> None:
    """Given a module of 500 lines or a class of 300, When measured, Then nothing is reported."""
    assert oversized(source, "xsoar_local/example.py") == [], "a size at the limit is allowed"
