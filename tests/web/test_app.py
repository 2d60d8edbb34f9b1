"""The web War Room's HTTP boundary (Werkzeug's test client over a fake core): log-in, CSRF, escaping, pages.

The browser tests (test_browser.py) drive the same pages in Chromium against the real server.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from tests.web.fake_core import FakeCore
from xsoar_local.errors import StateError, UsageError
from xsoar_local.web import WebApp, create_app
from xsoar_local.web import auth as web_auth

KEY = "k3y-For-the-tests-0123456789"
ORIGIN = "http://localhost"


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


COOKIE = "xsoar_local_session_80"  # the test client's requests reach port 80


@pytest.fixture
def announced() -> list[str]:
    """What the app printed on the server's console (fresh log-in links)."""
    return []


@pytest.fixture
def app(core: FakeCore, announced: list[str]) -> WebApp:
    return create_app(core, KEY, announce=announced.append)


@pytest.fixture
def client(app: WebApp) -> Client:
    return Client(app)


@pytest.fixture
def root(app: WebApp) -> str:
    """The logged-in pages' root (`/ui/s/<scope>`): a logged-in browser learns it from the log-in's redirect."""
    return app.sessions.root


def log_in(client: Client) -> str:
    """Log in with the key typed into the form; return the page's CSRF token."""
    response = client.post("/ui/login", data={"key": KEY}, headers={"Origin": ORIGIN}, follow_redirects=True)
    assert response.status_code == 200, response.text
    return csrf_of(response)


def csrf_of(response: TestResponse) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', response.text)
    assert match, f"no CSRF token in the page:\n{response.text[:500]}"
    return match.group(1)


def execute(client: Client, line: str, csrf: str | None, origin: str | None = ORIGIN, **extra: Any) -> TestResponse:
    headers = {"Content-Type": "application/json"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    if origin is not None:
        headers["Origin"] = origin
    root = client.application.sessions.root  # type: ignore[attr-defined]
    path = f"{root}/api/investigations/9/execute"
    return client.post(path, data=json.dumps({"command": line}), headers=headers, **extra)


def test_the_printed_link_logs_in_once(app: WebApp, client: Client, root: str) -> None:
    """
    Given the log-in link the server prints (a one-time code, never the key)
    When the browser opens it, and the page posts the code
    Then the GET itself logs nothing in; the post starts a session with a strict HttpOnly cookie named for this port
    and scoped to the session root; the same link used again is refused
    """
    link = app.login_link("http://localhost")
    assert KEY not in link, link
    assert "/?code=" in link, link
    code = link.split("code=", 1)[1]
    opened = client.get(f"/?code={code}")
    assert "Set-Cookie" not in opened.headers, "a GET (which a browser may prefetch) must not spend the code"
    assert f'name="code" value="{code}"' in opened.text, opened.text
    response = client.post("/ui/login", data={"code": code}, headers={"Origin": ORIGIN})
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == f"{root}/playground"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "="), cookie
    for attribute in ("HttpOnly", "SameSite=Strict", f"Path={root}/"):
        assert attribute in cookie, f"{attribute} missing from {cookie}"
    assert KEY not in cookie, "the cookie must not hold the API key"
    assert client.get(f"{root}/playground").status_code == 200
    again = Client(app).post("/ui/login", data={"code": code}, headers={"Origin": ORIGIN})
    assert again.status_code == 401, "a used code logged in again"
    assert "Set-Cookie" not in again.headers


def test_an_expired_code_is_refused(app: WebApp, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a printed code, When it is posted after its 10 minutes, Then 401 and no session."""
    code = app.login_link("http://localhost").split("code=", 1)[1]
    later = web_auth.time.time() + web_auth.CODE_SECONDS + 1
    monkeypatch.setattr(web_auth.time, "time", lambda: later)
    response = client.post("/ui/login", data={"code": code}, headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_the_key_in_the_address_no_longer_logs_in(client: Client) -> None:
    """Given the old `/?token=KEY` address, When opened, Then no session starts and the page says to use the link."""
    response = client.get(f"/?token={KEY}")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    assert "link the server printed" in response.text


def test_the_login_page_prints_a_new_link_when_none_is_left(app: WebApp, client: Client, announced: list[str]) -> None:
    """Given no unused code, When the log-in page is opened twice, Then one fresh link is printed on the server's
    console (not in the page), and it logs in."""
    client.get("/")
    client.get("/")
    assert len(announced) == 1, announced
    link = announced[0].rsplit(" ", 1)[1]
    assert link.startswith("http://localhost/?code="), announced
    code = link.split("code=", 1)[1]
    assert code not in client.get("/").text, "the page must not show the printed code"
    assert client.post("/ui/login", data={"code": code}, headers={"Origin": ORIGIN}).status_code == 303


def test_the_session_root_is_secret_and_per_server(core: FakeCore, client: Client, root: str) -> None:
    """
    Given a server (another one runs beside it)
    When a stranger asks for every public page
    Then none reveals the session root, which differs between servers: a server on another port cannot make a
    browser send it the cookie
    """
    other = create_app(core, KEY).sessions.root
    assert other != root, "two servers share a session root"
    assert root.startswith("/ui/s/"), root
    for path in ("/", "/?code=nope", "/WorkPlan/1", "/ui/incidents/1", "/ui/playground", "/ui/static/warroom.js"):
        response = client.get(path)
        shown = response.get_data(as_text=True) + str(response.headers)
        assert root not in shown, f"{path} reveals the session root"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="root"),
        pytest.param("/?token=wrong", id="wrong-token"),
        pytest.param("/?token=", id="empty-token"),
    ],
)
def test_without_the_key_only_the_form(client: Client, path: str) -> None:
    """Given no key or a wrong one, When the page is opened, Then it answers 401 with the key form and nothing else."""
    response = client.get(path)
    assert response.status_code == 401
    assert 'name="key"' in response.text, response.text
    assert 'name="command"' not in response.text
    assert 'id="context"' not in response.text
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("{root}/playground", id="playground"),
        pytest.param("{root}/incidents", id="incidents"),
        pytest.param("/ui/playground", id="playground-outside-the-root"),
        pytest.param("/ui/s/another-server/playground", id="another-root"),
    ],
)
def test_pages_send_a_stranger_to_the_form(client: Client, root: str, path: str) -> None:
    """Given no session, When a page is asked for, Then the browser is sent to the log-in form."""
    response = client.get(path.format(root=root))
    assert (response.status_code, response.headers.get("Location")) == (303, "/")


@pytest.mark.parametrize("path", ["{root}/incidents/7", "/ui/incidents/7", "/WorkPlan/7"])
def test_an_incident_link_logs_in_first_then_leads_to_the_incident(client: Client, root: str, path: str) -> None:
    """
    Given a link to an incident (the page's own, or `/WorkPlan/<id>` that demisto-sdk's run-playbook prints)
    When a browser that is not logged in opens it
    Then the log-in form asks for the key and, once logged in, leads to that incident's page
    """
    response = client.get(path.format(root=root))
    assert response.status_code == 401
    assert 'data-next="/incidents/7"' in response.text, response.text
    logged_in = client.post("/ui/login", data={"key": KEY, "next": "/incidents/7"}, headers={"Origin": ORIGIN})
    assert logged_in.headers["Location"] == f"{root}/incidents/7"


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example/", "/ui/playground/../x"])
def test_log_in_never_leads_off_the_site(client: Client, root: str, next_path: str) -> None:
    """Given a `next` that is not an incident of this server, When logging in, Then the playground is shown."""
    response = client.post("/ui/login", data={"key": KEY, "next": next_path}, headers={"Origin": ORIGIN})
    assert response.headers["Location"] == f"{root}/playground"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", "{root}/api/investigations/9/execute", id="execute"),
        pytest.param("GET", "{root}/api/investigations/9", id="investigation"),
        pytest.param("GET", "{root}/api/completions", id="completions"),
        pytest.param("GET", "/ui/api/completions", id="outside-the-root"),
    ],
)
def test_api_refuses_a_stranger(client: Client, core: FakeCore, root: str, method: str, path: str) -> None:
    """Given no session, When the page's API is called, Then 401 and nothing runs."""
    response = client.open(path.format(root=root), method=method, json={"command": "!yoda-speak-translate text=x"})
    assert response.status_code == 401, response.text
    assert core.lines == []


def test_form_log_in(client: Client) -> None:
    """Given the form, When the key is posted from the page, Then the session starts; a wrong key is refused."""
    wrong = client.post("/ui/login", data={"key": "nope"}, headers={"Origin": ORIGIN})
    assert wrong.status_code == 401
    assert "not this server" in wrong.text
    right = client.post("/ui/login", data={"key": KEY}, headers={"Origin": ORIGIN})
    assert (right.status_code, right.headers["Location"]) == (303, f"{client.application.sessions.root}/playground")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "https://evil.example"}, id="cross-site"),
        pytest.param({}, id="no-origin"),
        pytest.param({"Referer": ORIGIN + "/"}, id="referer-only"),
    ],
)
def test_form_log_in_needs_this_origin(client: Client, headers: dict[str, str]) -> None:
    """Given a form post with the right key from another site or with no Origin, When it arrives, Then it is
    refused (no login CSRF, no scripted log-in)."""
    response = client.post("/ui/login", data={"key": KEY}, headers=headers)
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers


def test_the_key_never_reaches_the_page(client: Client, core: FakeCore, root: str) -> None:
    """Given a logged-in browser, When every page, fragment and static file is fetched, Then none holds the key."""
    csrf = log_in(client)
    execute(client, '!yoda-speak-translate text="Hello there"', csrf)
    core.create_incident("One", "details", "Yoda Speak", 1)
    paths = [f"{root}/playground", f"{root}/incidents", f"{root}/incidents/1"]
    paths += [f"{root}/api/investigations/1?incident=1", f"{root}/api/completions"]
    paths += ["/ui/static/warroom.js", "/ui/static/warroom.css"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert KEY not in response.get_data(as_text=True), f"{path} shows the API key"


@pytest.mark.parametrize(
    ("csrf", "origin"),
    [
        pytest.param(None, ORIGIN, id="no-token"),
        pytest.param("forged", ORIGIN, id="wrong-token"),
        pytest.param("SESSION", "https://evil.example", id="cross-site-origin"),
        pytest.param("SESSION", "null", id="opaque-origin"),
        pytest.param("SESSION", None, id="no-origin"),
    ],
)
def test_execute_refuses_cross_site_requests(
    client: Client, core: FakeCore, csrf: str | None, origin: str | None
) -> None:
    """Given a logged-in browser, When a call lacks the CSRF token, comes from another origin or has no Origin (a
    script replaying a stolen cookie and token), Then 403."""
    token = log_in(client)
    response = execute(client, "!yoda-speak-translate text=x", token if csrf == "SESSION" else csrf, origin)
    assert response.status_code == 403, response.text
    assert core.lines == [], "nothing may run"


def test_execute_returns_the_war_room_and_context(client: Client, core: FakeCore) -> None:
    """Given a logged-in page, When a line runs, Then the answer holds the entries (table) and the context tree."""
    csrf = log_in(client)
    response = execute(client, '!yoda-speak-translate text="Hello there"', csrf)
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert core.lines == [("9", '!yoda-speak-translate text="Hello there"')]
    assert "<table>" in body["entries"]
    assert 'data-entry-type="1"' in body["entries"]
    assert "TheForce" in body["context"]
    assert "Translation" in body["context"]


def test_blank_line_is_refused_with_a_hint(client: Client, core: FakeCore) -> None:
    """Given an empty command field, When submitted, Then 400 says what to type and nothing runs."""
    response = execute(client, "   ", log_in(client))
    assert response.status_code == 400
    assert "type a command" in response.get_json()["error"]
    assert core.lines == []


def test_error_entry_is_marked(client: Client) -> None:
    """Given a blank text, When it runs, Then the error entry carries type 4 and the error mark."""
    body = execute(client, '!yoda-speak-translate text=" "', log_in(client)).get_json()
    assert re.search(r'class="entry entry-error[^"]*" data-entry-type="4"', body["entries"]), body["entries"]
    assert "badge-error" in body["entries"]


def test_html_in_a_translation_is_escaped_in_entries_and_context(client: Client) -> None:
    """Given a text full of HTML, When translated, Then entries and context show it escaped, never as markup."""
    body = execute(client, '!yoda-speak-translate text="<img src=x onerror=alert(1)>"', log_in(client)).get_json()
    for part in ("entries", "context"):
        assert "<img" not in body[part], f"{part} holds live HTML:\n{body[part]}"
        assert "&lt;img src=x onerror=alert(1)&gt;" in body[part], body[part]


def test_pages_forbid_inline_script_and_framing(client: Client) -> None:
    """Given any page, When served, Then a CSP allows only the page's own script and no framing."""
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy, policy
    assert "frame-ancestors 'none'" in policy, policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_create_incident_from_the_form(client: Client, core: FakeCore, root: str) -> None:
    """Given the incidents page, When the form is posted, Then the incident exists and its page shows the plan."""
    csrf = log_in(client)
    form = {"name": "Hello", "details": "The prequel movies", "playbook": "Yoda Speak", "severity": "high"}
    refused = client.post(f"{root}/incidents", data=form, headers={"Origin": ORIGIN})
    assert refused.status_code == 403
    assert core.incident_fields == {}
    created = client.post(f"{root}/incidents", data={**form, "csrf_token": csrf}, headers={"Origin": ORIGIN})
    assert (created.status_code, created.headers["Location"]) == (303, f"{root}/incidents/1")
    assert core.incident_fields["1"]["severity"] == 3.0
    page = client.get(f"{root}/incidents/1").text
    names = re.findall(r'<span class="task-name">([^<]+)</span>', page)
    assert names == ["Start", "Translate", "Print"], page
    assert client.get(f"{root}/incidents").text.count('data-incident-id="1"') == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        pytest.param({"name": " ", "playbook": ""}, "Give the incident a name.", id="no-name"),
        pytest.param({"name": "x", "playbook": "Nope"}, "no playbook &#39;Nope&#39; is installed", id="unknown-pb"),
    ],
)
def test_create_incident_bad_input(
    client: Client, core: FakeCore, root: str, form: dict[str, str], message: str
) -> None:
    """Given a bad form, When posted, Then 400 with the reason on the page, the input kept, and nothing created."""
    csrf = log_in(client)
    response = client.post(f"{root}/incidents", data={**form, "csrf_token": csrf}, headers={"Origin": ORIGIN})
    assert response.status_code == 400, response.text
    assert message in response.text, response.text
    assert core.incident_fields == {}


def test_unknown_incident_is_404(client: Client, root: str) -> None:
    """Given no such incident, When its page is asked for, Then 404."""
    log_in(client)
    assert client.get(f"{root}/incidents/404").status_code == 404


def test_logout_ends_the_session(client: Client, root: str) -> None:
    """Given a logged-in browser, When it logs out, Then the old cookie opens nothing."""
    csrf = log_in(client)
    cookie = client.get_cookie(COOKIE, path=f"{root}/")
    assert cookie is not None
    response = client.post(f"{root}/logout", data={"csrf_token": csrf}, headers={"Origin": ORIGIN})
    assert response.status_code == 303
    client.set_cookie(COOKIE, cookie.value, path=f"{root}/")
    assert client.get(f"{root}/playground").status_code == 303


def test_static_files_stay_in_their_folder(client: Client) -> None:
    """Given a path that climbs out of static/, When asked for, Then 404."""
    for path in ("/ui/static/../app.py", "/ui/static/%2e%2e/app.py", "/ui/static/templates/base.html"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize(
    ("path", "target"),
    [
        pytest.param("/ui", "/", id="bare-prefix"),
        pytest.param("/ui/", "/", id="prefix-slash"),
    ],
)
def test_prefix_leads_to_the_start(client: Client, path: str, target: str) -> None:
    """Given the bare /ui prefix the server mounts, When opened, Then the browser is sent to the start page."""
    response = client.get(path)
    assert response.status_code in (301, 302, 303, 307, 308), response.status_code
    assert response.headers["Location"].endswith(target), response.headers["Location"]


@pytest.mark.parametrize(
    ("failure", "status", "shown"),
    [
        pytest.param(UsageError("the investigation is closed"), 400, "the investigation is closed", id="refused"),
        pytest.param(StateError("the state folder is full"), 500, "the state folder is full", id="state"),
        pytest.param(RuntimeError("secret internals"), 500, "the server&#39;s log has the details", id="bug"),
        pytest.param(ValueError("secret internals"), 500, "the server&#39;s log has the details", id="value-error"),
    ],
)
def test_core_failures_become_error_pages(
    client: Client, core: FakeCore, monkeypatch: pytest.MonkeyPatch, failure: Exception, status: int, shown: str
) -> None:
    """Given a core that refuses or fails, When a page needs it, Then an error page says so, hiding internals."""
    log_in(client)

    def fail(investigation_id: str) -> list[dict[str, Any]]:
        raise failure

    monkeypatch.setattr(core, "entries", fail)
    response = client.get(f"{client.application.sessions.root}/playground")  # type: ignore[attr-defined]
    assert response.status_code == status, response.text
    assert shown in response.text, response.text
    assert "secret internals" not in response.text
