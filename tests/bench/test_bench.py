"""`make bench` runs end to end at tiny counts and reports every figure of issue #19's Done-when list.

Nothing here times anything: the figures' values are not checked, only that each one is measured and reported
as a ratio with its target (every feature the figures need is in this checkout, so none may be skipped).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from xsoar_local.runtime import REPO_ROOT

TINY = [
    "--overhead-runs",
    "3",
    "--cold-runs",
    "1",
    "--warm-runs",
    "3",
    "--warm-rounds",
    "2",
    "--task-rounds",
    "1",
    "--task-playbooks",
    "2",
    "--tasks",
    "2",
    "--parallel-playbooks",
    "2",
    "--parallel-rounds",
    "1",
    "--incidents",
    "12",
    "--scale-runs",
    "2",
    "--script-runs",
    "2",
]

# The start of each Done-when figure, in the order.
FIGURES = (
    "script task in a playbook: --cold / warm",
    "War Room command: through the server / in process",
    "cold engine child / bare",
    "make run end to end / bare",
    "test-playbooks on 2 playbooks: -j 1 / -j 2",
    "War Room command with 12 incidents in the state / with 10",
    "JavaScript script command (warm) / Python script command (warm)",
)


def test_the_bench_reports_every_done_when_figure(tmp_path: Path) -> None:
    """Given the bench at tiny counts,
    When it runs and writes its markdown,
    Then it ends with status 0 and the Done-when table has one row per figure, in order, each measured: a ratio,
    whether it met its target, and the medians it comes from; the -j row also gives two separate -j 1 runs on
    half the playbooks each, and the warm table the War Room figures back to back."""
    page = tmp_path / "benchmark.md"
    env = {**os.environ, "COLUMNS": "200"}
    completed = subprocess.run(
        [sys.executable, "-m", "bench.run", *TINY, "--markdown", str(page)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, f"exit {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    lines = page.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Done when (issue #19): ratios from this run")
    rows = [line for line in lines[start:] if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == len(FIGURES), "\n".join(rows)
    for row, figure in zip(rows, FIGURES, strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[0].startswith(figure), f"expected the figure {figure!r}, got {cells[0]!r}"
        assert cells[2], f"no target in {row}"
        # every feature the figures need is in this checkout: a skipped figure is a bench that cannot run it
        assert cells[3] in ("yes", "NO"), f"the figure was not measured: {row}"
        assert cells[1].endswith("x"), f"no ratio in {row}"
        assert cells[4], f"no medians in {row}"
    parallel = rows[FIGURES.index("test-playbooks on 2 playbooks: -j 1 / -j 2")]
    assert "two -j 1 on half each, at once" in parallel, f"the -j row lacks what two separate runs give: {parallel}"
    assert any("back to back" in line for line in lines[:start]), "the warm table lacks the back-to-back figures"
