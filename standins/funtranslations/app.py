"""The WSGI application: the FunTranslations Yoda contract, keys, rate limit, faults and a request log.

Routes: `GET` and `POST` (form or JSON body) on `/translate/yoda` and `/translate/yoda.json`.
Success is `{"success": {"total": 1}, "contents": {"translated", "text", "translation"}}`; every
error is `{"error": {"code": N, "message": "..."}}` with HTTP status N. A request is handled in
this order: faults (which may answer on their own), route (404/405), key (401), rate limit (429),
text (400), translation (200). Every request is recorded, faulted ones included.
"""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import ClientDisconnected, HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from standins.funtranslations.faults import Fault, FaultSchedule
from standins.funtranslations.ratelimit import RateLimiter, rate_limit_message
from standins.funtranslations.translator import translate

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

API_KEY_HEADER = "X-Funtranslations-Api-Secret"
TRANSLATION = "yoda"

# The real service's messages for the statuses it is known to return.
MESSAGES = {
    400: "Bad Request: text is missing.",
    401: "Unauthorized",
    404: "Not Found",
}
NOT_JSON_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The upstream translator did not answer.</p></body></html>\n"
)

_ROUTES = Map(
    [Rule("/translate/yoda", endpoint=TRANSLATION), Rule("/translate/yoda.json", endpoint=TRANSLATION)],
    merge_slashes=False,
)
_METHODS = frozenset({"GET", "HEAD", "POST"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the service saw it; `status` is None when the connection was dropped."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    client: str
    status: int | None
    faults: tuple[str, ...] = ()

    @property
    def api_key(self) -> str | None:
        """The API key the client sent, if any."""
        return _api_key(self.headers.items())


# Memory stays bounded whatever clients send: bodies over the limit are refused with 413 unread, the log
# keeps the latest entries only, and each logged body value is cut short.
MAX_BODY_BYTES = 64 * 1024
MAX_LOG_ENTRIES = 1000
MAX_LOGGED_VALUE = 2048


def _clipped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_LOGGED_VALUE:
        return value[:MAX_LOGGED_VALUE] + f"... ({len(value) - MAX_LOGGED_VALUE} more characters)"
    if isinstance(value, dict):
        return {key: _clipped(item) for key, item in list(value.items())[:100]}
    if isinstance(value, list):
        return [_clipped(item) for item in value[:100]]
    return value


class RequestLog:
    """Thread-safe record of the latest requests (at most MAX_LOG_ENTRIES), in arrival order of their answers."""

    def __init__(self, limit: int = MAX_LOG_ENTRIES) -> None:
        self._entries: collections.deque[RecordedRequest] = collections.deque(maxlen=limit)
        self._lock = threading.Lock()

    def append(self, entry: RecordedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the entries so far; later requests do not change it."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


def status_message(status: int) -> str:
    """The envelope message for an injected status: the real one where known, else the reason phrase."""
    if status in MESSAGES:
        return MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP Error {status}"


def envelope(status: int, message: str) -> Response:
    """The error envelope `{"error": {"code", "message"}}` with `status` as HTTP status."""
    return _json({"error": {"code": status, "message": message}}, status)


class TranslationService:
    """The WSGI application. `wait` sleeps for latency faults (the server makes it wake on shutdown)."""

    def __init__(
        self,
        *,
        limiter: RateLimiter | None,
        paid_keys: frozenset[str] = frozenset(),
        known_keys: frozenset[str] = frozenset(),
        faults: tuple[Fault, ...] = (),
        wait: Callable[[float], object],
        log: RequestLog | None = None,
    ) -> None:
        self.limiter = limiter
        self.paid_keys = paid_keys
        self.known_keys = known_keys | paid_keys
        self.schedule = FaultSchedule(faults)
        self.wait = wait
        self.log = log if log is not None else RequestLog()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES  # also bounds a chunked body, which has no length
        try:
            if (request.content_length or 0) > MAX_BODY_BYTES:
                raise RequestEntityTooLarge()
            body = _body(request)
        except RequestEntityTooLarge:
            response = envelope(413, f"Request Entity Too Large: the body is over {MAX_BODY_BYTES} bytes.")
            response.headers["Connection"] = "close"  # the unread body must not be taken for the next request
            self._record(request, {}, 413, ())
            return response(environ, start_response)
        except ClientDisconnected:  # the body stopped short (the client left, or the service is stopping)
            self._record(request, {}, None, ())
            start_response("444 Connection Dropped", [])  # nobody is listening; the write fails quietly
            return []
        faults = self.schedule.next_request()
        delay = sum(fault.latency or 0.0 for fault in faults)
        if delay:
            self.wait(delay)
        outcome = next((fault for fault in faults if fault.kind != "latency"), None)
        if outcome is not None and outcome.kind == "drop":
            self._record(request, body, None, faults)
            _drop(environ)
            # Nothing reaches the client: writing this status fails on the closed socket, which
            # Werkzeug treats as a client that went away. 444 is nginx's "closed without response".
            start_response("444 Connection Dropped", [])
            return []
        response = self._faulted(outcome) if outcome is not None else self._handle(request, body)
        self._record(request, body, response.status_code, faults)
        return response(environ, start_response)

    def _faulted(self, fault: Fault) -> Response:
        if fault.kind == "body":
            if fault.body == "empty":
                return Response(b"", 200, content_type="text/plain")
            return Response(NOT_JSON_BODY, 200, content_type="text/html; charset=utf-8")
        status = fault.status or 500
        if status == 429:
            return envelope(429, self._rate_limit_fault_message())
        return envelope(status, status_message(status))

    def _rate_limit_fault_message(self) -> str:
        """An injected 429 says a whole window must pass, with the configured (or free-tier) numbers."""
        if self.limiter is None:
            return rate_limit_message(5, 3600, 3600)
        return rate_limit_message(self.limiter.limit, self.limiter.window_seconds, self.limiter.window_seconds)

    def _handle(self, request: Request, body: dict[str, Any]) -> Response:
        try:
            _ROUTES.bind_to_environ(request.environ).match()
            if request.method not in _METHODS:
                raise MethodNotAllowed(valid_methods=sorted(_METHODS))
        except MethodNotAllowed as error:
            response = envelope(405, status_message(405))
            response.allow.update(error.valid_methods or ())
            return response
        except HTTPException:
            return envelope(404, MESSAGES[404])
        key = _api_key(request.headers.items())
        if key is not None and key not in self.known_keys:
            return envelope(401, MESSAGES[401])
        if self.limiter is not None and key not in self.paid_keys:
            verdict = self.limiter.hit(f"key:{key}" if key is not None else f"ip:{request.remote_addr}")
            if not verdict.allowed:
                return envelope(429, self.limiter.message(verdict))
        text = _text(request, body)
        if text is None:
            return envelope(400, MESSAGES[400])
        contents = {"translated": translate(text), "text": text, "translation": TRANSLATION}
        return _json({"success": {"total": 1}, "contents": contents}, 200)

    def _record(self, request: Request, body: dict[str, Any], status: int | None, faults: tuple[Fault, ...]) -> None:
        self.log.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.args.to_dict(),
                headers=dict(request.headers.items()),
                body=_clipped(body),
                client=request.remote_addr or "",
                status=status,
                faults=tuple(fault.spec for fault in faults),
            )
        )


def _json(payload: Mapping[str, Any], status: int) -> Response:
    return Response(json.dumps(payload), status, content_type="application/json")


def _api_key(headers: Iterable[tuple[str, str]]) -> str | None:
    """The key from the API-secret header (any case); an empty value counts as no key."""
    wanted = API_KEY_HEADER.lower()
    value = next((v for k, v in headers if k.lower() == wanted), "").strip()
    return value or None


def _body(request: Request) -> dict[str, Any]:
    """The form or JSON body as a dict (a JSON value that is not an object is kept under `_json`)."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {"_json": data}
    return request.form.to_dict()


def _text(request: Request, body: dict[str, Any]) -> str | None:
    """The text to translate from the body, else the query string; None when missing or blank."""
    text = body.get("text", request.args.get("text"))
    return text if isinstance(text, str) and text.strip() else None


def _drop(environ: WSGIEnvironment) -> None:
    """Close the TCP connection without answering; the server's own write then fails quietly."""
    connection = environ.get("werkzeug.socket")
    if not isinstance(connection, socket.socket):
        raise RuntimeError("a 'drop' fault needs the Werkzeug server (no socket in the WSGI environ)")
    with contextlib.suppress(OSError):  # the client already went away: dropped either way
        connection.shutdown(socket.SHUT_RDWR)
