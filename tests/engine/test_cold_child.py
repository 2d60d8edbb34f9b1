"""The cold engine child (`run_in_child`): what it skips to start and stop quickly, and what it still does.

It leaves without the interpreter's teardown once its result is written, yet the code's atexit handlers run and
its unfinished non-daemon threads are waited for; CommonServerPython's distutils import does not pull in all of
setuptools where Python has its own distutils.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine.executors import RunOptions, refuse_nested
from xsoar_local.engine.executors.cold import run_in_child
from xsoar_local.engine.jobs import Job
from xsoar_local.runtime import DEFAULT_DESTINATION


def run_cold(job: dict[str, Any]) -> dict[str, Any]:
    """Run the job in a cold child; its result as JSON."""
    return run_in_child(Job.from_json(job), refuse_nested, RunOptions()).to_json()


def script_job(folder: Path, code: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": "script",
        "name": "ColdProbe",
        "code": code,
        "folder": str(folder),
        "runtime_dir": str(DEFAULT_DESTINATION),
        "args": args or {},
        "context": {},
        "incident": {"id": "1"},
    }


def test_atexit_handlers_and_running_threads_still_finish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a script that registers an atexit handler and leaves a non-daemon thread writing a file (in a folder
    shared with its sandbox),
    When it runs in a cold child,
    Then both files are written before run_in_child returns, and the result came back."""
    code = (
        "import atexit, threading, time\n"
        "marks = demisto.args()['folder']\n"
        "atexit.register(lambda: open(marks + '/atexit', 'w').write('ran'))\n"
        "def later():\n"
        "    time.sleep(0.3)\n"
        "    open(marks + '/thread', 'w').write('ran')\n"
        "threading.Thread(target=later).start()\n"
        "demisto.results('started')\n"
    )
    monkeypatch.setenv("XSOAR_LOCAL_SANDBOX_SHARE", str(tmp_path))  # the marks' folder, outside the command's box
    result = run_cold(script_job(tmp_path, code, {"folder": str(tmp_path)}))
    assert [entry["Contents"] for entry in result["entries"]] == ["started"], result
    assert (tmp_path / "atexit").read_text() == "ran", "the code's atexit handler did not run"
    assert (tmp_path / "thread").read_text() == "ran", "the code's running thread was cut off"


def test_distutils_comes_from_the_standard_library_without_setuptools(tmp_path: Path) -> None:
    """Given CommonServerPython's `from distutils.version import LooseVersion` on a Python with its own distutils,
    When a script compares versions with it in a cold child,
    Then LooseVersion works as CommonServerPython expects, and setuptools was never imported (except on Python
    3.12 and later, where setuptools is the only distutils)."""
    code = (
        "import json, sys\n"
        "demisto.results(json.dumps({'newer': LooseVersion('6.10.0') > LooseVersion('6.9.1'),\n"
        "    'setuptools': 'setuptools' in sys.modules}))\n"
    )
    result = run_cold(script_job(tmp_path, code))
    expected = {"newer": True, "setuptools": sys.version_info >= (3, 12)}
    assert json.loads(result["entries"][0]["Contents"]) == expected, result
