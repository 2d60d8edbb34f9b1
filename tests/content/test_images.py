"""Code runs with the Python packages of its `dockerimage`: one environment per image, created once."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from xsoar_local.engine.images import BASE_IMAGE, IMAGE_PACKAGES, ImageEnvironments, ImageError, image_name

from .support import PACKS, run_line


def test_an_image_package_is_there_though_the_toolkit_lacks_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Given a command importing dateparser (in demisto/python3, not in the toolkit's environment),
    When run, Then it works in the image's environment."""
    assert importlib.util.find_spec("dateparser") is None, "precondition: the toolkit itself has no dateparser"
    outcome = run_line(capsys, tmp_path, '!gk-parse-date "3 days ago"')
    assert outcome.status == 0, outcome.err or outcome.entries
    assert outcome.contents == {"iso": "2026-11-27"}, outcome.contents


def test_images_off_runs_in_the_toolkit_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given XSOAR_LOCAL_IMAGES=off, When the same command runs, Then the image's package is missing, as expected."""
    monkeypatch.setenv("XSOAR_LOCAL_IMAGES", "off")
    outcome = run_line(capsys, tmp_path, '!gk-parse-date "3 days ago"')
    assert outcome.status == 1, outcome.entries
    assert "No module named 'dateparser'" in outcome.contents, outcome.contents


def test_an_unknown_image_falls_back_with_one_notice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Given a script whose image has no package list, When run, Then one notice line names it and the script runs
    with the base image's packages."""
    root = tmp_path / "Packs"
    shutil.copytree(PACKS / "Gatekeeper", root / "Gatekeeper")
    yml = root / "Gatekeeper" / "Scripts" / "GkToUpper" / "GkToUpper.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("demisto/python3:", "demisto/nonesuch:"), encoding="utf-8")
    outcome = run_line(capsys, tmp_path, "!GkToUpper value=abc", packs=root, instances=None)
    assert outcome.status == 0, outcome.err
    assert outcome.contents == "ABC", outcome.entries
    notices = [line for line in outcome.err.splitlines() if line.startswith("notice:")]
    assert notices == [
        "notice: image 'demisto/nonesuch:3.11.10.116949' has no local package list; "
        f"running with the {BASE_IMAGE} packages"
    ], outcome.err


@pytest.mark.parametrize(
    ("docker_image", "expected"),
    [
        pytest.param("demisto/python3:3.11.10.116949", "demisto/python3", id="tagged"),
        pytest.param("demisto/crypto", "demisto/crypto", id="untagged"),
        pytest.param("registry:5000/demisto/python3-deb:3.12.1", "registry:5000/demisto/python3-deb", id="registry"),
        pytest.param("", "", id="none"),
    ],
)
def test_image_name_drops_the_tag(docker_image: str, expected: str) -> None:
    """Given a dockerimage, When its package list is looked up, Then the name without the tag is the key."""
    assert image_name(docker_image) == expected


def test_environments_are_reused_and_pinned(tmp_path: Path) -> None:
    """Given an image environment already made, When asked again, Then the same interpreter comes back without a
    new creation, and every package of the list is pinned to one version."""
    environments = ImageEnvironments()
    first = environments.python_for("demisto/python3:3.11.10.116949")
    ready = Path(first).parent.parent / ".ready"
    stamp = ready.stat().st_mtime_ns
    assert environments.python_for("demisto/python3:3.12.0.1") == first, "one environment per image name"
    assert ready.stat().st_mtime_ns == stamp, "not created again"
    for image, packages in IMAGE_PACKAGES.items():
        assert all("==" in requirement for requirement in packages), f"{image}: every package is pinned"


def test_a_failed_creation_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """Given an environment that cannot be created, When asked for, Then ImageError says how to proceed and no
    half-made environment is left to be used later."""
    environments = ImageEnvironments(tmp_path, base_python=str(tmp_path / "no-python"), notice=lambda _line: None)
    with pytest.raises(ImageError, match="XSOAR_LOCAL_IMAGES=off"):
        environments.python_for("demisto/python3:1")
    assert [path.name for path in tmp_path.iterdir() if not path.name.startswith(".")] == [], "nothing half-made"
