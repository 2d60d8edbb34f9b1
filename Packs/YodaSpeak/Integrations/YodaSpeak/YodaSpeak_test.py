"""Unit tests of the YodaSpeak integration, against the real CommonServerPython and demistomock modules.

They drive main() (demisto.params/args/command patched) or translate_command() and read what a user gets: the
War Room entries, the CommandResults, the integration context and the requests sent. HTTP is requests-mock with the
answers in test_data/, or, where the transport matters (retries, TLS, proxy), the local FunTranslations service on a
real loopback socket.
"""

import hashlib
import json
import socket
import time
from pathlib import Path
from typing import Any

import CommonServerPython
import demistomock as demisto
import pytest
import requests
import requests_mock as requests_mock_module
import yaml
import YodaSpeak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from YodaSpeak import Client, RateLimitError, translate_command

from standins.funtranslations.faults import parse_fault
from standins.funtranslations.server import RunningService, ServiceConfig, serve

HERE = Path(__file__).parent
BASE_URL = "https://api.funtranslations.com/translate/"
YODA_URL = BASE_URL + "yoda"
API_KEY = "ft-paid-3f9a1c7e5b"
TEXT = "Master Obiwan has lost a planet."
TRANSLATED = "Lost a planet,  master obiwan has."
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600.0
DT_KEY = "YodaSpeak.TheForce(val.Original && val.Original == obj.Original)"
PARAMS = {
    "url": BASE_URL,
    "apikey": {"identifier": "", "password": API_KEY},
    "insecure": False,
    "proxy": False,
    "cache_hours": "24",
}
FREE_TIER = {**PARAMS, "apikey": None}  # the local service refuses keys it does not know, as the real one does
SENT_FORM = "text=" + TEXT.replace(" ", "+")  # the form body that carries TEXT
FAILED = "Failed to execute yoda-speak-translate command.\nError: "
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy")


def load(name: str) -> Any:
    """A recorded answer of the service, from test_data/."""
    return json.loads((HERE / "test_data" / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the back-off instead of waiting it; BaseClient's changes to proxy and CA variables are undone."""
    for name in (*PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "REQUESTS_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(demisto, "integrationContext", {})
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    return waited


@pytest.fixture
def client() -> Client:
    """A client of the free tier: no API key."""
    return Client(BASE_URL, api_key=None, verify=True, proxy=False)


def run_main(mocker: Any, command: str, args: dict[str, Any] | None = None, params: Any = None) -> dict[str, Any]:
    """Runs main() as an engine does; returns the entries, whether it exited, and every log line."""
    mocker.patch.object(demisto, "params", return_value=PARAMS if params is None else params)
    mocker.patch.object(demisto, "args", return_value={"text": TEXT} if args is None else args)
    mocker.patch.object(demisto, "command", return_value=command)
    results = mocker.patch.object(demisto, "results")
    logs = [mocker.patch.object(demisto, name) for name in ("debug", "info", "error")]
    exited = False
    try:
        YodaSpeak.main()
    except SystemExit:
        exited = True
    return {
        "entries": [call.args[0] for call in results.call_args_list],
        "exited": exited,
        "logs": [str(call.args) for log in logs for call in log.call_args_list],
    }


def error_of(run: dict[str, Any]) -> str:
    """The text of the one error entry of a run."""
    errors = [entry["Contents"] for entry in run["entries"] if isinstance(entry, dict) and entry["Type"] == 4]
    assert len(errors) == 1, f"one error entry expected, got {run['entries']}"
    assert run["exited"], "return_error ends the command"
    return str(errors[0])


def rendered(markdown: str, block: str) -> list[str]:
    """The text a markdown renderer shows in each block of a kind ("td" cells, "paragraph"s); markup it would
    interpret shows as <token type>, so that it never equals the text as typed."""
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(markdown)
    shown = []
    for index, token in enumerate(tokens):
        if token.type == f"{block}_open":
            parts = []
            for child in tokens[index + 1].children or []:
                if child.type == "text":
                    parts.append(child.content)
                elif child.type == "html_inline" and child.content == "<br>":
                    parts.append("\n")
                else:
                    parts.append(f"<{child.type}>")
            shown.append("".join(parts))
    return shown


def cells(markdown: str) -> list[str]:
    """The text shown in each table cell."""
    return rendered(markdown, "td")


def cache_entry(text: str, translated: str, stored_at: float) -> dict[str, Any]:
    """A cache entry as the integration stores it."""
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return {"key": key, "text": text, "translated": translated, "stored_at": stored_at}


def with_cache(*entries: Any, **other: Any) -> dict[str, Any]:
    """An integration context holding these cache entries (and any other keys)."""
    return {**other, "translation_cache": {"version": 1, "entries": list(entries)}}


def cached_texts() -> list[str]:
    """The texts in the cache of the current integration context, oldest first."""
    return [entry["text"] for entry in demisto.integrationContext["translation_cache"]["entries"]]


# ---- a translation through main() ------------------------------------------------------------------------------


def test_translation_entry(mocker: Any, requests_mock: Any) -> None:
    """
    Given: an instance with an API key, and the service translating the vendor's example sentence.
    When: main() runs yoda-speak-translate.
    Then: the text is POSTed as form data to <url>yoda with the key header, and one entry holds the raw answer, the
          context under the Original key field and a table of the two texts; the key shows nowhere.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    run = run_main(mocker, "yoda-speak-translate")

    request = requests_mock.last_request
    assert (request.method, request.url, request.text) == ("POST", YODA_URL, SENT_FORM)
    assert request.headers["X-Funtranslations-Api-Secret"] == API_KEY, "the configured key was not sent"
    [entry] = run["entries"]
    assert not run["exited"], f"a failure was reported: {run['entries']}"
    assert entry["Type"] == 1, f"a note entry was expected: {entry}"
    assert entry["EntryContext"] == {DT_KEY: {"Original": TEXT, "Translation": TRANSLATED}}, entry["EntryContext"]
    assert entry["Contents"] == load("translate_success.json"), "Contents must be the API's answer"
    assert entry["HumanReadable"].startswith("### Yoda Says...\n"), entry["HumanReadable"]
    assert cells(entry["HumanReadable"]) == [TEXT, TRANSLATED], entry["HumanReadable"]
    assert "Command being called is yoda-speak-translate" in " ".join(run["logs"]), "the command is not logged"
    assert API_KEY not in json.dumps(run, default=str) + json.dumps(demisto.integrationContext), "the key leaked"


@pytest.mark.parametrize(
    "apikey",
    [
        pytest.param(None, id="no-parameter"),
        pytest.param({"identifier": "", "password": ""}, id="empty-password"),
        pytest.param({"identifier": "", "password": "   "}, id="blank-password"),
    ],
)
def test_free_tier_sends_no_key_header(mocker: Any, requests_mock: Any, apikey: Any) -> None:
    """
    Given: an instance whose API Key parameter is missing, empty or blank.
    When: main() translates.
    Then: no key header is sent (the service would read an empty one as a wrong key) and the translation works.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    run = run_main(mocker, "yoda-speak-translate", params={**PARAMS, "apikey": apikey})

    assert "X-Funtranslations-Api-Secret" not in requests_mock.last_request.headers, "an empty key header was sent"
    assert not run["exited"], run["entries"]


def test_trailing_space_of_the_service_is_dropped(client: Client, requests_mock: Any) -> None:
    """
    Given: the service adds a trailing space to a translation, as it sometimes does.
    When: the text is translated.
    Then: the translation has no trailing space.
    """
    requests_mock.post(YODA_URL, json=load("translate_success_trailing_space.json"))

    results = translate_command(client, {"text": "my name is gautam"}, 24, NOW)

    assert results.outputs == {"Original": "my name is gautam", "Translation": "gautam, my name is"}, results.outputs


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("**bold** _it_ [link](https://example.com) `code` # head", id="markdown"),
        pytest.param("a | b || c \\| d", id="pipes-and-backslashes"),
        pytest.param("<script>alert(1)</script> &amp; <b>bold</b>", id="html"),
        pytest.param("line one\nline two\r\nline three", id="line-breaks"),
    ],
)
def test_table_shows_the_texts_as_typed(client: Client, requests_mock: Any, text: str) -> None:
    """
    Given: a text with markdown, HTML, pipes or line breaks, echoed back as the translation.
    When: it is translated.
    Then: a markdown renderer shows both cells exactly as typed (line breaks as <br>), in a table of one row.
    """
    requests_mock.post(YODA_URL, json={"success": {"total": 1}, "contents": {"translated": text}})

    results = translate_command(client, {"text": text}, 0, NOW)

    shown = text.replace("\r\n", "\n")
    assert cells(results.readable_output) == [shown, shown], results.readable_output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200))
def test_any_text_round_trips_through_the_table(text: str) -> None:
    """
    Given: any text without control characters, echoed back as the translation.
    When: it is translated (cache off).
    Then: the context holds it unchanged and the rendered table cell shows it as typed (blank texts are refused).
    """
    with requests_mock_module.Mocker() as service:
        service.post(YODA_URL, json={"success": {"total": 1}, "contents": {"translated": text}})
        if not text.strip():
            with pytest.raises(CommonServerPython.DemistoException, match="The text argument is empty"):
                translate_command(Client(BASE_URL, None, True, False), {"text": text}, 0, NOW)
            return
        results = translate_command(Client(BASE_URL, None, True, False), {"text": text}, 0, NOW)
    assert results.outputs == {"Original": text, "Translation": text.strip()}, results.outputs
    assert cells(results.readable_output)[0].strip() == text.strip(), results.readable_output


# ---- what the service answers ------------------------------------------------------------------------------------

RETRIED = [0, 1, 2]  # the back-off before each of the three retries


@pytest.mark.parametrize(
    ("mock", "calls", "waited", "message"),
    [
        pytest.param(
            {"status_code": 400, "json": load("error_400_text_missing.json")},
            1,
            [],
            "FunTranslations rejected the request (HTTP 400: Bad Request: text is missing.). Check the API URL "
            "parameter (it should be https://api.funtranslations.com/translate/) and the text argument.",
            id="400",
        ),
        pytest.param(
            {"status_code": 401, "json": load("error_401_unauthorized.json")},
            1,
            [],
            "FunTranslations refused the API key (HTTP 401: Unauthorized). Check the API Key parameter: enter the key "
            "of your FunTranslations plan, or leave it empty to use the free tier.",
            id="401",
        ),
        pytest.param(
            {"status_code": 403, "json": load("error_403_forbidden.json")}, 1, [], "refused the API key", id="403"
        ),
        pytest.param(
            {"status_code": 404, "json": load("error_404_not_found.json")},
            1,
            [],
            f"FunTranslations has no Yoda translator at {YODA_URL} (HTTP 404: Not Found). Check the API URL "
            "parameter; it should be https://api.funtranslations.com/translate/",
            id="404",
        ),
        pytest.param(
            {"status_code": 429, "json": load("error_429_rate_limit.json")},
            1,
            [],
            'FunTranslations rate limit reached (HTTP 429). The service said: "Too Many Requests: Rate limit of 5 '
            'requests per hour exceeded. Please wait for 56 minutes and 54 seconds." Try again in 56 minutes and 54 '
            "seconds; the integration does not retry it. A paid FunTranslations plan, entered in the API Key "
            "parameter, lifts the limit.",
            id="429-with-wait",
        ),
        pytest.param(
            {"status_code": 429, "text": "slow down"},
            1,
            [],
            'The service said: "Too Many Requests" Try again later (5 calls an hour are free)',
            id="429-without-wait",
        ),
        pytest.param(
            {"status_code": 500, "json": load("error_500_internal_server_error.json")},
            4,
            RETRIED,
            "FunTranslations failed on its side (HTTP 500: Internal Server Error). The problem is with the service, "
            "not the instance settings: try again later.",
            id="500-retried-three-times",
        ),
        pytest.param(
            {"status_code": 503, "json": load("error_503_service_unavailable.json")},
            4,
            RETRIED,
            "failed on its side (HTTP 503: Service Unavailable)",
            id="503-retried-three-times",
        ),
        pytest.param(
            {"status_code": 502, "text": "<html><body>" + "Bad gateway " * 40 + "</body></html>"},
            4,
            RETRIED,
            "(HTTP 502: Bad Gateway)",
            id="bad-gateway-html-page",
        ),
        pytest.param(
            {"text": "<!DOCTYPE html>\n<html>\n" + "x " * 200, "headers": {"Content-Type": "text/html"}},
            1,
            [],
            "FunTranslations answered HTTP 200 with a body that is not JSON (text/html): <!DOCTYPE html> <html> "
            + ("x " * 200)[:277]
            + ".... Check the API URL parameter; it should be https://api.funtranslations.com/translate/",
            id="html-body-quoted-short-on-one-line",
        ),
        pytest.param(
            {"text": ""},
            1,
            [],
            "FunTranslations answered HTTP 200 with an empty body (no content type). Check the API URL parameter",
            id="empty-body",
        ),
        pytest.param(
            {"json": load("translate_zero_total.json")},
            1,
            [],
            "FunTranslations answered without a translation. Try again later. If it keeps happening, check the API URL "
            "parameter (it should be https://api.funtranslations.com/translate/).",
            id="success-total-zero",
        ),
        pytest.param({"json": load("translate_missing_translated.json")}, 1, [], "without a translation", id="no-text"),
        pytest.param(
            {"json": {"error": {"message": "Translator offline"}}},
            1,
            [],
            "FunTranslations answered without a translation (Translator offline).",
            id="error-envelope-with-200",
        ),
        pytest.param({"json": ["not", "an", "object"]}, 1, [], "without a translation", id="json-list"),
    ],
)
def test_service_failures(
    mocker: Any, requests_mock: Any, sleeps: list[float], mock: dict[str, Any], calls: int, waited: list[float],
    message: str,
) -> None:  # fmt: skip
    """
    Given: the service answers with an error status or a body that is not a translation.
    When: main() translates.
    Then: a 5xx is sent four times in all with 0, 1 and 2 s of back-off, anything else once, and the error entry
          says what happened and what to do.
    """
    requests_mock.post(YODA_URL, **mock)

    run = run_main(mocker, "yoda-speak-translate")

    assert message in error_of(run), f"{message!r} not in {error_of(run)!r}"
    assert error_of(run).startswith(FAILED), error_of(run)
    assert (requests_mock.call_count, sleeps) == (calls, waited), "wrong number of attempts or back-off"


@pytest.mark.parametrize(
    ("exception", "calls", "advice"),
    [
        pytest.param(requests.exceptions.ConnectionError("refused"), 4, "Verify that the server URL", id="refused"),
        pytest.param(requests.exceptions.SSLError("bad cert"), 1, "SSL Certificate Verification Failed", id="tls"),
        pytest.param(requests.exceptions.ProxyError("no proxy"), 1, "Proxy Error", id="proxy"),
        pytest.param(requests.exceptions.ConnectTimeout("slow"), 1, "Connection Timeout Error", id="connect-timeout"),
    ],
)
def test_unreachable_service(mocker: Any, requests_mock: Any, exception: Exception, calls: int, advice: str) -> None:
    """
    Given: the request fails before any answer: refused, TLS, proxy or connect timeout.
    When: main() translates.
    Then: only a refused connection is tried again (four attempts); the error names the URL and CommonServerPython's
          advice.
    """
    requests_mock.post(YODA_URL, exc=exception)

    message = error_of(run_main(mocker, "yoda-speak-translate"))

    assert f"Could not reach FunTranslations at {BASE_URL}: " in message, message
    assert advice in message, message
    assert requests_mock.call_count == calls, f"{requests_mock.call_count} attempts, {calls} expected"


@pytest.mark.parametrize(
    ("timeout", "within"),
    [pytest.param(None, "30 seconds", id="default-30s"), pytest.param("1", "1 second", id="engine-1s-singular")],
)
def test_read_timeout_is_not_resent(
    mocker: Any, requests_mock: Any, monkeypatch: pytest.MonkeyPatch, timeout: str | None, within: str
) -> None:
    """
    Given: the service does not answer in time (the engine's REQUESTS_TIMEOUT, 30 s by default).
    When: main() translates.
    Then: the request is not sent again (the service may have counted it), and the error says how long it waited.
    """
    if timeout:
        monkeypatch.setenv("REQUESTS_TIMEOUT", timeout)
    requests_mock.post(YODA_URL, exc=requests.exceptions.ReadTimeout("late"))

    message = error_of(run_main(mocker, "yoda-speak-translate"))

    assert requests_mock.call_count == 1, "a timed-out request must not be resent"
    assert requests_mock.last_request.timeout == float(timeout or 30), "the timeout given to requests"
    assert message == (
        f"{FAILED}FunTranslations did not answer within {within}. The service may be overloaded: try again later. "
        "If it keeps happening, check the proxy settings."
    ), message


def test_a_key_the_service_echoes_is_masked(mocker: Any, requests_mock: Any) -> None:
    """
    Given: the service quotes the API key in its 401 message.
    When: main() translates.
    Then: the error entry and the logs show a mask instead of the key.
    """
    requests_mock.post(YODA_URL, status_code=401, json={"error": {"code": 401, "message": f"Unknown key {API_KEY}"}})

    run = run_main(mocker, "yoda-speak-translate")

    assert "Unknown key <XX_REPLACED>" in error_of(run), error_of(run)
    assert API_KEY not in json.dumps(run), "the API key leaked into an entry or a log line"


# ---- instance settings and arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "params", "args", "message"),
    [
        pytest.param("yoda-speak-translate", {}, {"text": "   "}, "The text argument is empty.", id="blank-text"),
        pytest.param(
            "yoda-speak-translate",
            {},
            {"text": "a" * 1001},
            "The text is 1001 characters long; the limit is 1000 characters. Split it into shorter texts.",
            id="text-over-1000",
        ),
        *[
            pytest.param(
                "yoda-speak-translate",
                {"cache_hours": value},
                {},
                'The "Cache lifetime (hours)" parameter must be a whole number of hours from 0 to 8760 (0 turns the '
                f"cache off); got {value!r}.",
                id=f"cache-hours-{value}",
            )
            for value in ("-1", "1.5", "abc", "8761")
        ],
        pytest.param("yoda-speak-fly", {}, {}, "Command yoda-speak-fly is not implemented.", id="unknown-command"),
    ],
)
def test_bad_input_fails_before_any_request(
    mocker: Any, requests_mock: Any, command: str, params: dict[str, Any], args: dict[str, Any], message: str
) -> None:
    """
    Given: a blank or too long text, an invalid parameter, or an unknown command.
    When: main() runs it.
    Then: the error entry says what to change, and nothing is sent.
    """
    run = run_main(mocker, command, args or None, {**PARAMS, **params})

    assert message in error_of(run), f"{message!r} not in {error_of(run)!r}"
    assert requests_mock.call_count == 0, "nothing may be sent for bad input"


@pytest.mark.parametrize(
    ("value", "cached"),
    [
        pytest.param("", True, id="empty-means-24h"),
        pytest.param(None, True, id="missing-means-24h"),
        pytest.param("0", False, id="zero-turns-the-cache-off"),
        pytest.param(" 8760 ", True, id="one-year"),
    ],
)
def test_cache_lifetime_parameter(mocker: Any, requests_mock: Any, value: Any, cached: bool) -> None:
    """
    Given: the Cache lifetime (hours) parameter empty, missing, 0 or at its maximum.
    When: main() translates the same text twice.
    Then: with a cache the second run makes no request; with 0 both do and nothing is stored.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    for _ in range(2):
        run = run_main(mocker, "yoda-speak-translate", params={**PARAMS, "cache_hours": value})
        assert not run["exited"], run["entries"]

    assert requests_mock.call_count == (1 if cached else 2), f"{requests_mock.call_count} requests"
    assert bool(demisto.integrationContext) == cached, demisto.integrationContext


def test_text_of_1000_characters_is_sent(client: Client, requests_mock: Any) -> None:
    """
    Given: a text of exactly 1000 characters.
    When: it is translated.
    Then: it is sent.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    translate_command(client, {"text": "a" * 1000}, 24, NOW)

    assert requests_mock.last_request.text == "text=" + "a" * 1000, "the text at the limit must be sent"


@pytest.mark.parametrize(
    ("mock", "expected"),
    [
        pytest.param({"json": load("translate_success.json")}, "ok", id="ok"),
        pytest.param(
            {"status_code": 401, "json": load("error_401_unauthorized.json")},
            "Failed to execute test-module command.\nError: FunTranslations refused the API key",
            id="wrong-key",
        ),
    ],
)
def test_test_module(mocker: Any, requests_mock: Any, mock: dict[str, Any], expected: str) -> None:
    """
    Given: an instance whose settings work, or whose key the service refuses.
    When: the Test button runs test-module.
    Then: it says ok after translating a phrase, or shows the error that names the setting to fix.
    """
    requests_mock.post(YODA_URL, **mock)

    run = run_main(mocker, "test-module", {})

    shown = run["entries"][0] if run["entries"][0] == "ok" else error_of(run)
    assert shown.startswith(expected), shown
    assert requests_mock.last_request.text == SENT_FORM, "a test translation is sent"


@pytest.mark.parametrize(
    "mock",
    [
        pytest.param({"json": load("translate_zero_total.json")}, id="success-total-zero"),
        pytest.param({"json": load("translate_missing_translated.json")}, id="no-translated-text"),
        pytest.param({"json": {"error": {"message": "Translator offline"}}}, id="error-envelope-with-200"),
        pytest.param(
            {"text": "<html><body>Sign in</body></html>", "headers": {"Content-Type": "text/html"}}, id="html"
        ),
    ],
)
def test_test_module_needs_a_translation(mocker: Any, requests_mock: Any, mock: dict[str, Any]) -> None:
    """
    Given: a URL that answers 200 without a translation (a proxy's HTML page, `success.total` 0, no text).
    When: the Test button runs test-module.
    Then: it does not say ok: the error says no translation came back and which setting to check.
    """
    requests_mock.post(YODA_URL, **mock)

    run = run_main(mocker, "test-module", {})

    assert "ok" not in run["entries"], "test-module reported ok without a translation"
    message = error_of(run)
    assert message.startswith("Failed to execute test-module command."), message
    assert "API URL parameter" in message, message


# ---- the cache, through the integration context ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "requested"),
    [
        pytest.param(24 * HOUR - 1, False, id="one-second-before-expiry-answers-from-the-cache"),
        pytest.param(24 * HOUR, True, id="at-the-lifetime-asks-the-service"),
    ],
)
def test_cache_lifetime_boundary(client: Client, requests_mock: Any, age: float, requested: bool) -> None:
    """
    Given: a cached translation of the text, stored `age` seconds ago, and a 24-hour lifetime.
    When: the text is translated.
    Then: younger than the lifetime, the cache answers and says so; at the lifetime, the service is asked again.
    """
    requests_mock.post(YODA_URL, json={"success": {"total": 1}, "contents": {"translated": "Fresh, it is."}})
    demisto.integrationContext = with_cache(cache_entry(TEXT, TRANSLATED, NOW - age))

    results = translate_command(client, {"text": TEXT}, 24, NOW)

    assert requests_mock.called == requested, f"requested: {requests_mock.called}, expected {requested}"
    if requested:
        assert results.outputs == {"Original": TEXT, "Translation": "Fresh, it is."}, results.outputs
        assert demisto.integrationContext["translation_cache"]["entries"][-1]["stored_at"] == NOW, "not refreshed"
    else:
        assert results.outputs == {"Original": TEXT, "Translation": TRANSLATED}, results.outputs
        assert results.raw_response == load("translate_success.json"), "the rebuilt answer differs from the API's"
        note = "From the cache: translated at 2027-01-14T08:00:01Z, so no API call was made."
        assert rendered(results.readable_output, "paragraph") == [note], results.readable_output


def test_whitespace_variants_share_one_entry(client: Client, requests_mock: Any) -> None:
    """
    Given: an empty cache.
    When: a text is translated, then the same text with other spacing.
    Then: the normalised text is sent once and stored under its SHA-256; the second answer comes from the cache and
          keeps the original as the user typed it.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))

    translate_command(client, {"text": "  Master   Obiwan\thas lost a planet.\n"}, 24, NOW)
    second = translate_command(client, {"text": "Master Obiwan has lost\na planet."}, 24, NOW + 1)

    assert requests_mock.call_count == 1, "the second text should have been answered from the cache"
    assert requests_mock.last_request.text == SENT_FORM, "the normalised text is sent"
    assert demisto.integrationContext == with_cache(cache_entry(TEXT, TRANSLATED, NOW)), demisto.integrationContext
    assert second.outputs == {"Original": "Master Obiwan has lost\na planet.", "Translation": TRANSLATED}


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param({"translation_cache": "garbage"}, id="cache-not-an-object"),
        pytest.param({"translation_cache": {"version": 2, "entries": []}}, id="unknown-format-version"),
        pytest.param({"translation_cache": {"version": 1, "entries": "x"}}, id="entries-not-a-list"),
        pytest.param(with_cache({**cache_entry(TEXT, TRANSLATED, NOW), "key": "0" * 64}), id="key-does-not-match"),
        pytest.param(with_cache({**cache_entry(TEXT, TRANSLATED, NOW), "text": "other"}), id="text-does-not-match"),
        pytest.param(with_cache(cache_entry(TEXT, TRANSLATED, NOW + HOUR)), id="stored-in-the-future"),
        pytest.param(with_cache({**cache_entry(TEXT, TRANSLATED, NOW), "stored_at": "yesterday"}), id="bad-time"),
        pytest.param(with_cache({**cache_entry(TEXT, TRANSLATED, NOW), "translated": None}), id="no-translation"),
        pytest.param(with_cache("not an entry"), id="entry-not-an-object"),
    ],
)
def test_a_corrupt_cache_is_ignored_and_rewritten(client: Client, requests_mock: Any, stored: dict[str, Any]) -> None:
    """
    Given: an integration context whose cache is corrupt, foreign, or holds an entry that does not match the text.
    When: the text is translated.
    Then: the service is asked, and the cache then holds a good entry for it (and nothing corrupt).
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))
    demisto.integrationContext = stored

    translate_command(client, {"text": TEXT}, 24, NOW)

    assert requests_mock.call_count == 1, "a corrupt or mismatched entry must not answer"
    entries = demisto.integrationContext["translation_cache"]["entries"]
    assert entries[-1] == cache_entry(TEXT, TRANSLATED, NOW), entries
    assert all(entry["text"] == "other" for entry in entries[:-1]), f"a corrupt entry was kept: {entries}"


def test_cache_keeps_the_100_newest_and_other_keys(client: Client, requests_mock: Any) -> None:
    """
    Given: a cache of 100 texts, the oldest first, and another key in the integration context.
    When: a new text is translated.
    Then: the oldest entry is dropped, the new one is the newest, and the other key is kept.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))
    old = [cache_entry(f"text {n}", f"{n}, text", NOW - 100 + n) for n in range(100)]
    demisto.integrationContext = with_cache(*old, other={"kept": True})

    translate_command(client, {"text": TEXT}, 24, NOW)

    assert cached_texts() == [f"text {n}" for n in range(1, 100)] + [TEXT], cached_texts()[:2]
    assert demisto.integrationContext["other"] == {"kept": True}, "another key of the integration context was lost"


@pytest.mark.parametrize(
    ("stored", "outcome"),
    [
        pytest.param(with_cache(cache_entry(TEXT, TRANSLATED, NOW - 30 * HOUR)), "warning", id="expired-entry"),
        pytest.param({}, "error", id="nothing-cached"),
    ],
)
def test_rate_limit_answers_from_an_expired_entry(
    client: Client, requests_mock: Any, stored: dict[str, Any], outcome: str
) -> None:
    """
    Given: the service answers 429, and the text was translated 30 hours ago (lifetime 24) or never.
    When: the text is translated.
    Then: the old translation is shown with a warning that quotes the rate limit, or the 429 error is raised.
    """
    requests_mock.post(YODA_URL, status_code=429, json=load("error_429_rate_limit.json"))
    demisto.integrationContext = stored

    if outcome == "error":
        with pytest.raises(RateLimitError, match=r"rate limit reached \(HTTP 429\)"):
            translate_command(client, {"text": TEXT}, 24, NOW)
        return
    results = translate_command(client, {"text": TEXT}, 24, NOW)

    assert results.outputs == {"Original": TEXT, "Translation": TRANSLATED}, results.outputs
    [note] = rendered(results.readable_output, "paragraph")
    assert note.startswith("Warning: FunTranslations rate limit reached (HTTP 429). The service said: "), note
    assert note.endswith(
        "Showing the cached translation from 2027-01-14T02:00:00Z, older than the 24-hour cache lifetime."
    ), note
    assert demisto.integrationContext == stored, "the expired entry must stay as it was"


class VersionedServer:
    """The server's versioned integration context: a write naming an older version than the stored one fails."""

    def __init__(self, context: dict[str, Any], rival_writes: list[dict[str, Any]]) -> None:
        self.context, self.version, self.rival_writes = context, 7, rival_writes

    def get(self, refresh: bool = False) -> dict[str, Any]:
        return {"context": json.loads(json.dumps(self.context)), "version": self.version}

    def set(self, context: dict[str, Any], version: int = -1, sync: bool = False) -> None:
        if self.rival_writes:  # another command writes between our read and our write
            self.context, self.version = self.rival_writes.pop(0), self.version + 1
        if version != self.version:
            raise ValueError(f"version {version} is older than {self.version}")
        self.context, self.version = context, self.version + 1


@pytest.mark.parametrize(
    ("rivals", "expected"),
    [
        pytest.param(1, ["rival", TEXT], id="a-rival-write-is-merged-not-lost"),
        pytest.param(3, ["rival"], id="always-overtaken-gives-up-but-still-answers"),
    ],
)
def test_cache_writes_name_the_version_they_read(
    client: Client, requests_mock: Any, monkeypatch: pytest.MonkeyPatch, rivals: int, expected: list[str]
) -> None:
    """
    Given: a server with a versioned integration context, where other commands write while this one translates.
    When: the text is translated.
    Then: the rival's entry is kept and this one added on the next try; after three lost races the translation is
          still returned, uncached.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))
    rival = with_cache(cache_entry("rival", "Rival, I am.", NOW - 1))
    server = VersionedServer({}, [rival] * rivals)
    monkeypatch.setattr(CommonServerPython, "is_versioned_context_available", lambda: True)
    monkeypatch.setattr(demisto, "getIntegrationContextVersioned", server.get)
    monkeypatch.setattr(demisto, "setIntegrationContextVersioned", server.set)

    results = translate_command(client, {"text": TEXT}, 24, NOW)

    assert results.outputs == {"Original": TEXT, "Translation": TRANSLATED}, results.outputs
    assert [entry["text"] for entry in server.context["translation_cache"]["entries"]] == expected, server.context


# ---- over a real socket: retries, TLS and proxy as the transport sees them --------------------------------------


def tls(*faults: str) -> ServiceConfig:
    """The local FunTranslations service over TLS (a CA nobody trusts), rate limit off, with these faults."""
    return ServiceConfig(rate_limit=None, tls=True, faults=tuple(parse_fault(spec) for spec in faults))


def statuses(service: RunningService) -> list[int | None]:
    """What the service answered to each request it saw (None: it dropped the connection)."""
    return [seen.status for seen in service.requests]


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
@pytest.mark.parametrize(
    ("fault", "seen", "waited", "succeeds"),
    [
        pytest.param("status=503,times=2", [503, 503, 200], [0, 1], True, id="503-twice-then-ok"),
        pytest.param("drop,times=1", [None, 200], [0], True, id="dropped-once-then-ok"),
        pytest.param("status=500", [500] * 4, RETRIED, False, id="500-stops-after-three-retries"),
        pytest.param("drop", [None] * 4, RETRIED, False, id="dropped-stops-after-three-retries"),
        pytest.param("429", [429], [], False, id="429-never-retried"),
    ],
)
def test_retries_on_a_real_socket(
    mocker: Any, sleeps: list[float], fault: str, seen: list[int | None], waited: list[float], succeeds: bool
) -> None:
    """
    Given: the service over TLS failing with a 5xx, dropping the connection, or answering 429.
    When: main() translates (insecure, the private CA is not trusted).
    Then: the service sees each attempt: 5xx and drops are retried at most three times with back-off, a 429 never.
    """
    with serve(tls(fault)) as service:
        run = run_main(mocker, "yoda-speak-translate", params={**FREE_TIER, "url": service.url, "insecure": True})
    # Read once the service has stopped: every handler has recorded its request by then.
    assert (statuses(service), sleeps) == (seen, waited), "the service saw other attempts than expected"
    assert run["exited"] != succeeds, run["entries"]


def test_a_late_answer_is_not_resent_on_a_real_socket(mocker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Given: the service answers the first request 2 s late, and the engine's REQUESTS_TIMEOUT is 0.5 s.
    When: main() translates.
    Then: it gives up after one request, which the service answered too late.
    """
    monkeypatch.setenv("REQUESTS_TIMEOUT", "0.5")
    with serve(ServiceConfig(rate_limit=None, faults=(parse_fault("latency=2,times=1"),))) as service:
        run = run_main(mocker, "yoda-speak-translate", params={**FREE_TIER, "url": service.url})
    assert "did not answer within 0.5 seconds" in error_of(run), error_of(run)
    assert statuses(service) == [200], f"one request expected, the service saw {statuses(service)}"


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
@pytest.mark.parametrize(
    ("insecure", "seen", "error"),
    [
        pytest.param(False, [], "SSL Certificate Verification Failed", id="verified-the-private-ca-is-refused"),
        pytest.param(True, [200], None, id="trust-any-certificate-connects"),
    ],
)
def test_insecure_parameter_is_honoured(mocker: Any, insecure: bool, seen: list[int], error: str | None) -> None:
    """
    Given: the service over TLS with a certificate of a CA nobody trusts.
    When: main() translates with "Trust any certificate" off, then on.
    Then: off, the handshake fails once and nothing is sent; on, the translation arrives.
    """
    with serve(tls()) as service:
        run = run_main(mocker, "yoda-speak-translate", params={**FREE_TIER, "url": service.url, "insecure": insecure})
    assert statuses(service) == seen, f"the service saw {statuses(service)}"
    assert (error in error_of(run)) if error else not run["exited"], run["entries"]


@pytest.mark.parametrize(
    ("proxy", "seen", "error"),
    [
        pytest.param(True, [], "Proxy Error", id="use-proxy-goes-through-the-proxy"),
        pytest.param(False, [200], None, id="no-proxy-goes-straight-to-the-service"),
    ],
)
def test_proxy_parameter_is_honoured(
    mocker: Any, monkeypatch: pytest.MonkeyPatch, proxy: bool, seen: list[int], error: str | None
) -> None:
    """
    Given: the engine's HTTP_PROXY points at a port where nothing listens, and the service on plain http.
    When: main() translates with "Use system proxy settings" on, then off.
    Then: on, the request goes to the proxy and fails with CommonServerPython's proxy advice; off, it reaches the
          service.
    """
    with serve(ServiceConfig(rate_limit=None)) as service:
        monkeypatch.setenv(PROXY_VARIABLES[0], f"http://127.0.0.1:{unused_port()}")  # HTTP_PROXY
        run = run_main(mocker, "yoda-speak-translate", params={**FREE_TIER, "url": service.url, "proxy": proxy})
    assert statuses(service) == seen, f"the service saw {statuses(service)}"
    assert (error in error_of(run)) if error else not run["exited"], run["entries"]


def unused_port() -> int:
    """A loopback port nothing listens on (bound, never listening: connections are refused)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        return int(holder.getsockname()[1])


# ---- the one contract between YodaSpeak.yml and the code ---------------------------------------------------------


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


def test_code_and_yaml_agree(mocker: Any, requests_mock: Any) -> None:
    """
    Given: YodaSpeak.yml, and parameters and arguments in the shapes the server passes for their declared types.
    When: main() runs test-module and every declared command.
    Then: the code reads exactly the declared parameters (with the types it uses) and arguments, every command is
          dispatched, and the context keys it writes are the declared outputs.
    """
    requests_mock.post(YODA_URL, json=load("translate_success.json"))
    yml = yaml.safe_load((HERE / "YodaSpeak.yml").read_text(encoding="utf-8"))
    shapes = {9: {"identifier": "", "password": API_KEY}, 8: "false"}
    params = RecordingDict({p["name"]: shapes.get(p["type"], p.get("defaultvalue", "")) for p in yml["configuration"]})
    run_main(mocker, "test-module", {}, params)

    for command in yml["script"]["commands"]:
        args = RecordingDict({arg["name"]: TEXT for arg in command["arguments"]})
        run = run_main(mocker, command["name"], args, params)
        assert not run["exited"], f"{command['name']} is not dispatched: {run['entries']}"
        assert args.read == {arg["name"] for arg in command["arguments"]}, f"{command['name']} reads {args.read}"
        [(key, value)] = run["entries"][0]["EntryContext"].items()
        produced = {f"{key.split('(')[0]}.{field}" for field in value}
        assert produced == {output["contextPath"] for output in command["outputs"]}, produced

    declared = {p["name"]: p["type"] for p in yml["configuration"]}
    assert declared == {"url": 0, "apikey": 9, "insecure": 8, "proxy": 8, "cache_hours": 0}, declared
    assert params.read == set(declared), f"the code reads {sorted(params.read)}, the YAML declares {sorted(declared)}"
    assert requests_mock.last_request.headers["X-Funtranslations-Api-Secret"] == API_KEY, "type 9 read as the key"
