"""The content root is found from the working folder (or demisto-sdk's DEMISTO_SDK_CONTENT_PATH), not given."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsoar_local.contentroot import ContentRootError, find_packs


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(".", id="the-repository-root"),
        pytest.param("Packs", id="the-packs-folder"),
        pytest.param("Packs/Alpha/Integrations/Alpha", id="an-integration-folder"),
    ],
)
def test_walks_up_to_the_repository_with_packs(tmp_path: Path, start: str) -> None:
    """Given a content repository, When the content root is looked up from a folder inside it,
    Then it is the repository's Packs/ folder."""
    repo = tmp_path / "content"
    (repo / "Packs" / "Alpha" / "Integrations" / "Alpha").mkdir(parents=True)
    assert find_packs(repo / start, environ={}) == (repo / "Packs").resolve()


def test_demisto_sdk_content_path_wins(tmp_path: Path) -> None:
    """Given DEMISTO_SDK_CONTENT_PATH naming another repository, When the root is looked up from inside a first one,
    Then it is the named repository's Packs/, as demisto-sdk takes it."""
    (tmp_path / "here" / "Packs").mkdir(parents=True)
    (tmp_path / "there" / "Packs").mkdir(parents=True)
    found = find_packs(tmp_path / "here", environ={"DEMISTO_SDK_CONTENT_PATH": str(tmp_path / "there")})
    assert found == tmp_path / "there" / "Packs"


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        pytest.param({}, "--packs", id="no-repository-around"),
        pytest.param({"DEMISTO_SDK_CONTENT_PATH": "/nonexistent/content"}, "DEMISTO_SDK_CONTENT_PATH=", id="bad-env"),
    ],
)
def test_no_content_root_says_what_to_do(tmp_path: Path, environ: dict[str, str], words: str) -> None:
    """Given no Packs/ around the folder (or a variable pointing nowhere), When the root is looked up,
    Then a usage error says what to change."""
    with pytest.raises(ContentRootError, match=words):
        find_packs(tmp_path, environ=environ)
