"""`playbook --state-dir`: the run merges each task's result into the folder's latest incident, so another writer's
change to the same incident during the run is kept (no wholesale replace when the run ends)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from xsoar_local.incident.state import StateStore
from xsoar_local.runtime import REPO_ROOT

PROBE = REPO_ROOT / "tests" / "server" / "data" / "Probe"


def test_a_change_made_during_the_run_is_kept(tmp_path: Path) -> None:
    """
    Given the Probe pack's playbook whose first task waits at a gate, run by the CLI with --state-dir
    When another writer adds a context key to the same incident in the state folder while the task waits
    Then after the run the saved incident holds that key AND the playbook's outputs
    """
    packs = tmp_path / "Packs"
    shutil.copytree(PROBE, packs / "Probe")
    gate, state_dir = tmp_path / "gates" / "gate", tmp_path / "state"
    gate.parent.mkdir()
    argv = [sys.executable, "-m", "xsoar_local", "playbook", "--packs", str(packs), "--playbook", "Probe Wait Playbook"]
    argv += ["--incident", f"details={gate}", "--state-dir", str(state_dir), "--json"]
    process = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        # the gate's folder is the command's one folder outside its box
        env={**os.environ, "XSOAR_LOCAL_SANDBOX_SHARE": str(gate.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{gate}.started").exists():
            assert process.poll() is None, f"the playbook ended before its task waited: {process.communicate()}"
            assert time.monotonic() < deadline, "the playbook's waiting task never started"
            time.sleep(0.02)
        store = StateStore(state_dir)
        with store.update() as state:
            (incident_id,) = state.incidents
            state.put_incident(incident_id, state.incidents[incident_id].with_context_value("Analyst.Note", "kept"))
        gate.write_text("open", encoding="utf-8")
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, f"the playbook did not complete: {err}"
    assert json.loads(out)["completed"]
    context = store.read().incidents[incident_id].context
    assert context.get("Analyst") == {"Note": "kept"}, f"the other writer's change was lost: {context}"
    assert context.get("Probe") == {"Wait": {"released": True}}, (
        f"the playbook's command outputs are missing: {context}"
    )
    assert context.get("Playbook") == {"After": "done"}, f"the playbook's Set is missing: {context}"
