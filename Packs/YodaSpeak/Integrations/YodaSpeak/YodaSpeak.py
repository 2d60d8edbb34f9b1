"""YodaSpeak: English into the way Yoda speaks, with the FunTranslations API; translations are cached."""

import hashlib
import http.client
import re
import time
from typing import Any

import demistomock as demisto
import requests
from CommonServerPython import *
from CommonServerUserPython import *

""" CONSTANTS """

DEFAULT_URL = "https://api.funtranslations.com/translate/"
API_KEY_HEADER = "X-Funtranslations-Api-Secret"
REQUEST_TIMEOUT = 30  # seconds; the engine's REQUESTS_TIMEOUT overrides it (BaseClient reads it)
# Seconds to wait before each retry of a 5xx answer or of a refused or dropped connection: 3 retries, 3 s in all.
RETRY_DELAYS = (0, 1, 2)
MAX_TEXT_LENGTH = 1000  # the service documents no limit; ~500 characters are known to work
DEFAULT_CACHE_HOURS = 24
MAX_CACHE_HOURS = 8760  # one year
MAX_CACHE_ENTRIES = 100
CACHE_CONTEXT_KEY = "translation_cache"
CACHE_FORMAT_VERSION = 1
CACHE_WRITE_ATTEMPTS = 3
MAX_QUOTED_CHARS = 300  # a proxy's HTML error page must not flood the War Room
# What an error status means (5xx as 500, any other as 400); {said} is the status and what the service said.
STATUS_MESSAGES = {
    400: "FunTranslations rejected the request ({said}). Check the API URL parameter (it should be {default}) and "
    "the text argument.",
    401: "FunTranslations refused the API key ({said}). Check the API Key parameter: enter the key of your "
    "FunTranslations plan, or leave it empty to use the free tier.",
    404: "FunTranslations has no Yoda translator at {url} ({said}). Check the API URL parameter; it should be "
    "{default}",
    500: "FunTranslations failed on its side ({said}). The problem is with the service, not the instance settings: "
    "try again later.",
}
STATUS_MESSAGES[403] = STATUS_MESSAGES[401]


""" CLIENT """


class RateLimitError(DemistoException):
    """HTTP 429: never retried, since the wait it asks for is most of an hour; an expired cache entry may answer."""


class Client(BaseClient):
    """The FunTranslations Yoda translator: HTTP and the API's answers, nothing about XSOAR."""

    def __init__(self, base_url: str, api_key: str | None, verify: bool, proxy: bool) -> None:
        # The free tier takes no key; an empty header would be read as a wrong key.
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        super().__init__(base_url=base_url, verify=verify, proxy=proxy, headers=headers, timeout=REQUEST_TIMEOUT)

    def translate(self, text: str) -> requests.Response:
        """POSTs the text to <url>yoda; a 5xx answer or a refused or dropped connection is sent again, with back-off."""
        retries = 0
        while True:
            try:
                response: requests.Response = self._http_request(
                    "POST", "yoda", data={"text": text}, resp_type="response", error_handler=self._raise_for_status
                )
                return response
            except requests.exceptions.ReadTimeout as error:
                raise DemistoException(
                    f"FunTranslations did not answer within {self.timeout:g} second{'' if self.timeout == 1 else 's'}."
                    " The service may be overloaded: try again later. If it keeps happening, check the proxy settings.",
                    error,
                ) from error
            except DemistoException as error:
                if retries < len(RETRY_DELAYS) and is_transient(error):
                    demisto.debug(f"Retrying in {RETRY_DELAYS[retries]} s: {error.message.splitlines()[0]}")
                    time.sleep(RETRY_DELAYS[retries])
                    retries += 1
                elif error.res is None:
                    # CommonServerPython's wording for connection, TLS and proxy failures already says what to check.
                    message = f"Could not reach FunTranslations at {self._base_url}: {error}"
                    raise DemistoException(message, error.exception) from error
                else:
                    raise

    def _raise_for_status(self, response: requests.Response) -> None:
        """Turns an error status and the service's {"error": {"message"}} envelope into advice."""
        status, said = response.status_code, service_message(response)
        if status == 429:  # the wait the service asks for is only in its message text
            wait = re.search(r"wait for ([^.]+)", said, re.IGNORECASE)
            when = f"Try again in {wait.group(1).strip()}" if wait else "Try again later (5 calls an hour are free)"
            raise RateLimitError(
                f'FunTranslations rate limit reached (HTTP 429). The service said: "{said}" {when}; the integration '
                "does not retry it. A paid FunTranslations plan, entered in the API Key parameter, lifts the limit.",
                res=response,
            )
        message = STATUS_MESSAGES.get(min(status, 500), STATUS_MESSAGES[400])
        said = f"HTTP {status}: {said}"
        raise DemistoException(message.format(said=said, url=response.url, default=DEFAULT_URL), res=response)


""" HELPER FUNCTIONS """


def is_transient(error: DemistoException) -> bool:
    """A 5xx answer, or a connection refused or dropped without an answer: worth sending again. Never a 429 or a
    timeout (the request may have counted), nor a TLS or proxy failure (each attempt fails the same way)."""
    if error.res is not None:
        return bool(error.res.status_code >= 500)
    final = (requests.exceptions.SSLError, requests.exceptions.ProxyError, requests.exceptions.ConnectTimeout)
    return isinstance(error.exception, requests.exceptions.ConnectionError) and not isinstance(error.exception, final)


def one_line(text: str) -> str:
    """Text quoted from the service, on one line and at most MAX_QUOTED_CHARS long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_QUOTED_CHARS else flat[:MAX_QUOTED_CHARS] + "..."


def service_message(response: requests.Response) -> str:
    """What the service said about an error: its envelope's message, else the HTTP reason."""
    try:
        message = dict_safe_get(response.json(), ["error", "message"])
    except ValueError:
        message = None
    if isinstance(message, str) and message.strip():
        return one_line(message)
    return response.reason or http.client.responses.get(response.status_code, "no reason given")  # HTTP/2: no reason


def translation_of(response: requests.Response) -> tuple[str, dict[str, Any]]:
    """The translation in a 2xx answer, and the answer; the service reports some failures with HTTP 200."""
    try:
        answer: dict[str, Any] = response.json()
    except ValueError as error:  # an HTML page or an empty body: the URL is not the translator
        kind = response.headers.get("Content-Type") or "no content type"
        body = one_line(response.text)
        what = f"a body that is not JSON ({kind}): {body}" if body else f"an empty body ({kind})"
        message = f"FunTranslations answered HTTP {response.status_code} with {what}. Check the API URL parameter"
        message += f"; it should be {DEFAULT_URL}"
        raise DemistoException(message, error, response) from error
    translated = dict_safe_get(answer, ["contents", "translated"])
    if dict_safe_get(answer, ["success", "total"]) == 1 and isinstance(translated, str) and translated.strip():
        return translated.strip(), answer  # the service may add a trailing space; inner double spaces are its own
    said = dict_safe_get(answer, ["error", "message"])
    reason = f" ({one_line(said)})" if isinstance(said, str) else ""
    raise DemistoException(
        f"FunTranslations answered without a translation{reason}. Try again later. If it keeps happening, check the "
        f"API URL parameter (it should be {DEFAULT_URL})."
    )


def text_argument(args: dict[str, Any]) -> str:
    """The text argument, checked before any request is made."""
    text = str(args.get("text") or "")
    if not text.strip():
        raise DemistoException('The text argument is empty. Give the English text to translate, e.g. text="Hello".')
    if len(text) > MAX_TEXT_LENGTH:
        raise DemistoException(
            f"The text is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH} characters. "
            "Split it into shorter texts."
        )
    return text


def cache_lifetime(value: Any) -> int:
    """The Cache lifetime (hours) parameter: empty means the default, 0 turns the cache off."""
    if value is None or str(value).strip() == "":
        return DEFAULT_CACHE_HOURS
    hours = arg_to_number(value) if str(value).strip().isdigit() else None  # whole hours only: no sign, no fraction
    if hours is not None and hours <= MAX_CACHE_HOURS:
        return int(hours)
    raise DemistoException(
        f'The "Cache lifetime (hours)" parameter must be a whole number of hours from 0 to {MAX_CACHE_HOURS} '
        f"(0 turns the cache off); got {value!r}."
    )


def cache_key(normalized: str) -> str:
    """A SHA-256 of the normalised text: short and fixed-length; the text itself is stored and compared too."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def cached_entries(integration_context: Any, now: float) -> list[dict[str, Any]]:
    """The well-formed cache entries, oldest first; an old format or a hand-edited context is ignored."""
    cache = dict_safe_get(integration_context, [CACHE_CONTEXT_KEY])
    entries = cache.get("entries") if isinstance(cache, dict) and cache.get("version") == CACHE_FORMAT_VERSION else []
    return [entry for entry in (entries if isinstance(entries, list) else []) if is_entry(entry, now)][
        -MAX_CACHE_ENTRIES:
    ]


def is_entry(entry: Any, now: float) -> bool:
    """Tells whether a stored cache entry is well formed and not from the future."""
    texts_ok = isinstance(entry, dict) and all(isinstance(entry.get(name), str) for name in ("text", "translated"))
    return texts_ok and type(entry.get("stored_at")) in (int, float) and 0 <= entry["stored_at"] <= now


def find_cached(entries: list[dict[str, Any]], normalized: str) -> dict[str, Any] | None:
    """The entry for a normalised text: its key and its stored text must both match."""
    key = cache_key(normalized)
    return next((entry for entry in entries if entry.get("key") == key and entry["text"] == normalized), None)


def save_translation(normalized: str, translated: str, now: float) -> None:
    """Adds a translation to the cache, newest last; a write names the version it read, so none is lost."""
    for _ in range(CACHE_WRITE_ATTEMPTS):
        integration_context, version = get_integration_context_with_version()
        entries = [entry for entry in cached_entries(integration_context, now) if entry["text"] != normalized]
        entries.append({"key": cache_key(normalized), "text": normalized, "translated": translated, "stored_at": now})
        cache = {"version": CACHE_FORMAT_VERSION, "entries": entries[-MAX_CACHE_ENTRIES:]}
        try:
            set_integration_context({**(integration_context or {}), CACHE_CONTEXT_KEY: cache}, version=version)
            return
        except ValueError as error:  # another command wrote first: merge into what it wrote
            demisto.debug(f"The integration context changed while the cache was written (not cached if last): {error}")


def escape_cell(value: str) -> str:
    """Shows markdown and HTML in a table cell as typed."""
    # stringEscapeMD leaves HTML live, so <, > and & become entities; tableToMarkdown escapes | and ` itself.
    html_safe = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return str(stringEscapeMD(html_safe)).replace("\\|", "|").replace("\\`", "`")


def translation_results(text: str, translated: str, answer: dict[str, Any], note: str | None = None) -> CommandResults:
    """The War Room table and the context entry; the key field makes a re-run on the same text update its entry."""
    row = {"Original": escape_cell(text), "Translation": escape_cell(translated)}  # sorted headers: this order
    return CommandResults(
        outputs_prefix="YodaSpeak.TheForce",
        outputs_key_field="Original",
        outputs={"Original": text, "Translation": translated},
        raw_response=answer,
        readable_output=tableToMarkdown("Yoda Says...", row, metadata=escape_cell(note) if note else None),
    )


def from_cache(text: str, normalized: str, entry: dict[str, Any], note: str) -> CommandResults:
    """Answers from a cache entry, the note's {stored} its time (the rest of the API's answer never changes)."""
    stored = timestamp_to_datestring(entry["stored_at"] * 1000, "%Y-%m-%dT%H:%M:%SZ")
    contents = {"translated": entry["translated"], "text": normalized, "translation": "yoda"}
    answer = {"success": {"total": 1}, "contents": contents}
    return translation_results(text, entry["translated"], answer, note.replace("{stored}", stored))


""" COMMAND FUNCTIONS """


def test_module(client: Client) -> str:
    """Translates a fixed phrase: 'ok', or an error that says which setting to fix."""
    translation_of(client.translate("Master Obiwan has lost a planet."))
    return "ok"


def translate_command(client: Client, args: dict[str, Any], cache_hours: int, now: float) -> CommandResults:
    """Translates args['text'], from the cache when a fresh translation of the same text is stored."""
    text = text_argument(args)
    normalized = " ".join(text.split())  # texts that differ only in whitespace translate alike
    cached = find_cached(cached_entries(get_integration_context(), now), normalized) if cache_hours else None
    if cached and now - cached["stored_at"] < cache_hours * 3600:
        return from_cache(text, normalized, cached, "From the cache: translated at {stored}, so no API call was made.")
    try:
        translated, answer = translation_of(client.translate(normalized))
    except RateLimitError as error:
        if not cached:
            raise
        note = f"Warning: {error} Showing the cached translation from {{stored}}, older than the {cache_hours}-hour"
        return from_cache(text, normalized, cached, note + " cache lifetime.")
    if cache_hours:
        save_translation(normalized, translated, now)
    return translation_results(text, translated, answer)


""" MAIN FUNCTION """


def main() -> None:
    """Reads the instance settings, runs the command and reports every failure through return_error."""
    params, command = demisto.params(), demisto.command()
    demisto.debug(f"Command being called is {command}")
    try:
        api_key = str(dict_safe_get(params, ["apikey", "password"]) or "").strip() or None
        if api_key:
            add_sensitive_log_strs(api_key)  # return_error and the logs mask it from here on
        insecure, proxy = (argToBoolean(params.get(name) or False) for name in ("insecure", "proxy"))
        client = Client(str(params.get("url") or DEFAULT_URL).strip(), api_key, verify=not insecure, proxy=proxy)
        if command == "test-module":
            return_results(test_module(client))
        elif command == "yoda-speak-translate":
            cache_hours = cache_lifetime(params.get("cache_hours"))
            return_results(translate_command(client, demisto.args(), cache_hours, time.time()))
        else:
            raise NotImplementedError(f"Command {command} is not implemented.")
    except Exception as error:
        return_error(f"Failed to execute {command} command.\nError: {error}", error)


""" ENTRY POINT """

if __name__ in ("__main__", "__builtin__", "builtins"):  # pragma: no cover
    main()
