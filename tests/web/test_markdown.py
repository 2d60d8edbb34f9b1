"""Entry markdown as the War Room page shows it: tables as HTML, raw HTML as text, nothing executable."""

from __future__ import annotations

import pytest

from xsoar_local.web.markdown import render_markdown

YODA_TABLE = "### Yoda Says...\n|Original|Translation|\n|---|---|\n| {cell} | Hmm |\n"


def test_table_renders_as_an_html_table() -> None:
    """Given tableToMarkdown output, When rendered, Then a <table> with header and data cells comes out."""
    html = str(render_markdown(YODA_TABLE.format(cell="Hello there")))
    for fragment in ("<h3>Yoda Says...</h3>", "<table>", "<th>Original</th>", "<td>Hello there</td>"):
        assert fragment in html, f"{fragment!r} missing from:\n{html}"


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        pytest.param("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", id="script-tag"),
        pytest.param("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;", id="event-handler"),
        pytest.param("<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;", id="harmless-tag-shown-too"),
    ],
)
def test_html_inside_a_cell_is_shown_as_text(cell: str, shown: str) -> None:
    """Given HTML in a translated text, When rendered, Then it is escaped text, not markup."""
    html = str(render_markdown(YODA_TABLE.format(cell=cell)))
    assert shown in html, f"expected the escaped text {shown!r} in:\n{html}"
    for tag in ("<script", "<img", "<b>"):
        assert tag not in html, html


def test_html_block_is_shown_as_text() -> None:
    """Given a markdown document that is a raw HTML block, When rendered, Then the block is an escaped paragraph."""
    html = str(render_markdown('<div onclick="steal()">hi</div>'))
    assert html.strip() == '<p>&lt;div onclick="steal()"&gt;hi&lt;/div&gt;</p>', html


def test_br_in_a_cell_is_a_line_break() -> None:
    """Given tableToMarkdown's `<br>` for a newline in a cell, When rendered, Then it is a real line break."""
    html = str(render_markdown(YODA_TABLE.format(cell="first<br>second")))
    assert "<td>first<br>second</td>" in html, html


@pytest.mark.parametrize(
    ("markdown", "kept", "dropped"),
    [
        pytest.param("[site](https://example.com)", 'href="https://example.com"', None, id="https-link-kept"),
        pytest.param("[x](javascript:alert(1))", None, "href=", id="javascript-link-not-a-link"),
        pytest.param("![pic](https://example.com/a.png)", None, "<img", id="remote-image-dropped"),
    ],
)
def test_links_and_images(markdown: str, kept: str | None, dropped: str | None) -> None:
    """Given links and images, When rendered, Then only safe links survive and no remote image is loaded."""
    html = str(render_markdown(markdown))
    if kept:
        assert kept in html, html
        assert 'rel="noopener noreferrer nofollow"' in html, html
    if dropped:
        assert dropped not in html, html
