"""The README's table of supported endpoints is the server's routing table."""

from __future__ import annotations

import re

from tests.server.support import REPO_ROOT
from xsoar_local.server.api import ENDPOINTS

_ROW = re.compile(r"^\| `(GET|POST|PUT|DELETE) (/[^`]*)` \|", re.MULTILINE)


def test_readme_lists_exactly_the_served_endpoints():
    """
    Given the README's "Supported endpoints" table and the API's routing table
    When comparing them, path parameters written {name} in the README and <name> in the routes
    Then every served endpoint is documented and nothing documented is missing from the server
    """
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    documented = {(method, re.sub(r"\{[^}]+\}", "{}", path)) for method, path in _ROW.findall(readme)}
    served = {(method, re.sub(r"<[^>]+>", "{}", path)) for method, path, _, _ in ENDPOINTS}
    assert documented - served == set(), "the README documents endpoints the server does not serve"
    assert served - documented == set(), "the server serves endpoints the README does not list"


def test_the_readme_names_the_line_make_reports_for_run():
    """
    Given the README's example of what make prints when `make run` fails (`make: *** [Makefile:NN: run] Error 1`)
    When comparing it with the Makefile
    Then line NN is the `run` recipe's command, the line make names
    """
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.findall(r"\[Makefile:(\d+): run\]", readme)
    assert quoted, "the README no longer quotes make's line for a failed `make run`"
    lines = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    recipe = next(number for number, line in enumerate(lines, start=1) if line.startswith("run:")) + 1
    assert {int(number) for number in quoted} == {recipe}, f"make names Makefile:{recipe} for `make run`"
