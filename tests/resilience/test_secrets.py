"""The API key never leaks: a sweep of the whole fault matrix, with and without debug mode.

Each outcome runs the real integration through the engine (a fresh process) against the local service, with a
distinctive key in the API Key parameter. Every surface a user or admin can read (War Room entries with their
raw response and EntryContext, the incident context, the integration context, every log line, stdout and
stderr) is searched for the key in every encoding the detector knows (raw, escaped, URL-quoted, hex, base64 at
each alignment, Basic-auth base64). Control tests prove the detector finds the key when it is there.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from standins.funtranslations.app import RecordedRequest
from standins.funtranslations.faults import parse_fault
from standins.funtranslations.server import ServiceConfig, serve
from tests.resilience.support import (
    ROOT,
    Finding,
    child_env,
    error_text,
    find_secret,
    refused_port,
    run_surfaces,
    translate,
)
from xsoar_local.engine import CommandRun
from xsoar_local.engine.runner import child_environment

KEY = "yoda-secret-KEY-9f3c"


@dataclass(frozen=True)
class Outcome:
    """One way a translation can end, and how to make the service (or the network) produce it."""

    name: str
    faults: tuple[str, ...] = ()
    key_is_paid: bool = True  # False: the service does not know the key and answers 401
    tls: bool = False
    trust_any_certificate: bool = False
    through_refused_proxy: bool = False
    env: dict[str, str] = field(default_factory=dict)
    succeeds: bool = False
    reaches_service: bool = True


OUTCOMES = [
    Outcome("success", succeeds=True),
    # `make run REAL=1` passes the key in FUNTRANSLATIONS_API_KEY; debug mode logs the whole environment.
    Outcome("success-key-also-in-environment", env={"FUNTRANSLATIONS_API_KEY": KEY}, succeeds=True),
    Outcome("400", faults=("status=400",)),
    Outcome("401-unknown-key", key_is_paid=False),
    Outcome("403", faults=("status=403",)),
    Outcome("404", faults=("status=404",)),
    Outcome("429", faults=("429",)),
    Outcome("500", faults=("status=500",)),
    Outcome("503", faults=("status=503",)),
    Outcome("timeout", faults=("latency=2",), env={"REQUESTS_TIMEOUT": "0.4"}),
    Outcome("not-json", faults=("body=not-json",)),
    Outcome("empty-body", faults=("body=empty",)),
    Outcome("dropped-connection", faults=("drop",)),
    Outcome("503-retried-over-tls", ("status=503,times=1",), tls=True, trust_any_certificate=True, succeeds=True),
    Outcome("bad-certificate", tls=True, reaches_service=False),
    Outcome("proxy-refuses", through_refused_proxy=True, reaches_service=False),
]
CASES = [(outcome, debug) for outcome in OUTCOMES for debug in (False, True)]


@dataclass(frozen=True)
class Observed:
    """A finished run and what the service recorded during it."""

    run: CommandRun
    requests: list[RecordedRequest]


def _run(outcome: Outcome, debug: bool) -> Observed:
    config = ServiceConfig(
        rate_limit=None,
        tls=outcome.tls,
        paid_keys=frozenset({KEY}) if outcome.key_is_paid else frozenset(),
        faults=tuple(parse_fault(spec) for spec in outcome.faults),
    )
    params = {"apikey": KEY, "insecure": str(outcome.trust_any_certificate).lower()}
    env = child_env(**outcome.env)
    with contextlib.ExitStack() as stack:
        if outcome.through_refused_proxy:
            port = stack.enter_context(refused_port())
            env.update(HTTP_PROXY=f"http://127.0.0.1:{port}", HTTPS_PROXY=f"http://127.0.0.1:{port}")
            params["proxy"] = "true"
        service = stack.enter_context(serve(config))
        run = translate(service.url, params=params, env=env, debug=debug)
    return Observed(run, service.requests)


@pytest.fixture(scope="module")
def sweep() -> Iterator[dict[tuple[str, bool], Observed]]:
    """Every outcome, with and without debug mode: 32 engine runs, three at a time (most of a run is waiting)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {(outcome.name, debug): pool.submit(_run, outcome, debug) for outcome, debug in CASES}
        yield {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize(
    ("outcome", "debug"),
    [pytest.param(outcome, debug, id=f"{outcome.name}-{'debug' if debug else 'normal'}") for outcome, debug in CASES],
)
def test_the_api_key_appears_in_nothing_the_run_leaves_behind(
    sweep: dict[tuple[str, bool], Observed], outcome: Outcome, debug: bool
) -> None:
    """Given an instance with the API key set and a service (or network) producing this outcome,
    When the integration translates through the engine, with or without debug-mode=true,
    Then the outcome really happened, the key went to the service where a request was made,
    and no form of the key is in any entry, raw response, context, integration context or log line."""
    observed = sweep[(outcome.name, debug)]
    run = observed.run
    assert not run.crashed, f"the integration crashed instead of reporting the outcome: {error_text(run)}"
    assert run.is_error is not outcome.succeeds, f"{outcome.name}: unexpected result {run.entries}"
    assert run.debug is debug, "the engine did not apply the debug-mode setting"
    sent_keys = {request.api_key for request in observed.requests}
    if outcome.reaches_service:
        assert sent_keys == {KEY}, f"the key should have been sent to the service, it got {sent_keys}"
    else:
        assert observed.requests == [], f"no request should reach the service, it saw {observed.requests}"
    logged = "\n".join(log.message for log in run.logs)
    if debug:
        assert "debug-mode started" in logged, "debug mode did not start in the integration"
    if debug and outcome.reaches_service:
        # http.client's dump of the request, headers included: the riskiest surface, and it must be masked.
        assert "X-Funtranslations-Api-Secret: <XX_REPLACED>" in logged, "debug mode logged no (masked) request"
    findings = find_secret(run_surfaces(run), KEY)
    assert findings == [], "the API key leaked:\n" + "\n".join(map(str, findings))


def test_the_detector_finds_the_key_in_a_real_run_that_shows_it() -> None:
    """Given a run whose text argument contains the key (the integration echoes its input into the context),
    When the sweep's detector searches what the run left behind,
    Then it finds the key there: a sweep with no findings means no key, not a blind detector."""
    with serve(ServiceConfig(rate_limit=None)) as service:
        run = translate(service.url, text=f"The secret is {KEY} today.")
    assert not run.is_error, error_text(run)
    findings = find_secret(run_surfaces(run), KEY)
    places = {finding.where for finding in findings if finding.form == "raw"}
    assert "$.context.YodaSpeak.TheForce.Original" in places, f"the detector missed the echoed key: {findings}"


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("document", "form"),
    [
        pytest.param({"logs": [{"message": f"send: X-Funtranslations-Api-Secret: {KEY}"}]}, "raw", id="raw-in-a-log"),
        pytest.param({"entries": [{"Contents": json.dumps({"k": KEY})}]}, "raw", id="json-in-raw-response"),
        pytest.param({"context": {KEY: 1}}, "raw", id="as-a-context-key"),
        pytest.param({"log": f"GET /?key={quote(KEY, safe='')}"}, "URL-quoted", id="url-quoted"),
        pytest.param({"log": KEY.encode().hex()}, "hex", id="hex"),
        pytest.param({"log": "Authorization: Basic " + _basic("", KEY)}, "Basic auth (empty user)", id="basic-auth"),
        *[
            pytest.param(
                {"log": base64.b64encode(prefix.encode() + KEY.encode() + b" and more").decode()},
                f"base64 (offset {len(prefix) % 3})",
                id=f"base64-inside-a-blob-offset-{len(prefix) % 3}",
            )
            for prefix in ("abc", "abcd", "abcde")
        ],
        pytest.param(
            {"log": base64.urlsafe_b64encode(b"~~" + KEY.encode() + b"??").decode()},
            "urlsafe base64 (offset 2)",
            id="urlsafe-base64",
        ),
    ],
)
def test_the_detector_finds_each_encoding(document: dict[str, Any], form: str) -> None:
    """Given a document holding the key in one encoding,
    When the detector searches it,
    Then it reports that encoding."""
    findings = find_secret(document, KEY)
    assert form in {finding.form for finding in findings}, f"{form} not detected; found {findings}"


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"log": "X-Funtranslations-Api-Secret: <XX_REPLACED>"}, id="masked"),
        pytest.param({"log": KEY[:-1] + "X"}, id="a-different-key"),
        pytest.param({"context": {"YodaSpeak": {"TheForce": {"Original": "Hello"}}}}, id="clean-context"),
    ],
)
def test_the_detector_reports_nothing_without_the_key(document: dict[str, Any]) -> None:
    """Given a document without the key (masked, or a near miss),
    When the detector searches it,
    Then it reports nothing (the sweep's zero findings are not noise-filtered)."""
    findings: list[Finding] = find_secret(document, KEY)
    assert findings == [], f"false positive: {findings}"


# ---- through the command line: passwords in the API URL, type-9 credentials, the toolkit's own messages -------

URL_PASSWORD = "s3cr3tPW-url-7Qz"
CLI_KEY = "cli-type9-KEY-4e1d"


def _cli(*argv: str) -> tuple[int, str, str]:
    """`make run ARGS=...` as a process: the toolkit's CLI, with the environment the engine allows its sandbox."""
    completed = subprocess.run(
        [sys.executable, "-m", "xsoar_local", *argv],
        cwd=ROOT,
        env=child_environment(os.environ, {"COLUMNS": "200"}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return completed.returncode, completed.stdout, completed.stderr


def _leaks(out: str, err: str, state: Path) -> list[str]:
    state_file = state / "state.json"
    saved = state_file.read_text(encoding="utf-8") if state_file.exists() else ""
    surfaces = {"stdout": out, "stderr": err, "saved incident state": saved}
    found = find_secret(surfaces, URL_PASSWORD) + find_secret(surfaces, CLI_KEY)
    return [str(finding) for finding in found]


URL_OUTCOMES = [
    pytest.param("refused", (), "!yoda-speak-translate text=Hello", 1, True, id="connection-refused"),
    pytest.param("served", ("status=404",), "!yoda-speak-translate text=Hello", 1, True, id="404"),
    pytest.param("served", ("status=404",), "test-module", 1, True, id="test-module-404"),
    pytest.param("served", (), "!yoda-speak-translate text=Hello", 0, False, id="success"),
]
MODES = [
    pytest.param(("-v",), id="table-and-logs"),
    pytest.param(("--json",), id="json"),
    pytest.param(("--json", "--debug"), id="json-debug"),
    pytest.param(("-v", "--debug"), id="table-logs-debug"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("where", "faults", "command", "status", "shows_url"), URL_OUTCOMES)
def test_url_credentials_and_the_api_key_appear_nowhere_the_cli_writes(
    tmp_path: Path,
    where: str,
    faults: tuple[str, ...],
    command: str,
    status: int,
    shows_url: bool,
    mode: tuple[str, ...],
) -> None:
    """Given an API URL with user:password@ and the API key (a type-9 credential) set with --param,
    When `run` ends in this outcome, printed as a table with logs or as --json, with or without debug mode,
    Then neither secret, in any form, is in stdout, stderr or the saved state, and the outcome really happened."""
    config = ServiceConfig(rate_limit=None, paid_keys=frozenset({CLI_KEY}), faults=tuple(map(parse_fault, faults)))
    with contextlib.ExitStack() as stack:
        if where == "refused":
            base = f"http://127.0.0.1:{stack.enter_context(refused_port())}"
        else:
            service = stack.enter_context(serve(config))
            base = service.url.split("/translate")[0]
        url = base.replace("://", f"://yoda:{URL_PASSWORD}@") + "/translate/"
        argv = ["run", "--no-service", "--state-dir", str(tmp_path), "--command", command]
        argv += ["--param", f"url={url}", "--param", f"apikey={CLI_KEY}", *mode]
        returned, out, err = _cli(*argv)
        if where == "served":
            assert service.requests, "the run should have reached the service"
    assert returned == status, f"exit status {returned}:\n{out}\n{err}"
    if shows_url:  # the message names the URL: with its password masked
        assert "yoda:<XX_REPLACED>@" in out + err, f"the masked URL should be shown:\n{out}\n{err}"
    leaks = _leaks(out, err, tmp_path)
    assert leaks == [], "a secret leaked:\n" + "\n".join(leaks)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--param", f"apikey:{CLI_KEY}"], id="param-typo-colon"),
        pytest.param(["--param", f"nosuchparam=https://yoda:{URL_PASSWORD}@127.0.0.1/"], id="unknown-param-url"),
        pytest.param(["--param", f"insecure=https://yoda:{URL_PASSWORD}@127.0.0.1/"], id="bad-boolean-url"),
        pytest.param(["--env-file", "ENV_FILE"], id="env-file-bad-line"),
    ],
)
def test_the_toolkits_own_errors_do_not_echo_secrets(tmp_path: Path, argv: list[str]) -> None:
    """Given a mistyped --param or env file holding a secret, When `run` refuses it,
    Then the one-line error (exit 2) does not show the secret."""
    env_file = tmp_path / "instance.env"
    env_file.write_text(f"apikey {CLI_KEY}\n", encoding="utf-8")
    argv = [str(env_file) if item == "ENV_FILE" else item for item in argv]
    returned, out, err = _cli("run", "--no-service", "--state-dir", str(tmp_path / "state"), "--text", "Hi", *argv)
    assert returned == 2, f"a usage error exits 2, got {returned}:\n{out}\n{err}"
    assert err.startswith("error: "), err
    leaks = _leaks(out, err, tmp_path / "state")
    assert leaks == [], "the toolkit echoed a secret:\n" + "\n".join(leaks)
