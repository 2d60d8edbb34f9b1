"""The pack's own files: metadata, logo, description, command examples, and the two playbooks' shape."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from tests.pack._sdk import INTEGRATION, PACK, PLAYBOOK, REPO_ROOT, TEST_PLAYBOOK
from xsoar_local.engine import check_args, load_integration, parse_war_room

TRANSLATE = "YodaSpeak|||yoda-speak-translate"


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / path).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    return json.loads((REPO_ROOT / PACK / "pack_metadata.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("support", "community", id="support"),
        pytest.param("categories", ["Utilities"], id="categories"),
        # Every Cortex marketplace a translation utility belongs on: XSOAR 6 and 8, XSOAR SaaS, XSIAM, the platform.
        pytest.param("marketplaces", ["xsoar", "xsoar_saas", "marketplacev2", "platform"], id="marketplaces"),
    ],
)
def test_metadata_values(metadata: dict[str, Any], key: str, expected: Any):
    """
    Given pack_metadata.json
    When reading a field with a prescribed value
    Then it has that value
    """
    assert metadata.get(key) == expected, f"pack_metadata.json {key} is {metadata.get(key)!r}, expected {expected!r}"


@pytest.mark.parametrize("key", ["name", "description", "currentVersion", "author", "created", "keywords"])
def test_metadata_field_is_filled(metadata: dict[str, Any], key: str):
    """
    Given pack_metadata.json
    When reading a mandatory field
    Then it is present and not empty
    """
    assert metadata.get(key), f"pack_metadata.json has no {key}"


def test_metadata_url_is_present_but_names_no_one_else(metadata: dict[str, Any]):
    """
    Given pack_metadata.json of a community pack with no public repository or support page yet
    When reading its url
    Then the key is there (demisto-sdk PA107 requires it) and it does not point at FunTranslations, which does not
        support this pack
    """
    assert "url" in metadata, "pack_metadata.json must keep the url key (demisto-sdk PA107), even if it is empty"
    assert "funtranslations" not in metadata["url"].lower(), (
        f"the url {metadata['url']!r} is the vendor's; the pack's url is where its users get support"
    )


def test_metadata_description_is_short_and_active(metadata: dict[str, Any]):
    """
    Given the pack description
    When checking the marketplace rules
    Then it is under 150 characters, starts with a verb in the third person and ends with a period
    """
    description = metadata["description"]
    assert len(description) < 150, f"the pack description has {len(description)} characters; the limit is 150"
    first_word = description.split()[0]
    assert first_word[0].isupper(), f"the pack description starts with {first_word!r}, not a capital"
    assert first_word.endswith("s"), f"{first_word!r} is not a verb in the third person (active voice)"
    assert description.endswith("."), "the pack description must end with a period"


def test_metadata_version_and_date_are_well_formed(metadata: dict[str, Any]):
    """
    Given the pack version and creation date
    When parsing them
    Then the version is MAJOR.MINOR.REVISION and the date is ISO 8601 with a time zone
    """
    assert re.fullmatch(r"\d+\.\d+\.\d+", metadata["currentVersion"]), (
        f"bad currentVersion {metadata['currentVersion']}"
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", metadata["created"]), (
        f"bad created {metadata['created']}"
    )


def test_logo_meets_the_marketplace_rules():
    """
    Given YodaSpeak_image.png
    When opening it
    Then it is a 120x50 PNG of at most 10 KB whose corners are fully transparent
    """
    data = (REPO_ROOT / INTEGRATION / "YodaSpeak_image.png").read_bytes()
    assert len(data) <= 10 * 1024, f"the logo is {len(data)} bytes; the limit is 10 KB"
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("PNG", (120, 50)), f"the logo is a {image.format} of {image.size}"
    rgba = image.convert("RGBA")
    corners = [rgba.getpixel(xy) for xy in ((0, 0), (119, 0), (0, 49), (119, 49))]
    assert all(pixel[3] == 0 for pixel in corners), f"the logo background is not transparent: {corners}"


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param("60 calls a day", id="free tier limits"),
        pytest.param("**API Key**", id="where the key goes"),
        pytest.param("Use system proxy settings", id="proxy"),
        pytest.param("Trust any certificate", id="certificate"),
        pytest.param("### Troubleshooting", id="troubleshooting"),
        pytest.param("retried up to 3 times", id="retries"),
        pytest.param("up to 4 of the free tier's 5 calls an hour", id="quota a failing call uses"),
        pytest.param("A 429 (rate limit) is never retried", id="429 not retried"),
        pytest.param("at most 1000 characters", id="text limit"),
    ],
)
def test_description_covers_the_configuration(topic: str):
    """
    Given YodaSpeak_description.md, shown next to the instance settings
    When looking for a configuration topic
    Then it is covered
    """
    text = (REPO_ROOT / INTEGRATION / "YodaSpeak_description.md").read_text(encoding="utf-8")
    assert topic in text, f"YodaSpeak_description.md does not cover {topic!r}"


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param("**Cache lifetime (hours)**", id="cache parameter"),
        pytest.param("default of 24", id="cache default"),
        pytest.param("0 turns\n   the cache off", id="cache off"),
        pytest.param("5 calls an hour", id="why it matters on the free tier"),
        pytest.param("!yoda-speak-translate Hello there", id="short form"),
    ],
)
def test_pack_readme_covers(topic: str):
    """
    Given the pack README, shown on the pack's Marketplace page
    When looking for a topic users need
    Then it is covered
    """
    text = (REPO_ROOT / PACK / "README.md").read_text(encoding="utf-8")
    assert topic in text, f"Packs/YodaSpeak/README.md does not cover {topic!r}"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(PACK / "README.md", id="pack README"),
        pytest.param(INTEGRATION / "README.md", id="integration README"),
        pytest.param(INTEGRATION / "YodaSpeak_description.md", id="integration description"),
        pytest.param(PLAYBOOK.with_name("playbook-Yoda_Speak_README.md"), id="playbook README"),
    ],
)
@pytest.mark.parametrize("marker", ["make ", "unit test", "pytest", "xsoar_local", "stand-in"])
def test_shipped_docs_speak_to_xsoar_users(path: Path, marker: str):
    """
    Given a document that ships inside the pack to XSOAR users
    When looking for this repository's developer tooling
    Then none is mentioned (users cannot run make targets or the unit tests)
    """
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    assert marker not in text, f"{path} mentions {marker!r}, which only means something inside this repository"


def test_command_examples_are_runnable_war_room_lines():
    """
    Given the command_examples file
    When parsing each line as a War Room command and checking its args against the integration YAML
    Then each runs !yoda-speak-translate with a non-empty text, by name (text="...") or by position
    """
    integration = load_integration(REPO_ROOT / INTEGRATION)
    translate = integration.command("yoda-speak-translate")
    assert translate is not None, "the integration YAML has no yoda-speak-translate command"
    lines = [line for line in (REPO_ROOT / INTEGRATION / "command_examples").read_text().splitlines() if line.strip()]
    assert lines, "command_examples is empty"
    for line in lines:
        parsed = parse_war_room(line)
        assert parsed.name == "yoda-speak-translate", f"{line!r} does not run !yoda-speak-translate"
        args = check_args(translate, parsed.args, parsed.positional)
        assert set(args) == {"text"}, f"{line!r} should pass exactly the text argument, got {sorted(args)}"
    forms = {"named" if parse_war_room(line).args else "positional" for line in lines}
    assert forms == {"named", "positional"}, f"command_examples should show both text=... and the short form: {forms}"


@pytest.mark.parametrize("path", [PLAYBOOK, TEST_PLAYBOOK], ids=["playbook", "test playbook"])
def test_playbook_has_the_server_shape(path: Path):
    """
    Given a playbook of the pack
    When reading its top level and tasks
    Then it has the keys the server exports, and every task has a UUID taskid matching its task block
    """
    playbook = load_yaml(path)
    assert playbook["id"] == playbook["name"], f"{path.name}: id and name differ"
    assert playbook["version"] == -1, f"{path.name}: version must be -1"
    assert str(playbook["starttaskid"]) == "0", f"{path.name}: starttaskid must be 0"
    for key in ("description", "view", "fromversion"):
        assert playbook.get(key), f"{path.name}: {key} is missing"
    assert playbook["inputs"] == [], f"{path.name}: inputs should be []"
    assert playbook["outputs"] == [], f"{path.name}: outputs should be []"
    json.loads(playbook["view"])
    for key, task in playbook["tasks"].items():
        assert str(task["id"]) == key, f"{path.name}: task {key} has id {task['id']}"
        assert uuid.UUID(task["taskid"]).version == 4, f"{path.name}: task {key} taskid is not a UUID4"
        assert task["task"]["id"] == task["taskid"], f"{path.name}: task {key} block id differs from its taskid"
        json.loads(task["view"])


def chain(playbook: dict[str, Any]) -> list[dict[str, Any]]:
    """The tasks reached from the start task by following the first '#none#' link, in order."""
    tasks, order, current = playbook["tasks"], [], str(playbook["starttaskid"])
    while current is not None:
        task = tasks[current]
        order.append(task)
        following = (task.get("nexttasks") or {}).get("#none#") or []
        current = str(following[0]) if following else None
    return order


def test_yoda_speak_playbook_translates_the_incident_details_and_prints_them():
    """
    Given the "Yoda Speak" playbook
    When following it from the start task
    Then it runs start -> yoda-speak-translate(text=${incident.details})
        -> Print(value=${YodaSpeak.TheForce.Translation})
    """
    playbook = load_yaml(PLAYBOOK)
    assert playbook["name"] == "Yoda Speak", f"the playbook is called {playbook['name']!r}"
    start, translate, printer = chain(playbook)
    assert start["type"] == "start", "the first task is not the start task"
    assert translate["task"]["script"] == TRANSLATE, "the second task must run yoda-speak-translate"
    assert translate["task"]["iscommand"] is True, "the translate task is an integration command"
    assert translate["task"]["brand"] == "YodaSpeak", "the translate task must run on the YodaSpeak brand"
    assert translate["scriptarguments"]["text"] == {"simple": "${incident.details}"}, "text must be the details"
    assert printer["task"]["scriptName"] == "Print", "the third task must run the Print script"
    assert printer["task"]["iscommand"] is False, "Print is a script, not an integration command"
    assert printer["scriptarguments"]["value"] == {"simple": "${YodaSpeak.TheForce.Translation}"}, "Print's value"


def test_test_playbook_checks_the_outputs_structurally():
    """
    Given the test playbook, listed under `tests:` in the integration YAML
    When following it from the start task
    Then it clears the context, translates a fixed text, and checks Original equals that text AND Translation is not
        empty (no exact live wording), with a #default# branch, and ends on a closing task
    """
    playbook = load_yaml(TEST_PLAYBOOK)
    listed = load_yaml(INTEGRATION / "YodaSpeak.yml")["tests"]
    assert playbook["id"] in listed, f"the integration YAML lists {listed}, not {playbook['id']}"
    _start, delete, translate, check = chain(playbook)
    assert (delete["task"].get("scriptName") or delete["task"].get("script")) == "DeleteContext", "first: DeleteContext"
    assert delete["scriptarguments"]["all"] == {"simple": "yes"}, "DeleteContext must clear everything"
    assert translate["task"]["script"] == TRANSLATE, "second: yoda-speak-translate"
    text = translate["scriptarguments"]["text"]["simple"]
    assert check["type"] == "condition", "the task after the translation must be the check"
    [condition] = check["conditions"]
    assert condition["label"] == "yes", "the condition's branch must be labelled yes"
    original, translation = condition["condition"]  # outer list: ANDed
    assert original == [
        {
            "operator": "isEqualString",
            "left": {"value": {"complex": {"root": "YodaSpeak.TheForce", "accessor": "Original"}}, "iscontext": True},
            "right": {"value": {"simple": text}},
        }
    ], "the first check must compare YodaSpeak.TheForce.Original with the text sent"
    assert translation == [
        {
            "operator": "isNotEmpty",
            "left": {
                "value": {"complex": {"root": "YodaSpeak.TheForce", "accessor": "Translation"}},
                "iscontext": True,
            },
        }
    ], "the second check must only require a non-empty YodaSpeak.TheForce.Translation"
    assert {"yes", "#default#"} <= set(check["nexttasks"]), "the check needs a yes and a #default# branch"
    [done] = check["nexttasks"]["yes"]
    closing = playbook["tasks"][str(done)]
    closes = closing["type"] == "title" or closing["task"].get("script", "").endswith("closeInvestigation")
    assert closes, f"the yes branch ends on {closing['task']['name']!r}, not a title or closeInvestigation"
