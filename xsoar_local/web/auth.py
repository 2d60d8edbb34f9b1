"""Browser sessions for the web War Room: the API key once, then an HttpOnly cookie; CSRF checks for its calls.

The key is compared in constant time and never stored in the browser: the cookie holds a random session id that
this process alone knows (a restarted server asks for the key again). Every state-changing request must come from
the page itself: same-origin `Origin` (or `Referer`) and the session's CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from werkzeug.wrappers import Request

COOKIE_NAME = "xsoar_local_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000


@dataclass(frozen=True)
class Session:
    """A logged-in browser: its id (the cookie) and the token its page sends back on every change."""

    session_id: str
    csrf_token: str
    expires: float


class Sessions:
    """The logged-in browsers of one server process."""

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("the web War Room needs the server's API key to check logins against")
        self._api_key = api_key.encode()
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def key_matches(self, candidate: str) -> bool:
        """True when `candidate` is the server's API key (constant-time comparison)."""
        return hmac.compare_digest(candidate.encode(), self._api_key)

    def open(self) -> Session:
        """A new session (after the key was checked)."""
        now = time.time()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + SESSION_SECONDS)
        with self._lock:
            self._sessions = {sid: s for sid, s in self._sessions.items() if s.expires > now}
            if len(self._sessions) >= MAX_SESSIONS:  # the oldest go first
                for sid in sorted(self._sessions, key=lambda sid: self._sessions[sid].expires)[:100]:
                    del self._sessions[sid]
            self._sessions[session.session_id] = session
        return session

    def find(self, request: Request) -> Session | None:
        """The request's live session, from its cookie."""
        session_id = request.cookies.get(COOKIE_NAME, "")
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.expires <= time.time():
            return None
        return session

    def close(self, session: Session) -> None:
        """Log the browser out."""
        with self._lock:
            self._sessions.pop(session.session_id, None)


def same_origin(request: Request) -> bool:
    """True when the request says it comes from this server's own pages (Origin, else Referer).

    Browsers send `Origin` on every cross-site POST and on same-origin fetch POSTs; a request with neither header
    is not a browser's cross-site request (a form post from another site always carries one of them).
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source is None
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.scheme}://{request.host}"


def csrf_ok(request: Request, session: Session, submitted: str | None) -> bool:
    """True for a same-origin request carrying this session's CSRF token."""
    return same_origin(request) and submitted is not None and hmac.compare_digest(submitted, session.csrf_token)
