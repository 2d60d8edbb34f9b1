"""The numbers a Python transformer, filter or script is handed, as a server hands them: over JSON, where a whole
number is written without a fraction (Go's and JavaScript's encoders write 42.0 as `42`), so Python reads an int,
and any other number a float. The Tally fixture pack (tests/fixtures/content/numbers) on the real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine.catalog import scan_content
from xsoar_local.engine.instances import load_instances
from xsoar_local.engine.session import EngineSession
from xsoar_local.incident.model import Incident
from xsoar_local.playbook import PlaybookRun, PlaybookRunner
from xsoar_local.playbook.integrations import EngineExecutor
from xsoar_local.playbook.library import CatalogContent
from xsoar_local.playbook.model import load_playbook

PACKS = Path(__file__).resolve().parent.parent / "fixtures" / "content" / "numbers" / "Packs"
TEST_PLAYBOOK = PACKS / "Tally" / "TestPlaybooks" / "playbook-Tally_Test.yml"

# Context values as a run leaves them: ints from JSON/BigInt, a whole float a Python transformer returned (45.0),
# fractions, and an object holding both.
VALUES = [
    pytest.param(42, "int", id="whole-number"),
    pytest.param(45.0, "int", id="whole-float-a-python-script-returned"),
    pytest.param(2.5, "float", id="fraction"),
    pytest.param([10, 15.0, 20.5], ["int", "int", "float"], id="list"),
    pytest.param({"Count": 3.0, "Ok": True, "Name": "x"}, {"Count": "int", "Ok": "bool", "Name": "str"}, id="object"),
    pytest.param(1e21, "float", id="too-large-for-json-without-an-exponent"),
]


@pytest.fixture(scope="module")
def session() -> EngineSession:
    catalog = scan_content(PACKS)
    return EngineSession(catalog, load_instances(catalog, None))


@pytest.mark.parametrize(("value", "expected"), VALUES)
def test_a_python_transformer_gets_numbers_as_the_servers_json_gives_them(
    session: EngineSession, value: Any, expected: Any
) -> None:
    """
    Given a context value
    When the Python transformer TlTypes (entirelist) is applied to it
    Then it sees a whole number as an int and any other number as a float, as json.loads reads the server's JSON
    """
    seen = session.transform("TlTypes", value, {}, Incident())
    assert seen == expected, f"TlTypes was handed {seen} for {value!r}"


@pytest.mark.parametrize(
    ("left", "holds"),
    [
        pytest.param([7, 8], True, id="whole-numbers"),
        pytest.param([7.0, 8.0], True, id="whole-floats"),
        pytest.param([7, 7.5], False, id="a-fraction"),
        pytest.param([True], False, id="boolean-stays-boolean"),
    ],
)
def test_a_python_filter_gets_numbers_as_the_servers_json_gives_them(
    session: EngineSession, left: list[Any], holds: bool
) -> None:
    """
    Given a list for a filter's left side
    When the Python filter TlWhole (holds when every item is an int) checks it
    Then whole numbers arrive as ints, a fraction as a float and a boolean as a boolean
    """
    assert session.filter("TlWhole", left, None, Incident()) is holds, f"TlWhole({left!r}) should be {holds}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            {"numbers": [45.0, 0.5], "tally": {"Sum": 45.0, "Rate": 0.25}},
            {"numbers": ["int", "float"], "tally": {"Sum": "int", "Rate": "float"}},
            id="list-and-object",
        ),
        pytest.param({"tally": 45.0}, {"tally": "str"}, id="scalar-is-text"),
    ],
)
def test_a_python_scripts_arguments_get_numbers_as_the_servers_json_gives_them(
    session: EngineSession, args: dict[str, Any], expected: dict[str, Any]
) -> None:
    """
    Given arguments a playbook resolved from context, holding a whole float (a Python transformer's 45.0)
    When the Python script TlTypes runs with them
    Then numbers in a list or object arrive as an int (whole) or a float, and a scalar as text ("45", not "45.0")
    """
    run = session.execute("TlTypes", args, Incident())
    assert not run.is_error, run.error_messages
    assert [entry["Contents"] for entry in run.entries] == [expected], run.entries
    if "numbers" not in args:
        assert run.args == {"tally": "45"}, f"a whole float is written without its fraction: {run.args}"


def test_numbers_stored_from_javascript_are_summed_by_a_sumlist_shaped_transformer() -> None:
    """
    Given Tally_Test, the shape of content's sumList - Test: TlSetNumbers (JavaScript) stores 42 as a BigInt and
    [10, 15, 20] through JSON.parse; TlSum (shaped like SumList: one whole number is its own sum, a list is summed
    as floats, a lone float fails) sums each; TlTypes then reads the stored sum as a transformer and as arguments
    When it runs on the engine
    Then it completes: TlSum got 42 as an int (a float would have failed it), and the 45.0 it returned for the list
    reaches the next Python transformer and, inside an object argument, the next script as an int
    """
    catalog = scan_content(PACKS)
    executor = EngineExecutor(EngineSession(catalog, load_instances(catalog, None)))
    runner = PlaybookRunner(executor, operators=executor.operators, content=CatalogContent(catalog))
    result: PlaybookRun = runner.run(load_playbook(TEST_PLAYBOOK), Incident())

    assert result.completed, result.error
    tally = result.incident.context["Tally"]
    assert (tally["Single"], type(tally["Single"])) == (42, int), f"TlSum did not get an int: {tally}"
    assert (tally["Sum"], tally["SumType"]) == (45, "int"), f"the stored 45.0 reached TlTypes as: {tally}"
    shown = {item.task_id: item.entry.get("Contents") for item in result.entries}
    whole = {"Count": "int", "List": ["int", "int", "int"], "Single": "int", "Sum": "int", "SumType": "str"}
    assert shown["5"] == {"numbers": ["int", "int", "int"], "tally": whole}, f"TlTypes's arguments: {shown}"
