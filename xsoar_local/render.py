"""Show War Room entries and the context in a terminal (rich), or as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from markdown_it.token import Token
from rich.console import Group, RenderableType
from rich.json import JSON
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from xsoar_local.engine.entries import ENTRY_TYPE_NAMES, ERROR, WARNING, LogEntry, entry_type

# C0 controls but newline and tab, DEL, C1 controls (0x9b is a one-byte CSI), and the bidirectional overrides
# that reorder what a reader sees: shown as escapes, so text from an integration cannot move the cursor, clear
# the screen, retitle the window or disguise itself.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """``text`` with every control character made visible (``\x1b``), so it is shown, never obeyed."""
    return _CONTROL.sub(lambda match: _visible(match.group()), text)


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_json(value: Any) -> str:
    """``value`` as indented JSON whose control characters are all ``\\uXXXX`` escapes (still the same JSON)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return _CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def neutralised(value: Any) -> Any:
    """A copy of a JSON-like value with every string (keys too) neutralised."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Mapping):
        return {neutralised(key): neutralised(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [neutralised(item) for item in value]
    return value


_LOG_STYLES = {"error": "red", "stderr": "red", "info": "cyan", "debug": "dim", "log": "", "stdout": ""}


def _json_text(value: Any) -> str:
    # rich re-parses and re-dumps the text, so the strings themselves are neutralised (a JSON escape would not last)
    return json.dumps(neutralised(value), indent=2, ensure_ascii=False, default=str)


def pretty_json(value: Any) -> RenderableType:
    """Highlighted JSON whose long strings fold onto the next line instead of being cut off."""
    rendered = JSON(_json_text(value))
    rendered.text.no_wrap = False
    rendered.text.overflow = "fold"
    return rendered


def shorten(text: str, limit: int = 60) -> str:
    """One line of at most `limit` characters (panel titles)."""
    line = " ".join(neutralise(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _br_as_line_breaks(tokens: Sequence[Token]) -> None:
    """Turn each inline `<br>` tag into a hard line break, in place.

    tableToMarkdown writes a newline inside a cell as `<br>` (a markdown table row cannot hold a newline), and the
    War Room shows it as a line break; rich drops inline HTML, which would glue the cell's lines together.
    """
    for token in tokens:
        if token.type == "html_inline" and _LINE_BREAK_TAG.fullmatch(token.content.strip()):
            token.type, token.tag, token.content = "hardbreak", "br", ""
        if token.children:
            _br_as_line_breaks(token.children)


def war_room_markdown(markup: str) -> Markdown:
    """Markdown as the War Room renders it: rich's rendering, plus `<br>` as a line break (in table cells too)."""
    markdown = Markdown(neutralise(markup))
    _br_as_line_breaks(markdown.parsed)
    return markdown


def entry_body(entry: Mapping[str, Any]) -> RenderableType:
    """What a person reads in the War Room: HumanReadable as markdown, else the Contents in their format."""
    human = entry.get("HumanReadable")
    if isinstance(human, str) and human.strip():
        return war_room_markdown(human)
    contents = entry.get("Contents")
    fmt = str(entry.get("ContentsFormat") or "text")
    if fmt == "markdown" and isinstance(contents, str):
        return war_room_markdown(contents)
    if fmt == "json":
        if isinstance(contents, str):
            try:
                contents = json.loads(contents)
            except json.JSONDecodeError:
                return Text(neutralise(contents))
        return pretty_json(contents)
    return Text("" if contents is None else neutralise(str(contents)))


def render_entry(entry: Mapping[str, Any], title: str = "") -> RenderableType:
    """One entry in a panel: errors red and titled "Error", warnings yellow, notes blue."""
    kind = entry_type(entry)
    title = shorten(title)
    if kind == ERROR:
        crash = " (engine-side crash: the integration did not handle it)" if entry.get("EngineCrash") else ""
        return Panel(
            Text(neutralise(str(entry.get("Contents") or "")), style="red"),
            title=f"[bold red]Error[/] {title}".strip(),
            subtitle=crash.strip() or None,
            border_style="red",
            title_align="left",
        )
    if kind == WARNING:
        return Panel(entry_body(entry), title=f"Warning {title}".strip(), border_style="yellow", title_align="left")
    name = ENTRY_TYPE_NAMES.get(kind, f"type {kind}")
    label = f"{title} ({name})" if title and name != "note" else title or name
    return Panel(entry_body(entry), title=label, border_style="blue", title_align="left")


def render_logs(logs: Sequence[LogEntry]) -> RenderableType:
    """The captured logs, one line each with its level."""
    lines = Text()
    for log in logs:
        lines.append(f"[{neutralise(log.level)}] ", style="bold " + (_LOG_STYLES.get(log.level) or "white"))
        lines.append(neutralise(log.message) + "\n", style=_LOG_STYLES.get(log.level, ""))
    return Panel(lines, title="Logs", border_style="dim", title_align="left")


def render_context(context: Mapping[str, Any]) -> RenderableType:
    """The incident context as pretty JSON."""
    body: RenderableType = pretty_json(context) if context else Text("(empty)", style="dim")
    return Panel(body, title="Context", border_style="green", title_align="left")


def render_run(
    entries: Sequence[Mapping[str, Any]],
    context: Mapping[str, Any],
    *,
    title: str = "",
    logs: Sequence[LogEntry] = (),
    verbose: bool = False,
) -> RenderableType:
    """The entries of one command, the logs when verbose, then the context."""
    parts: list[RenderableType] = [render_entry(entry, title) for entry in entries]
    if not entries:
        parts.append(Text("The command returned no entry.", style="yellow"))
    if verbose and logs:
        parts.append(render_logs(logs))
    parts.append(render_context(context))
    return Group(*parts)
