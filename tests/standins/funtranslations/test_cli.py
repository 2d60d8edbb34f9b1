"""`python -m standins.funtranslations`: argument checks in-process, a real run in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from standins.funtranslations.__main__ import main
from standins.funtranslations.keys import keys_from_file

REPO_ROOT = Path(__file__).resolve().parents[3]
TEXT = "my name is gautam"
RunCli = Callable[..., tuple["subprocess.Popen[str]", list[str]]]


@pytest.fixture
def run_cli() -> Iterator[RunCli]:
    """Start the CLI in a subprocess; each is stopped with SIGTERM (and must exit 0) when the test ends."""
    started: list[subprocess.Popen[str]] = []

    def run(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
        process = subprocess.Popen(
            [sys.executable, "-m", "standins.funtranslations", *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        lines = [process.stdout.readline().strip()]
        if "--tls" in args:
            lines.append(process.stdout.readline().strip())
        return process, lines

    yield run
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, f"the CLI should exit 0 on SIGTERM, got {process.returncode}: {stderr}"


def test_the_cli_serves_with_its_options_until_sigterm(run_cli: RunCli) -> None:
    """Given the CLI started with a limit of 1, a paid key and a one-off 503
    When requests arrive, and then SIGTERM
    Then it printed the API base URL and answered 503, 200, 429, and 200 for the paid key.
    (Its exit status 0 after SIGTERM is checked at teardown.)"""
    _, (url,) = run_cli("--rate-limit", "1", "--paid-key", "gold", "--fault", "status=503,times=1")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/translate/", url), f"first line should be the URL: {url!r}"
    statuses = [requests.post(url + "yoda", data={"text": TEXT}, timeout=10).status_code for _ in range(3)]
    paid = requests.post(
        url + "yoda", data={"text": TEXT}, headers={"X-Funtranslations-Api-Secret": "gold"}, timeout=10
    )
    assert statuses == [503, 200, 429], f"wrong sequence {statuses}"
    assert paid.json()["contents"]["translated"] == "gautam, my name is", f"paid key refused: {paid.text}"


def test_the_cli_in_tls_mode_prints_the_ca_bundle(run_cli: RunCli) -> None:
    """Given the CLI started with --tls and --no-rate-limit
    When a client uses the printed URL and CA bundle
    Then verified https requests succeed beyond the free tier's 5."""
    _, (url, bundle) = run_cli("--tls", "--no-rate-limit")
    assert url.startswith("https://127.0.0.1:"), f"TLS mode should print an https URL: {url!r}"
    assert Path(bundle).is_file(), f"the second line should be the CA bundle path: {bundle!r}"
    for attempt in range(6):
        response = requests.post(url + "yoda", data={"text": TEXT}, verify=bundle, timeout=10)
        assert response.status_code == 200, f"request {attempt + 1} failed with {response.status_code}"


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        pytest.param(["--fault", "bogus"], "accepted fault specs", id="bad-fault"),
        pytest.param(["--fault", "latency=-1"], "0 to 3600 seconds", id="negative-latency"),
        pytest.param(["--fault", "latency=1e308"], "0 to 3600 seconds", id="overflowing-latency"),
        pytest.param(["--host", "0.0.0.0"], "loopback", id="non-loopback-host"),
        pytest.param(["--rate-limit", "0"], "to turn the rate limit off use --no-rate-limit", id="zero-limit"),
        pytest.param(["--rate-limit", "-3"], "to turn the rate limit off use --no-rate-limit", id="negative-limit"),
        pytest.param(["--window", "0"], "window", id="zero-window"),
    ],
)
def test_bad_arguments_exit_2_saying_what_to_change(
    args: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a bad command line
    When the CLI parses it
    Then it exits with status 2 and an error naming what to change."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2, f"expected exit status 2, got {exited.value.code}"
    assert hint in capsys.readouterr().err, f"the error should mention {hint!r}"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text (byte 0x89 on line 1", id="an-image"),
        pytest.param(b"gold\n\x00\x01\x02\x03\n", "control character U+0000 on line 2", id="nul-bytes-that-decode"),
        pytest.param("gold\ncaf\u00e9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 on line 2", id="latin-1-text"),
        pytest.param(b"gold\n" * 300_000, "too big for a keys file", id="too-big"),
    ],
)
def test_a_paid_keys_file_that_is_not_text_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: str
) -> None:
    """Given --paid-keys-file naming a binary, non-UTF-8 or oversized file
    When the CLI starts
    Then it exits 2 before serving, with one error line saying what is wrong and to give a UTF-8 text file of keys
    (no traceback, and none of the file's bytes read as keys)."""
    keys = tmp_path / "paid-keys"
    keys.write_bytes(content)
    with pytest.raises(SystemExit) as exited:
        main(["--paid-keys-file", str(keys)])
    assert exited.value.code == 2, f"expected exit status 2, got {exited.value.code}"
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err
    assert "Traceback" not in err, err
    assert f"--paid-keys-file: {keys}" in errors[0], errors[0]
    assert words in errors[0], errors[0]
    assert errors[0].endswith("give a UTF-8 text file with one key a line"), errors[0]


def test_a_keys_file_saved_with_a_bom_reads_its_first_key(tmp_path: Path) -> None:
    """Given a keys file an editor saved as UTF-8 with a BOM, with CRLF line ends
    When it is read
    Then the keys are the lines' text (the BOM is no part of the first key)."""
    keys = tmp_path / "paid-keys"
    keys.write_bytes("\ufeffgold\r\n# a comment\r\nsilver\r\n".encode())
    assert keys_from_file(str(keys)) == ["gold", "silver"]


@pytest.mark.parametrize(
    ("how", "args", "env"),
    [
        pytest.param("environment", (), {"FUNTRANSLATIONS_PAID_KEYS": "gold, silver"}, id="environment"),
        pytest.param("file", ("--paid-keys-file", "{keys}"), {}, id="file"),
    ],
)
def test_paid_keys_can_stay_off_the_command_line(
    tmp_path: Path, how: str, args: tuple[str, ...], env: dict[str, str]
) -> None:
    """Given paid keys from $FUNTRANSLATIONS_PAID_KEYS or --paid-keys-file (not `--paid-key`, which `ps` shows)
    When the CLI serves and a key is sent
    Then the keys are paid ones (never limited), and none of them is on the process's command line."""
    keys = tmp_path / "paid-keys"
    keys.write_text("# paid plans\ngold\n\nsilver\n", encoding="utf-8")
    command = [sys.executable, "-m", "standins.funtranslations", "--rate-limit", "1"]
    command += [arg.format(keys=keys) for arg in args]
    environ = {key: value for key, value in os.environ.items() if not key.startswith("FUNTRANSLATIONS_")}
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env={**environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"the CLI did not start ({how}): {url!r}"
        shown = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"gold" not in shown, "the key is on the command line"
        for key in ("gold", "silver", "gold"):
            answer = requests.post(
                url + "yoda", data={"text": TEXT}, headers={"X-Funtranslations-Api-Secret": key}, timeout=10
            )
            assert answer.status_code == 200, f"paid key {key} from the {how} refused or limited: {answer.text}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
