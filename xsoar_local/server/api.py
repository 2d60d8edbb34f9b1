"""The REST layer: Werkzeug routing, API-key auth and the server's error bodies, thin over `ServerCore`.

    app = make_app(core, api_key, auth_id="1", web_app_factory=None, session_check=None)

Every endpoint is served at its path and, for XSOAR 8 clients (demisto-py with an auth id), under `/xsoar` too.
Each API request needs `Authorization: <api key>` (on `/xsoar` paths also `x-xdr-auth-id: <auth id>`), or a
web session that `session_check(request)` accepts; anything else gets 401 before routing.

`web_app_factory(core)` returns a WSGI app (the web War Room); it is mounted at `/`, `/ui/...` and `/WorkPlan/...`
and does its own authentication for its pages.

Before anything else: a Host header that does not name loopback (or an allowed name) gets 400, and a body over
`body_limit(path)` gets 413 without being read (a chunked one is read up to the limit, no further).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from xsoar_local.errors import XsoarLocalError
from xsoar_local.httpserve import is_loopback
from xsoar_local.server.core import ServerCore
from xsoar_local.server.errors import ServerError, as_server_error, bad_request
from xsoar_local.server.packs import MAX_ZIP_BYTES

_LOG = logging.getLogger("xsoar_local.server")
SAAS_PREFIX: Final = "/xsoar"
AUTH_ID_HEADER: Final = "x-xdr-auth-id"
WEB_PREFIX: Final = "/ui"
PUBLIC_API_PREFIX: Final = "/public_api/"  # XSOAR 8's tenant API, called with the key's id too
UPLOAD_PATH: Final = "/contentpacks/installed/upload"
MAX_UPLOAD_BODY: Final = MAX_ZIP_BYTES + 1024 * 1024  # the zip and its multipart framing
MAX_JSON_BODY: Final = 16 * 1024 * 1024  # every other request (the CLI's state cap)
WORK_PLAN_PREFIX: Final = "/WorkPlan/"  # the console link demisto-sdk's run-playbook prints

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SessionCheck = Callable[[Request], bool]

# (method, path, endpoint, what it is for): the README's table of supported endpoints is written from this list.
ENDPOINTS: Final = (
    ("GET", "/about", "about", "server version and mode (`demistoVersion`, `deploymentMode`, `productMode`)"),
    ("GET", "/health/server", "health", "health check"),
    ("GET", "/public_api/v1/healthcheck", "xdr_health", 'XSOAR 8 tenant health (`{"status": "available"}`)'),
    ("GET", "/user", "user", "the current user (`username`)"),
    ("GET", "/contentpacks/metadata/installed", "installed_packs", "installed packs (`id`, `name`, `currentVersion`)"),
    ("POST", UPLOAD_PATH, "upload_pack", "install a pack zip (multipart field `file`)"),
    ("POST", "/settings/integration/search", "search_integrations", "module configurations and instances"),
    ("PUT", "/settings/integration", "save_instance", "create or update an integration instance"),
    ("POST", "/settings/integration/test", "test_instance", "run test-module: `{success, message}`"),
    ("DELETE", "/settings/integration/<instance_id>", "delete_instance", "delete an instance"),
    ("POST", "/investigations/search", "search_investigations", "investigations by `type` (9: playground), `id`"),
    ("POST", "/entry/execute/sync", "execute", "run a War Room line `{investigationId, data}`: the entries"),
    ("POST", "/incident", "create_incident", "create an incident (`playbookId`, `createInvestigation`, ...)"),
    ("POST", "/incident/investigate", "investigate", "open an incident's investigation, start its playbook"),
    ("POST", "/investigation/<inv_id>", "investigation", "an investigation with its War Room entries"),
    ("POST", "/investigation/<inv_id>/context", "context", 'evaluate a DT query (`{"query": "${.}"}`)'),
    ("GET", "/inv-playbook/<inv_id>", "playbook_state", "playbook run: `state`, `playbookId`, `tasks`"),
    ("GET", "/lists", "lists", "every XSOAR list (`id`, `name`, `data`, `type`, `version`, ...)"),
    ("GET", "/lists/", "lists", "the same, at the path demisto-py's clients call"),
    ("GET", "/lists/names", "list_names", "the lists' names"),
    ("POST", "/lists/save", "save_list", "create or replace a list (`name`, `data`, `type`; `version` -1 overwrites)"),
    ("GET", "/lists/download/<name>", "download_list", "a list's text, as a file"),
    ("POST", "/lists/delete", "delete_list", 'delete a list: `{"id": "<name>"}`'),
)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, default=str, ensure_ascii=False), status=status, mimetype="application/json")


def error_response(error: ServerError) -> Response:
    return json_response(error.body(), error.status)


def _unauthorized(detail: str) -> Response:
    return error_response(ServerError(401, "errUnauthorized", "Unauthorized", detail))


def body_limit(path: str) -> int:
    """The most bytes a request body to `path` may have (the upload's zip, else a JSON body)."""
    if path.removeprefix(SAAS_PREFIX) == UPLOAD_PATH:
        return MAX_UPLOAD_BODY
    return MAX_JSON_BODY


def too_large(path: str, size: int | None = None) -> ServerError:
    """413 for a body over `body_limit(path)`."""
    limit = body_limit(path)
    said = f" ({size:,} bytes)" if size is not None else ""
    return ServerError(
        413,
        "errRequestTooLarge",
        "Request entity too large",
        f"the request body{said} is over the {limit // (1024 * 1024)} MB this server accepts for {path}",
    )


def _body(request: Request) -> dict[str, Any]:
    if not request.get_data():
        return {}
    try:
        value = json.loads(request.get_data(as_text=True))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise bad_request(f"the request body is not valid JSON ({error})", "errBadJSON") from error
    except RecursionError:
        raise bad_request("the request body is nested too deeply to be a request", "errBadJSON") from None
    if not isinstance(value, dict):
        raise bad_request("the request body must be a JSON object", "errBadJSON")
    return value


def _whole(value: Any, name: str, default: int) -> int:
    """A paging number from a request body: a whole number >= 0 (or a string of digits), else 400."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise bad_request(f"`{name}` must be a whole number >= 0, not {json.dumps(value)[:40]}")
    return int(value)


def _listed(value: Any, name: str) -> list[Any]:
    """`type`/`id` filters: one value or a list of them (the README's integer form and demisto-py's list form)."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise bad_request(f"`{name}` must be a value or a list of values, not {json.dumps(value)[:40]}")
    return items


def search_filter(body: dict[str, Any]) -> dict[str, Any]:
    """The `/investigations/search` body checked and normalized: `{"filter": {type: [int], id: [str], page, size}}`."""
    given = body.get("filter")
    if given is not None and not isinstance(given, dict):
        raise bad_request('`filter` must be a JSON object, e.g. {"filter": {"type": [9]}}')
    search: dict[str, Any] = given if isinstance(given, dict) else body
    types = []
    for item in _listed(search.get("type"), "type"):
        if not str(item).strip().lstrip("-").isdigit():
            raise bad_request(f"`type` must hold investigation type numbers (9: playground), not {item!r}")
        types.append(int(item))
    size = _whole(search.get("size"), "size", 0) or _whole(search.get("pageSize"), "pageSize", 0) or 50
    return {
        "filter": {
            "type": types,
            "id": [str(item) for item in _listed(search.get("id"), "id")],
            "page": _whole(search.get("page"), "page", 0),
            "size": size,
        }
    }


class Api:
    """The WSGI application: auth, then routing to one handler per endpoint."""

    def __init__(
        self,
        core: ServerCore,
        api_key: str,
        *,
        auth_id: str = "1",
        web_app: WSGIApp | None = None,
        session_check: SessionCheck | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        if not api_key:
            raise ValueError("the server needs an API key")
        self.core = core
        self.api_key = api_key
        self.auth_id = auth_id
        self.web_app = web_app
        self.session_check = session_check
        self.allowed_hosts = frozenset(name.lower() for name in allowed_hosts)
        self.routes = Map([Rule(path, methods=[method], endpoint=name) for method, path, name, _ in ENDPOINTS])

    def authenticated(self, request: Request, saas: bool) -> str | None:
        """None when the request may use the API, else why not."""
        if self.session_check is not None and self.session_check(request):
            return None
        key = request.headers.get("Authorization", "")
        if not key:
            return "the Authorization header is missing: send the server's API key in it (DEMISTO_API_KEY)"
        if not hmac.compare_digest(key.encode("utf-8"), self.api_key.encode("utf-8")):
            return "the API key in the Authorization header is wrong: use the key `make server` printed"
        if saas:
            auth_id = request.headers.get(AUTH_ID_HEADER, "")
            if not hmac.compare_digest(auth_id.encode("utf-8"), self.auth_id.encode("utf-8")):
                return f"the {AUTH_ID_HEADER} header must be the key's id ({self.auth_id!r}; XSIAM_AUTH_ID)"
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        wrong_host = self.wrong_host(environ.get("HTTP_HOST"))
        if wrong_host is not None:
            return error_response(wrong_host)(environ, start_response)
        length = str(environ.get("CONTENT_LENGTH") or "0")
        if length.isdigit() and int(length) > body_limit(path):
            return error_response(too_large(path, int(length)))(environ, start_response)
        web = path in ("/", WEB_PREFIX) or path.startswith((WEB_PREFIX + "/", WORK_PLAN_PREFIX))
        if self.web_app is not None and web:
            return self.web_app(environ, start_response)
        saas = path == SAAS_PREFIX or path.startswith(SAAS_PREFIX + "/")
        if saas:
            environ = {**environ, "PATH_INFO": path[len(SAAS_PREFIX) :] or "/"}
        saas = saas or path.startswith(PUBLIC_API_PREFIX)
        request = Request(environ)
        if request.content_length is None and environ.get("wsgi.input_terminated"):
            # A chunked body announces no length: read it once, never more than one byte past the limit.
            request.max_content_length = body_limit(path) + 1
            if len(request.get_data(cache=True)) > body_limit(path):
                return error_response(too_large(path))(environ, start_response)
        response = self.dispatch(request, saas)
        return response(environ, start_response)

    def wrong_host(self, host: str | None) -> ServerError | None:
        """None when the Host header names this machine (or a name allowed with --allow-remote), else the 400.

        A page from another site that a DNS name rebinds to 127.0.0.1 still sends its own name as Host.
        """
        if host is None:
            return None  # HTTP/1.0 without Host: nothing a browser sends
        try:
            name = urlsplit(f"//{host}").hostname or ""
        except ValueError:
            name = ""
        if name and (is_loopback(name) or name.lower() in self.allowed_hosts):
            return None
        return ServerError(
            400,
            "errBadHost",
            "Bad request",
            "the Host header does not name this server: use its loopback address (127.0.0.1 or localhost), or start "
            "it with --allow-remote --allowed-host NAME for another name",
        )

    def dispatch(self, request: Request, saas: bool) -> Response:
        why = self.authenticated(request, saas)
        if why is not None:
            return _unauthorized(why)
        adapter = self.routes.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            handler: Callable[..., Response] = getattr(self, f"on_{endpoint}")
            return handler(request, saas=saas, **values)
        except NotFound:
            return error_response(
                ServerError(
                    404,
                    "errNotFound",
                    "Not found",
                    f"{request.method} {request.path} is not an endpoint "
                    "of this local server (see the README's table of supported endpoints)",
                )
            )
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(error.valid_methods or ()))
            return error_response(
                ServerError(405, "errMethodNotAllowed", "Method not allowed", f"{request.path} accepts {allowed}")
            )
        except XsoarLocalError as error:  # the one mapping of the API: category (or the refusal's own) to status
            return error_response(as_server_error(error))
        except HTTPException as error:
            return error_response(ServerError(error.code or 500, "errHTTP", error.name, error.description or ""))
        except Exception as error:  # the client gets the server's error shape, the log gets the traceback
            _LOG.exception("request %s %s failed", request.method, request.path)
            return error_response(
                ServerError(500, "errInternal", "Internal server error", f"{type(error).__name__}: {error}")
            )

    # ---- handlers ------------------------------------------------------------------------------------------
    def on_about(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.about(saas=saas))

    def on_health(self, request: Request, saas: bool) -> Response:
        return json_response({"status": "ok"})

    def on_xdr_health(self, request: Request, saas: bool) -> Response:
        return json_response({"status": "available"})

    def on_user(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.user())

    def on_installed_packs(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.installed_packs())

    def on_upload_pack(self, request: Request, saas: bool) -> Response:
        upload = request.files.get("file")
        if upload is None:
            raise ServerError(
                400,
                "errUploadContentPacks",
                "Could not upload content packs",
                "no multipart field `file`: send the pack zip as `file`",
            )
        return json_response(self.core.upload_pack(upload.read(), upload.filename or ""))

    def on_search_integrations(self, request: Request, saas: bool) -> Response:
        _body(request)
        return json_response(self.core.search_integrations())

    def on_save_instance(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.save_instance(_body(request)))

    def on_test_instance(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.test_instance(_body(request)))

    def on_delete_instance(self, request: Request, saas: bool, instance_id: str) -> Response:
        self.core.delete_instance(instance_id)
        return Response(status=200)

    def on_search_investigations(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.search_investigations(search_filter(_body(request))))

    def on_execute(self, request: Request, saas: bool) -> Response:
        body = _body(request)
        inv_id = str(body.get("investigationId") or "")
        if not inv_id:
            raise bad_request(
                "`investigationId` is missing: the playground's id comes from POST /investigations/search"
            )
        return json_response(self.core.execute(inv_id, str(body.get("data") or "")))

    def on_create_incident(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.create_incident(_body(request)))

    def on_investigate(self, request: Request, saas: bool) -> Response:
        body = _body(request)
        return json_response(self.core.investigate(str(body.get("id") or body.get("incidentId") or "")))

    def on_investigation(self, request: Request, saas: bool, inv_id: str) -> Response:
        body = _body(request)
        return json_response(self.core.investigation(inv_id, {"pageSize": _whole(body.get("pageSize"), "pageSize", 0)}))

    def on_context(self, request: Request, saas: bool, inv_id: str) -> Response:
        body = _body(request)
        return json_response(self.core.query_context(inv_id, str(body.get("query") or "${.}")))

    def on_playbook_state(self, request: Request, saas: bool, inv_id: str) -> Response:
        return json_response(self.core.playbook_state(inv_id))

    def on_lists(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.lists.all())

    def on_list_names(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.lists.names())

    def on_save_list(self, request: Request, saas: bool) -> Response:
        return json_response(self.core.lists.save(_body(request)))

    def on_download_list(self, request: Request, saas: bool, name: str) -> Response:
        data = self.core.lists.download(name)
        response = Response(data, status=200, mimetype="text/plain")
        response.headers.set("Content-Disposition", "attachment", filename=f"{name}.txt")
        return response

    def on_delete_list(self, request: Request, saas: bool) -> Response:
        self.core.lists.delete(_body(request))
        return Response(status=200)


def make_app(
    core: ServerCore,
    api_key: str,
    *,
    auth_id: str = "1",
    web_app_factory: Callable[[ServerCore], WSGIApp] | None = None,
    session_check: SessionCheck | None = None,
    allowed_hosts: Iterable[str] = (),
) -> Api:
    """The server's WSGI app; the web War Room (if given) is mounted at `/`, `/ui/...` and `/WorkPlan/...`."""
    web_app = web_app_factory(core) if web_app_factory is not None else None
    return Api(
        core, api_key, auth_id=auth_id, web_app=web_app, session_check=session_check, allowed_hosts=allowed_hosts
    )
