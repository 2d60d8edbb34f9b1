"""What the pages show, computed from the server's own shapes: entries, the context tree, the work plan.

Pure functions: server-shaped dicts in, small view dicts out; the templates escape every string they print, and
the only HTML made here is markdown that `render_markdown` has sanitized.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from xsoar_local.web.markdown import render_markdown, sanitize

# XSOAR entry types (CommonServerPython's EntryType).
ENTRY_TYPES: Mapping[int, str] = {
    1: "note",
    2: "download agent",
    3: "file",
    4: "error",
    5: "pinned",
    6: "user management",
    7: "image",
    8: "playground error",
    9: "file info",
    10: "video",
    11: "warning",
    12: "map",
    13: "widget",
    14: "static",
    15: "execution metrics",
    16: "debug",
}
ERROR_TYPES = frozenset({4, 8})

# The work plan's task states, as the War Room names them, from the server's TaskState values.
TASK_STATES: Mapping[str, str] = {
    "": "waiting",
    "new": "waiting",
    "waiting": "waiting",
    "blocked": "waiting",
    "inprogress": "in progress",
    "completed": "completed",
    "error": "error",
    "skipped": "skipped",
    "willnotexecute": "skipped",
}
RUN_STATES: Mapping[str, str] = {
    "new": "not started",
    "inprogress": "in progress",
    "running": "in progress",
    "waiting": "waiting",
    "paused": "paused",
    "completed": "completed",
    "failed": "failed",
}
RUNNING_STATES = frozenset({"new", "inprogress", "waiting", "running"})


def _pick(entry: Mapping[str, Any], *names: str) -> Any:
    """The first present key: entries come in the REST shape (lowercase) or the engine's (`Contents`)."""
    for name in names:
        if entry.get(name) not in (None, ""):
            return entry[name]
    return None


def entry_type(entry: Mapping[str, Any]) -> int:
    """The entry's Type number (an odd or missing one counts as a note)."""
    try:
        return int(_pick(entry, "type", "Type") or 1)
    except (TypeError, ValueError):
        return 1


def format_time(value: Any) -> tuple[str, str]:
    """(machine-readable, shown) for an entry's `created`: ISO text from the server, shown as date and time."""
    if not value:
        return "", ""
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text, text
    return moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M:%S")


def _body(entry: Mapping[str, Any], kind: int) -> Markup:
    human = _pick(entry, "HumanReadable", "humanReadable")
    contents = _pick(entry, "contents", "Contents")
    fmt = str(_pick(entry, "format", "ContentsFormat") or "text").lower()
    if isinstance(human, str) and human.strip():
        return render_markdown(human)
    if fmt == "markdown" and isinstance(contents, str) and kind not in ERROR_TYPES:
        return render_markdown(contents)
    if fmt == "html" and isinstance(contents, str):
        return Markup(f'<div class="html-entry">{sanitize(contents)}</div>')
    if fmt in ("json", "table") or not isinstance(contents, (str, type(None))):
        if isinstance(contents, str):
            try:
                contents = json.loads(contents)
            except json.JSONDecodeError:
                return Markup('<pre class="text">{}</pre>').format(contents)
        return Markup('<pre class="json">{}</pre>').format(json.dumps(contents, indent=2, ensure_ascii=False))
    return Markup('<pre class="text">{}</pre>').format("" if contents is None else contents)


def _source(entry: Mapping[str, Any]) -> tuple[str, str]:
    """Who or what wrote the entry, and what it answered (the command line, or the playbook task)."""
    task = entry.get("entryTask") if isinstance(entry.get("entryTask"), Mapping) else {}
    brand = str(_pick(entry, "brand", "Brand") or "")
    instance = str(_pick(entry, "instance", "Instance") or "")
    user = str(_pick(entry, "user", "User") or "")
    if brand and brand.lower() != "none":
        who = f"{brand} ({instance})" if instance and instance != brand else brand
    else:
        who = user or "DBot"
    if task:
        task_name = str(task.get("taskName") or task.get("taskId") or "")
        playbook = str(task.get("playbookName") or "")
        what = f"task {task_name}" + (f" of {playbook}" if playbook else "")
    else:
        what = str(_pick(entry, "parentContent", "ParentContent") or "")
    return who, what


def entry_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One War Room entry as the page shows it."""
    kind = entry_type(entry)
    who, what = _source(entry)
    iso, shown = format_time(_pick(entry, "created", "Created"))
    return {
        "id": str(_pick(entry, "id", "ID") or ""),
        "type": kind,
        "type_name": ENTRY_TYPES.get(kind, f"type {kind}"),
        "is_error": kind in ERROR_TYPES,
        "is_warning": kind == 11,
        "by_user": bool(_pick(entry, "user", "User")) and not _pick(entry, "brand", "Brand"),
        "who": who,
        "what": what,
        "created": iso,
        "created_shown": shown,
        "body": _body(entry, kind),
        "extras": _extras(entry),
    }


def _extras(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a pack author opens below an entry: the raw response and the context data it wrote (as JSON)."""
    extras = []
    raw = _pick(entry, "rawContents", "Contents")
    shown = _pick(entry, "contents")
    if raw is not None and raw != shown and not isinstance(raw, str):
        extras.append(("Raw response", json.dumps(raw, indent=2, ensure_ascii=False, default=str)))
    entry_context = _pick(entry, "entryContext", "EntryContext")
    if isinstance(entry_context, Mapping) and entry_context:
        extras.append(("Context data", json.dumps(entry_context, indent=2, ensure_ascii=False, default=str)))
    return extras


def context_tree(value: Any, *, depth: int = 0, open_depth: int = 5) -> Markup:
    """The context as nested, collapsible lists (<details>); keys and values escaped."""
    if isinstance(value, Mapping):
        items = [(str(key), child) for key, child in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [(f"[{index}]", child) for index, child in enumerate(value)]
    else:
        return _leaf(value)
    if not items:
        return Markup('<span class="empty">{}</span>').format("{}" if isinstance(value, Mapping) else "[]")
    parts = [Markup('<ul class="tree">')]
    for key, child in items:
        if isinstance(child, (Mapping, list, tuple)) and child:
            size = len(child)
            summary = Markup('<span class="key">{}</span> <span class="size">{}</span>').format(
                key, f"{size} item{'s' * (size != 1)}" if isinstance(child, (list, tuple)) else f"{{{size}}}"
            )
            opened = Markup(" open") if depth < open_depth else Markup("")
            parts.append(
                Markup('<li><details data-path-key="{}"{}><summary>{}</summary>{}</details></li>').format(
                    key, opened, summary, context_tree(child, depth=depth + 1, open_depth=open_depth)
                )
            )
        else:
            parts.append(Markup('<li><span class="key">{}</span>: {}</li>').format(key, context_tree(child)))
    parts.append(Markup("</ul>"))
    return Markup("").join(parts)


def _leaf(value: Any) -> Markup:
    if value is None:
        return Markup('<span class="null">null</span>')
    if isinstance(value, bool):
        return Markup('<span class="bool">{}</span>').format("true" if value else "false")
    if isinstance(value, (int, float)):
        return Markup('<span class="number">{}</span>').format(value)
    return Markup('<span class="string">{}</span>').format(json.dumps(str(value), ensure_ascii=False))


def task_state(state: Any) -> str:
    """The War Room's name for a task state (waiting, in progress, completed, error, skipped)."""
    key = str(state or "").replace(" ", "").replace("_", "").lower()
    return TASK_STATES.get(key, key or "waiting")


def _task_name(task_id: str, task: Mapping[str, Any], definition: Mapping[str, Any]) -> str:
    name = str(definition.get("name") or task.get("name") or "")
    if name:
        return name
    kind = str(task.get("type") or definition.get("type") or "")
    return "Playbook triggered" if kind == "start" else f"Task {task_id}"


def _task_order(tasks: Mapping[str, Mapping[str, Any]], start: str | None) -> list[str]:
    """Task ids from the start task along `nextTasks` (breadth first), then any the walk did not reach."""
    order: list[str] = []
    queue: deque[str] = deque([start] if start and start in tasks else [])
    while queue:
        task_id = queue.popleft()
        if task_id in order:
            continue
        order.append(task_id)
        branches = tasks[task_id].get("nextTasks") or {}
        for ids in branches.values() if isinstance(branches, Mapping) else ():
            queue.extend(str(next_id) for next_id in ids or () if str(next_id) in tasks)
    rest = sorted((task_id for task_id in tasks if task_id not in order), key=lambda t: (len(t), t))
    return order + rest


def work_plan(run: Mapping[str, Any] | None) -> dict[str, Any]:
    """A playbook run (GET /inv-playbook/{id}) as the work plan: its state and its tasks in order."""
    if not run:
        return {"state": "", "state_shown": "", "running": False, "playbook": "", "tasks": []}
    raw_tasks = run.get("tasks") or {}
    tasks = {str(key): value for key, value in raw_tasks.items()} if isinstance(raw_tasks, Mapping) else {}
    rows = []
    for task_id in _task_order(tasks, str(run.get("startTaskId") or "0")):
        task = tasks[task_id]
        definition = task.get("task") if isinstance(task.get("task"), Mapping) else {}
        rows.append(
            {
                "id": task_id,
                "name": _task_name(task_id, task, definition),
                "type": str(task.get("type") or definition.get("type") or ""),
                "state": task_state(task.get("state")),
                "message": str(task.get("message") or task.get("error") or ""),
            }
        )
    state = str(run.get("state") or "").lower()
    _fill_unreported(rows, tasks, state)
    return {
        "state": state,
        "state_shown": RUN_STATES.get(state, state),
        "running": state in RUNNING_STATES,
        "playbook": str(run.get("name") or run.get("playbookId") or ""),
        "tasks": rows,
    }


def _fill_unreported(rows: list[dict[str, Any]], tasks: Mapping[str, Mapping[str, Any]], state: str) -> None:
    """Name the states a server reports only implicitly, in place.

    While the run goes on, a waiting task whose predecessor completed is the one running now (a server that reports
    tasks as they finish says nothing else); once the run completed, a task it never reached was skipped.
    """
    if state == "completed":
        for row in rows:
            if row["state"] == "waiting":
                row["state"] = "skipped"
        return
    if state not in RUNNING_STATES or any(row["state"] == "in progress" for row in rows):
        return
    done = {row["id"] for row in rows if row["state"] in ("completed", "error", "skipped")}
    parents: dict[str, set[str]] = {}
    for task_id, task in tasks.items():
        branches = task.get("nextTasks") or {}
        for ids in branches.values() if isinstance(branches, Mapping) else ():
            for next_id in ids or ():
                parents.setdefault(str(next_id), set()).add(task_id)
    for row in rows:
        if row["state"] == "waiting" and (not parents.get(row["id"]) or parents[row["id"]] & done):
            row["state"] = "in progress"
            return


def entries_view(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """All entries of an investigation, oldest first, as the page shows them.

    As in the War Room, the line a user ran is shown once above the entries it produced (`echo`), and those
    entries' headers then need not repeat it.
    """
    views = []
    previous = None
    for entry in entries:
        view = entry_view(entry)
        line = str(_pick(entry, "parentContent", "ParentContent") or "")
        view["echo"] = line if line and line != previous and not entry.get("entryTask") else ""
        if line and view["what"] == line:
            view["what"] = ""
        previous = line or None
        views.append(view)
    return views
