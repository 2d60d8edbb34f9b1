"""The engine job seam: `xsoar_local.engine.sandbox.run_job(job, channel)` in a process of the caller's choosing
(what warm workers call), with executeCommand answered by the caller's channel."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from xsoar_local.runtime import DEFAULT_DESTINATION, REPO_ROOT

from .support import PACKS

# Runs in a fresh interpreter (run_job execs CommonServerPython in its own process), answering every
# executeCommand with one note whose context the caller then sees.
WORKER = textwrap.dedent(
    """
    import json, sys
    from xsoar_local.engine.sandbox import run_job

    requests = []

    def channel(request):
        requests.append({key: request[key] for key in ("type", "command", "args")})
        entry = {"Type": 1, "ContentsFormat": "json", "Contents": [{"id": 9}], "Brand": "Gatekeeper",
                 "ModuleName": "worker", "EntryContext": {"Gatekeeper.Alert(val.id == obj.id)": [{"id": 9}]}}
        return {"entries": [entry], "context": {**request["context"], "Gatekeeper": {"Alert": [{"id": 9}]}}}

    result = run_job(json.loads(sys.stdin.read()), channel)
    print(json.dumps({"result": result.to_json(), "requests": requests}, default=str))
    """
)


def test_run_job_with_a_channel(tmp_path: Path) -> None:
    """Given a script job and a channel answering executeCommand, When run_job runs it, Then the request reached the
    channel, the script saw the reply (entries and context), and the result is a JSON document."""
    script = PACKS / "Gatekeeper" / "Scripts" / "GkCallCommand"
    job: dict[str, Any] = {
        "kind": "script",
        "name": "GkCallCommand",
        "code_path": str(script / "GkCallCommand.py"),
        "folder": str(script),
        "runtime_dir": str(DEFAULT_DESTINATION),
        "args": {"limit": "1"},
        "context": {"Before": 1},
        "incident": {"id": "12", "name": "worker incident"},
    }
    completed = subprocess.run(
        [sys.executable, "-c", WORKER],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["requests"] == [{"type": "executeCommand", "command": "gk-alert-list", "args": {"limit": "1"}}]
    result = answer["result"]
    assert result["crashed"] is False, result["entries"]
    summary = result["entries"][0]["Contents"]
    assert summary == {"count": 1, "brand": "Gatekeeper", "instance": "worker", "in_context": 1}, summary
    assert result["context"] == {"Before": 1, "Gatekeeper": {"Alert": [{"id": 9}]}}, "the reply's context is kept"
