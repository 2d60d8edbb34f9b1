"""The check scripts behind make format-check / docs-check fail when the pack drifts from what the tools produce."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.pack._sdk import INTEGRATION, PYTHON, REPO_ROOT, TEST_PLAYBOOK, copy_content


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a script of tools/ with the project's Python; never raises on a non-zero exit."""
    return subprocess.run([str(PYTHON), *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=300)


def test_format_check_fails_when_format_would_change_the_pack(tmp_path: Path):
    """
    Given a copy of the pack whose test playbook has version 3 (demisto-sdk format resets it to -1)
    When running tools/format_check.py on the copy
    Then it fails and shows the change format would make to that file
    """
    root = copy_content(tmp_path / "repo")
    playbook = root / TEST_PLAYBOOK
    text = playbook.read_text(encoding="utf-8")
    assert text.startswith("id: YodaSpeak_Test\nversion: -1\n"), "the test playbook no longer starts with id, version"
    playbook.write_text(text.replace("version: -1\n", "version: 3\n", 1), encoding="utf-8")

    result = run_tool("tools/format_check.py", "--root", str(root))

    assert result.returncode == 1, f"format_check passed a pack that format changes:\n{result.stdout[-2000:]}"
    assert TEST_PLAYBOOK.name in result.stdout, f"format_check did not name the changed file:\n{result.stdout[-2000:]}"
    assert "+version: -1" in result.stdout, f"format_check did not show the diff:\n{result.stdout[-2000:]}"


def test_docs_check_fails_when_the_readme_is_stale(tmp_path: Path):
    """
    Given a copy of the pack whose command description changed without regenerating the README
    When running tools/docs_check.py on the copy
    Then it fails, names the integration README and shows the new description in the diff
    """
    root = copy_content(tmp_path / "repo")
    yml = root / INTEGRATION / "YodaSpeak.yml"
    old = "description: Translates a text from English to Yoda."
    text = yml.read_text(encoding="utf-8")
    assert old in text, "the command description this test changes is gone from YodaSpeak.yml"
    yml.write_text(text.replace(old, "description: Turns English into Yoda speech."), encoding="utf-8")

    result = run_tool("tools/docs_check.py", "--root", str(root))

    assert result.returncode == 1, f"docs_check passed a stale README:\n{result.stdout[-2000:]}"
    assert f"{INTEGRATION / 'README.md'} is out of date" in result.stdout, f"README not named:\n{result.stdout}"
    assert "+Turns English into Yoda speech." in result.stdout, f"the diff is missing:\n{result.stdout[-2000:]}"


@pytest.mark.parametrize(
    ("script", "image"),
    [
        pytest.param("tools/make_logo.py", INTEGRATION / "YodaSpeak_image.png", id="logo"),
        pytest.param("tools/make_playbook_image.py", Path("Packs/YodaSpeak/doc_files/Yoda_Speak.png"), id="playbook"),
    ],
)
def test_image_check_compares_with_a_fresh_drawing(tmp_path: Path, script: str, image: Path):
    """
    Given a drawing script and a copy of the image it committed
    When checking the unchanged copy, then a copy with one byte changed
    Then the first check passes and the second fails, naming the file
    """
    copy = tmp_path / image.name
    copy.write_bytes((REPO_ROOT / image).read_bytes())
    same = run_tool(script, "--check", "--output", str(copy))
    assert same.returncode == 0, f"{script} --check rejects the committed image:\n{same.stderr}"

    data = bytearray(copy.read_bytes())
    data[-20] ^= 0xFF
    copy.write_bytes(bytes(data))
    changed = run_tool(script, "--check", "--output", str(copy))
    assert changed.returncode == 1, f"{script} --check accepted a changed image"
    assert str(copy) in changed.stderr, f"{script} --check did not name the file:\n{changed.stderr}"
