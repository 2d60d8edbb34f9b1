"""Retries for real: the integration through the engine against the local service in TLS mode.

CommonServerPython mounts its retry adapter only on https:// URLs, so these runs use the service's TLS mode
(insecure=true: the certificate is covered in test_tls_proxy). The service's request log counts the attempts.
"""

from __future__ import annotations

import pytest

from tests.resilience.support import (
    TRANSLATED,
    assert_clean_error,
    child_env,
    error_text,
    refused_port,
    statuses,
    translate,
)
from xsoar_local.funtranslations.faults import parse_fault
from xsoar_local.funtranslations.server import ServiceConfig, serve

TLS_TRUST_ANY = {"insecure": "true"}
# The integration's RETRIES: one try and three retries, for a 5xx answer or a refused connection.
ATTEMPTS = 4


def tls_service(*faults: str) -> ServiceConfig:
    """The service over TLS, rate limit off, with the given fault specs."""
    return ServiceConfig(rate_limit=None, tls=True, faults=tuple(parse_fault(spec) for spec in faults))


@pytest.mark.parametrize(
    ("fault", "expected_statuses"),
    [
        pytest.param("status=503,times=2", [503, 503, 200], id="503-twice-then-ok"),
        pytest.param("status=500,times=1", [500, 200], id="500-once-then-ok"),
        pytest.param("status=502,times=3", [502, 502, 502, 200], id="502-three-times-then-ok-on-the-last-retry"),
    ],
)
def test_transient_server_errors_are_retried_until_the_translation_arrives(
    fault: str, expected_statuses: list[int]
) -> None:
    """Given a service over TLS that fails with a 5xx a few times,
    When the integration translates through the engine,
    Then it retries, the command succeeds with the translation, and the service saw every attempt."""
    with serve(tls_service(fault)) as service:
        run = translate(service.url, params=TLS_TRUST_ANY)
        seen = statuses(service)
    assert not run.is_error, f"the retry should have hidden the transient {fault}: {error_text(run)}"
    assert run.incident.context["YodaSpeak"]["TheForce"]["Translation"] == TRANSLATED, run.incident.context
    assert seen == expected_statuses, f"the service should have seen {expected_statuses}, saw {seen}"


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [
        pytest.param("status=500", 500, "Internal Server Error", id="500-forever"),
    ],
)
def test_persistent_server_errors_stop_after_bounded_attempts(fault: str, status: int, words: str) -> None:
    """Given a service over TLS that always answers with a 5xx,
    When the integration translates,
    Then it gives up after one try and three retries, with an error entry that names the status and the service."""
    with serve(tls_service(fault)) as service:
        run = translate(service.url, params=TLS_TRUST_ANY)
        seen = statuses(service)
    assert seen == [status] * ATTEMPTS, f"expected {ATTEMPTS} attempts of {status}, saw {seen}"
    message = assert_clean_error(run)
    expected = f"FunTranslations failed on its side (HTTP {status}: {words})"
    assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"
    assert "try again later" in message, f"the error should say what to do: {message!r}"


def test_rate_limit_is_never_retried_even_where_retries_are_mounted() -> None:
    """Given a service over TLS (retries mounted) that answers 429,
    When the integration translates,
    Then exactly one request was made and the error entry quotes the wait the service asked for."""
    with serve(tls_service("429")) as service:
        run = translate(service.url, params=TLS_TRUST_ANY)
        seen = statuses(service)
    assert seen == [429], f"a 429 must not be retried (it spends the hourly quota), saw {seen}"
    message = assert_clean_error(run)
    for expected in ("rate limit reached (HTTP 429)", "Please wait for 1 hour", "does not retry"):
        assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"


@pytest.mark.parametrize(
    ("fault", "env", "expected", "expected_statuses"),
    [
        pytest.param(
            "drop,times=1", {}, "Remote end closed connection without response", [None], id="dropped-connection"
        ),
        pytest.param(
            "latency=3,times=1",
            {"REQUESTS_TIMEOUT": "0.5"},
            "FunTranslations did not answer within 0.5 seconds",
            [200],  # the late answer, written when the service stops; nobody read it
            id="read-timeout",
        ),
    ],
)
def test_a_sent_request_that_got_no_answer_is_not_sent_again(
    fault: str, env: dict[str, str], expected: str, expected_statuses: list[int | None]
) -> None:
    """Given a service over TLS that drops the connection, or answers too late, after reading the request (once),
    When the integration translates,
    Then it does not resend the request (the service may have counted it), and reports the failure clearly.

    By design (YodaSpeak commit 7508da8): a read error is not retried, because the request already reached the
    service. The second request the fault would have let through never comes."""
    with serve(tls_service(fault)) as service:
        run = translate(service.url, params=TLS_TRUST_ANY, env=child_env(**env))
    # Read after the service stopped: every handler has finished and recorded its request by then.
    seen = statuses(service)
    message = assert_clean_error(run)
    assert seen == expected_statuses, f"the request must not be resent after it reached the service, saw {seen}"
    assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"


def test_a_refused_connection_is_retried_a_bounded_number_of_times_then_reported() -> None:
    """Given an https URL whose port refuses connections, and debug mode (urllib3 logs each connection it opens),
    When the integration translates,
    Then it tries to connect once plus three retries, then reports that FunTranslations could not be reached."""
    with refused_port() as port:
        run = translate(f"https://127.0.0.1:{port}/translate/", params=TLS_TRUST_ANY, debug=True)
    message = assert_clean_error(run)
    opened = [log.message for log in run.logs if "Starting new HTTPS connection" in log.message]
    attempts = sum(f"127.0.0.1:{port}" in line for line in opened)
    assert attempts == ATTEMPTS, f"expected {ATTEMPTS} connection attempts, the logs show {attempts}"
    assert f"Could not reach FunTranslations at https://127.0.0.1:{port}/translate/" in message, message
    assert "Verify that the server URL parameter is correct" in message, message
    for expected in ("Max retries exceeded", "Connection refused"):
        assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"
