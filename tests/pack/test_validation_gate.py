"""The validation gate can fail: deliberate defects in a copy of the pack make demisto-sdk validate name them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pack._sdk import INTEGRATION, PACK, copy_content, error_codes, run_sdk


def duplicate_argument_and_drop_output_description(root: Path) -> None:
    """The translate command gets its `text` argument twice, and the Translation output loses its description."""
    path = root / INTEGRATION / "YodaSpeak.yml"
    text = path.read_text(encoding="utf-8")
    argument = "    arguments:\n    - name: text\n"
    output_description = "      description: The text as Yoda would say it.\n"
    assert argument in text, "the integration YAML no longer has the `text` argument this defect duplicates"
    assert output_description in text, "the integration YAML no longer has the output description this defect drops"
    text = text.replace(
        argument,
        argument.replace("    - name: text\n", "    - name: text\n      description: Again.\n    - name: text\n"),
    )
    path.write_text(text.replace(output_description, ""), encoding="utf-8")


def unapproved_category_and_tag(root: Path) -> None:
    """The pack metadata gets the tutorial's misspelt category and a tag nobody approved."""
    path = root / PACK / "pack_metadata.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata["categories"] = ["Utilties"]
    metadata["tags"] = ["Jedi Mind Tricks"]
    path.write_text(json.dumps(metadata, indent=4), encoding="utf-8")


@pytest.mark.parametrize(
    ("defect", "mode", "expected"),
    [
        pytest.param(
            duplicate_argument_and_drop_output_description,
            ["-i", str(PACK)],
            {"IN113", "ST110"},
            id="validate -i: duplicated argument, missing output description",
        ),
        pytest.param(
            unapproved_category_and_tag, ["-a"], {"PA103", "PA120"}, id="validate -a: unapproved category and tag"
        ),
    ],
)
def test_validation_fails_on_a_defect(
    tmp_path: Path, defect: Callable[[Path], None], mode: list[str], expected: set[str]
):
    """
    Given a copy of the repository's pack and validation settings, with a deliberate defect
    When running demisto-sdk validate with the repository's strict config
    Then it exits non-zero and names the error codes of the defect
    """
    root = copy_content(tmp_path / "repo")
    defect(root)

    result = run_sdk("validate", *mode, cwd=root)

    output = result.stdout + result.stderr
    assert result.returncode != 0, f"validate {' '.join(mode)} passed a broken pack:\n{output[-3000:]}"
    missing = expected - error_codes(output)
    assert not missing, f"validate {' '.join(mode)} did not report {sorted(missing)}; it said:\n{output[-3000:]}"
