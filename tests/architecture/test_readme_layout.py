"""The README's "How the repository is laid out" matches the tree: every xsoar_local module and subpackage it names
is where it says, and every one the tree has is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xsoar_local"
NAME_COLUMN = 33  # the layout block's names end before this column; what follows describes them
MODULE = re.compile(r"(?<![\w/.])(\w+\.py)\b")
FOLDER = re.compile(r"(?<![\w/.$])([a-z_]+)/(?![\w.])")


def layout_block(readme: str) -> list[str]:
    """The lines of the layout section's text block."""
    section = readme.split("## How the repository is laid out", 1)[1]
    return section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()


def core_items(block: list[str]) -> list[tuple[str, str]]:
    """The xsoar_local/ part of the block as (names, description): one item per line indented by two spaces, with
    the deeper-indented lines after it joined to its description."""
    start = next(index for index, line in enumerate(block) if line.startswith("xsoar_local/"))
    items: list[tuple[str, str]] = []
    for line in block[start + 1 :]:
        if not line.startswith(" "):
            break
        if line.startswith("  ") and not line.startswith("   "):
            items.append((line[:NAME_COLUMN].strip(), line[NAME_COLUMN:]))
        else:
            names, text = items[-1]
            items[-1] = (names, f"{text} {line.strip()}")
    return items


def layout_problems(block: list[str], package: Path) -> list[str]:
    """What the block names that the package does not hold, and what the package holds that the block does not name."""
    problems = []
    named_here: set[str] = set()
    for names, text in core_items(block):
        for name in (part.strip() for part in names.split(",")):
            named_here.add(name)
            if name.endswith("/"):
                folder = package / name.rstrip("/")
                if not (folder / "__init__.py").is_file():
                    problems.append(f"the README lists {name} in xsoar_local/, which has no such package")
                    continue
                problems += _package_problems(folder, text)
            elif not (package / name).is_file():
                problems.append(f"the README lists {name} in xsoar_local/, which has no such module")
    for path in sorted(package.iterdir()):
        shown = f"{path.name}/" if path.is_dir() else path.name
        is_module = path.suffix == ".py" and path.name != "__init__.py"
        if (is_module or (path / "__init__.py").is_file()) and shown not in named_here:
            problems.append(f"xsoar_local/{shown} is not named in the README's layout")
    return problems


def _package_problems(folder: Path, text: str) -> list[str]:
    where = f"xsoar_local/{folder.name}/"
    problems = []
    modules = set(MODULE.findall(text))
    folders = set(FOLDER.findall(text))
    for module in sorted(modules):
        if not any(folder.rglob(module)):
            problems.append(f"the README names {module} under {where}, which has no such module")
    for name in sorted(folders):
        if not (folder / name).is_dir():
            problems.append(f"the README names {name}/ under {where}, which has no such folder")
    for path in sorted(folder.rglob("*.py")):
        if path.name != "__init__.py" and "__pycache__" not in path.parts and path.name not in modules:
            problems.append(f"{path.relative_to(folder.parent.parent)} is not named under {where} in the README")
    for path in sorted(folder.rglob("__init__.py")):
        if path.parent != folder and path.parent.name not in folders:
            problems.append(f"the package {path.parent.relative_to(folder.parent)}/ is not named under {where}")
    return problems


def test_the_readme_layout_matches_the_package() -> None:
    """Given the README's layout section, When compared with xsoar_local/, Then each named module and subpackage
    exists where the README puts it, and every module and subpackage of the tree is named."""
    block = layout_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(core_items(block)) > 10, "the layout block's xsoar_local/ part was not found"
    problems = layout_problems(block, PACKAGE)
    assert not problems, "the README's layout section does not match the tree:\n" + "\n".join(problems)


def _tree(tmp_path: Path) -> Path:
    package = tmp_path / "xsoar_local"
    (package / "engine" / "executors").mkdir(parents=True)
    for name in ("__init__.py", "cli.py", "engine/__init__.py", "engine/session.py", "engine/executors/__init__.py"):
        (package / name).write_text("", encoding="utf-8")
    (package / "engine" / "executors" / "cold.py").write_text("", encoding="utf-8")
    return package


LAYOUT = [
    "xsoar_local/                     the core",
    "  cli.py                         the command line",
    "  engine/                        the engine (session.py), executors/ (cold.py)",
]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param(LAYOUT, [], id="matching"),
        pytest.param(
            [*LAYOUT, "  gone.py                        removed"], ["gone.py in xsoar_local/"], id="gone-module"
        ),
        pytest.param(
            [*LAYOUT[:2], "  engine/                        the engine (session.py), executors/ (cold.py, warm.py)"],
            ["warm.py under xsoar_local/engine/"],
            id="gone-module-in-a-package",
        ),
        pytest.param(LAYOUT[:2], ["xsoar_local/engine/ is not named"], id="package-not-named"),
        pytest.param(
            [*LAYOUT[:2], "  engine/                        the engine (session.py), executors/"],
            ["engine/executors/cold.py is not named"],
            id="module-not-named",
        ),
        pytest.param(
            [*LAYOUT[:2], "  engine/                        the engine (session.py, cold.py)"],
            ["engine/executors/ is not named"],
            id="subpackage-not-named",
        ),
    ],
)
def test_a_layout_that_differs_from_the_tree_is_reported(tmp_path: Path, block: list[str], expected: list[str]) -> None:
    """Given a layout naming a module that is gone or leaving one out, When compared, Then each difference is named."""
    problems = layout_problems(block, _tree(tmp_path))
    for text in expected:
        assert any(text in problem for problem in problems), f"expected a problem naming {text!r}, got {problems}"
    if not expected:
        assert problems == [], f"a layout matching the tree is accepted, got {problems}"
