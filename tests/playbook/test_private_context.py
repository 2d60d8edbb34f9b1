"""A sub-playbook's private context ("Private to sub-playbook") and the keys content names in it: the Nest fixture
pack (tests/fixtures/content/private-context) run on the real engine, with its own JavaScript DeleteContext that sends
delContext `subplaybook-${currentPlaybookID}.<key>` inside a sub-playbook, as CommonScripts' DeleteContext does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from xsoar_local.engine.catalog import ContentCatalog, scan_content
from xsoar_local.engine.instances import load_instances
from xsoar_local.engine.session import EngineSession
from xsoar_local.incident.model import Incident
from xsoar_local.playbook import PlaybookRun, PlaybookRunner
from xsoar_local.playbook.integrations import EngineExecutor
from xsoar_local.playbook.library import CatalogContent
from xsoar_local.playbook.model import parse_playbook

PACKS = Path(__file__).resolve().parent.parent / "fixtures" / "content" / "private-context" / "Packs"
PARENT = PACKS / "Nest" / "TestPlaybooks" / "playbook-Nest_Test.yml"
CHILD = PACKS / "Nest" / "Playbooks" / "playbook-Nest_Private_Child.yml"


@pytest.fixture(scope="module")
def catalog() -> ContentCatalog:
    return scan_content(PACKS)


def run(catalog: ContentCatalog, path: Path, mode: str, incident: Incident | None = None) -> PlaybookRun:
    """Run the playbook at `path` with DeleteContext's `subplaybook` set to `mode` (the child's `mode` input: given
    by the parent's playbook task, or the input's default when the child runs at the top level)."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if path == PARENT:
        document["tasks"]["2"]["scriptarguments"]["mode"] = {"simple": mode}
    else:
        document["inputs"][0]["value"] = {"simple": mode}
    session = EngineSession(catalog, load_instances(catalog, None))
    executor = EngineExecutor(session)
    runner = PlaybookRunner(executor, operators=executor.operators, content=CatalogContent(catalog))
    result: PlaybookRun = runner.run(parse_playbook(document), incident or Incident())
    return result


def printed(result: PlaybookRun) -> dict[str, Any]:
    """What each task wrote, by its place in the work plan (`2.5`: task 5 of the sub-playbook task 2 runs)."""
    return {item.task_id: item.entry.get("Contents") for item in result.entries}


@pytest.mark.parametrize(
    "mode", [pytest.param("auto", id="subplaybook-auto"), pytest.param("yes", id="subplaybook-yes")]
)
def test_deletecontext_in_a_private_sub_playbook_deletes_its_own_keys_only(catalog: ContentCatalog, mode: str) -> None:
    """
    Given Nest_Test: the parent sets Shared=parent, then runs Nest_Private_Child with a private context, which sets
    Mine=child and deletes Mine and Shared with DeleteContext subplaybook=auto|yes (delContext gets
    `subplaybook-Nest_Private_Child.Mine`, the key of its private context as a server names it)
    When it runs on the engine
    Then the child's context loses both keys (its copy of Shared too), and the parent's context still has
    Shared=parent and nothing of the child's
    """
    result = run(catalog, PARENT, mode)

    assert result.completed, result.error
    shown = printed(result)
    assert shown["2.2"] == "keys=Mine,Shared", f"the child starts with a copy of the parent's context: {shown}"
    assert shown["2.3"] == "deleted 1 key(s) of the sub-playbook", f"DeleteContext did not name its own key: {shown}"
    assert shown["2.5"] == "keys=", f"delContext left keys in the sub-playbook's private context: {shown}"
    assert shown["3"] == "keys=Shared", f"the parent's context changed: {shown}"
    assert result.incident.context == {"Shared": "parent"}, "the child's delete reached the parent's context"


@pytest.mark.parametrize(
    ("mode", "note"),
    [
        pytest.param("yes", "deleted 1 key(s) of the sub-playbook", id="subplaybook-yes-sends-the-empty-id"),
        pytest.param("auto", "deleted 1 key(s)", id="subplaybook-auto-sends-the-plain-key"),
    ],
)
def test_deletecontext_at_the_top_level_deletes_the_global_key(catalog: ContentCatalog, mode: str, note: str) -> None:
    """
    Given Nest_Private_Child run as the top playbook on an incident holding Kept, so `${currentPlaybookID}` is ""
    When DeleteContext subplaybook=yes sends delContext `subplaybook-.Mine` (content's Delete Context Subplaybook
    Test expects the global key gone then), or subplaybook=auto sends the plain `Mine`
    Then Mine is deleted from the incident's context and Kept stays
    """
    result = run(catalog, CHILD, mode, Incident(context={"Kept": 1}))

    assert result.completed, result.error
    shown = printed(result)
    assert shown["3"] == note, f"DeleteContext named the key differently: {shown}"
    assert shown["5"] == "keys=Kept", f"Mine was not deleted from the top-level context: {shown}"
    assert result.incident.context == {"Kept": 1}, result.incident.context
