"""The server's life cycle (URL, clean shutdown, no leaks), TLS mode and configuration checks."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

import pytest
import requests

from standins.funtranslations.faults import parse_fault
from standins.funtranslations.server import ServiceConfig, serve
from tests.standins.funtranslations.conftest import StartService

TEXT = "Master Obiwan has lost a planet."


def _port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_url_is_the_api_base_on_loopback(start_service: StartService) -> None:
    """Given a service on port 0
    When it starts
    Then `url` is the http API base on 127.0.0.1 with a real port, and there is no CA bundle."""
    service = start_service()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/translate/", service.url), f"unexpected url {service.url}"
    assert service.url == f"{service.base_url}/translate/", "url should be base_url + /translate/"
    assert service.port > 0, "port 0 should have been replaced by the bound port"
    assert service.ca_bundle is None, "plain HTTP has no CA bundle"


def test_leaving_the_block_closes_the_port_and_leaves_no_threads() -> None:
    """Given a service that has answered a request
    When its `with` block exits
    Then its port refuses connections and no thread it started is left running."""
    threads_before = set(threading.enumerate())
    with serve(ServiceConfig()) as service:
        assert requests.post(service.url + "yoda", data={"text": TEXT}, timeout=10).status_code == 200
        assert _port_is_open(service.port), "the port should accept connections while serving"
    assert not _port_is_open(service.port), f"port {service.port} still accepts connections after shutdown"
    leaked = set(threading.enumerate()) - threads_before
    assert not leaked, f"threads left running after shutdown: {leaked}"


def test_a_sleeping_latency_fault_is_cut_short_by_shutdown() -> None:
    """Given a request held by a 60 s latency fault, from a client that gives up after 30 s
    When the service's block exits
    Then the held request is answered at once (200), not left to sleep past the client's timeout."""
    outcome: list[Any] = []
    with serve(ServiceConfig(faults=(parse_fault("latency=60"),))) as service:

        def call() -> None:
            try:
                outcome.append(requests.post(service.url + "yoda", data={"text": TEXT}, timeout=30).status_code)
            except requests.RequestException as error:
                outcome.append(error)

        client = threading.Thread(target=call)
        client.start()
        while not _handler_running():
            time.sleep(0.01)  # waiting for the server to take the request, not measuring anything
    client.join()
    assert outcome == [200], f"the held request should be answered when the service stops, got {outcome}"


def _handler_running() -> bool:
    """True once the server has started a thread for a request (socketserver names it after its target)."""
    return any(thread.name.endswith("(process_request_thread)") for thread in threading.enumerate())


def test_two_services_run_side_by_side(start_service: StartService) -> None:
    """Given two services started on port 0
    When both answer
    Then they have different ports and separate request logs."""
    first, second = start_service(), start_service()
    assert first.port != second.port, "port 0 should give each service its own free port"
    requests.post(first.url + "yoda", data={"text": TEXT}, timeout=10)
    assert (len(first.requests), len(second.requests)) == (1, 0), "each service keeps its own log"


def test_a_busy_port_is_an_oserror_not_an_exit() -> None:
    """Given a port already in use
    When a service is asked to listen on it
    Then serve() raises OSError that says to choose another port."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match="another --port"), serve(ServiceConfig(port=port)):
            pass


def test_tls_mode_serves_https_signed_by_the_generated_ca(start_service: StartService) -> None:
    """Given a service in TLS mode
    When a client verifies with the CA bundle it provides
    Then the https request succeeds, while a client trusting only the usual CAs refuses the certificate."""
    service = start_service(tls=True)
    assert service.url.startswith("https://127.0.0.1:"), f"TLS mode should give an https url, got {service.url}"
    assert service.ca_bundle is not None, "TLS mode must provide a CA bundle"
    assert service.ca_bundle.read_text().startswith("-----BEGIN CERTIFICATE-----"), "the CA bundle should be PEM"
    response = requests.post(service.url + "yoda", data={"text": TEXT}, verify=str(service.ca_bundle), timeout=10)
    assert response.status_code == 200, f"verified https request failed: {response.status_code}"
    assert response.json()["contents"]["translated"] == "Lost a planet,  master obiwan has."
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(service.url + "yoda", data={"text": TEXT}, timeout=10)


def test_tls_mode_survives_a_plain_http_client_and_still_drops_on_request() -> None:
    """Given a TLS service with `drop,times=1`
    When a plain-HTTP client connects, then two https requests arrive
    Then the plain client fails, the first https request is dropped and the second succeeds;
    and once the block exits the CA bundle file is gone."""
    with serve(ServiceConfig(tls=True, faults=(parse_fault("drop,times=1"),))) as service:
        bundle = service.ca_bundle
        assert bundle is not None, "TLS mode must provide a CA bundle"
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(service.base_url.replace("https", "http") + "/translate/yoda", timeout=10)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(service.url + "yoda", data={"text": TEXT}, verify=str(bundle), timeout=10)
        ok = requests.post(service.url + "yoda", data={"text": TEXT}, verify=str(bundle), timeout=10)
        assert ok.status_code == 200, f"the second https request should succeed, got {ok.status_code}"
    assert not bundle.exists(), f"the CA bundle {bundle} should be removed on shutdown"


@pytest.mark.parametrize(
    ("overrides", "hint"),
    [
        pytest.param({"host": "0.0.0.0"}, "loopback", id="all-interfaces"),
        pytest.param({"host": "192.168.1.10"}, "loopback", id="lan-address"),
        pytest.param({"host": "example.com"}, "loopback", id="hostname"),
        pytest.param({"port": 70000}, "port", id="port-too-high"),
        pytest.param({"rate_limit": 0}, "rate limit", id="zero-limit"),
        pytest.param({"window_seconds": -5}, "window", id="negative-window"),
        pytest.param({"rate_limit": None, "window_seconds": 0}, "window", id="zero-window-without-limit"),
        pytest.param({"paid_keys": {""}}, "API keys", id="empty-key"),
        pytest.param({"known_keys": {" padded "}}, "API keys", id="padded-key"),
        pytest.param({"faults": ("503",)}, "parse_fault", id="fault-as-string"),
    ],
)
def test_unusable_configurations_are_refused_with_what_to_change(overrides: dict[str, Any], hint: str) -> None:
    """Given a configuration that cannot work (or would leave loopback)
    When the ServiceConfig is built
    Then ValueError says which setting to change."""
    with pytest.raises(ValueError, match=hint):
        ServiceConfig(**overrides)


def test_configuration_accepts_any_collection_of_keys_and_faults() -> None:
    """Given keys as sets and faults as a list
    When the ServiceConfig is built
    Then it stores them as frozensets and a tuple."""
    config = ServiceConfig(paid_keys={"p"}, known_keys=["k"], faults=[parse_fault("drop")])  # type: ignore[arg-type]
    assert (config.paid_keys, config.known_keys) == (frozenset({"p"}), frozenset({"k"})), "keys not frozen"
    assert config.faults == (parse_fault("drop"),), "faults not stored as a tuple"
