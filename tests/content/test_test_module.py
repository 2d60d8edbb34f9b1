"""test-module as a server judges it: only `ok` passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import run_line, write_instances


@pytest.mark.parametrize(
    ("params", "status", "contents"),
    [
        pytest.param({"url": "https://g.example", "credentials": {"password": "k"}}, 0, "ok", id="ok"),
        pytest.param(
            {"url": "https://g.example"},
            1,
            "Test failed: Authorization Error: make sure the API key is set (test-module must return 'ok')",
            id="not-ok-is-a-failure",
        ),
        pytest.param(
            {"url": "https://g.example", "credentials": {"password": "k"}, "simulate_outage": True},
            1,
            "Failed to execute test-module command.\nError:\nGate log unavailable: the server answered 503",
            id="error-entry",
        ),
    ],
)
def test_test_module_passes_only_on_ok(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, params: dict[str, object], status: int, contents: str
) -> None:
    """Given an instance, When test-module runs, Then `ok` exits 0 and anything else is one error entry, exit 1."""
    file = write_instances(tmp_path / "i.yml", [{"brand": "Gatekeeper", "name": "g", "params": params}])
    outcome = run_line(capsys, tmp_path, "!test-module using=g", instances=file)
    assert outcome.status == status, outcome.entries
    assert [(entry["Type"], entry["Contents"]) for entry in outcome.entries] == [(4 if status else 1, contents)]
