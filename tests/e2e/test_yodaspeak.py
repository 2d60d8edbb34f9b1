"""End to end: the pack's YodaSpeak integration, run through the engine and the CLI against the local service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from standins.funtranslations.server import ServiceConfig, serve
from xsoar_local.cli import main
from xsoar_local.engine import ParamLayer, build_params, load_integration, run_command
from xsoar_local.incident.model import Incident

ROOT = Path(__file__).parents[2]
YODA_FOLDER = ROOT / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"
DT_KEY = "YodaSpeak.TheForce(val.Original && val.Original == obj.Original)"
TEXT = "Master Obiwan has lost a planet."


def run_cli(capsys: pytest.CaptureFixture[str], state: Path, *argv: str) -> tuple[int, dict[str, Any]]:
    status = main(["run", "--integration", str(YODA_FOLDER), "--state-dir", str(state), "--json", *argv])
    captured = capsys.readouterr()
    assert captured.out, f"no JSON printed; stderr: {captured.err}"
    return status, json.loads(captured.out)


def error_text(document: dict[str, Any]) -> str:
    return "\n".join(str(entry["Contents"]) for entry in document["entries"] if entry["Type"] == 4)


def test_make_run_prints_the_table_context_and_request_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given the default service, When `run --text` runs, Then exit 0 with the Yoda table, context and request count."""
    status = main(["run", "--integration", str(YODA_FOLDER), "--state-dir", str(tmp_path), "--text", TEXT])
    output = capsys.readouterr().out
    assert status == 0, f"make run must exit 0:\n{output}"
    for expected in ("Yoda Says", "Original", "Translation", "Context", "TheForce", "1 request received"):
        assert expected in output, f"{expected!r} missing from:\n{output}"


def test_translation_entry_context_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given a translation, When run, Then the entry writes YodaSpeak.TheForce with the Original key field."""
    status, document = run_cli(capsys, tmp_path, "--text", TEXT)
    assert status == 0, error_text(document)
    entry_context = document["entries"][0]["EntryContext"]
    assert list(entry_context) == [DT_KEY], f"unexpected EntryContext keys: {list(entry_context)}"
    item = document["context"]["YodaSpeak"]["TheForce"]
    assert item["Original"] == TEXT, item
    assert item["Translation"].strip(), f"a translation is expected: {item}"


@pytest.mark.parametrize(
    ("extra", "requests"),
    [
        pytest.param([], [1, 0], id="cached-second-run-makes-no-request"),
        pytest.param(["--param", "cache_hours=0"], [1, 1], id="cache-off-both-runs-ask"),
    ],
)
def test_same_text_twice_leaves_one_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], requests: list[int]
) -> None:
    """Given the same text twice, When run, Then the context holds one YodaSpeak.TheForce item."""
    counts = []
    for _ in range(2):
        status, document = run_cli(capsys, tmp_path, "--text", TEXT, *extra)
        assert status == 0, error_text(document)
        counts.append(document["service"]["requests"])
    item = document["context"]["YodaSpeak"]["TheForce"]
    assert isinstance(item, dict), f"one item expected, got {item}"
    assert item["Original"] == TEXT, item
    assert counts == requests, f"requests per run should be {requests}, got {counts}"


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('!yoda-speak-translate "Hello there"', id="positional-quoted"),
        pytest.param("!yoda-speak-translate Hello there", id="positional-words"),
    ],
)
def test_positional_text_is_translated(tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Given a War Room line that passes the text without `text=`, When run, Then `text` (the default) gets it."""
    status, document = run_cli(capsys, tmp_path, "--command", line)
    assert status == 0, f"{line!r} should be accepted now that `text` is marked default: true: {error_text(document)}"
    assert document["args"] == {"text": "Hello there"}, f"the positional value should fill `text`: {document['args']}"
    item = document["context"]["YodaSpeak"]["TheForce"]
    assert item["Original"] == "Hello there", f"the original text should be kept as given: {item}"
    assert item["Translation"].strip(), f"a translation is expected: {item}"
    assert document["service"]["requests"] == 1, f"one request should reach the service: {document['service']}"


def test_test_module_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given the service, When test-module runs, Then it answers ok."""
    status, document = run_cli(capsys, tmp_path, "--command", "test-module")
    assert status == 0, error_text(document)
    assert [entry["Contents"] for entry in document["entries"]] == ["ok"], document["entries"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--fault", "429"], "rate limit", id="429"),
        pytest.param(["--param", "apikey=bogus-key-1234"], "refused the API key", id="401-unknown-key"),
        pytest.param(["--fault", "status=503"], "failed on its side", id="503"),
        pytest.param(["--fault", "body=not-json"], "not JSON", id="not-json"),
        pytest.param(["--fault", "drop"], "Could not reach", id="dropped-connection"),
    ],
)
def test_service_failures_are_the_integrations_error_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """Given a failing service, When translating, Then the integration's error entry is shown and the exit is 1."""
    status, document = run_cli(capsys, tmp_path, "--text", "Fail for me", *argv)
    assert status == 1, f"an error entry must give exit status 1: {document['entries']}"
    assert document["crashed"] is False, f"the integration should handle it, not crash: {error_text(document)}"
    assert expected in error_text(document), f"{expected!r} not in: {error_text(document)}"
    assert document["context"] == {}, "a failed translation writes no context"


def test_cli_with_a_bad_key_in_debug_mode_never_shows_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given an unknown key and debug mode, When the 401 comes back, Then the key is nowhere in the JSON output."""
    status, document = run_cli(capsys, tmp_path, "--text", TEXT, "--param", "apikey=bogus-key-1234", "--debug")
    assert status == 1, error_text(document)
    assert "bogus-key-1234" not in json.dumps(document), "the API key leaked into entries, context or logs"


def test_paid_key_succeeds_and_never_appears(tmp_path: Path) -> None:
    """Given a paid key, When translating in debug mode, Then it succeeds and the key is in no entry, context or log."""
    key = "paid-key-5678"
    integration = load_integration(YODA_FOLDER)
    with serve(ServiceConfig(rate_limit=1, paid_keys=frozenset({key}))) as service:
        params = build_params(integration.params, [ParamLayer("test", {"url": service.url, "apikey": key})])
        result = run_command(integration, "yoda-speak-translate", {"text": TEXT}, params, Incident(), debug=True)
        sent = service.requests
    assert not result.is_error, result.error_messages
    assert [(request.api_key, request.status) for request in sent] == [(key, 200)], "the key should reach the service"
    shown = json.dumps([result.entries, result.incident.context, [log.to_json() for log in result.logs]])
    assert key not in shown, "the API key leaked into entries, context or logs"
