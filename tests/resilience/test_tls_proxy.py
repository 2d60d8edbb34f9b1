"""TLS and proxy, for real: the integration through the engine against the service's TLS mode (a trustme
certificate no system store trusts) and through proxy.py running on loopback.

Every child gets an explicit environment: no inherited proxy, CA bundle or NO_PROXY variable, only what the test
sets, so neither a developer's shell nor a CI proxy can change the outcome.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from standins.funtranslations.server import RunningService, ServiceConfig, serve
from tests.resilience.support import (
    TRANSLATED,
    RecordingProxy,
    assert_clean_error,
    child_env,
    error_text,
    recording_proxy,
    refused_port,
    statuses,
    translate,
)

CERTIFICATE_ADVICE = (
    "SSL Certificate Verification Failed - try selecting 'Trust any certificate' checkbox in the integration "
    "configuration."
)
PROXY_ADVICE = "Proxy Error - if the 'Use system proxy' checkbox in the integration configuration is selected"


@pytest.fixture(scope="module")
def tls_service() -> Iterator[RunningService]:
    """One TLS service for the module (rate limit off); tests clear its request log."""
    with serve(ServiceConfig(rate_limit=None, tls=True)) as service:
        yield service


@pytest.fixture(scope="module")
def http_service() -> Iterator[RunningService]:
    """One plain-HTTP service for the module (rate limit off)."""
    with serve(ServiceConfig(rate_limit=None)) as service:
        yield service


@pytest.fixture(scope="module")
def module_proxy() -> Iterator[RecordingProxy]:
    """One proxy.py for the module."""
    with recording_proxy() as running:
        yield running


@pytest.fixture
def proxy_log(module_proxy: RecordingProxy) -> RecordingProxy:
    """The module's proxy with an empty record."""
    module_proxy.clear()
    return module_proxy


def test_an_untrusted_certificate_fails_with_the_certificate_advice(tls_service: RunningService) -> None:
    """Given the service over TLS with a certificate from a private CA, and insecure=false,
    When the integration translates,
    Then the handshake fails before any request, and the error says the certificate failed and what to tick."""
    tls_service.clear_requests()
    run = translate(tls_service.url, params={"insecure": "false"})
    message = assert_clean_error(run)
    assert f"Could not reach FunTranslations at {tls_service.url}" in message, message
    assert CERTIFICATE_ADVICE in message, f"the certificate advice is missing: {message!r}"
    assert statuses(tls_service) == [], "no request may be sent over an unverified connection"


@pytest.mark.parametrize(
    ("insecure", "trust_the_ca"),
    [
        pytest.param("true", False, id="insecure-true-trusts-any-certificate"),
        pytest.param("false", True, id="insecure-false-with-the-ca-in-REQUESTS_CA_BUNDLE"),
    ],
)
def test_a_trusted_or_ignored_certificate_gets_the_translation(
    tls_service: RunningService, insecure: str, trust_the_ca: bool
) -> None:
    """Given the service over TLS, and either insecure=true or the service's CA in REQUESTS_CA_BUNDLE,
    When the integration translates,
    Then it succeeds over TLS: the certificate was the only obstacle."""
    tls_service.clear_requests()
    env = child_env(REQUESTS_CA_BUNDLE=str(tls_service.ca_bundle)) if trust_the_ca else child_env()
    run = translate(tls_service.url, params={"insecure": insecure}, env=env)
    assert not run.is_error, error_text(run)
    assert run.incident.context["YodaSpeak"]["TheForce"]["Translation"] == TRANSLATED, run.incident.context
    assert statuses(tls_service) == [200], f"one request over TLS expected, saw {statuses(tls_service)}"


def _proxy_env(proxy_url: str, **extra: str) -> dict[str, str]:
    """Both proxy variables (upper and lower case) set, NO_PROXY/no_proxy absent unless `extra` sets them."""
    env = child_env(HTTP_PROXY=proxy_url, HTTPS_PROXY=proxy_url, http_proxy=proxy_url, https_proxy=proxy_url)
    env.update(extra)
    return env


def _expected_proxy_view(service: RunningService) -> dict[str, object]:
    """What proxy.py records for a request to the service: a CONNECT tunnel for https, the POST itself for http."""
    if service.url.startswith("https://"):
        return {"method": "CONNECT", "host": "127.0.0.1", "port": service.port}
    return {"method": "POST", "host": "127.0.0.1", "port": service.port, "path": "/translate/yoda"}


@pytest.mark.parametrize("scheme", [pytest.param("https", id="https-tunnel"), pytest.param("http", id="http-forward")])
def test_proxy_true_sends_the_request_through_the_proxy(
    proxy_log: RecordingProxy,
    tls_service: RunningService,
    http_service: RunningService,
    scheme: str,
) -> None:
    """Given proxy=true and HTTP(S)_PROXY pointing at proxy.py on loopback (no NO_PROXY),
    When the integration translates,
    Then the proxy forwarded the request to the service, and the service answered it."""
    service = tls_service if scheme == "https" else http_service
    service.clear_requests()
    run = translate(service.url, params={"proxy": "true", "insecure": "true"}, env=_proxy_env(proxy_log.url))
    assert not run.is_error, error_text(run)
    seen = proxy_log.seen()
    expected = _expected_proxy_view(service)
    assert [{name: request.get(name) for name in expected} for request in seen] == [expected], (
        f"the proxy should have forwarded exactly one request to the service, it saw {seen}"
    )
    assert statuses(service) == [200], f"the service should have answered once, saw {statuses(service)}"


@pytest.mark.parametrize(
    ("proxy_param", "extra_env"),
    [
        pytest.param("false", {}, id="proxy-false-ignores-the-proxy-variables"),
        pytest.param("true", {"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}, id="proxy-true-but-NO_PROXY-lists-it"),
    ],
)
def test_without_the_proxy_the_request_goes_straight_to_the_service(
    proxy_log: RecordingProxy, tls_service: RunningService, proxy_param: str, extra_env: dict[str, str]
) -> None:
    """Given HTTP(S)_PROXY pointing at proxy.py, and either proxy=false or NO_PROXY naming the service's host,
    When the integration translates,
    Then the proxy saw nothing and the service got the request directly.

    The NO_PROXY case shows the proxy tests above would notice a silent bypass: there NO_PROXY is absent."""
    tls_service.clear_requests()
    env = _proxy_env(proxy_log.url, **extra_env)
    run = translate(tls_service.url, params={"proxy": proxy_param, "insecure": "true"}, env=env)
    assert not run.is_error, error_text(run)
    assert proxy_log.seen() == [], f"the proxy should not have been used, it saw {proxy_log.seen()}"
    assert statuses(tls_service) == [200], f"the service should have been asked directly, saw {statuses(tls_service)}"


def test_an_unreachable_proxy_is_reported_with_the_proxy_advice(http_service: RunningService) -> None:
    """Given proxy=true and HTTP(S)_PROXY pointing at a port that refuses connections,
    When the integration translates,
    Then the service gets nothing and the error says the proxy failed and which checkbox to clear."""
    http_service.clear_requests()
    with refused_port() as port:
        run = translate(http_service.url, params={"proxy": "true"}, env=_proxy_env(f"http://127.0.0.1:{port}"))
    message = assert_clean_error(run)
    assert PROXY_ADVICE in message, f"the proxy advice is missing: {message!r}"
    assert statuses(http_service) == [], f"nothing should reach the service, it saw {statuses(http_service)}"
