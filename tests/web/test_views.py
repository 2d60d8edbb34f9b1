"""What the pages show, from the server's shapes: entries, the context tree, the work plan."""

from __future__ import annotations

from typing import Any

import pytest

from xsoar_local.web.views import context_tree, entries_view, entry_view, task_state, work_plan


@pytest.mark.parametrize(
    ("entry", "who", "what", "is_error"),
    [
        pytest.param(
            {"type": 1, "contents": "### Hi", "format": "markdown", "brand": "YodaSpeak",
             "instance": "YodaSpeak_instance_1", "parentContent": '!yoda-speak-translate text="a"'},
            "YodaSpeak (YodaSpeak_instance_1)", '!yoda-speak-translate text="a"', False, id="command-result",
        ),
        pytest.param(
            {"type": 4, "contents": "Failed", "format": "text", "brand": "YodaSpeak",
             "entryTask": {"taskName": "Translate", "playbookName": "Yoda Speak"}},
            "YodaSpeak", "task Translate of Yoda Speak", True, id="playbook-task-error",
        ),
        pytest.param({"type": 1, "contents": "!Print value=x", "user": "admin"}, "admin", "", False, id="user-line"),
        pytest.param({"Type": 4, "Contents": "boom", "ContentsFormat": "text"}, "DBot", "", True, id="engine-shape"),
    ],
)  # fmt: skip
def test_entry_header(entry: dict[str, Any], who: str, what: str, is_error: bool) -> None:
    """Given an entry, When shown, Then its header names who wrote it and what it answered, errors flagged."""
    view = entry_view(entry)
    assert (view["who"], view["what"], view["is_error"]) == (who, what, is_error), view


def test_human_readable_wins_over_contents() -> None:
    """Given an engine entry with HumanReadable, When shown, Then the markdown is rendered, not the raw Contents."""
    view = entry_view({"Type": 1, "Contents": {"raw": 1}, "ContentsFormat": "json", "HumanReadable": "|a|\n|-|\n|1|"})
    assert "<table>" in view["body"], view["body"]
    assert "raw" not in view["body"], view["body"]


def test_text_entry_is_escaped() -> None:
    """Given a text entry holding HTML, When shown, Then it is escaped inside <pre>."""
    view = entry_view({"type": 4, "contents": "<script>x</script>", "format": "text"})
    assert str(view["body"]) == '<pre class="text">&lt;script&gt;x&lt;/script&gt;</pre>'


def test_json_entry_is_pretty_printed() -> None:
    """Given a json entry, When shown, Then its contents are indented JSON with HTML escaped."""
    view = entry_view({"type": 1, "contents": '{"a": "<i>"}', "format": "json"})
    assert str(view["body"]) == '<pre class="json">{\n  &#34;a&#34;: &#34;&lt;i&gt;&#34;\n}</pre>'


def test_context_tree_escapes_keys_and_values() -> None:
    """Given a context with HTML in keys and values, When drawn, Then both are escaped and nesting is <details>."""
    html = str(context_tree({"<k>": {"Inner": ["<v>", 2, None, True]}}))
    assert "<k>" not in html, html
    assert "&lt;k&gt;" in html, html
    assert "&#34;&lt;v&gt;&#34;" in html, html
    assert html.count("<details") == 2, html
    for leaf in ('<span class="number">2</span>', '<span class="null">null</span>', '<span class="bool">true'):
        assert leaf in html, html


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        pytest.param("New", "waiting", id="new"),
        pytest.param("Waiting", "waiting", id="waiting"),
        pytest.param("InProgress", "in progress", id="inprogress"),
        pytest.param("Completed", "completed", id="completed"),
        pytest.param("Error", "error", id="error"),
        pytest.param("WillNotExecute", "skipped", id="will-not-execute"),
        pytest.param("Skipped", "skipped", id="skipped"),
        pytest.param(None, "waiting", id="not-started"),
    ],
)
def test_task_states(state: str | None, shown: str) -> None:
    """Given the server's TaskState, When shown, Then it uses the War Room's word."""
    assert task_state(state) == shown


def test_work_plan_follows_the_graph_from_the_start_task() -> None:
    """Given tasks keyed out of order, When shown, Then they follow nextTasks from startTaskId, strays last."""
    run = {
        "state": "inprogress",
        "name": "Yoda Speak",
        "startTaskId": "0",
        "tasks": {
            "10": {"state": "Completed", "task": {"name": "Print"}, "nextTasks": {}},
            "7": {"state": "New", "task": {"name": "Stray"}},
            "0": {"state": "Completed", "type": "start", "task": {"name": ""}, "nextTasks": {"#none#": ["3"]}},
            "3": {"state": "InProgress", "task": {"name": "Translate"}, "nextTasks": {"#none#": ["10"]}},
        },
    }
    plan = work_plan(run)
    assert [(t["name"], t["state"]) for t in plan["tasks"]] == [
        ("Playbook triggered", "completed"),
        ("Translate", "in progress"),
        ("Print", "completed"),
        ("Stray", "waiting"),
    ]
    assert plan["running"] is True
    assert work_plan({**run, "state": "completed"})["running"] is False


@pytest.mark.parametrize(
    ("run_state", "reported", "shown"),
    [
        pytest.param("inprogress", ["", "", ""], ["in progress", "waiting", "waiting"], id="start-is-running"),
        pytest.param("inprogress", ["Completed", "", ""], ["completed", "in progress", "waiting"], id="next-running"),
        pytest.param("inprogress", ["Completed", "InProgress", ""], ["completed", "in progress", "waiting"],
                     id="reported-running-kept"),
        pytest.param("completed", ["Completed", "Completed", ""], ["completed", "completed", "skipped"],
                     id="never-reached-skipped"),
        pytest.param("failed", ["Completed", "Error", ""], ["completed", "error", "waiting"], id="after-failure-waits"),
    ],
)  # fmt: skip
def test_unreported_states(run_state: str, reported: list[str], shown: list[str]) -> None:
    """Given a server reporting tasks only as they finish, When shown, Then running and skipped tasks are named."""
    names = ["Start", "Translate", "Print"]
    tasks = {
        str(index): {"state": state, "task": {"name": name}, "nextTasks": {"#none#": [str(index + 1)]}}
        for index, (name, state) in enumerate(zip(names, reported, strict=True))
    }
    plan = work_plan({"state": run_state, "startTaskId": "0", "tasks": tasks})
    assert [task["state"] for task in plan["tasks"]] == shown


def test_the_line_run_is_shown_once_above_its_entries() -> None:
    """Given two entries from one line and one from the next, When shown, Then each line is echoed once, above its
    first entry, and playbook entries get no echo."""
    line_one, line_two = '!yoda-speak-translate text="a"', "!Print value=b"
    entries = [
        {"type": 1, "contents": "one", "parentContent": line_one, "brand": "YodaSpeak"},
        {"type": 16, "contents": "log", "parentContent": line_one, "brand": "YodaSpeak"},
        {"type": 1, "contents": "two", "parentContent": line_two},
        {"type": 1, "contents": "task", "parentContent": "", "entryTask": {"taskName": "Print"}},
    ]
    views = entries_view(entries)
    assert [view["echo"] for view in views] == [line_one, "", line_two, ""]
    assert [view["what"] for view in views] == ["", "", "", "task Print"]


def test_raw_response_and_context_data_open_below_the_entry() -> None:
    """Given a command result with raw contents and entry context, When shown, Then both are offered as escaped JSON;
    an entry whose contents are what it shows offers nothing more."""
    entry = {
        "type": 1,
        "contents": "### Yoda Says...",
        "format": "markdown",
        "rawContents": {"contents": {"translated": "<i>Hmm</i>"}},
        "entryContext": {"YodaSpeak.TheForce(val.Original == obj.Original)": {"Original": "a"}},
    }
    extras = dict(entry_view(entry)["extras"])
    assert set(extras) == {"Raw response", "Context data"}, extras
    assert '"translated": "<i>Hmm</i>"' in extras["Raw response"]
    assert "YodaSpeak.TheForce" in extras["Context data"]
    assert entry_view({"type": 1, "contents": "plain", "rawContents": "plain"})["extras"] == []
