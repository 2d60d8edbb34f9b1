"""The architecture contracts (.importlinter, run by `make lint`): kept by the tree, and broken by a breach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the repository's contracts on the packages under `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / ".importlinter"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_of_the_tree(tmp_path: Path) -> Path:
    for package in ("xsoar_local", "standins"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    """Given the repository's packages, When lint-imports checks them, Then every contract is kept."""
    completed = _lint_imports(ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 broken" in completed.stdout, completed.stdout


@pytest.mark.parametrize(
    ("module", "code", "contract"),
    [
        pytest.param(
            "xsoar_local/engine/breach.py",
            "import xsoar_local.playbook.runner\n",
            "The engine knows no entry point and no playbook BROKEN",
            id="engine-imports-the-playbook-runner",
        ),
        pytest.param(
            "xsoar_local/incident/breach.py",
            "import xsoar_local.engine.runner\n",
            "Layers: entry points over playbook over engine over incident over the base",
            id="lower-layer-imports-a-higher-one",
        ),
        pytest.param(
            "xsoar_local/engine/breach.py",
            "import standins.funtranslations.plugin\n",
            "The core never imports a service stand-in (they are plugins, found through their\nentry points) BROKEN",
            id="core-imports-a-stand-in",
        ),
        pytest.param(
            "xsoar_local/playbook/transformers.py",
            "\nfrom xsoar_local.playbook import conditions  # noqa\n",
            "No import cycles between sibling modules or packages, at any depth BROKEN",
            id="cycle-between-siblings",
        ),
        pytest.param(
            "xsoar_local/newcomer.py",
            '"""A module no layer names."""\n',
            "newcomer",
            id="module-outside-every-layer",
        ),
    ],
)
def test_a_breach_breaks_a_contract(tmp_path: Path, module: str, code: str, contract: str) -> None:
    """Given a copy of the packages with one deliberate breach, When lint-imports checks it, Then it fails and
    names the broken contract."""
    tree = _copy_of_the_tree(tmp_path)
    target = tree / module
    target.write_text((target.read_text(encoding="utf-8") if target.exists() else "") + code, encoding="utf-8")

    completed = _lint_imports(tree)

    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, f"the breach in {module} went unnoticed:\n{output}"
    assert contract in output, f"expected {contract!r} among the broken contracts:\n{output}"
