"""War Room markdown as HTML: markdown-it-py (tables on), raw HTML shown as text, then a strict sanitizer.

Entries carry text that came from outside (a translated sentence, an API's answer), so HTML inside the markdown is
shown, never interpreted: markdown-it hands raw HTML to the two rules below, which escape it, except a bare `<br>`
(tableToMarkdown writes a newline inside a table cell as `<br>`, and the War Room shows it as a line break).
nh3 then keeps only the tags markdown itself produces, as a second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markupsafe import Markup

_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)

# What markdown produces (commonmark + tables + strikethrough) and the War Room shows; nothing else survives.
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "del", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def _html_inline(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    content = tokens[idx].content
    return "<br>" if _LINE_BREAK.fullmatch(content.strip()) else escapeHtml(content)


def _html_block(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"<p>{escapeHtml(tokens[idx].content.rstrip())}</p>\n"


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])
    parser.add_render_rule("html_inline", _html_inline)
    parser.add_render_rule("html_block", _html_block)
    return parser


_PARSER = _parser()


def sanitize(html: str) -> str:
    """Keep only markdown's own tags and safe link schemes (nh3 also strips every event handler and script)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str) -> Markup:
    """The HTML the War Room shows for a markdown entry: safe to put in a page as it is."""
    return Markup(sanitize(_PARSER.render(text)))
