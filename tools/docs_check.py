"""Keep the pack's generated READMEs in sync with their YAML (make docs-check).

The integration README and the playbook README are written by `demisto-sdk generate-docs`.
This script runs the generator into a temporary folder (never into the repository: the
generator tries to `git add` what it writes), fills the placeholders the generator leaves for
a human with this project's fixed text (FILLS below), and compares the result with the
committed file:

    .venv/bin/python tools/docs_check.py           # fails and shows a diff when a README is stale
    .venv/bin/python tools/docs_check.py --write   # rewrites the READMEs

The generator runs offline: no command examples from a server (-e), no content graph (-ngr).
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SDK = Path(os.environ.get("DEMISTO_SDK", REPO_ROOT / ".venv-sdk" / "bin" / "demisto-sdk")).absolute()
PACK = Path("Packs") / "YodaSpeak"

# Placeholder text the generator leaves -> the text this project puts there instead. The README ships inside
# the pack to XSOAR users: write for them (what the integration expects of the service), not about this repository.
FILLS = {
    "This integration was integrated and tested with version xx of YodaSpeak.": (
        "This integration was built for the FunTranslations Yoda API, which has no version number: it sends the "
        "text to `POST <API URL>/yoda` as a form field and reads the translation from `contents.translated` in "
        "the JSON answer. Without an API key it uses the free tier (60 calls a day, at most 5 an hour); a paid "
        "plan's key is sent in the `X-Funtranslations-Api-Secret` header. Repeated texts are answered from a "
        "cache (see Cache lifetime), so they use no calls."
    ),
}
# Any of these left in a README after the fills means the generator added a placeholder this
# script does not know yet.
PLACEHOLDER_MARKERS = ("version xx", "%%FILL HERE%%", "FILL IN", "<ADD")


@dataclass(frozen=True)
class Doc:
    """One generated README: the YAML it is generated from and where it is committed."""

    source: Path
    readme: Path
    generated_name: str


DOCS = (
    Doc(
        PACK / "Integrations" / "YodaSpeak" / "YodaSpeak.yml",
        PACK / "Integrations" / "YodaSpeak" / "README.md",
        "README.md",
    ),
    Doc(
        PACK / "Playbooks" / "playbook-Yoda_Speak.yml",
        PACK / "Playbooks" / "playbook-Yoda_Speak_README.md",
        "playbook-Yoda_Speak_README.md",
    ),
)


def sdk_env() -> dict[str, str]:
    """The environment for demisto-sdk: no version check against the package index, no nagging."""
    env = dict(os.environ)
    env.update(DEMISTO_SDK_SKIP_VERSION_CHECK="1", DEMISTO_SDK_IGNORE_CONTENT_WARNING="1")
    return env


def fill(text: str) -> str:
    """Replace the generator's placeholders with this project's text."""
    for placeholder, replacement in FILLS.items():
        text = text.replace(placeholder, replacement)
    return text


def generate(doc: Doc, root: Path) -> str:
    """Run generate-docs for doc.source (relative to root) and return the filled README text."""
    with tempfile.TemporaryDirectory(prefix="docs-check-") as out:
        result = subprocess.run(
            [str(SDK), "generate-docs", "-i", str(doc.source), "-o", out, "-f", "-ngr"],
            cwd=root,
            env=sdk_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        generated = Path(out) / doc.generated_name
        if result.returncode != 0 or not generated.is_file():
            raise RuntimeError(
                f"demisto-sdk generate-docs failed for {doc.source} (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        text = fill(generated.read_text(encoding="utf-8"))
    leftovers = [marker for marker in PLACEHOLDER_MARKERS if marker in text]
    if leftovers:
        raise RuntimeError(f"{doc.source}: the generated README still holds placeholders {leftovers}; add fills")
    return text


def main(argv: list[str] | None = None) -> int:
    """Check (default) or rewrite (--write) every generated README under --root."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the READMEs instead of checking them")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this repository)")
    args = parser.parse_args(argv)

    stale = 0
    for doc in DOCS:
        expected = generate(doc, args.root)
        target = args.root / doc.readme
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current == expected:
            print(f"docs-check: {doc.readme} is in sync with {doc.source.name}")
            continue
        if args.write:
            target.write_text(expected, encoding="utf-8")
            print(f"docs-check: rewrote {doc.readme}")
            continue
        stale += 1
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile=f"{doc.readme} (committed)",
            tofile=f"{doc.readme} (generated from {doc.source.name})",
        )
        sys.stdout.writelines(diff)
        print(f"docs-check: {doc.readme} is out of date; run `.venv/bin/python tools/docs_check.py --write`")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
