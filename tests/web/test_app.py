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
from xsoar_local.web import create_app

KEY = "k3y-For-the-tests-0123456789"
ORIGIN = "http://localhost"


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def client(core: FakeCore) -> Client:
    return Client(create_app(core, KEY))


def log_in(client: Client) -> str:
    """Log in with the token; return the page's CSRF token."""
    response = client.get(f"/?token={KEY}", follow_redirects=True)
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
    return client.post("/ui/api/investigations/9/execute", data=json.dumps({"command": line}), headers=headers, **extra)


def test_token_logs_in_with_a_strict_httponly_cookie_and_leaves_the_address_bar(client: Client) -> None:
    """Given the API key as ?token=, When opened, Then a session cookie is set and the browser is sent on without it."""
    response = client.get(f"/?token={KEY}")
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/ui/playground"
    cookie = response.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie, f"{attribute} missing from {cookie}"
    assert KEY not in cookie, "the cookie must not hold the API key"
    assert client.get("/ui/playground").status_code == 200


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
        pytest.param("/ui/playground", id="playground"),
        pytest.param("/ui/incidents", id="incidents"),
        pytest.param("/ui/incidents/1", id="incident"),
    ],
)
def test_pages_send_a_stranger_to_the_form(client: Client, path: str) -> None:
    """Given no session, When a page is asked for, Then the browser is sent to the log-in form."""
    response = client.get(path)
    assert (response.status_code, response.headers.get("Location")) == (303, "/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", "/ui/api/investigations/9/execute", id="execute"),
        pytest.param("GET", "/ui/api/investigations/9", id="investigation"),
        pytest.param("GET", "/ui/api/completions", id="completions"),
    ],
)
def test_api_refuses_a_stranger(client: Client, core: FakeCore, method: str, path: str) -> None:
    """Given no session, When the page's API is called, Then 401 and nothing runs."""
    response = client.open(path, method=method, json={"command": "!yoda-speak-translate text=x"})
    assert response.status_code == 401, response.text
    assert core.lines == []


def test_form_log_in(client: Client) -> None:
    """Given the form, When the key is posted from the page, Then the session starts; a wrong key is refused."""
    wrong = client.post("/ui/login", data={"key": "nope"}, headers={"Origin": ORIGIN})
    assert wrong.status_code == 401
    assert "not this server" in wrong.text
    right = client.post("/ui/login", data={"key": KEY}, headers={"Origin": ORIGIN})
    assert (right.status_code, right.headers["Location"]) == (303, "/ui/playground")


def test_form_log_in_from_another_site_is_refused(client: Client) -> None:
    """Given a cross-site form post with the right key, When it arrives, Then it is refused (no login CSRF)."""
    response = client.post("/ui/login", data={"key": KEY}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers


def test_the_key_never_reaches_the_page(client: Client, core: FakeCore) -> None:
    """Given a logged-in browser, When every page, fragment and static file is fetched, Then none holds the key."""
    csrf = log_in(client)
    execute(client, '!yoda-speak-translate text="Hello there"', csrf)
    core.create_incident("One", "details", "Yoda Speak", 1)
    paths = ["/ui/playground", "/ui/incidents", "/ui/incidents/1", "/ui/api/investigations/1?incident=1"]
    paths += ["/ui/api/completions", "/ui/static/warroom.js", "/ui/static/warroom.css"]
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
    ],
)
def test_execute_refuses_cross_site_requests(client: Client, core: FakeCore, csrf: str | None, origin: str) -> None:
    """Given a logged-in browser, When a call lacks the CSRF token or comes from another origin, Then 403."""
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


def test_create_incident_from_the_form(client: Client, core: FakeCore) -> None:
    """Given the incidents page, When the form is posted, Then the incident exists and its page shows the plan."""
    csrf = log_in(client)
    form = {"name": "Hello", "details": "The prequel movies", "playbook": "Yoda Speak", "severity": "high"}
    refused = client.post("/ui/incidents", data=form, headers={"Origin": ORIGIN})
    assert refused.status_code == 403
    assert core.incident_fields == {}
    created = client.post("/ui/incidents", data={**form, "csrf_token": csrf}, headers={"Origin": ORIGIN})
    assert (created.status_code, created.headers["Location"]) == (303, "/ui/incidents/1")
    assert core.incident_fields["1"]["severity"] == 3.0
    page = client.get("/ui/incidents/1").text
    names = re.findall(r'<span class="task-name">([^<]+)</span>', page)
    assert names == ["Start", "Translate", "Print"], page
    assert client.get("/ui/incidents").text.count('data-incident-id="1"') == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        pytest.param({"name": " ", "playbook": ""}, "Give the incident a name.", id="no-name"),
        pytest.param({"name": "x", "playbook": "Nope"}, "no playbook &#39;Nope&#39; is installed", id="unknown-pb"),
    ],
)
def test_create_incident_bad_input(client: Client, core: FakeCore, form: dict[str, str], message: str) -> None:
    """Given a bad form, When posted, Then 400 with the reason on the page, the input kept, and nothing created."""
    csrf = log_in(client)
    response = client.post("/ui/incidents", data={**form, "csrf_token": csrf}, headers={"Origin": ORIGIN})
    assert response.status_code == 400, response.text
    assert message in response.text, response.text
    assert core.incident_fields == {}


def test_unknown_incident_is_404(client: Client) -> None:
    """Given no such incident, When its page is asked for, Then 404."""
    log_in(client)
    assert client.get("/ui/incidents/404").status_code == 404


def test_logout_ends_the_session(client: Client) -> None:
    """Given a logged-in browser, When it logs out, Then the old cookie opens nothing."""
    csrf = log_in(client)
    cookie = client.get_cookie("xsoar_local_session")
    assert cookie is not None
    response = client.post("/ui/logout", data={"csrf_token": csrf}, headers={"Origin": ORIGIN})
    assert response.status_code == 303
    client.set_cookie("xsoar_local_session", cookie.value)
    assert client.get("/ui/playground").status_code == 303


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
    response = client.get("/ui/playground")
    assert response.status_code == status, response.text
    assert shown in response.text, response.text
    assert "secret internals" not in response.text
