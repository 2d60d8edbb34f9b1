"""The README's lists of built-in filters and transformers are the runner's own tables."""

from __future__ import annotations

import re

import pytest

from xsoar_local.playbook.conditions import OPERATORS
from xsoar_local.playbook.transformers import TRANSFORMERS
from xsoar_local.runtime import REPO_ROOT


def readme_bullet(title: str) -> str:
    """The text of the README's Playbooks bullet starting with `**title**`."""
    section = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("### Playbooks", 1)[1]
    match = re.search(rf"- \*\*{re.escape(title)}\*\*(.*?)(?=\n- \*\*|\n###)", section, re.DOTALL)
    assert match is not None, f"the README's Playbooks section has no **{title}** bullet"
    return match.group(1)


def listed_names(text: str) -> set[str]:
    """The backticked names of the bullet's first sentence, argument names in parentheses left out."""
    first = re.split(r"\.\s", text, maxsplit=1)[0]
    return set(re.findall(r"`([A-Za-z]+)`", re.sub(r"\([^)]*\)", "", first)))


@pytest.mark.parametrize(
    ("title", "table"),
    [
        pytest.param("Built-in filters", set(OPERATORS), id="filters"),
        pytest.param("Built-in transformers", set(TRANSFORMERS), id="transformers"),
    ],
)
def test_readme_lists_exactly_the_built_ins(title: str, table: set[str]) -> None:
    """Given the README's list and the runner's table, When compared, Then each names exactly the other's items."""
    bullet = readme_bullet(title)
    listed = listed_names(bullet)
    unsupported = {name for name in table if "IdenticalIncident" in name}
    assert all(f"`{name}`" in bullet for name in unsupported), f"the README must name {sorted(unsupported)}"
    assert table - unsupported - listed == set(), f"the README does not list {sorted(table - listed)}"
    assert listed - table == set(), f"the README lists {sorted(listed - table)}, which the runner does not have"
