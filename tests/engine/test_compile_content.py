"""`compile_content`: a command's code is compiled once per process, and a changed file is always compiled again
(a warm worker's forks find the file compiled without reading it, so staleness would run old code)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from xsoar_local.engine.jobs import Job
from xsoar_local.engine.sandbox import compile_content


def _job(path: Path) -> Job:
    return Job(kind="script", name="Changing", folder=str(path.parent), runtime_dir="", code_path=str(path))


def _answer(path: Path) -> object:
    namespace: dict[str, object] = {}
    exec(compile_content(_job(path)), namespace)
    return namespace["ANSWER"]


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _replace(path: Path, text: str) -> None:
    staged = path.with_suffix(".new")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


@pytest.mark.parametrize(
    ("change", "new_text"),
    [
        pytest.param(_rewrite, "ANSWER = 'second, longer'\n", id="rewritten-in-place"),
        pytest.param(_replace, "ANSWER = 'second'\n", id="replaced-by-rename-same-size"),
    ],
)
def test_a_changed_code_file_is_compiled_again(
    tmp_path: Path, change: Callable[[Path, str], None], new_text: str
) -> None:
    """Given a script file compiled once (and kept by its identity)
    When the file is rewritten in place, or replaced by a rename with text of the same size
    Then the next compile runs the new text, not the kept code"""
    path = tmp_path / "Changing.py"
    path.write_text("ANSWER = 'first'\n", encoding="utf-8")
    assert _answer(path) == "first"
    assert _answer(path) == "first"  # kept: still the same file
    change(path, new_text)
    assert _answer(path) == new_text.split("'")[1], "the changed file ran as it was before the change"
