"""Browser sessions for the web War Room: a one-time login code (or the API key, typed), then an HttpOnly cookie
that only this server's pages receive; CSRF checks for its calls.

The API key never travels in a URL. The server prints a login link holding a one-time code that expires after
`CODE_SECONDS`; opening it (or typing the key into the form) starts a session. The session cookie holds a random
id that this process alone knows (a restarted server asks again).

Browsers send a cookie to every port of a host, so the cookie is made useless elsewhere two ways: its name carries
this server's port, and its `Path` is this server's secret page root (`/ui/s/<scope>/`). A browser sends it only
for URLs under that root, which a server on another port is never asked for: no page can ask the browser for it
without knowing the scope, and this server reveals the scope only to a logged-in browser.

Every state-changing request must come from the page itself: an `Origin` header naming this server, and the
session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from werkzeug.wrappers import Request

COOKIE_PREFIX = "xsoar_local_session_"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600
CODE_SECONDS = 10 * 60
MAX_SESSIONS = 1000
MAX_CODES = 20
SCOPED_PREFIX = "/ui/s/"


def cookie_name(request: Request) -> str:
    """The session cookie's name on the port the request reached: two servers' cookies never collide."""
    return COOKIE_PREFIX + str(request.environ.get("SERVER_PORT") or "0")


@dataclass(frozen=True)
class LoginSession:
    """A logged-in browser: its id (the cookie) and the token its page sends back on every change."""

    session_id: str
    csrf_token: str
    expires: float


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    """The logged-in browsers and the unused login codes of one server process."""

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("the web War Room needs the server's API key to check logins against")
        self._api_key = api_key.encode()
        self._sessions: dict[str, LoginSession] = {}
        self._codes: dict[str, float] = {}  # sha256 of a code -> when it expires
        self._lock = threading.Lock()
        self.scope = secrets.token_urlsafe(16)

    @property
    def root(self) -> str:
        """The URL path under which the logged-in pages live (and the cookie's Path)."""
        return SCOPED_PREFIX + self.scope

    def key_matches(self, candidate: str) -> bool:
        """True when `candidate` is the server's API key (constant-time comparison)."""
        return hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), self._api_key)

    def issue_code(self) -> str:
        """A new one-time login code, valid for `CODE_SECONDS`."""
        code = secrets.token_urlsafe(18)
        now = time.time()
        with self._lock:
            self._codes = {digest: expires for digest, expires in self._codes.items() if expires > now}
            while len(self._codes) >= MAX_CODES:
                del self._codes[min(self._codes, key=self._codes.__getitem__)]
            self._codes[_digest(code)] = now + CODE_SECONDS
        return code

    def has_live_code(self) -> bool:
        """Whether an unused, unexpired code exists (then no new one needs printing)."""
        now = time.time()
        with self._lock:
            return any(expires > now for expires in self._codes.values())

    def redeem_code(self, code: str) -> bool:
        """True once for a live code: it is used up whether or not it was still valid."""
        with self._lock:
            expires = self._codes.pop(_digest(code), None)
        return expires is not None and expires > time.time()

    def open(self) -> LoginSession:
        """A new session (after the key or a code was checked)."""
        now = time.time()
        session = LoginSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + SESSION_SECONDS)
        with self._lock:
            self._sessions = {sid: s for sid, s in self._sessions.items() if s.expires > now}
            if len(self._sessions) >= MAX_SESSIONS:  # the oldest go first
                for sid in sorted(self._sessions, key=lambda sid: self._sessions[sid].expires)[:100]:
                    del self._sessions[sid]
            self._sessions[session.session_id] = session
        return session

    def find(self, request: Request) -> LoginSession | None:
        """The request's live session, from its cookie."""
        session_id = request.cookies.get(cookie_name(request), "")
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.expires <= time.time():
            return None
        return session

    def close(self, session: LoginSession) -> None:
        """Log the browser out."""
        with self._lock:
            self._sessions.pop(session.session_id, None)


def same_origin(request: Request) -> bool:
    """True when the request's `Origin` names this server.

    Browsers send `Origin` on every POST, same-origin fetches and form posts included; a request without one is
    not from this server's page, so it is refused (a script that holds a stolen cookie must not get through).
    """
    source = request.headers.get("Origin")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.scheme}://{request.host}"


def csrf_ok(request: Request, session: LoginSession, submitted: str | None) -> bool:
    """True for a same-origin request carrying this session's CSRF token."""
    return same_origin(request) and submitted is not None and hmac.compare_digest(submitted, session.csrf_token)
