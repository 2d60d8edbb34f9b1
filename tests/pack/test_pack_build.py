"""`make pack` builds, for Cortex XSOAR and for Cortex XSIAM, an uploadable zip and a unified integration holding
everything the sources define, each worded for its marketplace, and leaves the sources as they were."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pack._sdk import INTEGRATION, PLAYBOOK, REPO_ROOT

ZIP_INTEGRATION = "Integrations/integration-YodaSpeak.yml"
# The unifier drops these imports: on the server the modules are already loaded.
SERVER_IMPORTS = re.compile(
    r"import demistomock as demisto[ \t]*(#.*)?|from CommonServerPython import \*[ \t]*(#.*)?"
    r"|from CommonServerUserPython import \*[ \t]*(#.*)?"
)


def source_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / path).read_text(encoding="utf-8"))


def pack_files() -> dict[str, bytes]:
    """Every file of the pack's sources, by path."""
    pack = REPO_ROOT / INTEGRATION.parents[1]
    return {str(path.relative_to(pack)): path.read_bytes() for path in sorted(pack.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def sources_before() -> dict[str, bytes]:
    return pack_files()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sources_before: dict[str, bytes]) -> Path:
    """Run `make pack` with its output redirected to a temporary folder; return that folder."""
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        ["make", "--no-print-directory", "pack", f"PACK_DIST={dist}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, f"make pack failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return dist


@pytest.fixture(scope="module")
def archive(built: Path) -> zipfile.ZipFile:
    path = built / "YodaSpeak.zip"
    assert path.is_file(), f"make pack did not write {path.name}; it wrote {sorted(p.name for p in built.iterdir())}"
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def unified_in_zip(archive: zipfile.ZipFile) -> dict[str, Any]:
    return yaml.safe_load(archive.read(ZIP_INTEGRATION))


@pytest.fixture(scope="module")
def unified_file(built: Path) -> dict[str, Any]:
    path = built / "integration-YodaSpeak.yml"
    assert path.is_file(), f"make pack did not write {path.name}; it wrote {sorted(p.name for p in built.iterdir())}"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(params=["zip", "unified file"])
def unified(
    request: pytest.FixtureRequest, unified_in_zip: dict[str, Any], unified_file: dict[str, Any]
) -> dict[str, Any]:
    """Each check runs on both the integration inside the zip and the standalone unified YAML."""
    return unified_in_zip if request.param == "zip" else unified_file


@pytest.mark.parametrize(
    "member",
    [
        pytest.param("pack_metadata.json", id="metadata"),
        pytest.param("README.md", id="pack README"),
        pytest.param(ZIP_INTEGRATION, id="integration"),
        pytest.param("Playbooks/playbook-Yoda_Speak.yml", id="playbook"),
        pytest.param("doc_files/Yoda_Speak.png", id="playbook image"),
    ],
)
@pytest.mark.parametrize("marketplace", ["xsoar", "marketplacev2"])
def test_zip_holds_the_pack_items(built: Path, marketplace: str, member: str):
    """
    Given the zip `make pack` wrote for a marketplace
    When listing it
    Then it holds the metadata, the README, the integration, the playbook and its image where the server expects them
    """
    names = zipfile.ZipFile(zip_path(built, marketplace)).namelist()
    assert member in names, f"{member} is missing from the {marketplace} YodaSpeak.zip: {names}"


def zip_path(built: Path, marketplace: str) -> Path:
    """Where `make pack` writes the zip for a marketplace."""
    return built / "YodaSpeak.zip" if marketplace == "xsoar" else built / marketplace / "YodaSpeak.zip"


def test_zip_playbook_matches_the_source(archive: zipfile.ZipFile):
    """
    Given the playbook inside the XSOAR zip and its source file
    When comparing them
    Then the id, name and every task (with its wiring, arguments and conditions) are the same
    """
    packed, original = yaml.safe_load(archive.read("Playbooks/playbook-Yoda_Speak.yml")), source_yaml(PLAYBOOK)
    for key in ("id", "name", "starttaskid", "tasks"):
        assert packed.get(key) == original[key], f"{key!r} differs from {PLAYBOOK}"


@pytest.mark.parametrize(
    ("marketplace", "word", "other", "details"),
    [
        pytest.param("xsoar", "incident", "alert", "${incident.details}", id="xsoar-incidents"),
        pytest.param("marketplacev2", "alert", "incident", "${alert.details}", id="xsiam-alerts"),
    ],
)
def test_each_marketplace_gets_its_own_words(built: Path, marketplace: str, word: str, other: str, details: str):
    """
    Given the zip `make pack` wrote for Cortex XSOAR or Cortex XSIAM
    When reading its README and playbook
    Then they speak of incidents on XSOAR and of alerts on XSIAM, the playbook reads the matching details field,
         and no <~XSOAR>/<~XSIAM> tag is left
    """
    archive = zipfile.ZipFile(zip_path(built, marketplace))
    readme = archive.read("README.md").decode("utf-8")
    playbook = archive.read("Playbooks/playbook-Yoda_Speak.yml").decode("utf-8")
    for name, text in (("README", readme), ("playbook", playbook)):
        assert re.search(rf"\b{word}", text, re.IGNORECASE), f"the {marketplace} {name} never says {word!r}"
        assert not re.search(rf"\b{other}", text, re.IGNORECASE), f"the {marketplace} {name} says {other!r}"
        assert "<~" not in text, f"a marketplace tag is left in the {marketplace} {name}"
    assert details in playbook, f"the {marketplace} playbook does not read {details}"


def test_xsiam_unified_integration_is_the_same_code(built: Path):
    """
    Given the unified integration `make pack` wrote for Cortex XSIAM
    When comparing it with the sources
    Then it holds the integration code, commands and settings unchanged
    """
    unified = yaml.safe_load((built / "marketplacev2" / "integration-YodaSpeak.yml").read_text(encoding="utf-8"))
    source = source_yaml(INTEGRATION / "YodaSpeak.yml")
    code = SERVER_IMPORTS.sub("", (REPO_ROOT / INTEGRATION / "YodaSpeak.py").read_text(encoding="utf-8")).strip()
    assert code in unified["script"]["script"], "the XSIAM unified script is not the integration code"
    assert unified["script"]["commands"] == source["script"]["commands"], "the XSIAM commands differ"
    assert unified["configuration"] == source["configuration"], "the XSIAM settings differ"


def test_make_pack_leaves_the_sources_alone(built: Path, sources_before: dict[str, bytes]):
    """
    Given the pack's files before `make pack`
    When it has run
    Then every file is as it was (demisto-sdk's zip-packs rewrites the README in place; make pack must not)
    """
    after = pack_files()
    changed = sorted(
        path for path in sources_before.keys() | after.keys() if sources_before.get(path) != after.get(path)
    )
    assert not changed, f"make pack changed the pack's sources: {changed}"


def test_script_code_is_the_integration_code(unified: dict[str, Any]):
    """
    Given the unified integration and YodaSpeak.py
    When removing the server-provided imports from the source, as the unifier does
    Then the whole remaining source is inside the unified script, unchanged
    """
    source = (REPO_ROOT / INTEGRATION / "YodaSpeak.py").read_text(encoding="utf-8")
    expected = SERVER_IMPORTS.sub("", source).strip()
    assert expected, "YodaSpeak.py is empty"
    assert expected in unified["script"]["script"], "the unified script is not the integration code (or is cut short)"


def test_logo_is_the_integration_image(unified: dict[str, Any]):
    """
    Given the unified integration and YodaSpeak_image.png
    When decoding the image field
    Then it is exactly the PNG in the integration folder
    """
    image = unified.get("image", "")
    prefix = "data:image/png;base64,"
    assert image.startswith(prefix), f"the image field is not a base64 PNG: {image[:40]!r}"
    png = (REPO_ROOT / INTEGRATION / "YodaSpeak_image.png").read_bytes()
    assert base64.b64decode(image[len(prefix) :]) == png, "the image field is not YodaSpeak_image.png"


def test_description_is_the_description_file(unified: dict[str, Any]):
    """
    Given the unified integration and YodaSpeak_description.md
    When reading the detailed description
    Then every line of the description file is in it
    """
    description = unified.get("detaileddescription", "")
    lines = (REPO_ROOT / INTEGRATION / "YodaSpeak_description.md").read_text(encoding="utf-8").splitlines()
    missing = [line for line in lines if line.strip() and line not in description]
    assert not missing, f"the detailed description lacks these lines of YodaSpeak_description.md: {missing[:3]}"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("configuration", id="settings"),
        pytest.param("sectionorder", id="section order"),
        pytest.param("commonfields", id="id"),
        pytest.param("category", id="category"),
        pytest.param("fromversion", id="fromversion"),
    ],
)
def test_settings_match_the_integration_yaml(unified: dict[str, Any], key: str):
    """
    Given the unified integration and YodaSpeak.yml
    When comparing a top-level key
    Then it is the same: every setting, with its default, section and help text, reaches the server
    """
    assert unified.get(key) == source_yaml(INTEGRATION / "YodaSpeak.yml")[key], f"{key!r} differs from YodaSpeak.yml"


def test_commands_and_docker_image_match_the_integration_yaml(unified: dict[str, Any]):
    """
    Given the unified integration and YodaSpeak.yml
    When comparing the script block without its code
    Then the commands, arguments, outputs and docker image are the same
    """
    packed = {key: value for key, value in unified["script"].items() if key != "script"}
    original = {
        key: value for key, value in source_yaml(INTEGRATION / "YodaSpeak.yml")["script"].items() if key != "script"
    }
    assert packed == original, "the unified script block differs from YodaSpeak.yml (commands, docker image, flags)"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        pytest.param({}, "DEMISTO_BASE_URL", id="nothing set"),
        pytest.param({"DEMISTO_BASE_URL": "https://xsoar.example.invalid"}, "DEMISTO_API_KEY", id="no API key"),
    ],
)
def test_upload_refuses_without_server_settings(tmp_path: Path, env: dict[str, str], named: str):
    """
    Given no DEMISTO_BASE_URL / DEMISTO_API_KEY (or only the first)
    When running `make upload`
    Then it fails before demisto-sdk runs, with a message naming the missing variable
    """
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DEMISTO_", "XSIAM_"))}
    result = subprocess.run(
        ["make", "--no-print-directory", "upload", f"PACK_DIST={tmp_path}"],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0, f"make upload succeeded without {named}:\n{result.stdout}"
    assert f"{named} is not set" in result.stderr, f"make upload did not say {named} is missing:\n{result.stderr}"
    assert "demisto-sdk" not in result.stdout, f"make upload ran demisto-sdk before checking:\n{result.stdout}"
    assert not list(tmp_path.iterdir()), "make upload built something before checking the settings"
