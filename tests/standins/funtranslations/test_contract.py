"""The HTTP contract over real loopback HTTP: routes, bodies, envelopes, keys and the request log."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.standins.funtranslations.conftest import StartService

TEXT = "Master Obiwan has lost a planet."
SUCCESS = {
    "success": {"total": 1},
    "contents": {"translated": "Lost a planet,  master obiwan has.", "text": TEXT, "translation": "yoda"},
}
KEY_HEADER = "X-Funtranslations-Api-Secret"


def _envelope(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("method", "endpoint", "how"),
    [
        pytest.param("POST", "yoda", "form", id="post-form-yoda"),
        pytest.param("POST", "yoda.json", "form", id="post-form-yoda.json"),
        pytest.param("POST", "yoda", "json", id="post-json-yoda"),
        pytest.param("POST", "yoda.json", "json", id="post-json-yoda.json"),
        pytest.param("GET", "yoda", "query", id="get-yoda"),
        pytest.param("GET", "yoda.json", "query", id="get-yoda.json"),
        pytest.param("POST", "yoda", "query", id="post-with-query-text"),
    ],
)
def test_every_documented_form_of_request_is_translated(
    start_service: StartService, method: str, endpoint: str, how: str
) -> None:
    """Given a running service
    When the text is sent by any documented method, encoding and endpoint
    Then the answer is 200 with the real success body as JSON."""
    service = start_service()
    kwargs: dict[str, Any] = {"form": {"data": {"text": TEXT}}, "json": {"json": {"text": TEXT}}}.get(
        how, {"params": {"text": TEXT}}
    )
    response = requests.request(method, service.url + endpoint, timeout=10, **kwargs)
    assert response.status_code == 200, f"{method} {endpoint} ({how}) answered {response.status_code}: {response.text}"
    assert response.headers["Content-Type"] == "application/json", "the body should be labelled as JSON"
    assert response.json() == SUCCESS, f"wrong success body: {response.text}"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-body"),
        pytest.param({"data": {"text": ""}}, id="empty-form-text"),
        pytest.param({"data": {"text": " \n\t "}}, id="whitespace-form-text"),
        pytest.param({"data": {"txt": TEXT}}, id="wrong-field"),
        pytest.param({"json": {"text": 42}}, id="json-text-not-a-string"),
        pytest.param({"json": ["text", TEXT]}, id="json-not-an-object"),
        pytest.param({"data": "{not json", "headers": {"Content-Type": "application/json"}}, id="broken-json"),
    ],
)
def test_missing_or_blank_text_is_a_400(start_service: StartService, kwargs: dict[str, Any]) -> None:
    """Given a running service
    When a POST carries no usable text
    Then the answer is 400 with the real message in the error envelope."""
    service = start_service()
    response = requests.post(service.url + "yoda", timeout=10, **kwargs)
    assert response.status_code == 400, f"expected 400, got {response.status_code}: {response.text}"
    assert response.json() == _envelope(400, "Bad Request: text is missing."), f"wrong body: {response.text}"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/translate/pirate", id="other-translator"),
        pytest.param("/translate/yoda/", id="trailing-slash"),
        pytest.param("/translate/yoda.xml", id="other-extension"),
        pytest.param("/translate//yoda", id="double-slash"),
        pytest.param("/", id="root"),
    ],
)
def test_unknown_paths_are_a_404(start_service: StartService, path: str) -> None:
    """Given a running service
    When a path other than the Yoda endpoints is requested
    Then the answer is 404 `Not Found` in the error envelope."""
    service = start_service()
    response = requests.post(service.base_url + path, data={"text": TEXT}, timeout=10, allow_redirects=False)
    assert response.status_code == 404, f"{path} answered {response.status_code}: {response.text}"
    assert response.json() == _envelope(404, "Not Found"), f"wrong body: {response.text}"


@pytest.mark.parametrize("method", [pytest.param("PUT", id="put"), pytest.param("DELETE", id="delete")])
def test_other_methods_are_a_405_that_names_the_allowed_ones(start_service: StartService, method: str) -> None:
    """Given a running service
    When the Yoda endpoint is called with a method other than GET or POST
    Then the answer is 405 in the error envelope with an Allow header."""
    service = start_service()
    response = requests.request(method, service.url + "yoda", data={"text": TEXT}, timeout=10)
    assert response.status_code == 405, f"{method} answered {response.status_code}"
    assert response.json() == _envelope(405, "Method Not Allowed"), f"wrong body: {response.text}"
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", ")), response.headers.get("Allow")


@pytest.mark.parametrize(
    ("headers", "expected_status"),
    [
        pytest.param({KEY_HEADER: "stolen"}, 401, id="unknown-key"),
        pytest.param({KEY_HEADER: "free-key"}, 200, id="known-free-key"),
        pytest.param({KEY_HEADER: "paid-key"}, 200, id="paid-key"),
        pytest.param({KEY_HEADER.lower(): "paid-key"}, 200, id="header-name-any-case"),
        pytest.param({KEY_HEADER.upper(): "stolen"}, 401, id="unknown-key-any-case"),
        pytest.param({KEY_HEADER: ""}, 200, id="empty-key-is-no-key"),
        pytest.param({}, 200, id="no-key"),
    ],
)
def test_only_keys_the_service_knows_are_accepted(
    start_service: StartService, headers: dict[str, str], expected_status: int
) -> None:
    """Given a service that knows one free and one paid key
    When a request sends a key (or none)
    Then unknown keys get 401 `Unauthorized` and the rest are translated."""
    service = start_service(paid_keys={"paid-key"}, known_keys={"free-key"})
    response = requests.post(service.url + "yoda", data={"text": TEXT}, headers=headers, timeout=10)
    assert response.status_code == expected_status, f"{headers} answered {response.status_code}: {response.text}"
    expected = SUCCESS if expected_status == 200 else _envelope(401, "Unauthorized")
    assert response.json() == expected, f"wrong body: {response.text}"


def test_every_request_is_recorded_with_what_the_service_saw(start_service: StartService) -> None:
    """Given a running service
    When a translation, a 404 and an unauthorised request arrive
    Then the log holds all three in order, with method, path, headers, body, client and status."""
    service = start_service(known_keys={"free-key"})
    assert service.requests == [], "a fresh service has seen no requests"
    requests.post(service.url + "yoda", data={"text": TEXT}, headers={KEY_HEADER: "free-key"}, timeout=10)
    requests.get(service.url + "pirate", params={"text": "arr"}, timeout=10)
    requests.post(service.url + "yoda.json", json={"text": TEXT}, headers={KEY_HEADER: "bad"}, timeout=10)
    seen = service.requests
    summary = [(r.method, r.path, r.status) for r in seen]
    assert summary == [
        ("POST", "/translate/yoda", 200),
        ("GET", "/translate/pirate", 404),
        ("POST", "/translate/yoda.json", 401),
    ], f"wrong log {summary}"
    first, second, third = seen
    assert first.body == {"text": TEXT}, f"form body not recorded: {first.body}"
    assert first.headers[KEY_HEADER] == "free-key", f"headers not recorded: {first.headers}"
    assert first.api_key == "free-key", "the key should be readable from the record"
    assert first.client == "127.0.0.1", f"client address not recorded: {first.client}"
    assert second.query == {"text": "arr"}, f"query not recorded: {second.query}"
    assert third.body == {"text": TEXT}, f"JSON body not recorded: {third.body}"
    assert all(r.faults == () for r in seen), "no fault was configured"


def test_the_request_log_is_a_snapshot_and_can_be_cleared(start_service: StartService) -> None:
    """Given a service that has seen one request
    When the caller changes its copy of the log, and then clears the log
    Then the service's log is unaffected by the copy, and empty after clearing."""
    service = start_service()
    requests.post(service.url + "yoda", data={"text": TEXT}, timeout=10)
    copy = service.requests
    copy.clear()
    assert len(service.requests) == 1, "changing a snapshot must not change the service's log"
    service.clear_requests()
    assert service.requests == [], "clear_requests() should empty the log"
