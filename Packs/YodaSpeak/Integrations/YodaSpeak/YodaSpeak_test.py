"""Unit tests of the YodaSpeak integration, against the real CommonServerPython and demistomock modules.

HTTP is mocked with requests-mock; test_data/ holds the response shapes the FunTranslations API really sends.
"""

# BaseClient's methods are untyped; the tests call some of them directly, as the engine's CommonServerPython does.
# mypy: disallow-untyped-calls=False

import hashlib
import http.client
import json
import math
import os
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import demistomock as demisto
import pytest
import requests
import requests_mock as requests_mock_module
import yaml
import YodaSpeak
from CommonServerPython import BaseClient, CommandResults, DemistoException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError, SSLError
from urllib3.util.retry import Retry
from YodaSpeak import (
    API_KEY_HEADER,
    CACHE_CONTEXT_KEY,
    MAX_CACHE_ENTRIES,
    MAX_TEXT_LENGTH,
    TRANSLATE_COMMAND,
    ApiKeyError,
    BadResponseError,
    Client,
    ConfigurationError,
    ConnectionFailedError,
    FinalErrorsRetry,
    InvalidTextError,
    RateLimitError,
    RequestRejectedError,
    ServiceError,
    YodaSpeakError,
    add_to_cache,
    cache_key,
    parse_api_key,
    parse_base_url,
    parse_bool_param,
    parse_cache_hours,
    seconds,
    translate_command,
)

# Imported under another name, or pytest would collect it as a test.
from YodaSpeak import test_module as run_test_module

HERE = Path(__file__).parent
TEST_DATA = HERE / "test_data"
BASE_URL = "https://api.funtranslations.com/translate/"
YODA_URL = BASE_URL + "yoda"
API_KEY = "ft-paid-3f9a1c7e5b"
TEXT = "Master Obiwan has lost a planet."
TRANSLATED = "Lost a planet,  master obiwan has."
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600.0
DT_KEY = "YodaSpeak.TheForce(val.Original && val.Original == obj.Original)"


def load(name: str) -> Any:
    """Reads a recorded response from test_data/."""
    return json.loads((TEST_DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _isolated_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """BaseClient deletes proxy and CA variables from os.environ; restore them, and start with an empty cache."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = os.environ.get(name)
        if value is not None:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("REQUESTS_TIMEOUT", raising=False)
    monkeypatch.setattr(demisto, "integrationContext", {})


@pytest.fixture
def client() -> Client:
    """A client for the public tier: no API key."""
    return Client(BASE_URL, api_key=None, verify=True, proxy=False)


def sent_text(request: Any) -> str:
    """Returns the text field of a form-encoded request body."""
    return str(parse_qs(request.text)["text"][0])


def table_rows(markdown: str) -> list[list[str]]:
    """Splits the readable output's table into rows of cells the way GFM does.

    A pipe splits cells unless a backslash escapes it; markdown lines end at \\n or \\r.
    """
    assert "\r" not in markdown, f"a raw carriage return starts a new markdown line: {markdown!r}"
    lines = markdown.split("\n")
    assert "|Original|Translation|" in lines, f"no table header in {markdown!r}"
    start = lines.index("|Original|Translation|")
    assert lines[start + 1] == "|---|---|", f"no delimiter row under the header in {markdown!r}"
    rows = []
    for line in lines[start + 2 :]:
        if not line:
            break
        cells, cell, index = [], "", 0
        while index < len(line):
            if line[index] == "\\" and index + 1 < len(line):
                cell += line[index : index + 2]
                index += 2
                continue
            if line[index] == "|":
                cells.append(cell)
                cell = ""
            else:
                cell += line[index]
            index += 1
        cells.append(cell)
        assert cells[0] == "", f"row does not start with a pipe: {line!r}"
        assert cells[-1] == "", f"row does not end with a pipe: {line!r}"
        rows.append([c.strip(" ") for c in cells[1:-1]])
    return rows


def unescape_cell(cell: str) -> str:
    """Reverses the escaping of a cell: backslash escapes, the HTML entities, and <br> for a line break."""
    out, index = "", 0
    replacements = {"<br>": "\n", "&lt;": "<", "&gt;": ">", "&amp;": "&"}
    while index < len(cell):
        for escaped, plain in replacements.items():
            if cell.startswith(escaped, index):
                out += plain
                index += len(escaped)
                break
        else:
            if cell[index] == "\\":
                index += 1
            out += cell[index]
            index += 1
    return out


def outputs_of(results: CommandResults) -> dict[str, Any]:
    """The context outputs of a command result, which the integration always gives as one object."""
    outputs = results.outputs
    assert isinstance(outputs, dict), f"outputs must be one object, got {outputs!r}"
    return outputs


def assert_one_row(markdown: str, original: str, translation: str) -> None:
    """Checks the readable table has one row of two cells that show exactly the texts."""
    rows = table_rows(markdown)
    assert len(rows) == 1, f"expected one row: {rows} from {markdown!r}"
    assert len(rows[0]) == 2, f"expected two cells: {rows} from {markdown!r}"
    shown = [unescape_cell(cell) for cell in rows[0]]
    as_lines = [value.replace("\r\n", "\n").replace("\r", "\n").strip(" ") for value in (original, translation)]
    assert shown == as_lines, f"table shows {shown}, expected {as_lines}"


# ---- Client.translate: requests ------------------------------------------------------------------------------------


def test_translate_posts_form_text_to_yoda(client: Client, requests_mock: Any) -> None:
    """
    Given: the service translates the vendor's example sentence.
    When: the client translates it.
    Then: it POSTs form data text=... to <url>/yoda and returns the translation and the raw response.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    translation = client.translate(TEXT)

    request = requests_mock.last_request
    assert request.method == "POST", f"expected a POST, sent {request.method}"
    assert request.url == YODA_URL, f"sent to {request.url}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded", "the body must be form data"
    assert sent_text(request) == TEXT, f"sent text {sent_text(request)!r}"
    assert translation.translated == TRANSLATED, "the double space is the service's and must be kept"
    assert translation.raw_response == load("translate_success.json"), "the raw response must be the API's answer"


def test_translate_strips_trailing_space(client: Client, requests_mock: Any) -> None:
    """
    Given: the service adds a trailing space to a translation, as it sometimes does.
    When: the client translates.
    Then: the translation has no trailing space.
    """
    requests_mock.post(YODA_URL, json=load("translate_success_trailing_space.json"))

    assert client.translate("my name is gautam").translated == "gautam, my name is", "trailing space kept"


@pytest.mark.parametrize(
    ("api_key", "expected_header"),
    [
        pytest.param(API_KEY, API_KEY, id="key configured: header sent"),
        pytest.param(None, None, id="no key: header not sent"),
        pytest.param("", None, id="empty key: header not sent"),
    ],
)
def test_api_key_header(requests_mock: Any, api_key: str | None, expected_header: str | None) -> None:
    """
    Given: an API key that is configured, absent, or empty.
    When: the client translates.
    Then: the X-Funtranslations-Api-Secret header carries the key only when one is configured.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    Client(BASE_URL, api_key=api_key, verify=True, proxy=False).translate(TEXT)

    assert requests_mock.last_request.headers.get(API_KEY_HEADER) == expected_header, "wrong API key header"


def test_translate_asks_http_request_for_bounded_retries(client: Client, mocker: Any) -> None:
    """
    Given: a client.
    When: it translates.
    Then: _http_request is asked to retry 5xx (not 429) 3 times with a small back-off, and to leave errors to the
        integration's own handler.
    """
    http_request = mocker.patch.object(BaseClient, "_http_request", side_effect=requests.exceptions.ReadTimeout())

    with pytest.raises(ConnectionFailedError):
        client.translate(TEXT)

    kwargs = http_request.call_args.kwargs
    assert kwargs["retries"] == 3, "retries must be bounded"
    assert kwargs["backoff_factor"] == 0.5, "back-off must stay small: 0+1+2 seconds in all"
    assert set(kwargs["status_list_to_retry"]) == set(range(500, 600)), "every 5xx is retried"
    assert 429 not in kwargs["status_list_to_retry"], "a 429 must never be retried"
    assert kwargs["error_handler"] == client._raise_for_status, "errors must go through the envelope handler"
    assert kwargs["data"] == {"text": TEXT}, "the text goes as form data"


def mounted_retry(verify: bool = True) -> Retry:
    """The Retry that BaseClient mounts for https:// once the client asks for the integration's retries."""
    client = Client(BASE_URL, api_key=None, verify=verify, proxy=False)
    client._implement_retry(retries=3, status_list_to_retry=range(500, 600), backoff_factor=0.5)
    return retry_of(client)


def retry_of(client: BaseClient) -> Retry:
    """The urllib3 Retry of the adapter a client's session uses for https:// URLs."""
    adapter = client._session.get_adapter("https://api.funtranslations.com/")
    assert isinstance(adapter, HTTPAdapter), f"no requests HTTPAdapter mounted: {adapter!r}"
    retry = adapter.max_retries
    assert isinstance(retry, Retry), f"no urllib3 Retry mounted: {retry!r}"
    return retry


# Every parameter of Retry.__init__ in urllib3 1.26.20, the last 1.26 release; an engine image may still ship it.
URLLIB3_1_26_RETRY_PARAMETERS = {
    "total",
    "connect",
    "read",
    "redirect",
    "status",
    "other",
    "method_whitelist",
    "allowed_methods",
    "status_forcelist",
    "backoff_factor",
    "raise_on_redirect",
    "raise_on_status",
    "history",
    "respect_retry_after_header",
    "remove_headers_on_redirect",
}


class RecordingRetry(FinalErrorsRetry):
    """FinalErrorsRetry that keeps the keyword arguments it was last built with."""

    received: ClassVar[dict[str, Any]] = {}

    def __init__(self, **kwargs: Any) -> None:
        type(self).received = kwargs
        super().__init__(**kwargs)


def test_retry_copy_keeps_common_server_settings() -> None:
    """
    Given: the Retry that CommonServerPython's BaseClient mounts for 3 retries of 5xx with a 0.5 back-off.
    When: FinalErrorsRetry copies it, turning Retry-After off.
    Then: the copy keeps the retry counts, back-off, status list and methods, takes the override, and is built only
        from settings urllib3 1.26 accepts (never method_whitelist, which 1.26 refuses next to allowed_methods).
    """
    client = Client(BASE_URL, api_key=None, verify=True, proxy=False)
    BaseClient._implement_retry(client, retries=3, status_list_to_retry=range(500, 600), backoff_factor=0.5)
    original = retry_of(client)
    assert original.respect_retry_after_header, "the test needs a Retry that honours Retry-After before the copy"

    copy = RecordingRetry.copy_of(original, respect_retry_after_header=False)

    for name in ("total", "connect", "read", "status", "backoff_factor", "raise_on_status", "raise_on_redirect"):
        assert getattr(copy, name) == getattr(original, name), (
            f"{name} changed in the copy: {getattr(copy, name)!r}, CommonServerPython set {getattr(original, name)!r}"
        )
    assert set(copy.status_forcelist or ()) == set(range(500, 600)), f"status list lost: {copy.status_forcelist!r}"
    assert copy.allowed_methods == frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"}), (
        f"retried methods changed in the copy: {copy.allowed_methods!r}"
    )
    assert copy.respect_retry_after_header is False, "the Retry-After override was not applied"
    passed = set(RecordingRetry.received)
    assert passed <= URLLIB3_1_26_RETRY_PARAMETERS, (
        f"urllib3 1.26 would reject these Retry settings: {sorted(passed - URLLIB3_1_26_RETRY_PARAMETERS)}"
    )
    assert "method_whitelist" not in passed, "method_whitelist next to allowed_methods raises ValueError on 1.26"


def dropped_connection() -> ProtocolError:
    """What urllib3 raises when the server closes the socket without answering."""
    return ProtocolError("Connection aborted.", http.client.RemoteDisconnected("Remote end closed connection"))


@pytest.mark.parametrize("verify", [pytest.param(True, id="verified TLS"), pytest.param(False, id="trust any cert")])
def test_retry_adapter_ignores_retry_after(verify: bool) -> None:
    """
    Given: a client, with or without certificate checks.
    When: BaseClient mounts its retry adapter.
    Then: it is the integration's FinalErrorsRetry; a 429 is not retried even with a Retry-After header (urllib3
        would retry it and sleep); 5xx answers, failed and dropped connections are, 3 times.
    """
    retry = mounted_retry(verify)

    assert isinstance(retry, FinalErrorsRetry), f"the integration's Retry is not mounted: {type(retry).__name__}"
    assert retry.total == 3, f"expected 3 retries, got {retry.total}"
    assert not retry.respect_retry_after_header, "Retry-After must not make urllib3 retry or sleep"
    assert not retry.is_retry("POST", 429, has_retry_after=True), "a 429 with Retry-After would be retried"
    assert retry.is_retry("POST", 503), "a 503 must be retried"
    assert retry.connect == 3, f"failed connections must be retried 3 times, not {retry.connect}"
    assert retry.read == 3, f"dropped connections must be retried 3 times, not {retry.read}"
    assert retry.backoff_factor == 0.5, f"the back-off changed in the copy: {retry.backoff_factor}"
    assert "POST" in (retry.allowed_methods or ()), "POST must stay retryable, or nothing is retried"


@pytest.mark.parametrize(
    ("error", "counter"),
    [
        pytest.param(dropped_connection(), "read", id="dropped connection"),
        pytest.param(
            NewConnectionError(HTTPSConnection("api.funtranslations.com"), "Connection refused"),
            "connect",
            id="refused connection",
        ),
    ],
)
def test_connection_failures_are_retried_three_times(error: Exception, counter: str) -> None:
    """
    Given: the mounted retry, and a connection that was refused or dropped without an answer.
    When: urllib3 counts the failure, again and again.
    Then: the first three failures are retried (one fewer retry left each time), the fourth ends the request.
    """
    retry = mounted_retry()

    for left in (2, 1, 0):
        retry = retry.increment("POST", "/translate/yoda", error=error)
        assert getattr(retry, counter) == left, f"expected {left} {counter} retries left, got {retry!r}"

    with pytest.raises(MaxRetryError) as raised:
        retry.increment("POST", "/translate/yoda", error=error)
    assert raised.value.reason is error, f"the last failure should be the reason given: {raised.value.reason!r}"


@pytest.mark.parametrize("verify", [pytest.param(True, id="verified TLS"), pytest.param(False, id="trust any cert")])
@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            ReadTimeoutError(HTTPSConnectionPool("api.funtranslations.com"), "/translate/yoda", "Read timed out."),
            id="read timeout",
        ),
        pytest.param(SSLError("certificate verify failed"), id="TLS failure"),
    ],
)
def test_read_timeouts_and_tls_failures_are_final(error: Exception, verify: bool) -> None:
    """
    Given: the mounted retry, with retries left for connections and reads.
    When: urllib3 counts a read timeout or a TLS failure.
    Then: the error is raised as it is on the first attempt (requests maps it to ReadTimeout or SSLError), not
        retried and not wrapped in MaxRetryError.
    """
    retry = mounted_retry(verify)

    with pytest.raises(type(error)) as raised:
        retry.increment("POST", "/translate/yoda", error=error)

    assert raised.value is error, f"expected the {type(error).__name__} itself, got {raised.value!r}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(1, "1 second", id="one: singular"),
        pytest.param(1.0, "1 second", id="one as float: singular"),
        pytest.param(0.5, "0.5 seconds", id="fraction: plural"),
        pytest.param(30, "30 seconds", id="default timeout: plural"),
        pytest.param(2.5, "2.5 seconds", id="decimal: plural"),
    ],
)
def test_seconds_reads_well(value: float, expected: str) -> None:
    """
    Given: a timeout in seconds.
    When: it is formatted for a message.
    Then: it has the right number and unit, singular only for exactly one second.
    """
    assert seconds(value) == expected, f"{value!r} formatted as {seconds(value)!r}, expected {expected!r}"


def test_request_timeout_default(client: Client) -> None:
    """
    Given: no REQUESTS_TIMEOUT on the engine.
    When: a client is built.
    Then: it waits 30 seconds for the service.
    """
    assert client.timeout == 30, f"timeout is {client.timeout}"


# ---- Client.translate: errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error_class", "expected"),
    [
        pytest.param(
            401,
            load("error_401_unauthorized.json"),
            ApiKeyError,
            ["HTTP 401: Unauthorized", "API Key parameter"],
            id="401",
        ),
        pytest.param(403, None, ApiKeyError, ["HTTP 403: Forbidden", "API Key parameter"], id="403 without envelope"),
        pytest.param(
            400,
            load("error_400_text_missing.json"),
            RequestRejectedError,
            ["HTTP 400: Bad Request: text is missing.", "API URL parameter", "text argument"],
            id="400",
        ),
        pytest.param(
            404,
            load("error_404_not_found.json"),
            RequestRejectedError,
            [f"no Yoda translator at {YODA_URL}", "HTTP 404: Not Found", "API URL parameter", BASE_URL],
            id="404",
        ),
        pytest.param(418, None, RequestRejectedError, ["HTTP 418", "API URL parameter"], id="other 4xx"),
        pytest.param(
            500,
            {"error": {"code": 500, "message": "Internal Server Error"}},
            ServiceError,
            ["HTTP 500: Internal Server Error", "not the instance settings", "try again later"],
            id="500",
        ),
        pytest.param(503, None, ServiceError, ["HTTP 503: Service Unavailable", "try again later"], id="503 no body"),
    ],
)
def test_error_statuses(
    client: Client, requests_mock: Any, status: int, body: Any, error_class: type, expected: list[str]
) -> None:
    """
    Given: the service answers an error status, with or without its {"error": {...}} envelope.
    When: the client translates.
    Then: the error names the cause and what to change.
    """
    if body is None:
        requests_mock.post(YODA_URL, status_code=status, text="<html><body>error</body></html>")
    else:
        requests_mock.post(YODA_URL, status_code=status, json=body)

    with pytest.raises(error_class) as raised:
        client.translate(TEXT)

    for fragment in expected:
        assert fragment in str(raised.value), f"{fragment!r} missing from: {raised.value}"
    assert requests_mock.call_count == 1, "exactly one request expected"


@pytest.mark.parametrize(
    ("message", "wait"),
    [
        pytest.param(load("error_429_rate_limit.json")["error"]["message"], "56 minutes and 54 seconds", id="m+s"),
        pytest.param(
            "Too Many Requests: Rate limit of 10 requests per hour exceeded. Please wait for 59 minutes and 1 second.",
            "59 minutes and 1 second",
            id="singular second",
        ),
        pytest.param("Too Many Requests: Please wait for 1 hour.", "1 hour", id="hour"),
        pytest.param("Too Many Requests", None, id="no wait given"),
    ],
)
def test_rate_limit_quotes_the_wait(client: Client, requests_mock: Any, message: str, wait: str | None) -> None:
    """
    Given: the service answers 429 with one of the rate-limit messages seen in real captures.
    When: the client translates.
    Then: a RateLimitError quotes the service's wait, parsed from the text, and the request is made once.
    """
    requests_mock.post(YODA_URL, status_code=429, json={"error": {"code": 429, "message": message}})

    with pytest.raises(RateLimitError) as raised:
        client.translate(TEXT)

    error = raised.value
    assert error.wait == wait, f"parsed wait {error.wait!r}, expected {wait!r}"
    assert message in str(error), f"the service's message must be quoted: {error}"
    assert "does not retry" in str(error), f"no word on retries in: {error}"
    assert "API Key parameter" in str(error), f"no advice on the key in: {error}"
    advice = f"Try again in {wait}" if wait else "Try again later (the free tier allows 5 calls an hour)"
    assert advice in str(error), f"{advice!r} missing from: {error}"
    assert requests_mock.call_count == 1, "a 429 must not be retried"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"json": load("translate_zero_total.json")}, "success.total is 0, expected 1", id="total 0"),
        pytest.param({"json": {"contents": {"translated": "x"}}}, "success.total is null", id="no success"),
        pytest.param(
            {"json": {"success": {"total": True}, "contents": {"translated": "x"}}}, "is true", id="total bool"
        ),
        pytest.param({"json": {"success": {"total": 2}, "contents": {"translated": "x"}}}, "is 2", id="total 2"),
        pytest.param({"json": load("translate_missing_translated.json")}, "contents.translated", id="no translated"),
        pytest.param(
            {"json": {"success": {"total": 1}, "contents": {"translated": "  "}}}, "missing or empty", id="blank"
        ),
        pytest.param({"json": {"success": {"total": 1}, "contents": None}}, "contents.translated", id="contents null"),
        pytest.param(
            {"json": {"error": {"code": 500, "message": "Internal Server Error"}}},
            "reported an error: Internal Server Error",
            id="error envelope with 200",
        ),
        pytest.param({"json": {"error": None}}, 'reported an error: {"error": null}', id="error key null"),
        pytest.param({"json": ["Lost a planet"]}, "not an object", id="JSON list"),
        pytest.param(
            {"text": "<html><title>Captive portal</title></html>", "headers": {"Content-Type": "text/html"}},
            "not JSON (text/html): <html><title>Captive portal</title></html>",
            id="HTML page",
        ),
        pytest.param({"status_code": 204, "text": ""}, "HTTP 204 with an empty body (no content type).", id="204"),
        pytest.param(
            {"text": "", "headers": {"Content-Type": "text/plain"}},
            "HTTP 200 with an empty body (text/plain). Check the API URL parameter",
            id="empty body",
        ),
        pytest.param(
            {"text": " \n ", "headers": {"Content-Type": "text/plain"}},
            "HTTP 200 with an empty body (text/plain).",
            id="blank body reads as empty",
        ),
        pytest.param({"text": "x" * 1000}, "x" * 300 + "...", id="long body is shortened"),
    ],
)
def test_bad_success_bodies(client: Client, requests_mock: Any, kwargs: dict[str, Any], expected: str) -> None:
    """
    Given: a 2xx answer that does not hold exactly one translation.
    When: the client translates.
    Then: BadResponseError says what was wrong with the answer.
    """
    requests_mock.post(YODA_URL, **kwargs)

    with pytest.raises(BadResponseError) as raised:
        client.translate(TEXT)

    assert expected in str(raised.value), f"{expected!r} missing from: {raised.value}"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"json": ["Lost a planet,  master obiwan has."]}, id="JSON list"),
        pytest.param({"json": load("error_500_internal_server_error.json")}, id="error envelope with 200"),
        pytest.param({"json": load("translate_zero_total.json")}, id="total 0"),
        pytest.param({"json": load("translate_missing_translated.json")}, id="no translated"),
    ],
)
def test_bad_success_bodies_say_what_to_do(client: Client, requests_mock: Any, kwargs: dict[str, Any]) -> None:
    """
    Given: a JSON 2xx answer that is not a translation (not an object, an error, total not 1, no translation).
    When: the client translates.
    Then: the message ends with what to do: try again, then check the API URL parameter against the real URL.
    """
    requests_mock.post(YODA_URL, **kwargs)

    with pytest.raises(BadResponseError) as raised:
        client.translate(TEXT)

    action = (
        "Try again later; if it keeps happening, check the API URL parameter "
        "(it should be https://api.funtranslations.com/translate/)."
    )
    assert str(raised.value).endswith(action), f"the message does not end with what to do: {raised.value}"


@pytest.mark.parametrize(
    ("exception", "verify", "expected"),
    [
        pytest.param(
            requests.exceptions.ReadTimeout("Read timed out."),
            True,
            "did not answer within 30 seconds",
            id="read timeout",
        ),
        pytest.param(
            requests.exceptions.ConnectionError("Failed to resolve 'api.funtranslations.com'"),
            True,
            "Verify that the server URL parameter is correct",
            id="DNS failure",
        ),
        pytest.param(requests.exceptions.ConnectTimeout(), True, "Connection Timeout Error", id="connect timeout"),
        pytest.param(requests.exceptions.SSLError(), True, "Trust any certificate", id="bad certificate"),
        pytest.param(
            requests.exceptions.SSLError("handshake failure"),
            False,
            "SSLError: handshake failure",
            id="TLS with trust any",
        ),
        pytest.param(requests.exceptions.ProxyError(), True, "Use system proxy", id="proxy"),
        pytest.param(
            requests.exceptions.ChunkedEncodingError("Connection broken"),
            True,
            "ChunkedEncodingError",
            id="broken transfer",
        ),
    ],
)
def test_connection_failures(requests_mock: Any, exception: Exception, verify: bool, expected: str) -> None:
    """
    Given: the request fails below HTTP (timeouts, DNS, TLS, proxy, broken transfer).
    When: the client translates.
    Then: ConnectionFailedError carries a sentence, never the raw requests exception.
    """
    requests_mock.post(YODA_URL, exc=exception)
    client = Client(BASE_URL, api_key=None, verify=verify, proxy=False)

    with pytest.raises(ConnectionFailedError) as raised:
        client.translate(TEXT)

    assert expected in str(raised.value), f"{expected!r} missing from: {raised.value}"


def test_requests_quoting_the_key_is_redacted(requests_mock: Any) -> None:
    """
    Given: a failure below HTTP whose requests message quotes the key (as InvalidHeader does).
    When: the client translates.
    Then: the error message shows a placeholder instead of the key.
    """
    requests_mock.post(YODA_URL, exc=requests.exceptions.InvalidHeader(f"Invalid header value: {API_KEY!r}"))

    with pytest.raises(ConnectionFailedError) as raised:
        Client(BASE_URL, api_key=API_KEY, verify=True, proxy=False).translate(TEXT)

    assert API_KEY not in str(raised.value), f"key leaked: {raised.value}"
    assert "Invalid header value: '<API key>'" in str(raised.value), f"no placeholder: {raised.value}"


def test_service_echoing_the_key_is_redacted(requests_mock: Any) -> None:
    """
    Given: a service (or proxy) that quotes the API key in its error message.
    When: the client translates.
    Then: the error message shows a placeholder instead of the key.
    """
    requests_mock.post(YODA_URL, status_code=401, json={"error": {"code": 401, "message": f"Bad key {API_KEY}"}})

    with pytest.raises(ApiKeyError) as raised:
        Client(BASE_URL, api_key=API_KEY, verify=True, proxy=False).translate(TEXT)

    assert API_KEY not in str(raised.value), f"key leaked: {raised.value}"
    assert "Bad key <API key>" in str(raised.value), f"no placeholder: {raised.value}"


# ---- parameters and arguments --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(BASE_URL, BASE_URL, id="default"),
        pytest.param("https://api.funtranslations.com/translate", BASE_URL, id="slash added"),
        pytest.param(" http://127.0.0.1:8080/translate// ", "http://127.0.0.1:8080/translate/", id="spaces, slashes"),
    ],
)
def test_parse_base_url(value: str, expected: str) -> None:
    """
    Given: an API URL parameter with or without a trailing slash.
    When: it is parsed.
    Then: it ends with one slash, so <url>/yoda keeps the /translate/ segment.
    """
    assert parse_base_url(value) == expected, "wrong base URL"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("api.funtranslations.com/translate/", id="no scheme"),
        pytest.param("ftp://api.funtranslations.com/", id="ftp"),
    ],
)
def test_parse_base_url_rejects(value: Any) -> None:
    """
    Given: an API URL parameter that is not an http(s) URL.
    When: it is parsed.
    Then: ConfigurationError shows the expected form.
    """
    with pytest.raises(ConfigurationError, match=r"must be an http\(s\) URL such as https://api.funtranslations"):
        parse_base_url(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"identifier": "", "password": API_KEY}, API_KEY, id="credentials"),
        pytest.param({"identifier": "", "password": f" {API_KEY}\n"}, API_KEY, id="pasted with a newline"),
        pytest.param({"identifier": "", "password": ""}, None, id="empty password"),
        pytest.param({}, None, id="empty credentials"),
        pytest.param(None, None, id="missing"),
        pytest.param(API_KEY, API_KEY, id="plain string"),
    ],
)
def test_parse_api_key(value: Any, expected: str | None) -> None:
    """
    Given: the API Key parameter as the engine (or a hand-written params file) passes it.
    When: it is parsed.
    Then: it gives the key without surrounding whitespace, or None for the free tier.
    """
    assert parse_api_key(value) == expected, f"{value!r} misread"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"password": "two words"}, id="space inside"),
        pytest.param({"password": "clé-secrète"}, id="not ASCII"),
        pytest.param({"password": 12345}, id="not a string"),
        pytest.param(["key"], id="a list"),
    ],
)
def test_parse_api_key_rejects(value: Any) -> None:
    """
    Given: an API Key that cannot be sent in an HTTP header.
    When: it is parsed.
    Then: ConfigurationError says what to do, without quoting the value.
    """
    with pytest.raises(ConfigurationError, match="Paste the key again") as raised:
        parse_api_key(value)

    assert "two words" not in str(raised.value), "the key must not be quoted"
    assert "secr" not in str(raised.value), "the key must not be quoted"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(True, True, id="bool true"),
        pytest.param("false", False, id="string false"),
        pytest.param("true", True, id="string true"),
        pytest.param(None, False, id="missing"),
        pytest.param("", False, id="empty"),
    ],
)
def test_parse_bool_param(value: Any, expected: bool) -> None:
    """
    Given: a checkbox parameter as the engine may pass it.
    When: it is parsed.
    Then: it gives the boolean; a missing value is unchecked.
    """
    assert parse_bool_param(value, "Use system proxy settings") is expected, f"{value!r} misread"


def test_parse_bool_param_rejects() -> None:
    """
    Given: a checkbox parameter that is neither true nor false.
    When: it is parsed.
    Then: ConfigurationError names the parameter.
    """
    with pytest.raises(ConfigurationError, match='"Use system proxy settings" parameter must be true or false'):
        parse_bool_param("maybe", "Use system proxy settings")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, 24, id="missing: default"),
        pytest.param(" ", 24, id="blank: default"),
        pytest.param("0", 0, id="off"),
        pytest.param(" 12 ", 12, id="string"),
        pytest.param(48, 48, id="int"),
        pytest.param("8760", 8760, id="a year"),
    ],
)
def test_parse_cache_hours(value: Any, expected: int) -> None:
    """
    Given: a cache lifetime parameter.
    When: it is parsed.
    Then: it gives whole hours, 24 when unset.
    """
    assert parse_cache_hours(value) == expected, f"{value!r} misread"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("-1", id="negative"),
        pytest.param("1.5", id="fraction"),
        pytest.param("a day", id="words"),
        pytest.param(True, id="bool"),
        pytest.param("8761", id="over a year"),
        pytest.param("9" * 5000, id="too many digits for int()"),
        pytest.param("\u0661\u0662", id="non-ASCII digits"),
    ],
)
def test_parse_cache_hours_rejects(value: Any) -> None:
    """
    Given: a cache lifetime that is not a whole number of hours.
    When: it is parsed.
    Then: ConfigurationError says what is accepted.
    """
    with pytest.raises(ConfigurationError, match=r"whole number of hours from 0 to 8760 \(0 turns the cache off\)"):
        parse_cache_hours(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "The text argument is empty", id="empty"),
        pytest.param(" \n\t ", "The text argument is empty", id="whitespace only"),
        pytest.param(None, "got nothing", id="missing"),
        pytest.param(["a", "b"], "got list", id="list"),
        pytest.param("a" * (MAX_TEXT_LENGTH + 1), "1001 characters long; the limit is 1000", id="too long"),
        pytest.param("Lost a planet \ud83d", "not valid Unicode at position 14", id="lone surrogate"),
    ],
)
def test_bad_text_fails_before_any_request(client: Client, requests_mock: Any, text: Any, expected: str) -> None:
    """
    Given: a text argument that cannot be translated.
    When: the translate command runs.
    Then: InvalidTextError says what to change, and no request is made.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    with pytest.raises(InvalidTextError) as raised:
        translate_command(client, {"text": text}, cache_hours=24, now=NOW)

    assert expected in str(raised.value), f"{expected!r} missing from: {raised.value}"
    assert not requests_mock.called, "no request may be made for bad input"


def test_text_at_the_limit_is_sent(client: Client, requests_mock: Any) -> None:
    """
    Given: a text of exactly the limit.
    When: the translate command runs.
    Then: it is sent.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    translate_command(client, {"text": "a" * MAX_TEXT_LENGTH}, cache_hours=0, now=NOW)

    assert requests_mock.call_count == 1, "a text at the limit must be sent"


# ---- translate_command and test_module -----------------------------------------------------------------------------


def test_translate_command_outputs(client: Client, requests_mock: Any) -> None:
    """
    Given: the service translates the text.
    When: the translate command runs.
    Then: outputs under YodaSpeak.TheForce keyed by Original, the raw response, and a one-row table.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    results = translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)

    assert isinstance(results, CommandResults), "a CommandResults is expected"
    assert results.outputs_prefix == "YodaSpeak.TheForce", f"prefix {results.outputs_prefix}"
    assert results.outputs_key_field == "Original", f"key field {results.outputs_key_field}"
    assert outputs_of(results) == {"Original": TEXT, "Translation": TRANSLATED}, f"outputs {results.outputs}"
    assert results.raw_response == load("translate_success.json"), "raw response must be the API's answer"
    assert results.readable_output.startswith("### Yoda Says...\n"), f"title missing: {results.readable_output}"
    assert "cache" not in results.readable_output, "a fresh translation must not claim to come from the cache"
    assert_one_row(results.readable_output, TEXT, TRANSLATED)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"json": load("translate_success.json")}, "ok", id="ok"),
        pytest.param(
            {"status_code": 401, "json": load("error_401_unauthorized.json")},
            "Authorization failed: FunTranslations refused the API key (HTTP 401: Unauthorized). Check the API Key",
            id="401",
        ),
        pytest.param(
            {"status_code": 429, "json": load("error_429_rate_limit.json")},
            "The URL works, but the rate limit is reached: FunTranslations rate limit reached",
            id="429",
        ),
        pytest.param(
            {"status_code": 404, "json": load("error_404_not_found.json")},
            "The API URL parameter does not lead to the FunTranslations Yoda translator: FunTranslations has no",
            id="404",
        ),
        pytest.param(
            {"text": "<html></html>"},
            "The API URL parameter does not lead to the FunTranslations Yoda translator: FunTranslations answered",
            id="not JSON",
        ),
        pytest.param(
            {"status_code": 502, "text": "Bad Gateway"},
            "The settings look right, but the service is failing: FunTranslations failed on its side (HTTP 502",
            id="502",
        ),
        pytest.param(
            {"exc": requests.exceptions.ConnectionError("Connection refused")},
            "Connection failed: Could not reach FunTranslations at https://api.funtranslations.com/translate/",
            id="refused",
        ),
    ],
)
def test_test_module(client: Client, requests_mock: Any, kwargs: dict[str, Any], expected: str) -> None:
    """
    Given: the service answers, fails, or cannot be reached.
    When: test-module runs.
    Then: 'ok' on a translation, otherwise a message that starts with what to fix.
    """
    requests_mock.post(YODA_URL, **kwargs)

    message = run_test_module(client)

    assert message.startswith(expected), f"test-module said: {message}"
    assert sent_text(requests_mock.last_request) == "Master Obiwan has lost a planet.", "fixed phrase expected"


# ---- the cache -----------------------------------------------------------------------------------------------------


def entry(text: str, translated: str, stored_at: float) -> dict[str, Any]:
    """A cache entry as the integration stores it."""
    return {
        "key": hashlib.sha256(text.encode()).hexdigest(),
        "text": text,
        "translated": translated,
        "stored_at": stored_at,
    }


def cache_of(*entries: Any) -> dict[str, Any]:
    """An integration context holding these cache entries."""
    return {CACHE_CONTEXT_KEY: {"version": 1, "entries": list(entries)}}


def test_cache_hit_within_lifetime(client: Client, requests_mock: Any) -> None:
    """
    Given: a text translated an hour ago, with a 24-hour cache.
    When: the same text is translated again, with different spacing.
    Then: no request is made, the outputs are the same, and the table says it came from the cache.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))
    first = translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)

    second = translate_command(
        client, {"text": "  Master   Obiwan has\nlost a planet. "}, cache_hours=24, now=NOW + HOUR
    )

    assert requests_mock.call_count == 1, "the second translation must come from the cache"
    second_outputs = outputs_of(second)
    assert second_outputs["Translation"] == outputs_of(first)["Translation"] == TRANSLATED, "cached outputs differ"
    assert second_outputs["Original"] == "  Master   Obiwan has\nlost a planet. ", "Original is the text as given"
    assert second.raw_response == first.raw_response == load("translate_success.json"), (
        f"a cache hit must return the API's answer for the normalised text, got {second.raw_response!r}"
    )
    assert "From the cache: translated at 2027-01-15T08:00:00Z" in second.readable_output, second.readable_output
    assert_one_row(second.readable_output, second_outputs["Original"], TRANSLATED)


def test_cache_sends_and_stores_the_normalised_text(client: Client, requests_mock: Any) -> None:
    """
    Given: a text with runs of whitespace.
    When: it is translated.
    Then: the service gets the normalised text, and the cache stores it under its SHA-256.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    translate_command(client, {"text": "\tMaster Obiwan  has lost\n a planet.  "}, cache_hours=24, now=NOW)

    assert sent_text(requests_mock.last_request) == TEXT, "the normalised text must be sent"
    assert demisto.integrationContext == cache_of(entry(TEXT, TRANSLATED, NOW)), "cache format changed"
    assert cache_key(TEXT) == hashlib.sha256(TEXT.encode()).hexdigest(), "key must be the SHA-256 of the text"


def test_expired_entry_is_refreshed(client: Client, requests_mock: Any) -> None:
    """
    Given: a translation cached 25 hours ago, with a 24-hour lifetime.
    When: the text is translated again.
    Then: the service is asked and the entry is stored again with the new time.
    """
    demisto.integrationContext = cache_of(entry(TEXT, "Old translation, this is.", NOW - 25 * HOUR))
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    results = translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)

    assert requests_mock.call_count == 1, "an expired entry must not be used"
    assert outputs_of(results)["Translation"] == TRANSLATED, "the new translation must be returned"
    assert demisto.integrationContext == cache_of(entry(TEXT, TRANSLATED, NOW)), "the entry was not refreshed"


def test_cache_off(client: Client, requests_mock: Any) -> None:
    """
    Given: cache_hours 0 and a fresh entry for the text.
    When: the text is translated.
    Then: the service is asked and the integration context is not touched.
    """
    stored = cache_of(entry(TEXT, "Old translation, this is.", NOW - 60))
    demisto.integrationContext = stored
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    results = translate_command(client, {"text": TEXT}, cache_hours=0, now=NOW)

    assert requests_mock.call_count == 1, "with the cache off every text must be sent"
    assert outputs_of(results)["Translation"] == TRANSLATED, "the service's translation must be returned"
    assert demisto.integrationContext is stored, "the cache must not be written when it is off"


@pytest.mark.parametrize(
    ("cache_hours", "stored"),
    [
        pytest.param(24, {}, id="nothing cached"),
        pytest.param(0, cache_of(entry(TEXT, TRANSLATED, NOW - 60)), id="cache off"),
    ],
)
def test_rate_limit_without_cached_translation_fails(
    client: Client, requests_mock: Any, cache_hours: int, stored: dict[str, Any]
) -> None:
    """
    Given: the service answers 429 and no usable cached translation exists.
    When: the text is translated.
    Then: the RateLimitError reaches the caller.
    """
    demisto.integrationContext = stored
    requests_mock.post(YODA_URL, status_code=429, json=load("error_429_rate_limit.json"))

    with pytest.raises(RateLimitError, match="56 minutes and 54 seconds"):
        translate_command(client, {"text": TEXT}, cache_hours=cache_hours, now=NOW)


def test_rate_limit_falls_back_to_expired_entry(client: Client, requests_mock: Any) -> None:
    """
    Given: a translation cached 3 days ago and a service that answers 429.
    When: the text is translated.
    Then: the expired translation is returned with a warning that quotes the wait.
    """
    demisto.integrationContext = cache_of(entry(TEXT, TRANSLATED, NOW - 72 * HOUR))
    requests_mock.post(YODA_URL, status_code=429, json=load("error_429_rate_limit.json"))

    results = translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)

    assert outputs_of(results) == {"Original": TEXT, "Translation": TRANSLATED}, f"outputs {results.outputs}"
    assert results.raw_response == load("translate_success.json"), (
        f"the fallback must return the API's answer rebuilt from the cache, got {results.raw_response!r}"
    )
    readable = results.readable_output
    assert "Warning: FunTranslations rate limit reached" in readable, f"no warning: {readable}"
    assert "Try again in 56 minutes and 54 seconds" in readable, f"no wait: {readable}"
    assert "from 2027-01-12T08:00:00Z, older than the 24-hour cache lifetime" in readable, readable
    assert_one_row(readable, TEXT, TRANSLATED)


def test_cache_is_bounded(client: Client, requests_mock: Any) -> None:
    """
    Given: a full cache of MAX_CACHE_ENTRIES texts.
    When: a new text is translated.
    Then: the oldest entry is dropped and the new one is the newest.
    """
    full = [entry(f"text number {n}", f"number {n}, text", NOW - 1000 + n) for n in range(MAX_CACHE_ENTRIES)]
    demisto.integrationContext = cache_of(*full)
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)

    entries = demisto.integrationContext[CACHE_CONTEXT_KEY]["entries"]
    assert len(entries) == MAX_CACHE_ENTRIES, f"{len(entries)} entries stored"
    assert entries[0]["text"] == "text number 1", "the oldest entry must be dropped first"
    assert entries[-1]["text"] == TEXT, "the new entry must be the newest"


def test_add_to_cache_replaces_an_entry() -> None:
    """
    Given: a cache holding a text.
    When: the text is stored again.
    Then: there is still one entry for it, now the newest.
    """
    older = [entry(TEXT, "Old", NOW - 10), entry("other", "Other, it is", NOW - 5)]

    entries = add_to_cache(older, TEXT, TRANSLATED, NOW)  # type: ignore[arg-type]

    assert [e["text"] for e in entries] == ["other", TEXT], f"order {entries}"
    assert entries[-1]["translated"] == TRANSLATED, "the entry was not replaced"


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(None, id="context None"),
        pytest.param(["not", "a", "dict"], id="context list"),
        pytest.param({CACHE_CONTEXT_KEY: "garbage"}, id="cache a string"),
        pytest.param({CACHE_CONTEXT_KEY: {"version": 2, "entries": [entry(TEXT, "v2", NOW)]}}, id="other version"),
        pytest.param({CACHE_CONTEXT_KEY: {"version": 1, "entries": "x"}}, id="entries a string"),
        pytest.param(cache_of({**entry(TEXT, "Bad", NOW), "key": "0" * 64}), id="key does not match text"),
        pytest.param(cache_of({**entry(TEXT, "Bad", NOW), "key": 7}), id="key not a string"),
        pytest.param(cache_of({k: v for k, v in entry(TEXT, "Bad", NOW).items() if k != "stored_at"}), id="no time"),
        pytest.param(cache_of({**entry(TEXT, "Bad", NOW), "extra": 1}), id="extra field"),
        pytest.param(cache_of(entry(TEXT, "Bad", NOW + 10 * HOUR)), id="from the future"),
        pytest.param(cache_of(entry(TEXT, "Bad", math.nan)), id="time NaN"),
        pytest.param(cache_of(entry(TEXT, "Bad", -1)), id="time negative"),
        pytest.param(cache_of({**entry(TEXT, "Bad", NOW), "stored_at": True}), id="time bool"),
        pytest.param(cache_of({**entry(TEXT, "Bad", NOW), "stored_at": "yesterday"}), id="time string"),
        pytest.param(cache_of({**entry(TEXT, "", NOW)}), id="empty translation"),
        pytest.param(cache_of({**entry(TEXT, "Bad", NOW), "text": 5}), id="text not a string"),
        pytest.param(
            cache_of({"key": cache_key(TEXT), "text": "\ud800", "translated": "Bad", "stored_at": NOW}), id="surrogate"
        ),
        pytest.param(cache_of("not an entry"), id="entry a string"),
    ],
)
def test_corrupt_or_foreign_cache_is_ignored(client: Client, requests_mock: Any, stored: Any) -> None:
    """
    Given: an integration context that is not a valid cache, or holds invalid entries.
    When: a text is translated.
    Then: the service is asked, the translation returned, and a valid cache written.
    """
    demisto.integrationContext = stored
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    results = translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)

    assert requests_mock.call_count == 1, "an invalid entry must not be used"
    assert outputs_of(results)["Translation"] == TRANSLATED, f"outputs {results.outputs}"
    assert demisto.integrationContext[CACHE_CONTEXT_KEY] == cache_of(entry(TEXT, TRANSLATED, NOW))[CACHE_CONTEXT_KEY]


def test_cache_keeps_other_keys(client: Client, requests_mock: Any) -> None:
    """
    Given: an integration context with keys the cache does not own.
    When: a translation is stored.
    Then: those keys are kept.
    """
    demisto.integrationContext = {"last_run": {"time": "2027-01-01T00:00:00Z"}}
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)

    assert demisto.integrationContext["last_run"] == {"time": "2027-01-01T00:00:00Z"}, "a foreign key was lost"
    assert CACHE_CONTEXT_KEY in demisto.integrationContext, "the cache was not written"


# ---- readable output -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a | b || c", id="pipes"),
        pytest.param("line one\nline two\r\nline three\rfour", id="newlines"),
        pytest.param("run `rm -rf /` now", id="backticks"),
        pytest.param("a \\| b \\\\| c \\", id="backslashes before pipes"),
        pytest.param("<b>bold</b> </td></tr></table> &lt; &amp;", id="HTML"),
        pytest.param("**bold** _it_ [link](https://example.com) # h !x", id="markdown"),
        pytest.param("|Original|Translation|\n|---|---|\n| x | y |", id="a table inside"),
    ],
)
def test_table_survives_markdown_and_html(client: Client, requests_mock: Any, text: str) -> None:
    """
    Given: a text and translation full of markdown and HTML that would break a War Room table.
    When: the translate command runs.
    Then: the table keeps one row of two cells, and each cell shows the text exactly.
    """
    response = {"success": {"total": 1}, "contents": {"translated": text, "text": text, "translation": "yoda"}}
    requests_mock.post(YODA_URL, json=response)

    results = translate_command(client, {"text": text}, cache_hours=0, now=NOW)

    assert_one_row(results.readable_output, text, text.strip())


# ---- main() through demistomock ------------------------------------------------------------------------------------


PARAMS = {
    "url": BASE_URL,
    "apikey": {"identifier": "", "password": API_KEY},
    "insecure": False,
    "proxy": False,
    "cache_hours": "24",
}


def run_main(mocker: Any, command: str, args: dict[str, Any] | None = None, params: Any = None) -> dict[str, Any]:
    """Runs main() like the engine does; returns the entries, the exit and every log line."""
    mocker.patch.object(demisto, "params", return_value=PARAMS if params is None else params)
    mocker.patch.object(demisto, "args", return_value=args or {})
    mocker.patch.object(demisto, "command", return_value=command)
    results = mocker.patch.object(demisto, "results")
    logs = [mocker.patch.object(demisto, name) for name in ("debug", "info", "error", "log")]
    exited = None
    try:
        YodaSpeak.main()
    except SystemExit as exit_:
        exited = exit_
    return {
        "entries": [call.args[0] for call in results.call_args_list],
        "exit": exited,
        "logs": [str(call.args) for log in logs for call in log.call_args_list],
    }


def test_main_translate(mocker: Any, requests_mock: Any) -> None:
    """
    Given: an instance with an API key and the text argument.
    When: main() runs yoda-speak-translate.
    Then: one note entry with the DT-keyed context, the raw response, the table; the key is sent but never shown.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    run = run_main(mocker, "yoda-speak-translate", {"text": TEXT})

    assert run["exit"] is None, "a successful command must not exit"
    [entry_] = run["entries"]
    assert entry_["Type"] == 1, f"entry type {entry_['Type']}"
    assert entry_["EntryContext"] == {DT_KEY: {"Original": TEXT, "Translation": TRANSLATED}}, entry_["EntryContext"]
    assert entry_["Contents"] == load("translate_success.json"), "Contents must be the raw API response"
    assert requests_mock.last_request.headers[API_KEY_HEADER] == API_KEY, "the configured key was not sent"
    assert "Command being called is yoda-speak-translate" in " ".join(run["logs"]), "the command is not logged"
    assert API_KEY not in json.dumps(run, default=str), "the API key appears in an entry or a log line"
    assert API_KEY not in json.dumps(demisto.integrationContext), "the API key appears in the integration context"


def test_main_test_module(mocker: Any, requests_mock: Any) -> None:
    """
    Given: a working instance.
    When: main() runs test-module.
    Then: it returns 'ok'.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    run = run_main(mocker, "test-module")

    assert run["entries"] == ["ok"], f"entries {run['entries']}"


FAILED_TRANSLATE = "Failed to execute yoda-speak-translate command.\nError: "


@pytest.mark.parametrize(
    ("text", "response", "cause"),
    [
        pytest.param(
            TEXT,
            {"status_code": 400, "json": load("error_400_text_missing.json")},
            "FunTranslations rejected the request (HTTP 400: Bad Request: text is missing.)",
            id="400",
        ),
        pytest.param(
            TEXT,
            {"status_code": 401, "json": load("error_401_unauthorized.json")},
            "FunTranslations refused the API key (HTTP 401: Unauthorized)",
            id="401",
        ),
        pytest.param(
            TEXT,
            {"status_code": 403, "json": load("error_403_forbidden.json")},
            "FunTranslations refused the API key (HTTP 403: Forbidden)",
            id="403",
        ),
        pytest.param(
            TEXT,
            {"status_code": 404, "json": load("error_404_not_found.json")},
            f"FunTranslations has no Yoda translator at {YODA_URL} (HTTP 404: Not Found)",
            id="404",
        ),
        pytest.param(
            TEXT,
            {"status_code": 429, "json": load("error_429_rate_limit.json")},
            'FunTranslations rate limit reached (HTTP 429). The service said: "Too Many Requests: Rate limit of 5 '
            'requests per hour exceeded. Please wait for 56 minutes and 54 seconds." Try again in 56 minutes and 54 '
            "seconds",
            id="429 with nothing cached",
        ),
        pytest.param(
            TEXT,
            {"status_code": 500, "json": load("error_500_internal_server_error.json")},
            "FunTranslations failed on its side (HTTP 500: Internal Server Error)",
            id="500",
        ),
        pytest.param(
            TEXT,
            {"status_code": 503, "json": load("error_503_service_unavailable.json")},
            "FunTranslations failed on its side (HTTP 503: Service Unavailable)",
            id="503",
        ),
        pytest.param(
            TEXT,
            {"text": "<html><title>Captive portal</title></html>", "headers": {"Content-Type": "text/html"}},
            "FunTranslations answered HTTP 200 with a body that is not JSON (text/html)",
            id="non-JSON body",
        ),
        pytest.param(
            TEXT,
            {"json": load("translate_zero_total.json")},
            "FunTranslations did not translate the text (success.total is 0, expected 1)",
            id="success.total 0",
        ),
        pytest.param(
            TEXT,
            {"json": load("translate_missing_translated.json")},
            "FunTranslations answered without a translation (contents.translated is missing or empty)",
            id="translated missing",
        ),
        pytest.param(
            TEXT,
            {"json": load("error_500_internal_server_error.json")},
            "FunTranslations answered HTTP 200 but reported an error: Internal Server Error",
            id="error key on a 200",
        ),
        pytest.param(
            TEXT,
            {"exc": requests.exceptions.ReadTimeout("Read timed out.")},
            "FunTranslations did not answer within 30 seconds",
            id="read timeout",
        ),
        pytest.param(
            "  \n ",
            {"json": load("translate_success.json")},
            "The text argument is empty",
            id="empty text",
        ),
    ],
)
def test_main_translate_failures(
    mocker: Any, requests_mock: Any, text: str, response: dict[str, Any], cause: str
) -> None:
    """
    Given: an instance with nothing cached, and a service failure or an empty text.
    When: main() runs yoda-speak-translate.
    Then: return_error writes exactly one error entry (Type 4), the command's failure line followed by the cause,
        and exits; nothing else is written and the API key appears nowhere.
    """
    requests_mock.post(YODA_URL, **response)

    run = run_main(mocker, TRANSLATE_COMMAND, {"text": text})

    assert isinstance(run["exit"], SystemExit), f"return_error must exit; entries: {run['entries']}"
    assert len(run["entries"]) == 1, f"expected exactly one entry, got {run['entries']}"
    [entry_] = run["entries"]
    assert entry_["Type"] == 4, f"not an error entry: {entry_}"
    assert entry_["Contents"].startswith(FAILED_TRANSLATE + cause), f"error entry says: {entry_['Contents']!r}"
    assert API_KEY not in json.dumps(run, default=str), "the API key appears in an entry or a log line"


@pytest.mark.parametrize(
    ("command", "args", "params", "status", "body", "expected"),
    [
        pytest.param(
            "yoda-speak-translate",
            {"text": TEXT},
            None,
            401,
            {"error": {"code": 401, "message": f"Unauthorized: key {API_KEY} is not valid"}},
            "Failed to execute yoda-speak-translate command.\nError: FunTranslations refused the API key (HTTP 401: "
            "Unauthorized: key <API key> is not valid).",
            id="401 echoing the key",
        ),
        pytest.param(
            "yoda-speak-scream",
            {},
            None,
            200,
            load("translate_success.json"),
            "Failed to execute yoda-speak-scream command.\nError: Command yoda-speak-scream is not implemented.",
            id="unknown command",
        ),
        pytest.param(
            "test-module",
            {},
            {**PARAMS, "url": ""},
            200,
            load("translate_success.json"),
            "Failed to execute test-module command.\nError: The API URL parameter must be an http(s) URL",
            id="empty URL",
        ),
        pytest.param(
            "test-module",
            {},
            {**PARAMS, "cache_hours": "forever"},
            200,
            load("translate_success.json"),
            'Failed to execute test-module command.\nError: The "Cache lifetime (hours)" parameter must be',
            id="bad cache hours",
        ),
        pytest.param(
            "test-module",
            {},
            {**PARAMS, "apikey": {"identifier": "", "password": "two words"}},
            200,
            load("translate_success.json"),
            "Failed to execute test-module command.\nError: The API Key parameter must be the key of your",
            id="bad API key",
        ),
    ],
)
def test_main_failures(
    mocker: Any,
    requests_mock: Any,
    command: str,
    args: dict[str, Any],
    params: Any,
    status: int,
    body: Any,
    expected: str,
) -> None:
    """
    Given: a service echoing the key, a bad parameter or an unknown command.
    When: main() runs.
    Then: return_error writes one error entry starting with 'Failed to execute <command> command.' and exits;
        the API key appears nowhere.
    """
    requests_mock.post(YODA_URL, status_code=status, json=body)

    run = run_main(mocker, command, args, params)

    assert isinstance(run["exit"], SystemExit), "return_error must exit"
    assert run["exit"].code == 0, f"return_error exits with {run['exit'].code}"
    [entry_] = run["entries"]
    assert entry_["Type"] == 4, f"not an error entry: {entry_}"
    assert entry_["ContentsFormat"] == "text", f"not a text entry: {entry_}"
    assert entry_["Contents"].startswith(expected), f"error entry says: {entry_['Contents']}"
    assert "Traceback" not in entry_["Contents"], "no traceback in the War Room"
    assert API_KEY not in json.dumps(run, default=str), "the API key appears in an entry or a log line"


def test_main_minimal_params(mocker: Any, requests_mock: Any) -> None:
    """
    Given: an instance with only the URL set and no API key.
    When: main() runs test-module.
    Then: it returns 'ok' and sends no API key header.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    run = run_main(mocker, "test-module", {}, {"url": BASE_URL, "apikey": None})

    assert run["entries"] == ["ok"], f"minimal params failed: {run['entries']}"
    assert API_KEY_HEADER not in requests_mock.last_request.headers, "no key configured, no header expected"


@pytest.mark.parametrize(
    "second_text",
    [
        pytest.param(TEXT, id="same text"),
        pytest.param("  Master   Obiwan has\nlost a planet. ", id="same text, other spacing"),
    ],
)
def test_main_cache_hit_contents_match_the_live_call(mocker: Any, requests_mock: Any, second_text: str) -> None:
    """
    Given: a text translated once through main(), with the default 24-hour cache.
    When: main() translates the same text again (possibly spaced differently), from the cache.
    Then: the second entry's Contents equal the live call's Contents: the API's answer, not the cache record.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))
    live = run_main(mocker, TRANSLATE_COMMAND, {"text": TEXT})

    cached = run_main(mocker, TRANSLATE_COMMAND, {"text": second_text})

    assert requests_mock.call_count == 1, "the second translation must come from the cache"
    [live_entry], [cached_entry] = live["entries"], cached["entries"]
    assert "From the cache" in cached_entry["HumanReadable"], f"not a cache hit: {cached_entry['HumanReadable']}"
    assert cached_entry["Contents"] == live_entry["Contents"] == load("translate_success.json"), (
        f"cache hit Contents {cached_entry['Contents']!r} differ from the live call's {live_entry['Contents']!r}"
    )


@pytest.mark.parametrize(
    ("requests_timeout", "within"),
    [
        pytest.param(None, "30 seconds", id="default timeout"),
        pytest.param("1", "1 second", id="REQUESTS_TIMEOUT=1: singular"),
        pytest.param("0.5", "0.5 seconds", id="REQUESTS_TIMEOUT=0.5"),
    ],
)
def test_main_read_timeout(
    mocker: Any, requests_mock: Any, monkeypatch: pytest.MonkeyPatch, requests_timeout: str | None, within: str
) -> None:
    """
    Given: a service that never answers (read timeout, which CommonServerPython does not wrap), with the default
        timeout or the engine's REQUESTS_TIMEOUT.
    When: main() runs the translate command.
    Then: the error entry is a sentence that states the wait correctly, not a stack trace.
    """
    if requests_timeout is not None:
        monkeypatch.setenv("REQUESTS_TIMEOUT", requests_timeout)
    requests_mock.post(YODA_URL, exc=requests.exceptions.ReadTimeout("Read timed out."))

    run = run_main(mocker, "yoda-speak-translate", {"text": TEXT})

    [entry_] = run["entries"]
    assert entry_["Contents"] == (
        f"Failed to execute yoda-speak-translate command.\nError: FunTranslations did not answer within {within}. "
        "The service may be overloaded: try again later. If it keeps happening, check the proxy settings."
    ), f"error entry says: {entry_['Contents']}"


# ---- contract between YodaSpeak.yml and the code -------------------------------------------------------------------

YML = yaml.safe_load((HERE / "YodaSpeak.yml").read_text(encoding="utf-8"))
YML_PARAMS = {param["name"]: param for param in YML["configuration"]}
YML_COMMANDS = {command["name"]: command for command in YML["script"]["commands"]}
# How the code uses each parameter: 9 = credentials ({"identifier", "password"}), 8 = checkbox, 0 = short text.
EXPECTED_PARAM_TYPES = {"url": 0, "apikey": 9, "insecure": 8, "proxy": 8, "cache_hours": 0}


class RecordingDict(dict[str, Any]):
    """A dict that records the keys the code reads."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


def yml_param_value(param: dict[str, Any]) -> Any:
    """A value of the shape the engine passes for a YAML parameter type."""
    if param["type"] == 9:
        return {"identifier": "", "password": API_KEY}
    if param["type"] == 8:
        return param.get("defaultvalue", "false")
    return param.get("defaultvalue", "")


def test_contract_params(mocker: Any, requests_mock: Any) -> None:
    """
    Given: parameters built from YodaSpeak.yml, in the shapes the engine passes.
    When: main() runs every command.
    Then: the code reads exactly the YAML's parameters, each declared with the type the code uses, and it works.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))
    params = RecordingDict({name: yml_param_value(param) for name, param in YML_PARAMS.items()})

    for command in ["test-module", *YML_COMMANDS]:
        run_main(mocker, command, {"text": TEXT}, params)

    assert params.read == set(YML_PARAMS), f"read {sorted(params.read)}, YAML declares {sorted(YML_PARAMS)}"
    declared = {name: YML_PARAMS[name]["type"] for name in params.read}
    assert declared == EXPECTED_PARAM_TYPES, f"YAML types {declared}, the code uses {EXPECTED_PARAM_TYPES}"
    assert requests_mock.last_request.headers[API_KEY_HEADER] == API_KEY, "a type-9 apikey must be read as a key"


def test_contract_commands_and_outputs(mocker: Any, requests_mock: Any) -> None:
    """
    Given: the commands YodaSpeak.yml declares.
    When: main() runs each one with the arguments the YAML declares.
    Then: every command is dispatched, reads only declared arguments, and its context keys are the YAML outputs.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    for name, command in YML_COMMANDS.items():
        args = RecordingDict({arg["name"]: TEXT for arg in command["arguments"]})
        run = run_main(mocker, name, args, PARAMS)

        assert run["exit"] is None, f"{name} is not dispatched: {run['entries']}"
        assert args.read <= {arg["name"] for arg in command["arguments"]}, f"{name} reads undeclared {args.read}"
        produced = set()
        for context_key, value in run["entries"][0]["EntryContext"].items():
            prefix = context_key.split("(")[0]
            produced |= {f"{prefix}.{field}" for field in value}
        declared = {output["contextPath"] for output in command["outputs"]}
        assert produced == declared, f"{name} produces {sorted(produced)}, YAML declares {sorted(declared)}"


def test_contract_text_limit_documented() -> None:
    """
    Given: the text argument's YAML description.
    When: it is read.
    Then: it states the length limit the code enforces.
    """
    [text_arg] = YML_COMMANDS["yoda-speak-translate"]["arguments"]
    assert f"at most {MAX_TEXT_LENGTH} characters" in text_arg["description"], text_arg["description"]


# ---- properties ----------------------------------------------------------------------------------------------------

ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
TRICKY = st.sampled_from(
    ["|", "\\", "\n", "\r", "\r\n", "`", "<", ">", "&", "*", "_", "<br>", "&lt;", " ", "\t", "\x00"]
)
TEXTS = st.one_of(
    st.text(ANY_CHARACTER, max_size=40),
    st.lists(st.one_of(TRICKY, st.text(max_size=3)), max_size=20).map("".join),
    st.text(st.sampled_from(" \t\n\r\x0b\x0c\u00a0\u2028"), max_size=10),
    st.integers(MAX_TEXT_LENGTH - 2, MAX_TEXT_LENGTH + 2).map(lambda n: "a|" * (n // 2) + "b" * (n % 2)),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["success", "contents", "error", "total", "translated", "code", "message"])
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
SERVICE_BODIES = st.one_of(
    JSON_VALUES.map(json.dumps),
    st.builds(
        lambda total, translated: json.dumps({"success": {"total": total}, "contents": {"translated": translated}}),
        st.sampled_from([1, 0, 2, True, None, "1"]),
        st.one_of(st.lists(TRICKY | st.text(max_size=3), max_size=8).map("".join), st.none(), st.integers()),
    ),
    st.text(max_size=30),
)
STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 418, 429, 500, 502, 503]), st.integers(200, 599)
)
# No example database: it would write .hypothesis/ into the pack folder.
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@PROPERTY_SETTINGS
@given(text=TEXTS)
def test_property_any_text(text: str) -> None:
    """
    Given: any text: any Unicode, control characters, long, blank, markdown and HTML.
    When: the translate command runs against a service that echoes it.
    Then: it returns a one-row table showing the texts exactly, or fails with a clear YodaSpeakError; nothing else.
    """
    client = Client(BASE_URL, api_key=None, verify=True, proxy=False)
    demisto.integrationContext = {}
    with requests_mock_module.Mocker() as mock:
        mock.post(YODA_URL, json={"success": {"total": 1}, "contents": {"translated": f"{text} , hmm", "text": text}})
        error: YodaSpeakError | None = None
        try:
            results = translate_command(client, {"text": text}, cache_hours=24, now=NOW)
        except YodaSpeakError as caught:
            error = caught
    if error is not None:
        assert str(error).strip(), "an error without a message"
        assert not mock.called, f"a request was sent for rejected input: {error}"
        return
    assert outputs_of(results)["Original"] == text, "Original must be the text as given"
    assert_one_row(results.readable_output, text, f"{text} , hmm".strip())


@PROPERTY_SETTINGS
@given(status=STATUSES, body=SERVICE_BODIES, cached=st.booleans())
def test_property_any_answer(status: int, body: str, cached: bool) -> None:
    """
    Given: any status and any body from the service, with or without an expired cached translation.
    When: the translate command runs.
    Then: it returns the outputs with an intact table, or raises a DemistoException with a message; nothing else.
    """
    client = Client(BASE_URL, api_key=None, verify=True, proxy=False)
    demisto.integrationContext = cache_of(entry(TEXT, TRANSLATED, NOW - 48 * HOUR)) if cached else {}
    with requests_mock_module.Mocker() as mock:
        mock.post(YODA_URL, status_code=status, text=body)
        error: DemistoException | None = None
        try:
            results = translate_command(client, {"text": TEXT}, cache_hours=24, now=NOW)
        except DemistoException as caught:
            error = caught
    if error is not None:
        assert isinstance(error, YodaSpeakError), f"not the integration's own error: {error!r}"
        assert str(error).strip(), f"an error without a message: {error!r}"
        assert "Traceback" not in str(error), f"a traceback in the message: {error!r}"
        return
    outputs = outputs_of(results)
    assert set(outputs) == {"Original", "Translation"}, f"outputs {outputs}"
    assert outputs["Translation"].strip(), "an empty translation was returned"
    assert_one_row(results.readable_output, TEXT, outputs["Translation"])
