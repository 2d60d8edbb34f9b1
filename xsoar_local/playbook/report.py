"""Show a playbook run: the work plan line by line, the War Room, the final context, or one JSON document."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from xsoar_local.playbook.expressions import is_empty
from xsoar_local.playbook.runner import CONTINUED, SUCCESS, TASK_ERROR, WARNING, PlaybookRun, TaskResult, WarRoomEntry
from xsoar_local.render import neutralise, render_context, render_entry

_STATUS_STYLES = {SUCCESS: "green", WARNING: "bold yellow", TASK_ERROR: "bold red", CONTINUED: "yellow"}
_STATUS_MARKS = {SUCCESS: "✔", WARNING: "⚠", TASK_ERROR: "✘", CONTINUED: "✘"}


_STATUS_WIDTH = max(len(SUCCESS), len(WARNING), len(TASK_ERROR))  # "error (continued)" is rare: it may stick out


def task_line(result: TaskResult) -> Table:
    """One work-plan line: status mark, status and time, then task id, name, what it ran, and any note below.

    The short, fixed-width part comes first and never wraps, so a narrow terminal can only wrap the name and the
    note, and it wraps them within their own column: the status and time of a task are never split apart.
    """
    style = _STATUS_STYLES.get(result.status, "")
    prefix = Text(no_wrap=True)
    prefix.append(f"{_STATUS_MARKS.get(result.status, '?')} ", style=style)
    prefix.append(result.status.ljust(_STATUS_WIDTH), style=style)
    prefix.append(f" {result.seconds:5.2f}s", style="dim")
    body = Text(overflow="fold")  # fold only what cannot wrap at a space, e.g. a long Brand|||command
    body.append(f"[{neutralise(result.task_id)}] ", style="dim")
    body.append(neutralise(result.name or f"({result.type})"), style="bold")
    if result.action:
        body.append(f"  {neutralise(result.action)}", style="cyan")
    if result.message:
        body.append(f"\n{neutralise(result.message)}", style=style if result.status != SUCCESS else "dim")
    line = Table.grid(padding=(0, 1))
    line.add_column(no_wrap=True)
    line.add_column(overflow="fold")
    line.add_row(prefix, body)
    return line


def _war_room_entry(item: WarRoomEntry, empty_refs: Mapping[str, tuple[str, ...]]) -> RenderableType:
    title = f"[{item.task_id}] {item.task_name}".strip()
    entry = item.entry
    if is_empty(entry.get("Contents")) and is_empty(entry.get("HumanReadable")):
        refs = ", ".join(f"${{{path}}}" for path in empty_refs.get(item.task_id, ()))
        why = f": {refs} resolved to nothing" if refs else ""
        return Panel(
            Text(neutralise(f"(empty value{why})"), style="bold yellow"),
            title=f"⚠ {title}",
            border_style="yellow",
            title_align="left",
        )
    return render_entry(entry, title)


def render_war_room(run: PlaybookRun) -> RenderableType:
    """The War Room: every entry in order, an empty one flagged with the references that came out empty."""
    empty_refs = {task.task_id: task.empty_references for task in run.tasks}
    parts: list[RenderableType] = [Text("War Room", style="bold underline")]
    parts += [_war_room_entry(item, empty_refs) for item in run.entries]
    if not run.entries:
        parts.append(Text("(no entries)", style="dim"))
    return Group(*parts)


def summary(run: PlaybookRun) -> Text:
    """The last line: completed or not, and why."""
    counts = f"{len(run.tasks)} task(s) ran"
    line = _summary_line(run, counts)
    return Text(neutralise(line.plain), style=line.style)


def _summary_line(run: PlaybookRun, counts: str) -> Text:
    if not run.completed:
        return Text(f"✘ Playbook {run.playbook.name!r} did NOT complete: {run.error} ({counts})", style="bold red")
    if run.warnings:
        names = ", ".join(f"[{task.task_id}] {task.name}" for task in run.warnings)
        return Text(
            f"⚠ Playbook {run.playbook.name!r} completed, but with empty values in: {names} ({counts})",
            style="bold yellow",
        )
    return Text(f"✔ Playbook {run.playbook.name!r} completed ({counts})", style="bold green")


def render_outcome(run: PlaybookRun, *, show_context: bool = True) -> RenderableType:
    """What follows the work plan: the War Room, the final context, the summary."""
    parts: list[RenderableType] = [render_war_room(run)]
    if show_context:
        parts.append(render_context(run.incident.context))
    parts.append(summary(run))
    return Group(*parts)


def run_to_json(run: PlaybookRun) -> dict[str, Any]:
    """The `--json` document of one run."""
    return {
        "playbook": {"id": run.playbook.id, "name": run.playbook.name, "source": str(run.playbook.source or "")},
        "completed": run.completed,
        "error": run.error,
        "warnings": [f"[{task.task_id}] {task.name}: {task.message}" for task in run.warnings],
        # a task's entries are listed once, under "war_room"
        "tasks": [
            {key: value for key, value in dataclasses.asdict(task).items() if key != "entries"} for task in run.tasks
        ],
        "war_room": [dataclasses.asdict(item) for item in run.entries],
        "context": run.incident.context,
        "incident": run.incident.fields,
    }
