"""The War Room in a real browser: headless Chromium against the local server, the pack and the FunTranslations
stand-in, exactly as a user opens it after `make server`."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from standins.funtranslations.faults import parse_fault
from standins.funtranslations.server import RunningService, ServiceConfig, serve
from tests.web.conftest import API_KEY, api, set_instance_url
from xsoar_local.server.cli import login_link
from xsoar_local.server.serve import RunningServer

T = TypeVar("T")
README_TEXT = "The prequel movies are more entertaining than the new Disney movies"


def wait_for(browser: webdriver.Chrome, what: str, check: Callable[[webdriver.Chrome], T], seconds: float = 30) -> T:
    """Poll until `check` returns something truthy; fail saying what never appeared."""
    try:
        # The page swaps fragments in while it refreshes: an element found a moment ago may be gone; look again.
        waiting = WebDriverWait(
            browser, seconds, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        )
        return waiting.until(check)
    except TimeoutException:
        shown = browser.find_element(By.TAG_NAME, "body").text
        pytest.fail(f"{what} did not happen within {seconds} s; the page shows:\n{shown}")


def forget_sessions(browser: webdriver.Chrome) -> None:
    """Leave the previous test's page, then drop every cookie the browser holds. The blank page first: a page of the
    previous test still loading or refreshing its parts could otherwise land after the next navigation (a fresh-clone
    run once showed the last test's incident page where the log-in form was expected). WebDriver's
    delete_all_cookies only reaches the cookies the current page can see, and the session cookie lives on a secret
    path of its own, so a page elsewhere would leave it behind."""
    browser.get("about:blank")
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})


def log_in(browser: webdriver.Chrome, server: RunningServer) -> None:
    """Open a log-in link as `make server` prints it (a one-time code)."""
    forget_sessions(browser)
    link = login_link(server)
    assert link is not None, "the server has no War Room mounted"
    browser.get(link)
    wait_for(browser, "the War Room after log-in", lambda b: b.find_elements(By.NAME, "command"))


def run_line(browser: webdriver.Chrome, line: str) -> WebElement:
    """Type a line in the command field and press Enter; the last entry it added."""
    before = len(browser.find_elements(By.CSS_SELECTOR, "#entries .entry"))
    field = browser.find_element(By.NAME, "command")
    field.clear()
    field.send_keys(line)
    field.send_keys(Keys.ESCAPE)  # close the completion list, so Enter runs the line
    field.send_keys(Keys.ENTER)
    entries = wait_for(
        browser,
        f"a new entry for {line!r}",
        lambda b: len(found := b.find_elements(By.CSS_SELECTOR, "#entries .entry")) > before and found,
    )
    return entries[-1]


def plan_state(browser: webdriver.Chrome) -> str:
    """The playbook run's state (inprogress, completed, failed ...) as the work plan carries it."""
    found = browser.find_elements(By.CSS_SELECTOR, "#workplan .plan-state")
    return (found[0].get_attribute("data-state") or "") if found else ""


def root_of(server: RunningServer) -> str:
    """The session root of the server's War Room (what a logged-in browser's pages live under)."""
    return str(server.app.web_app.sessions.root)  # type: ignore[union-attr]


def test_the_printed_link_logs_in_and_the_key_never_shows(browser: webdriver.Chrome, server: RunningServer) -> None:
    """Given the log-in link make server prints, When opened, Then the War Room opens at the session root, the link's
    code is gone from the address bar, the key is in no address, page or script, and the session cookie is out of
    the scripts' reach."""
    log_in(browser, server)
    assert browser.current_url == f"{server.url}{root_of(server)}/playground", browser.current_url
    assert API_KEY not in browser.page_source, "the API key is in the page"
    script = browser.execute_script("return fetch('/ui/static/warroom.js').then(r => r.text())")
    assert API_KEY not in script, "the API key is in the page's script"
    assert browser.execute_script("return document.cookie") == "", "the session cookie must be HttpOnly"
    assert browser.find_element(By.ID, "context").is_displayed()


class _CookieCatcher(http.server.BaseHTTPRequestHandler):
    """Another program on another loopback port: it records the cookies browsers send it."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Cookie") or "")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<p>another server</p>")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_another_port_never_receives_the_session(browser: webdriver.Chrome, server: RunningServer) -> None:
    """
    Given a logged-in browser, and another server on another loopback port
    When the browser visits that server's pages, its `/`, `/ui/...` and even the War Room's own paths there
    Then no request to it carries the War Room's session cookie (cookies ignore ports; the session root does not)
    """
    log_in(browser, server)
    _CookieCatcher.seen.clear()
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CookieCatcher)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        for path in ("/", "/ui/playground", "/ui/api/completions", "/WorkPlan/1"):
            browser.get(f"http://127.0.0.1:{other.server_address[1]}{path}")
            wait_for(browser, "the other server's page", lambda b: "another server" in b.page_source)
    finally:
        other.shutdown()
        other.server_close()
    assert len(_CookieCatcher.seen) >= 4, _CookieCatcher.seen
    assert not [cookie for cookie in _CookieCatcher.seen if "xsoar_local_session" in cookie], _CookieCatcher.seen


def test_the_work_plan_link_opens_the_incident(browser: webdriver.Chrome, server: RunningServer) -> None:
    """
    Given an incident, and the console link demisto-sdk's run-playbook prints for it (`/WorkPlan/<id>`)
    When a logged-in browser opens the link, and then one that is not logged in
    Then the first lands on the incident's page; the second is asked to log in and then lands there
    """
    incident = api(
        server, "POST", "/incident", json={"name": "Opened from the console link", "createInvestigation": True}
    )
    log_in(browser, server)
    browser.get(f"{server.url}/WorkPlan/{incident['id']}")
    target = f"{server.url}{root_of(server)}/incidents/{incident['id']}"
    wait_for(browser, "the incident's page", lambda b: b.current_url == target)
    assert "Opened from the console link" in browser.page_source
    forget_sessions(browser)
    browser.get(f"{server.url}/WorkPlan/{incident['id']}")
    wait_for(browser, "the key form", lambda b: b.find_elements(By.NAME, "key"))
    browser.find_element(By.NAME, "key").send_keys(API_KEY + Keys.ENTER)
    wait_for(browser, "the incident's page after log-in", lambda b: b.current_url == target)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="no-token"),
        pytest.param("/?token=not-the-key", id="wrong-token"),
        pytest.param("/ui/playground", id="playground-directly"),
    ],
)
def test_without_the_key_only_a_form(browser: webdriver.Chrome, server: RunningServer, path: str) -> None:
    """Given a browser without a session, When it opens the server, Then it sees only the form asking for the key."""
    forget_sessions(browser)
    browser.get(server.url + path)
    key_field = wait_for(browser, "the key form", lambda b: b.find_elements(By.NAME, "key"))[0]
    assert key_field.get_attribute("type") == "password"
    assert browser.find_elements(By.NAME, "command") == [], "the War Room must not show without the key"
    assert browser.find_elements(By.ID, "context") == []


def test_key_form_logs_in(browser: webdriver.Chrome, server: RunningServer) -> None:
    """Given the form, When the key is typed in it, Then the War Room opens."""
    forget_sessions(browser)
    browser.get(server.url + "/")
    browser.find_element(By.NAME, "key").send_keys(API_KEY + Keys.ENTER)
    wait_for(browser, "the War Room after the form", lambda b: b.find_elements(By.NAME, "command"))


def test_translate_shows_the_table(browser: webdriver.Chrome, server: RunningServer, tmp_path: Path) -> None:
    """Given the playground, When the translate command runs on Enter, Then its entry shows the Yoda table as HTML
    and the context panel shows YodaSpeak.TheForce."""
    log_in(browser, server)
    browser.get_log("browser")  # what earlier pages logged
    entry = run_line(browser, f'!yoda-speak-translate text="{README_TEXT}"')
    assert entry.get_attribute("data-entry-type") == "1", entry.get_attribute("outerHTML")
    assert "YodaSpeak" in entry.find_element(By.CLASS_NAME, "who").text
    assert entry.find_element(By.TAG_NAME, "time").get_attribute("datetime"), "the entry must say when"
    headers = [cell.text for cell in entry.find_elements(By.CSS_SELECTOR, "table th")]
    assert headers == ["Original", "Translation"], entry.text
    cells = [cell.text for cell in entry.find_elements(By.CSS_SELECTOR, "table td")]
    assert cells[0] == README_TEXT, cells
    assert cells[1].strip(), f"no translation in {cells}"
    context = browser.find_element(By.ID, "context")
    wait_for(browser, "TheForce in the context panel", lambda b: "TheForce" in context.text)
    for expected in ("YodaSpeak", "TheForce", "Original", "Translation", README_TEXT):
        assert expected in context.text, f"{expected!r} missing from the context panel:\n{context.text}"
    problems = [log["message"] for log in browser.get_log("browser") if log["level"] in ("SEVERE", "WARNING")]
    assert problems == [], f"the page logged errors (a script error, a refused resource or CSP): {problems}"
    screenshot = Path(os.environ.get("WAR_ROOM_SCREENSHOT") or tmp_path / "war-room.png")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot)), "Chromium could not take the screenshot"
    assert screenshot.stat().st_size > 10_000


def test_context_tree_collapses(browser: webdriver.Chrome, server: RunningServer) -> None:
    """Given the context panel after a translation, When a key is clicked, Then its subtree folds and unfolds."""
    log_in(browser, server)
    run_line(browser, '!yoda-speak-translate text="Collapse me you can"')
    node = browser.find_element(By.CSS_SELECTOR, '#context details[data-path-key="YodaSpeak"]')
    assert node.get_attribute("open") is not None
    node.find_element(By.TAG_NAME, "summary").click()
    assert node.get_attribute("open") is None, "a click on the key must fold it"
    assert not node.find_element(By.CSS_SELECTOR, 'details[data-path-key="TheForce"]').is_displayed()
    node.find_element(By.TAG_NAME, "summary").click()
    assert node.find_element(By.CSS_SELECTOR, 'details[data-path-key="TheForce"]').is_displayed()


def test_blank_text_is_a_marked_error_entry(browser: webdriver.Chrome, server: RunningServer) -> None:
    """Given the playground, When a blank text is translated, Then an error entry (type 4) is visibly marked."""
    log_in(browser, server)
    entry = run_line(browser, '!yoda-speak-translate text=" "')
    assert entry.get_attribute("data-entry-type") == "4", entry.get_attribute("outerHTML")
    assert "entry-error" in (entry.get_attribute("class") or "")
    badge = entry.find_element(By.CLASS_NAME, "badge-error")
    assert badge.is_displayed()
    assert badge.text == "Error"
    assert "yoda-speak-translate" in entry.text, entry.text
    border = entry.value_of_css_property("border-left-color")
    assert border == "rgba(214, 69, 69, 1)", f"the error entry's edge should be red, not {border}"


def test_html_in_a_text_is_shown_not_run(browser: webdriver.Chrome, server: RunningServer) -> None:
    """Given a text full of HTML and script, When translated, Then entry and context show it as text and nothing
    of it runs."""
    log_in(browser, server)
    title = browser.title
    html = "<b>bold</b> <img src=x onerror=document.title='pwned'> <script>document.title='pwned'</script>"
    entry = run_line(browser, f'!yoda-speak-translate text="{html}"')
    assert entry.get_attribute("data-entry-type") == "1", entry.text
    assert entry.find_elements(By.CSS_SELECTOR, ".entry-body td")[0].text == html
    for panel in ("#entries", "#context"):
        for tag in ("b", "img", "script"):
            assert browser.find_elements(By.CSS_SELECTOR, f"{panel} {tag}") == [], f"a live <{tag}> in {panel}"
    assert html in browser.find_element(By.ID, "context").text
    assert browser.title == title, "a script from the text ran"


def test_completion_offers_commands_arguments_and_values(browser: webdriver.Chrome, server: RunningServer) -> None:
    """Given the command field, When a command and an argument are typed in part, Then the list offers the installed
    command, its arguments and a built-in script's predefined values; Tab takes the first."""
    log_in(browser, server)
    field = browser.find_element(By.NAME, "command")
    field.clear()
    field.send_keys("!yoda-sp")
    options = wait_for(browser, "command suggestions", lambda b: b.find_elements(By.CSS_SELECTOR, "#suggestions li"))
    assert [option.get_attribute("data-value") for option in options] == ["yoda-speak-translate"]
    field.send_keys(Keys.TAB)
    assert field.get_attribute("value") == "!yoda-speak-translate "
    field.send_keys("t")
    wait_for(browser, "argument suggestions", lambda b: b.find_elements(By.CSS_SELECTOR, "#suggestions li"))
    field.send_keys(Keys.TAB)
    assert field.get_attribute("value") == "!yoda-speak-translate text="
    field.clear()
    field.send_keys("!DeleteContext all=")
    values = wait_for(browser, "value suggestions", lambda b: b.find_elements(By.CSS_SELECTOR, "#suggestions li"))
    assert [value.get_attribute("data-value") for value in values] == ["yes", "no"]
    field.clear()


def test_incident_with_the_playbook_reaches_completed(
    browser: webdriver.Chrome, server: RunningServer, funtranslations: RunningService
) -> None:
    """Given the incidents page, When an incident is created with the Yoda Speak playbook, Then its page shows the
    work plan running and, refreshed without a reload, completed, with the translation in its War Room and context."""
    details = "Patience you must have, my young padawan"
    slow = ServiceConfig(rate_limit=None, faults=(parse_fault("latency=2.5"),))
    with serve(slow) as slow_service:
        set_instance_url(server, slow_service.url)  # the run lasts long enough to be seen in progress
        try:
            log_in(browser, server)
            browser.find_element(By.LINK_TEXT, "Incidents").click()
            browser.find_element(By.NAME, "name").send_keys("Translate for the council")
            Select(browser.find_element(By.NAME, "playbook")).select_by_visible_text("Yoda Speak")
            Select(browser.find_element(By.NAME, "severity")).select_by_value("high")
            browser.find_element(By.NAME, "details").send_keys(details)
            browser.find_element(By.CSS_SELECTOR, "#create-incident button[type=submit]").click()
            first_state = wait_for(browser, "the incident page's work plan", plan_state)
            wait_for(browser, "the work plan reaching completed", lambda b: plan_state(b) == "completed", seconds=60)
        finally:
            set_instance_url(server, funtranslations.url)
    assert first_state == "inprogress", f"the page opened on a finished run ({first_state!r}); nothing was refreshed"
    tasks = browser.find_elements(By.CSS_SELECTOR, "#workplan .task")
    states = {
        task.find_element(By.CLASS_NAME, "task-name").text: task.get_attribute("data-task-state") for task in tasks
    }
    assert tasks, "the work plan lists no task"
    assert all(state in ("completed", "skipped") for state in states.values()), states
    assert "completed" in states.values(), states
    assert browser.find_elements(By.CSS_SELECTOR, "#entries .entry"), "the playbook wrote nothing in the War Room"
    assert details in browser.find_element(By.ID, "context").text
    browser.find_element(By.LINK_TEXT, "Incidents").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#incident-list tbody tr")
    assert any("Translate for the council" in row.text and "High" in row.text for row in rows), [r.text for r in rows]
