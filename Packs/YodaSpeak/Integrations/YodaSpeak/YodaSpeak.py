"""YodaSpeak: translates English text into the way Yoda speaks, with the FunTranslations Yoda API.

Commands: ``test-module`` and ``yoda-speak-translate``. Translations are cached in the integration
context, because the free tier allows 5 calls an hour and the translation of a text never changes.
"""

# CommonServerPython and demistomock are untyped, and every call into them would be an error under strict mypy.
# mypy: disallow-untyped-calls=False

import hashlib
import http.client
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypedDict, cast
from urllib.parse import urlparse

import demistomock as demisto
import requests
import urllib3
from CommonServerPython import *
from CommonServerUserPython import *
from urllib3.exceptions import ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.retry import Retry

if TYPE_CHECKING:
    # For annotations only: BaseHTTPResponse is urllib3 2's, and an engine image may still ship urllib3 1.26.
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

urllib3.disable_warnings()

""" CONSTANTS """

DEFAULT_URL = "https://api.funtranslations.com/translate/"
TRANSLATOR_PATH = "yoda"
API_KEY_HEADER = "X-Funtranslations-Api-Secret"
TRANSLATE_COMMAND = "yoda-speak-translate"

# Seconds to wait for the service; REQUESTS_TIMEOUT on the engine still overrides it (BaseClient reads it).
REQUEST_TIMEOUT = 30
# 5xx answers and failed connections (refused, or dropped without an answer) are retried; 429 never is, since the
# wait it asks for is most of an hour. Read timeouts and TLS failures are not (see FinalErrorsRetry).
RETRIES = 3
RETRY_STATUSES = tuple(range(500, 600))
# urllib3 sleeps 0, 1 and 2 seconds between the attempts: at most 3 seconds of back-off in all.
BACKOFF_FACTOR = 0.5

# The service documents no limit; ~500 characters are known to work. The limit also keeps the cache small.
MAX_TEXT_LENGTH = 1000
DEFAULT_CACHE_HOURS = 24
MAX_CACHE_HOURS = 8760  # one year
CACHE_CONTEXT_KEY = "translation_cache"
CACHE_FORMAT_VERSION = 1
MAX_CACHE_ENTRIES = 100

TEST_MODULE_TEXT = "Master Obiwan has lost a planet."
# Ends the messages for answers that are not a translation: a one-off glitch, or a URL that is not the translator.
RETRY_OR_CHECK_URL = (
    f"Try again later; if it keeps happening, check the API URL parameter (it should be {DEFAULT_URL})."
)
# The Retry settings urllib3 1.26 and 2.x both accept and both keep as attributes of the same name. Copying every
# __init__ parameter instead breaks on 1.26, which an engine image may ship: it takes both method_whitelist and
# allowed_methods, and refuses to be given both.
_RETRY_SETTINGS = (
    "total",
    "connect",
    "read",
    "status",
    "other",
    "redirect",
    "backoff_factor",
    "status_forcelist",
    "allowed_methods",
    "raise_on_status",
    "raise_on_redirect",
    "respect_retry_after_header",
    "remove_headers_on_redirect",
)
# Service messages are quoted in errors; a proxy's HTML error page must not flood the War Room.
MAX_QUOTED_CHARS = 300
TABLE_TITLE = "Yoda Says..."
TABLE_HEADERS = ["Original", "Translation"]

# tableToMarkdown escapes | and ` itself; every other character markdown or HTML would interpret is escaped here.
_CELL_ESCAPES = str.maketrans(
    {char: "\\" + char for char in "\\*_{}[]()#+-!"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"},
)
_WAIT_PATTERN = re.compile(r"wait for ([^.]+)", re.IGNORECASE)


""" ERRORS """


class YodaSpeakError(DemistoException):
    """A failure the user can act on; the message says what to change."""


class InvalidTextError(YodaSpeakError):
    """The text argument cannot be sent (empty, too long, not valid Unicode)."""


class ConfigurationError(YodaSpeakError):
    """An instance parameter has a value the integration cannot use."""


class ApiKeyError(YodaSpeakError):
    """The service refused the API key (HTTP 401/403)."""


class RateLimitError(YodaSpeakError):
    """The service's rate limit is reached (HTTP 429)."""

    def __init__(self, message: str, wait: str | None) -> None:
        super().__init__(message)
        self.wait = wait


class RequestRejectedError(YodaSpeakError):
    """The service rejected the request (400, 404 and other statuses): the URL or the input is wrong."""


class ServiceError(YodaSpeakError):
    """The service failed on its side (5xx), even after the retries."""


class BadResponseError(YodaSpeakError):
    """The service answered, but not with a translation."""


class ConnectionFailedError(YodaSpeakError):
    """The service could not be reached, or did not answer in time."""


""" CLIENT """


class FinalErrorsRetry(Retry):
    """urllib3's Retry, except that a read timeout or a TLS failure ends the request on the first attempt.

    urllib3 files a dropped connection (ProtocolError) and a read timeout under the same "read" count, so that
    count stays at the retries asked for (a dropped connection is retried) and a timeout is re-raised here. A
    timed-out request reached the service: sending it again would wait the full timeout each time and spend the
    hourly quota. A certificate that failed verification fails the same way on every handshake, so retrying only
    delays the advice.
    """

    @classmethod
    def copy_of(cls, retry: Retry, **changes: Any) -> Self:
        """This class with the settings of `retry` that urllib3 1.26 and 2.x share (_RETRY_SETTINGS), then `changes`."""
        settings = {name: getattr(retry, name) for name in _RETRY_SETTINGS}
        return cls(**(settings | changes))

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: "BaseHTTPResponse | None" = None,
        error: Exception | None = None,
        _pool: "ConnectionPool | None" = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        """Re-raises a read timeout or a TLS error as it is; counts every other failure as urllib3 does."""
        if isinstance(error, ReadTimeoutError | Urllib3SSLError):
            # Raised as it is, as urllib3 does with read=False: requests then maps it to ReadTimeout or SSLError.
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


@dataclass(frozen=True)
class Translation:
    """One successful answer of the Yoda translator."""

    translated: str
    raw_response: dict[str, Any]


class Client(BaseClient):
    """Talks to the FunTranslations API: HTTP and the API's answers, nothing about XSOAR."""

    def __init__(self, base_url: str, api_key: str | None, verify: bool, proxy: bool) -> None:
        # The free tier takes no key; an empty header would be read as a bad key.
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._api_key = api_key
        super().__init__(base_url=base_url, verify=verify, proxy=proxy, headers=headers, timeout=REQUEST_TIMEOUT)

    def translate(self, text: str) -> Translation:
        """Translates text into Yoda speak; raises a YodaSpeakError subclass on any failure."""
        try:
            return self._translate(text)
        except YodaSpeakError as error:
            # Messages quote the service and requests; neither may put the key in the War Room.
            error.message = self._redact(error.message)
            raise

    def _translate(self, text: str) -> Translation:
        """Sends the request and turns every failure into a YodaSpeakError."""
        try:
            response = self._http_request(
                "POST",
                url_suffix=TRANSLATOR_PATH,
                data={"text": text},
                resp_type="response",
                error_handler=self._raise_for_status,
                retries=RETRIES,
                status_list_to_retry=RETRY_STATUSES,
                backoff_factor=BACKOFF_FACTOR,
            )
            return self._parse_translation(response)
        except YodaSpeakError:
            raise
        except DemistoException as error:
            # CommonServerPython's own wording for connection, TLS and proxy failures already says what to check.
            raise ConnectionFailedError(
                f"Could not reach FunTranslations at {self._base_url}: {error}", error.exception
            ) from error
        except requests.exceptions.ReadTimeout as error:
            # _http_request does not wrap read timeouts.
            raise ConnectionFailedError(
                f"FunTranslations did not answer within {seconds(self.timeout)}. The service may be overloaded: "
                "try again later. If it keeps happening, check the proxy settings.",
                error,
            ) from error
        except requests.exceptions.RequestException as error:
            # Malformed URLs, TLS errors with "Trust any certificate" selected, broken transfers.
            raise ConnectionFailedError(
                f"The request to FunTranslations at {self._base_url} failed ({type(error).__name__}: {error}). "
                "Check the API URL parameter and the network path to the service.",
                error,
            ) from error

    def _redact(self, text: str) -> str:
        """Replaces the API key in a message."""
        return text.replace(self._api_key, "<API key>") if self._api_key else text

    def _implement_retry(
        self,
        retries: int = 0,
        status_list_to_retry: Any = None,
        backoff_factor: float = 5,
        raise_on_redirect: bool = False,
        raise_on_status: bool = False,
    ) -> None:
        """Mounts BaseClient's retry adapter, without Retry-After handling and with FinalErrorsRetry's exceptions.

        urllib3 would otherwise retry a 429 that carries a Retry-After header, sleeping as long as it asks, and
        resend a request whose answer timed out, spending the caller's quota of 5 calls an hour.
        """
        super()._implement_retry(retries, status_list_to_retry, backoff_factor, raise_on_redirect, raise_on_status)
        adapter = cast(requests.adapters.HTTPAdapter, self._session.get_adapter("https://"))
        adapter.max_retries = FinalErrorsRetry.copy_of(adapter.max_retries, respect_retry_after_header=False)

    def _raise_for_status(self, response: requests.Response) -> None:
        """Turns an error status and the {"error": {"code", "message"}} envelope into a clear exception."""
        status = response.status_code
        detail = service_message(response)
        said = f"HTTP {status}: {detail}"
        if status in (401, 403):
            raise ApiKeyError(
                f"FunTranslations refused the API key ({said}). Check the API Key parameter: enter the key of "
                "your FunTranslations plan, or leave it empty to use the free tier.",
                res=response,
            )
        if status == 429:
            raise rate_limit_error(detail, response)
        if status >= 500:
            raise ServiceError(
                f"FunTranslations failed on its side ({said}). The problem is with the service, not the instance "
                "settings: try again later.",
                res=response,
            )
        if status == 404:
            raise RequestRejectedError(
                f"FunTranslations has no Yoda translator at {response.url} ({said}). Check the API URL "
                f"parameter; it should be {DEFAULT_URL}",
                res=response,
            )
        raise RequestRejectedError(
            f"FunTranslations rejected the request ({said}). Check the API URL parameter (it should be "
            f"{DEFAULT_URL}) and the text argument.",
            res=response,
        )

    def _parse_translation(self, response: requests.Response) -> Translation:
        """Checks a 2xx answer really holds one translation; the service reports some failures with 200."""
        try:
            body = response.json()
        except (ValueError, RecursionError) as error:
            content_type = response.headers.get("Content-Type") or "no content type"
            quoted = quote(response.text)
            # An empty body quoted as ": ." reads like a typo; say it was empty instead.
            what = (
                f"a body that is not JSON ({content_type}): {quoted}" if quoted else f"an empty body ({content_type})"
            )
            raise BadResponseError(
                f"FunTranslations answered HTTP {response.status_code} with {what}. Check the API URL parameter; "
                f"it should be {DEFAULT_URL}",
                error,
                response,
            ) from error
        if not isinstance(body, dict):
            raise BadResponseError(
                f"FunTranslations answered with JSON that is not an object: {quote(json.dumps(body))}. "
                + RETRY_OR_CHECK_URL,
                res=response,
            )
        if "error" in body:
            raise BadResponseError(
                f"FunTranslations answered HTTP {response.status_code} but reported an error: "
                f"{envelope_message(body) or quote(json.dumps(body))}. " + RETRY_OR_CHECK_URL,
                res=response,
            )
        success = body.get("success")
        total = success.get("total") if isinstance(success, dict) else None
        if isinstance(total, bool) or total != 1:
            raise BadResponseError(
                f"FunTranslations did not translate the text (success.total is {json.dumps(total)}, expected 1). "
                + RETRY_OR_CHECK_URL,
                res=response,
            )
        contents = body.get("contents")
        translated = contents.get("translated") if isinstance(contents, dict) else None
        if not isinstance(translated, str) or not translated.strip():
            raise BadResponseError(
                "FunTranslations answered without a translation (contents.translated is missing or empty). "
                + RETRY_OR_CHECK_URL,
                res=response,
            )
        # The service sometimes adds a trailing space; the double spaces inside are its own and kept.
        return Translation(translated=translated.strip(), raw_response=body)


""" HELPER FUNCTIONS """


def quote(text: str) -> str:
    """Shortens text quoted from the service to MAX_QUOTED_CHARS, on one line."""
    one_line = " ".join(text.split())
    if len(one_line) <= MAX_QUOTED_CHARS:
        return one_line
    return one_line[:MAX_QUOTED_CHARS] + "..."


def seconds(value: float) -> str:
    """Formats a duration in seconds for a sentence: "1 second", "0.5 seconds", "30 seconds"."""
    return f"{value:g} second" + ("" if value == 1 else "s")


def envelope_message(body: Any) -> str | None:
    """Returns error.message of a FunTranslations error envelope, if the body is one."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    if isinstance(message, str) and message.strip():
        return quote(message)
    return None


def service_message(response: requests.Response) -> str:
    """Returns what the service said about an error: the envelope's message, else the HTTP reason."""
    try:
        message = envelope_message(response.json())
    except (ValueError, RecursionError):
        message = None
    # Some proxies and test doubles send no reason phrase; the standard one still helps.
    return message or response.reason or http.client.responses.get(response.status_code) or "no reason given"


def rate_limit_error(detail: str, response: requests.Response) -> RateLimitError:
    """Builds the 429 error, quoting the wait the service asks for (it is only in the message text)."""
    match = _WAIT_PATTERN.search(detail)
    wait = match.group(1).strip() if match else None
    when = f"Try again in {wait}" if wait else "Try again later (the free tier allows 5 calls an hour)"
    error = RateLimitError(
        f'FunTranslations rate limit reached (HTTP 429). The service said: "{detail}" {when}; the integration does '
        "not retry it. "
        "A paid FunTranslations plan, entered in the API Key parameter, lifts the limit.",
        wait,
    )
    error.res = response
    return error


def parse_base_url(value: Any) -> str:
    """Checks the API URL parameter and gives it the trailing slash urljoin needs to keep its last segment."""
    url = value.strip() if isinstance(value, str) else ""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationError(
            f"The API URL parameter must be an http(s) URL such as {DEFAULT_URL}; got {json.dumps(value)}."
        )
    return url.rstrip("/") + "/"


def parse_api_key(credentials: Any) -> str | None:
    """Reads the API Key parameter: a credentials object (type 9) whose password is the key, or nothing."""
    key = credentials.get("password") if isinstance(credentials, dict) else credentials
    if key is None or key == "":
        return None
    # Never quote the value: it is a secret, and it could not be masked if it was mangled.
    if not isinstance(key, str) or not re.fullmatch(r"[!-~]+", key.strip()):
        raise ConfigurationError(
            "The API Key parameter must be the key of your FunTranslations plan, a single word of printable ASCII "
            "characters. Paste the key again, or clear the parameter to use the free tier."
        )
    return key.strip()


def parse_bool_param(value: Any, display: str) -> bool:
    """Reads a checkbox parameter; the engine may pass a bool, a string, or nothing."""
    if value is None or value == "":
        return False
    try:
        return bool(argToBoolean(value))
    except ValueError as error:
        message = f'The "{display}" parameter must be true or false; got {json.dumps(value)}.'
        raise ConfigurationError(message) from error


def parse_cache_hours(value: Any) -> int:
    """Reads the cache lifetime parameter: whole hours, 0 turns the cache off."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_CACHE_HOURS
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,5}", text) or int(text) > MAX_CACHE_HOURS:
        raise ConfigurationError(
            f'The "Cache lifetime (hours)" parameter must be a whole number of hours from 0 to {MAX_CACHE_HOURS} '
            f"(0 turns the cache off); got {json.dumps(value)}."
        )
    return int(text)


def parse_text_arg(value: Any) -> str:
    """Checks the text argument before any request is made."""
    if not isinstance(value, str):
        kind = "nothing" if value is None else type(value).__name__
        raise InvalidTextError(f"The text argument must be English text to translate; got {kind}.")
    if not value.strip():
        raise InvalidTextError(
            'The text argument is empty. Give the English text to translate, for example text="Master Obiwan '
            'has lost a planet."'
        )
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidTextError(
            f"The text is {len(value)} characters long; the limit is {MAX_TEXT_LENGTH} characters. "
            "Split it into shorter texts."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidTextError(
            f"The text contains a character that is not valid Unicode at position {error.start} "
            f"(an unpaired surrogate, {value[error.start]!a}). Remove it and try again."
        ) from error
    return value


def normalize_text(text: str) -> str:
    """Strips the text and collapses runs of whitespace: texts that differ only there translate alike."""
    return " ".join(text.split())


class CacheEntry(TypedDict):
    """One cached translation, as stored in the integration context."""

    key: str
    text: str
    translated: str
    stored_at: float


def cache_key(normalized: str) -> str:
    """Keys the cache on a SHA-256 of the normalised text: short, fixed-length, no collisions in practice."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def load_cache(integration_context: Any, now: float) -> list[CacheEntry]:
    """Reads the cache entries, oldest first; anything corrupt or foreign is ignored."""
    cache = integration_context.get(CACHE_CONTEXT_KEY) if isinstance(integration_context, dict) else None
    if not isinstance(cache, dict) or cache.get("version") != CACHE_FORMAT_VERSION:
        return []
    entries = cache.get("entries")
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if is_valid_entry(entry, now)][-MAX_CACHE_ENTRIES:]


def is_valid_entry(entry: Any, now: float) -> bool:
    """Tells whether a stored entry is well formed, consistent with its key, and not from the future."""
    if not isinstance(entry, dict) or set(entry) != set(CacheEntry.__annotations__):
        return False
    text, translated, stored_at = entry["text"], entry["translated"], entry["stored_at"]
    if not isinstance(text, str) or not isinstance(translated, str) or not translated:
        return False
    if isinstance(stored_at, bool) or not isinstance(stored_at, int | float) or not 0 <= stored_at <= now:
        return False
    try:
        return bool(entry["key"] == cache_key(text))
    except UnicodeEncodeError:
        return False


def find_cached(entries: list[CacheEntry], normalized: str) -> CacheEntry | None:
    """Finds the entry for a normalised text; the stored text is compared too, not only the hash."""
    key = cache_key(normalized)
    return next((entry for entry in entries if entry["key"] == key and entry["text"] == normalized), None)


def add_to_cache(entries: list[CacheEntry], normalized: str, translated: str, now: float) -> list[CacheEntry]:
    """Returns the entries with this translation as the newest one, dropping the oldest beyond the bound."""
    key = cache_key(normalized)
    kept = [entry for entry in entries if entry["key"] != key]
    new_entry = CacheEntry(key=key, text=normalized, translated=translated, stored_at=now)
    return [*kept, new_entry][-MAX_CACHE_ENTRIES:]


def save_cache(integration_context: Any, entries: list[CacheEntry]) -> None:
    """Writes the cache back, keeping any other keys of the integration context."""
    updated = dict(integration_context) if isinstance(integration_context, dict) else {}
    updated[CACHE_CONTEXT_KEY] = {"version": CACHE_FORMAT_VERSION, "entries": entries}
    set_integration_context(updated)


def format_time(timestamp: float) -> str:
    """Formats a stored time for people (UTC, ISO 8601)."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def escape_cell(value: str) -> str:
    """Escapes a table cell so markdown and HTML in it show as typed and cannot break the table."""
    return value.translate(_CELL_ESCAPES)


def readable_table(text: str, translated: str, note: str | None) -> str:
    """Builds the War Room table; a note (cache, warning) goes between the title and the table."""
    row = {"Original": escape_cell(text), "Translation": escape_cell(translated)}
    metadata = stringEscapeMD(note, minimal_escaping=True, escape_multiline=True) + "\n" if note else None
    return str(tableToMarkdown(TABLE_TITLE, row, headers=TABLE_HEADERS, metadata=metadata))


def cached_response(normalized: str, translated: str) -> dict[str, Any]:
    """Rebuilds, from the cache, the answer the API gave for the normalised text (the text that was sent).

    The cache keeps only the translation; the rest of the API's answer is fixed for a successful Yoda translation.
    """
    return {"success": {"total": 1}, "contents": {"translated": translated, "text": normalized, "translation": "yoda"}}


def translation_results(
    text: str, translated: str, raw_response: dict[str, Any], note: str | None = None
) -> CommandResults:
    """Wraps a translation; the key field makes a re-run on the same text update its context entry."""
    return CommandResults(
        outputs_prefix="YodaSpeak.TheForce",
        outputs_key_field="Original",
        outputs={"Original": text, "Translation": translated},
        raw_response=raw_response,
        readable_output=readable_table(text, translated, note),
    )


""" COMMAND FUNCTIONS """


def test_module(client: Client) -> str:
    """Translates a fixed phrase; returns 'ok', or what to fix in the instance settings."""
    try:
        client.translate(TEST_MODULE_TEXT)
    except ApiKeyError as error:
        return f"Authorization failed: {error}"
    except RateLimitError as error:
        return f"The URL works, but the rate limit is reached: {error}"
    except (RequestRejectedError, BadResponseError) as error:
        return f"The API URL parameter does not lead to the FunTranslations Yoda translator: {error}"
    except ServiceError as error:
        return f"The settings look right, but the service is failing: {error}"
    except ConnectionFailedError as error:
        return f"Connection failed: {error}"
    return "ok"


def translate_command(client: Client, args: dict[str, Any], cache_hours: int, now: float) -> CommandResults:
    """Translates args['text'], from the cache when a fresh translation of the same text is stored."""
    text = parse_text_arg(args.get("text"))
    normalized = normalize_text(text)
    integration_context = get_integration_context() if cache_hours else {}
    entries = load_cache(integration_context, now)
    cached = find_cached(entries, normalized)
    if cached and now - cached["stored_at"] < cache_hours * 3600:
        note = f"From the cache: translated at {format_time(cached['stored_at'])}, so no API call was made."
        return translation_results(text, cached["translated"], cached_response(normalized, cached["translated"]), note)
    try:
        translation = client.translate(normalized)
    except RateLimitError as error:
        if not cached:
            raise
        demisto.debug(f"Rate limited; answering from the expired cache entry stored at {cached['stored_at']}.")
        note = (
            f"Warning: {error} Showing the cached translation from {format_time(cached['stored_at'])}, "
            f"older than the {cache_hours}-hour cache lifetime."
        )
        return translation_results(text, cached["translated"], cached_response(normalized, cached["translated"]), note)
    if cache_hours:
        save_cache(integration_context, add_to_cache(entries, normalized, translation.translated, now))
    return translation_results(text, translation.translated, translation.raw_response)


""" MAIN FUNCTION """


def main() -> None:
    """Reads the instance settings, runs the command and reports every failure through return_error."""
    command = demisto.command()
    demisto.debug(f"Command being called is {command}")
    try:
        params = demisto.params()
        api_key = parse_api_key(params.get("apikey"))
        if api_key:
            # return_error masks it; registering it covers keys set after CommonServerPython was imported.
            add_sensitive_log_strs(api_key)
        client = Client(
            base_url=parse_base_url(params.get("url")),
            api_key=api_key,
            verify=not parse_bool_param(params.get("insecure"), "Trust any certificate (not secure)"),
            proxy=parse_bool_param(params.get("proxy"), "Use system proxy settings"),
        )
        cache_hours = parse_cache_hours(params.get("cache_hours"))
        if command == "test-module":
            return_results(test_module(client))
        elif command == TRANSLATE_COMMAND:
            return_results(translate_command(client, demisto.args(), cache_hours, time.time()))
        else:
            raise NotImplementedError(f"Command {command} is not implemented.")
    except Exception as error:
        # return_error also logs the message and the traceback, with the API key masked.
        return_error(f"Failed to execute {command} command.\nError: {error}", error)


""" ENTRY POINT """


if __name__ in ("__main__", "__builtin__", "builtins"):  # pragma: no cover
    main()
