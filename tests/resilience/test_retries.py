"""Retries for real: the integration through the engine against the local service.

The integration retries in its own loop over `_http_request`'s failures, so http and https URLs behave alike; most
runs use the service's TLS mode, as the real service is https (insecure=true, except where the certificate failure
itself is tested). The service's request log counts the attempts; where no request gets through, urllib3's debug
log counts the connections.
"""

from __future__ import annotations

import pytest

from standins.funtranslations.faults import parse_fault
from standins.funtranslations.server import ServiceConfig, serve
from tests.resilience.support import (
    TRANSLATED,
    assert_clean_error,
    child_env,
    error_text,
    refused_port,
    statuses,
    translate,
)
from xsoar_local.engine import CommandRun

TLS_TRUST_ANY = {"insecure": "true"}
# The integration's RETRIES: one try and three retries, for a 5xx answer or a refused or dropped connection.
ATTEMPTS = 4
# The advice CommonServerPython gives for a certificate that failed verification.
CERTIFICATE_ADVICE = "SSL Certificate Verification Failed - try selecting 'Trust any certificate' checkbox"


def connections_opened(run: CommandRun, port: int) -> int:
    """How many connections to 127.0.0.1:port urllib3 logged opening (the run needs debug=True)."""
    return sum(
        "Starting new HTTPS connection" in log.message and f"127.0.0.1:{port}" in log.message for log in run.logs
    )


def retries_logged(run: CommandRun) -> list[str]:
    """The integration's "Retrying in N s" lines and urllib3's "Retrying (...)" ones (the run needs debug=True)."""
    return [log.message for log in run.logs if "Retrying in" in log.message or "Retrying (" in log.message]


def tls_service(*faults: str, tls: bool = True) -> ServiceConfig:
    """The service over TLS (or plain http), rate limit off, with the given fault specs."""
    return ServiceConfig(rate_limit=None, tls=tls, faults=tuple(parse_fault(spec) for spec in faults))


@pytest.mark.parametrize(
    ("fault", "expected_statuses"),
    [
        pytest.param("status=503,times=2", [503, 503, 200], id="503-twice-then-ok"),
        pytest.param("drop,times=3", [None, None, None, 200], id="dropped-three-times-then-ok-on-the-last-retry"),
    ],
)
def test_plain_http_urls_are_retried_too(fault: str, expected_statuses: list[int | None]) -> None:
    """Given a service on plain http that fails a few times (CommonServerPython mounts no retry adapter there),
    When the integration translates in debug mode,
    Then its own loop retries, logs each retry, and the command succeeds."""
    with serve(tls_service(fault, tls=False)) as service:
        run = translate(service.url, debug=True)
    seen = statuses(service)
    assert not run.is_error, f"the retries should have hidden the transient {fault}: {error_text(run)}"
    assert seen == expected_statuses, f"the service should have seen {expected_statuses}, saw {seen}"
    assert len(retries_logged(run)) == len(expected_statuses) - 1, retries_logged(run)


@pytest.mark.parametrize(
    ("fault", "expected_statuses"),
    [
        pytest.param("status=503,times=2", [503, 503, 200], id="503-twice-then-ok"),
        pytest.param("status=500,times=1", [500, 200], id="500-once-then-ok"),
        pytest.param("status=502,times=3", [502, 502, 502, 200], id="502-three-times-then-ok-on-the-last-retry"),
        # The server closes the socket without a word (RemoteDisconnected): a connection failure, retried.
        pytest.param("drop,times=1", [None, 200], id="dropped-connection-once-then-ok"),
    ],
)
def test_transient_failures_are_retried_until_the_translation_arrives(
    fault: str, expected_statuses: list[int | None]
) -> None:
    """Given a service over TLS that fails with a 5xx, or drops the connection without answering, a few times,
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


def test_rate_limit_is_never_retried() -> None:
    """Given a service over TLS that answers 429,
    When the integration translates,
    Then exactly one request was made and the error entry quotes the wait the service asked for."""
    with serve(tls_service("429")) as service:
        run = translate(service.url, params=TLS_TRUST_ANY)
        seen = statuses(service)
    assert seen == [429], f"a 429 must not be retried (it spends the hourly quota), saw {seen}"
    message = assert_clean_error(run)
    for expected in ("rate limit reached (HTTP 429)", "Please wait for 1 hour", "does not retry"):
        assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"


def test_a_connection_dropped_every_time_stops_after_bounded_attempts() -> None:
    """Given a service over TLS that always closes the connection without answering,
    When the integration translates,
    Then it gives up after one try and three retries, and reports that the service could not be reached."""
    with serve(tls_service("drop")) as service:
        run = translate(service.url, params=TLS_TRUST_ANY)
    # Read after the service stopped: every handler has finished and recorded its request by then.
    seen = statuses(service)
    assert seen == [None] * ATTEMPTS, f"expected {ATTEMPTS} dropped attempts, saw {seen}"
    message = assert_clean_error(run)
    for expected in (f"Could not reach FunTranslations at {service.url}", "Remote end closed connection"):
        assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        pytest.param("0.5", "FunTranslations did not answer within 0.5 seconds.", id="half-a-second"),
        pytest.param("1", "FunTranslations did not answer within 1 second.", id="one-second-singular"),
    ],
)
def test_a_request_whose_answer_timed_out_is_not_sent_again(timeout: str, expected: str) -> None:
    """Given a service over TLS that answers later than REQUESTS_TIMEOUT (once),
    When the integration translates,
    Then it does not resend the request (it reached the service, which may have counted it, and every resend would
    wait the full timeout again), and says how long it waited.

    The second request the fault would have let through never comes."""
    with serve(tls_service("latency=3,times=1")) as service:
        run = translate(service.url, params=TLS_TRUST_ANY, env=child_env(REQUESTS_TIMEOUT=timeout))
    # Read after the service stopped: the late answer is recorded when the service stops; nobody read it.
    seen = statuses(service)
    message = assert_clean_error(run)
    assert seen == [200], f"the request must not be resent after it reached the service, saw {seen}"
    assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"


def test_an_untrusted_certificate_is_tried_once_not_retried() -> None:
    """Given the service over TLS with a certificate from a private CA, insecure=false, and debug mode (urllib3 logs
    each connection it opens and each retry),
    When the integration translates,
    Then it opens one connection, does not retry the failed handshake, and shows the certificate advice."""
    with serve(tls_service()) as service:
        run = translate(service.url, params={"insecure": "false"}, debug=True)
        seen = statuses(service)
    message = assert_clean_error(run)
    attempts = connections_opened(run, service.port)
    assert attempts == 1, f"a failed certificate check must not be retried; the logs show {attempts} connections"
    assert retries_logged(run) == [], f"urllib3 logged retries for a failed certificate: {retries_logged(run)}"
    assert seen == [], f"no request may be sent over an unverified connection, saw {seen}"
    assert CERTIFICATE_ADVICE in message, f"the certificate advice is missing: {message!r}"


def test_a_refused_connection_is_retried_a_bounded_number_of_times_then_reported() -> None:
    """Given an https URL whose port refuses connections, and debug mode (urllib3 logs each connection it opens),
    When the integration translates,
    Then it tries to connect once plus three retries, then reports that FunTranslations could not be reached."""
    with refused_port() as port:
        run = translate(f"https://127.0.0.1:{port}/translate/", params=TLS_TRUST_ANY, debug=True)
    message = assert_clean_error(run)
    attempts = connections_opened(run, port)
    assert attempts == ATTEMPTS, f"expected {ATTEMPTS} connection attempts, the logs show {attempts}"
    assert f"Could not reach FunTranslations at https://127.0.0.1:{port}/translate/" in message, message
    assert "Verify that the server URL parameter is correct" in message, message
    for expected in ("Max retries exceeded", "Connection refused"):
        assert expected in message, f"{expected!r} not in the error the user sees: {message!r}"
