"""The repository's validation settings: as strict as the content-grade config, minus the network-only validators."""

from __future__ import annotations

import configparser
import json
import tomllib
from pathlib import Path

import pytest

from tests.pack._sdk import PACK, REPO_ROOT

SDK_CONFIG = next(
    (REPO_ROOT / ".venv-sdk").glob("lib/python*/site-packages/demisto_sdk/commands/validate/sdk_validation_config.toml")
)
# The validators that need the content graph or Docker Hub: they cannot run offline.
NETWORK = {"AG116", "IF117", "LO100", "PA124", "PA133", "PB131", "PB133", "RN106", "RN107", "SC109", "SC110"}
NETWORK |= {"DO103", "DO105", "DO106"}
# Needs a git remote to diff the pack version against: [use_git] only.
GIT_HISTORY_ONLY = {"PA114"}


def needs_network(code: str) -> bool:
    return code.startswith("GR") or code in NETWORK


def load(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ours() -> dict:
    return load(REPO_ROOT / "validation_config.toml")


@pytest.fixture(scope="module")
def content() -> dict:
    return load(SDK_CONFIG)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        pytest.param("use_git", "select", id="use_git errors"),
        pytest.param("use_git", "warning", id="use_git warnings"),
        pytest.param("path_based_validations", "select", id="path-based errors"),
        pytest.param("path_based_validations", "warning", id="path-based warnings"),
        pytest.param("connectors_path_based_validations", "select", id="connectors path-based errors"),
        pytest.param("connectors_use_git", "select", id="connectors use_git errors"),
    ],
)
def test_config_keeps_every_offline_validator_of_the_content_config(ours: dict, content: dict, section: str, key: str):
    """
    Given the content-grade config shipped inside demisto-sdk and the repository's validation_config.toml
    When comparing one list of one section
    Then every validator of the content list that works offline is in ours (a content warning may be an error
        here, never the reverse), and none that needs the network is
    """
    theirs = {code for code in content[section][key] if not needs_network(code)}
    if section == "path_based_validations":
        theirs -= GIT_HISTORY_ONLY
    mine = set(ours[section][key])
    stricter = set(ours[section]["select"]) if key == "warning" else set()
    dropped = sorted(theirs - mine - stricter)
    assert not dropped, f"[{section}] {key} drops content validators: {dropped}"
    network = sorted(code for code in mine if needs_network(code))
    assert not network, f"[{section}] {key} selects validators that need the network: {network}"


def test_path_based_runs_are_as_strict_as_the_pull_request_run(ours: dict):
    """
    Given the repository's validation config
    When comparing the section used by `validate -a`/`-i` with the one used by `validate -g`
    Then the whole-tree run selects every [use_git] validator except the one that needs git history
    """
    missing = set(ours["use_git"]["select"]) - set(ours["path_based_validations"]["select"]) - GIT_HISTORY_ONLY
    assert not missing, f"validate -a / -i skip these [use_git] validators: {sorted(missing)}"


def test_every_excluded_validator_is_explained(ours: dict, content: dict):
    """
    Given the validators the repository drops from the content config
    When reading the config file's comments
    Then each dropped code (or its GR* family) is named with a reason
    """
    text = (REPO_ROOT / "validation_config.toml").read_text(encoding="utf-8")
    dropped = {code for code in content["use_git"]["select"] + content["use_git"]["warning"] if needs_network(code)}
    unexplained = sorted(code for code in dropped if not code.startswith("GR") and code not in text)
    assert "GR*" in text, "the comment must explain why the content-graph (GR*) validators are excluded"
    assert not unexplained, f"validation_config.toml does not explain excluding {unexplained}"


def test_sdk_conf_points_validate_at_the_config():
    """
    Given .demisto-sdk-conf at the repository root
    When demisto-sdk reads its [validate] defaults
    Then config_path names the repository's validation_config.toml, which exists
    """
    conf = configparser.ConfigParser()
    conf.read(REPO_ROOT / ".demisto-sdk-conf")
    path = conf.get("validate", "config_path", fallback=None)
    assert path == "validation_config.toml", f".demisto-sdk-conf [validate] config_path is {path!r}"
    assert (REPO_ROOT / path).is_file(), f"{path} named by .demisto-sdk-conf does not exist"


def test_pack_ignores_no_validation_error():
    """
    Given the pack's .pack-ignore
    When looking for ignore= entries
    Then there are none: the pack passes validation without ignored errors
    """
    lines = (REPO_ROOT / PACK / ".pack-ignore").read_text(encoding="utf-8").splitlines()
    ignores = [line for line in lines if line.strip().startswith("ignore")]
    assert not ignores, f".pack-ignore ignores validation errors: {ignores}"


@pytest.mark.parametrize(
    ("approved_file", "metadata_key"),
    [
        pytest.param("approved_categories.json", "categories", id="categories"),
        pytest.param("approved_usecases.json", "useCases", id="use cases"),
    ],
)
def test_approved_lists_cover_the_pack(approved_file: str, metadata_key: str):
    """
    Given an approved list in Config/ and the pack metadata
    When comparing them
    Then every value the pack uses is approved, so the check runs offline on real data
    """
    approved = json.loads((REPO_ROOT / "Config" / approved_file).read_text(encoding="utf-8"))["approved_list"]
    used = json.loads((REPO_ROOT / PACK / "pack_metadata.json").read_text(encoding="utf-8"))[metadata_key]
    assert set(used) <= set(approved), f"{metadata_key} {used} are not all in Config/{approved_file} {approved}"


def test_approved_tags_cover_the_pack():
    """
    Given Config/approved_tags.json (tags per marketplace) and the pack metadata
    When comparing them
    Then every tag of the pack is approved for all marketplaces or for each marketplace the pack ships to
    """
    approved = json.loads((REPO_ROOT / "Config" / "approved_tags.json").read_text(encoding="utf-8"))["approved_list"]
    metadata = json.loads((REPO_ROOT / PACK / "pack_metadata.json").read_text(encoding="utf-8"))
    assert metadata["tags"], "the pack declares no tag, so the tag check would have nothing to check"
    for marketplace in metadata["marketplaces"]:
        allowed = set(approved["common"]) | set(approved.get(marketplace, []))
        assert set(metadata["tags"]) <= allowed, f"tags {metadata['tags']} are not approved for {marketplace}"
