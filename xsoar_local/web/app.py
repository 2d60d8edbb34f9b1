"""The web War Room as a WSGI app (Werkzeug): log-in, the playground, incidents, and the calls their pages make.

Pages are rendered on the server (Jinja2, autoescaped); the page script only posts command lines and swaps in
fragments rendered here, so every byte of entry text goes through the same escaping and sanitizing.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    InternalServerError,
    NotFound,
    default_exceptions,
)
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from xsoar_local.errors import UsageError, XsoarLocalError, http_status
from xsoar_local.redact import mask, mask_error
from xsoar_local.web import views
from xsoar_local.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SCOPED_PREFIX,
    SESSION_SECONDS,
    LoginSession,
    Sessions,
    cookie_name,
    csrf_ok,
    same_origin,
)
from xsoar_local.web.core import WarRoomCore

LOG = logging.getLogger(__name__)
MAX_LINE = 100_000
SEVERITIES = {"unknown": 0.0, "low": 1.0, "medium": 2.0, "high": 3.0, "critical": 4.0}
SEVERITY_NAMES = {0.0: "Unknown", 0.5: "Informational", 1.0: "Low", 2.0: "Medium", 3.0: "High", 4.0: "Critical"}
STATUS_NAMES = {0: "Pending", 1: "Active", 2: "Closed", 3: "Archived"}

# The page loads nothing from elsewhere and runs no inline script: what a bug in escaping could inject stays inert.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # not no-referrer: Chrome then sends `Origin: null` on form posts
    "Cache-Control": "no-store",
}

_ROUTES = Map(
    [
        # Open to anyone: the log-in, the page's static files, and links that lead to a page (they log in first).
        Rule("/", endpoint="index", methods=["GET"]),
        Rule("/ui", redirect_to="/"),
        Rule("/ui/", redirect_to="/"),
        Rule("/ui/login", endpoint="login", methods=["POST"]),
        Rule("/ui/static/<path:name>", endpoint="static", methods=["GET"]),
        Rule("/WorkPlan/<incident_id>", endpoint="work_plan_link", methods=["GET"]),
        # Under the session's root only (`/ui/s/<scope>/...`, where the browser sends the cookie).
        Rule("/ui/logout", endpoint="logout", methods=["POST"]),
        Rule("/ui/playground", endpoint="playground", methods=["GET"]),
        Rule("/ui/incidents", endpoint="incidents", methods=["GET"]),
        Rule("/ui/incidents", endpoint="create_incident", methods=["POST"]),
        Rule("/ui/incidents/<incident_id>", endpoint="incident", methods=["GET"]),
        Rule("/ui/api/investigations/<investigation_id>/execute", endpoint="api_execute", methods=["POST"]),
        Rule("/ui/api/investigations/<investigation_id>", endpoint="api_investigation", methods=["GET"]),
        Rule("/ui/api/completions", endpoint="api_completions", methods=["GET"]),
    ]
)
INNER_PATH = "xsoar_local.web.path"  # the path without the session root, as the routes name it
PUBLIC_ENDPOINTS = frozenset({"index", "login", "static", "work_plan_link"})


def _severity_name(value: Any) -> str:
    try:
        return SEVERITY_NAMES.get(float(value), str(value))
    except (TypeError, ValueError):
        return str(value or "Unknown")


def _status_name(value: Any) -> str:
    try:
        return STATUS_NAMES.get(int(value), str(value))
    except (TypeError, ValueError):
        return str(value or "")


class WebApp:
    """The War Room pages over a `WarRoomCore`; `api_key` is what the log-in checks (it is never sent back).

    `announce(line)` is told a fresh login link when the log-in page is shown and no unused code is left (the
    server prints it on its console), so a user who missed the first one gets another without the key.
    """

    def __init__(
        self, core: WarRoomCore, api_key: str, *, user: str = "admin", announce: Callable[[str], None] | None = None
    ) -> None:
        self.core = core
        self.user = user
        self.sessions = Sessions(api_key)
        self.announce = announce
        self.templates = Environment(
            loader=PackageLoader("xsoar_local.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["severity"] = _severity_name
        self.templates.filters["status"] = _status_name
        self.templates.globals["context_tree"] = views.context_tree
        self.templates.filters["when"] = lambda value: views.format_time(value)[1]

    def login_link(self, base_url: str) -> str:
        """A link that logs a browser in once, within the code's lifetime (what the server prints)."""
        return f"{base_url.rstrip('/')}/?code={self.sessions.issue_code()}"

    # ---- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        response.headers.extend(
            (name, value) for name, value in SECURITY_HEADERS.items() if name not in response.headers
        )
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request; log-in is checked before any handler but the public ones.

        The logged-in pages are served under the session root `/ui/s/<scope>/...` only: the browser sends the
        session cookie there and nowhere else. The same pages asked for without the root send the browser to the
        log-in (which then leads on to them).
        """
        path = request.path
        root = self.sessions.root
        scoped = path.startswith(root + "/")
        inner = "/ui" + path[len(root) :] if scoped else path
        request.environ[INNER_PATH] = inner
        if path.startswith(SCOPED_PREFIX) and not scoped:  # another server's root, or this one's before a restart
            if path.startswith(SCOPED_PREFIX) and "/api/" in path:
                return self._json({"error": "not logged in: open the log-in link the server printed"}, 401)
            return redirect("/", code=303)
        adapter = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match(path_info=inner)
            if endpoint in PUBLIC_ENDPOINTS:
                response: Response = getattr(self, f"on_{endpoint}")(request, **values)
                return response
            session = self.sessions.find(request) if scoped else None
            if session is None:
                if endpoint.startswith("api_"):
                    return self._json({"error": "not logged in: open the log-in link the server printed"}, 401)
                if endpoint == "incident" and request.method == "GET":
                    return self._login_page(request, next_path=f"/incidents/{quote(values['incident_id'], safe='')}")
                return redirect("/", code=303)
            return getattr(self, f"on_{endpoint}")(request, session, **values)  # type: ignore[no-any-return]
        except RequestRedirect as moved:  # /ui, and a path with a trailing slash too many: never an absolute URL
            target = urlsplit(moved.new_url).path
            if scoped and target.startswith("/ui/"):
                target = root + target[len("/ui") :]
            return redirect(target if target.startswith("/") else "/", code=308)
        except LookupError as error:
            return self._error(request, NotFound(f"not found: {error}"))
        except HTTPException as error:
            return self._error(request, error)
        except XsoarLocalError as error:  # the page's one mapping: the error's category (or own status) to HTTP
            return self._error(request, _http_error(error))
        except Exception:  # the page gets a short answer, the server's log the traceback
            LOG.exception("web War Room: %s %s failed", request.method, request.path)
            return self._error(request, InternalServerError("the page failed; the server's log has the details"))

    def _error(self, request: Request, error: HTTPException) -> Response:
        message = mask(error.description or error.name)
        if str(request.environ.get(INNER_PATH, request.path)).startswith("/ui/api/"):
            return self._json({"error": message}, error.code or 500)
        html = self._render("error.html", None, code=error.code, title=error.name, message=message)
        return Response(html, status=error.code, mimetype="text/html")

    # ---- helpers --------------------------------------------------------------------------------
    def _render(self, template: str, session: LoginSession | None, **values: Any) -> str:
        return self.templates.get_template(template).render(
            csrf_token=session.csrf_token if session else "",
            user=self.user,
            logged_in=session is not None,
            root=self.sessions.root if session else "",
            **values,
        )

    def _page(self, template: str, session: LoginSession | None, status: int = 200, **values: Any) -> Response:
        return Response(self._render(template, session, **values), status=status, mimetype="text/html")

    @staticmethod
    def _json(value: Any, status: int = 200) -> Response:
        return Response(json.dumps(value), status=status, mimetype="application/json")

    def _check_csrf(self, request: Request, session: LoginSession, submitted: str | None) -> None:
        if not csrf_ok(request, session, submitted):
            raise Forbidden("this request did not come from the War Room page (cross-site request refused)")

    def _fragments(self, investigation_id: str, session: LoginSession, *, incident: bool) -> dict[str, Any]:
        """The War Room, context (and work plan) of an investigation, rendered for the page to swap in."""
        entries = views.entries_view(self.core.entries(investigation_id))
        result: dict[str, Any] = {
            "entries": self._render("_entries.html", session, entries=entries),
            "entryCount": len(entries),
            "context": self._render("_context.html", session, context=self.core.context(investigation_id)),
        }
        if incident:
            plan = views.work_plan(self.core.playbook_run(investigation_id))
            result["workplan"] = self._render("_workplan.html", session, plan=plan)
            result["running"] = plan["running"]
        return result

    # ---- log-in ---------------------------------------------------------------------------------
    def _logged_in(self, request: Request, next_path: str = "") -> Response:
        session = self.sessions.open()
        root = self.sessions.root
        target = next_path if next_path.startswith("/incidents/") and "//" not in next_path else "/playground"
        response = redirect(root + target, code=303)
        response.set_cookie(
            cookie_name(request),
            session.session_id,
            max_age=SESSION_SECONDS,
            path=root + "/",
            httponly=True,
            samesite="Strict",
            secure=request.scheme == "https",
        )
        return response

    def _login_page(
        self, request: Request, *, status: int = 401, error: str = "", code: str = "", next_path: str = ""
    ) -> Response:
        if not code and self.announce is not None and not self.sessions.has_live_code():
            self.announce(f"War Room log-in link (works once, for 10 minutes): {self.login_link(request.host_url)}")
        return self._page("login.html", None, status=status, error=error, code=code, next_path=next_path)

    def on_index(self, request: Request) -> Response:
        """`/` shows the log-in form; `/?code=CODE` (the printed link) the same form with the code, which the page
        posts at once (a code is spent by a POST, never by a GET that a browser may prefetch)."""
        if "token" in request.args:
            return self._login_page(
                request, error="Log-in links no longer carry the API key: use the link the server printed."
            )
        return self._login_page(request, code=request.args.get("code", ""))

    def on_login(self, request: Request) -> Response:
        """The log-in form's post (same origin only): a one-time code, or the API key typed in."""
        if not same_origin(request):
            raise Forbidden("log-in refused: the form was not posted from this server's page")
        next_path = request.form.get("next", "")
        code = request.form.get("code", "")
        if code:
            if self.sessions.redeem_code(code):
                return self._logged_in(request, next_path)
            return self._login_page(
                request,
                error="That log-in link was used or has expired: the server printed a new one.",
                next_path=next_path,
            )
        if self.sessions.key_matches(request.form.get("key", "")):
            return self._logged_in(request, next_path)
        return self._login_page(request, error="That is not this server's API key.", next_path=next_path)

    def on_work_plan_link(self, request: Request, incident_id: str) -> Response:
        """`/WorkPlan/<id>`, the console link of demisto-sdk's run-playbook: the incident's page.

        The session cookie is not sent here (it belongs to the session root), so the page script, which knows the
        root of a logged-in browser, goes on to the incident; a browser that is not logged in logs in first.
        """
        return self._login_page(request, next_path=f"/incidents/{quote(incident_id, safe='')}")

    def on_logout(self, request: Request, session: LoginSession) -> Response:
        """Forget the session and the cookie."""
        self._check_csrf(request, session, request.form.get(CSRF_FIELD))
        self.sessions.close(session)
        response = redirect("/", code=303)
        response.delete_cookie(cookie_name(request), path=self.sessions.root + "/", httponly=True, samesite="Strict")
        return response

    # ---- pages ----------------------------------------------------------------------------------
    def on_playground(self, request: Request, session: LoginSession) -> Response:
        """The playground's War Room and context."""
        investigation_id = self.core.playground_id()
        return self._page(
            "warroom.html",
            session,
            page="playground",
            investigation_id=investigation_id,
            title="Playground",
            entries=views.entries_view(self.core.entries(investigation_id)),
            context=self.core.context(investigation_id),
        )

    def on_incidents(self, request: Request, session: LoginSession, error: str = "", status: int = 200) -> Response:
        """Every incident, and the form that creates one."""
        return self._page(
            "incidents.html",
            session,
            status=status,
            page="incidents",
            incidents=self.core.incidents(),
            playbooks=sorted(self.core.playbooks(), key=lambda p: str(p.get("name") or p.get("id")).lower()),
            severities=SEVERITIES,
            error=error,
            form=request.form,
        )

    def on_create_incident(self, request: Request, session: LoginSession) -> Response:
        """Create an incident from the form and open its page, where its playbook runs."""
        self._check_csrf(request, session, request.form.get(CSRF_FIELD))
        name = request.form.get("name", "").strip()
        details = request.form.get("details", "")
        playbook_id = request.form.get("playbook", "").strip()
        severity = SEVERITIES.get(request.form.get("severity", "unknown"), 0.0)
        if not name:
            return self.on_incidents(request, session, error="Give the incident a name.", status=400)
        try:
            incident = self.core.create_incident(name, details, playbook_id, severity)
        except UsageError as error:  # the form asks for something the core refuses: shown on the form
            return self.on_incidents(request, session, error=mask_error(error), status=http_status(error))
        return redirect(f"{self.sessions.root}/incidents/{quote(str(incident['id']), safe='')}", code=303)

    def on_incident(self, request: Request, session: LoginSession, incident_id: str) -> Response:
        """An incident: its work plan, War Room and context."""
        incident = self.core.incident(incident_id)
        investigation_id = str(incident.get("investigationId") or incident_id)
        plan = views.work_plan(self.core.playbook_run(investigation_id))
        return self._page(
            "incident.html",
            session,
            page="incidents",
            incident=incident,
            investigation_id=investigation_id,
            title=str(incident.get("name") or f"Incident {incident_id}"),
            entries=views.entries_view(self.core.entries(investigation_id)),
            context=self.core.context(investigation_id),
            plan=plan,
        )

    # ---- the page's calls -----------------------------------------------------------------------
    def on_api_execute(self, request: Request, session: LoginSession, investigation_id: str) -> Response:
        """Run a War Room line; answer with the re-rendered War Room and context."""
        self._check_csrf(request, session, request.headers.get(CSRF_HEADER))
        body = request.get_json(silent=True)
        line = body.get("command") if isinstance(body, dict) else None
        if not isinstance(line, str) or not line.strip():
            raise BadRequest('type a command, e.g. !Print value="Hello"')
        if len(line) > MAX_LINE:
            raise BadRequest(f"the command line is longer than {MAX_LINE} characters")
        self.core.execute(investigation_id, line)
        incident = request.args.get("incident") == "1"
        return self._json(self._fragments(investigation_id, session, incident=incident))

    def on_api_investigation(self, request: Request, session: LoginSession, investigation_id: str) -> Response:
        """The War Room, context and work plan again (the incident page polls this while its playbook runs)."""
        return self._json(self._fragments(investigation_id, session, incident=request.args.get("incident") == "1"))

    def on_api_completions(self, request: Request, session: LoginSession) -> Response:
        """Command, argument and value completion data from the installed integrations and scripts."""
        return self._json(self.core.completions())

    def on_static(self, request: Request, name: str) -> Response:
        """The page's own CSS, script and icon, shipped in the package."""
        folder = resources.files("xsoar_local.web") / "static"
        if "/" in name or name.startswith("."):
            raise NotFound()
        resource = folder / name
        if not resource.is_file():
            raise NotFound()
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(resource.read_bytes(), mimetype=mimetype)
        response.headers["Cache-Control"] = "no-cache"
        return response


def create_app(
    core: WarRoomCore, api_key: str, *, user: str = "admin", announce: Callable[[str], None] | None = None
) -> WebApp:
    """The web War Room for `core`; mount it at `/` (it answers `/`, `/ui/...` and `/WorkPlan/...`)."""
    return WebApp(core, api_key, user=user, announce=announce)


def _http_error(error: XsoarLocalError) -> HTTPException:
    """The HTTP answer to a toolkit error: its status, its message (masked when shown)."""
    status = http_status(error)
    kind = default_exceptions.get(status, BadRequest if status < 500 else InternalServerError)
    return kind(str(error))
