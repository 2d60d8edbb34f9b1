"""One command line: every subcommand in `xsoar-local --help`, `server` and `serve` among them, one ExitStatus."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsoar_local.cli import main
from xsoar_local.errors import Category
from xsoar_local.exitstatus import STATUS_OF, ExitStatus

SUBCOMMANDS = ("run", "fetch", "playbook", "test-playbooks", "server", "serve")


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    """Given `xsoar-local --help`, When it prints, Then every subcommand is listed, the server's among them."""
    with pytest.raises(SystemExit) as exited:
        main(["--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0, out
    missing = [name for name in SUBCOMMANDS if f"    {name} " not in out and f"    {name}\n" not in out]
    assert not missing, f"--help does not list {missing}:\n{out}"


def test_server_subcommand_refuses_a_state_folder_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given `xsoar-local server` with a --state-dir that is a file, When it starts, Then it ends with USAGE and one
    line naming the path, as every subcommand reports a toolkit error."""
    state = tmp_path / "state"
    state.write_text("not a folder", encoding="utf-8")

    status = main(["server", "--port", "0", "--state-dir", str(state)])

    err = capsys.readouterr().err
    assert status == ExitStatus.USAGE, err
    assert err.startswith(f"error: {state} is a file, not a folder"), err
    assert len(err.strip().splitlines()) == 1, f"one line, no traceback: {err}"


@pytest.mark.parametrize(
    ("argv", "status", "expected"),
    [
        pytest.param(["serve", "--help"], ExitStatus.OK, "usage: python -m standins.funtranslations", id="its-help"),
        pytest.param(
            ["serve", "--stand-in", "funtranslations", "--", "--help"],
            ExitStatus.OK,
            "--rate-limit",
            id="named-with-its-own-flags",
        ),
        pytest.param(
            ["serve", "--stand-in", "nope"],
            ExitStatus.USAGE,
            "error: no stand-in named 'nope'; installed: funtranslations",
            id="unknown-stand-in",
        ),
    ],
)
def test_serve_subcommand_hands_its_flags_to_the_stand_in(
    capsys: pytest.CaptureFixture[str], argv: list[str], status: ExitStatus, expected: str
) -> None:
    """Given `xsoar-local serve` with flags, When it runs, Then the stand-in's own command line gets them (or one
    line names the installed stand-ins)."""
    try:
        got = main(argv)
    except SystemExit as exited:  # the stand-in's argparse --help
        got = int(exited.code or 0)

    captured = capsys.readouterr()
    assert got == status, captured
    assert expected in captured.out + captured.err, captured


def test_every_category_has_an_exit_status() -> None:
    """Given the four error categories, When the command line maps them, Then each has a status that is not OK."""
    assert set(STATUS_OF) == set(Category)
    assert all(status not in (ExitStatus.OK, ExitStatus.FAILED) for status in STATUS_OF.values()), STATUS_OF
