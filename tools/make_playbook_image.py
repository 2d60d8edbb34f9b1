"""Draw the picture of the "Yoda Speak" playbook that its README shows (doc_files/Yoda_Speak.png).

demisto-sdk validate (RM116) wants every playbook to have a PNG under the pack's doc_files
folder, named like the playbook file without the "playbook-" prefix. The server would export a
screenshot of the canvas; this script draws an equivalent diagram from the playbook YAML
itself, so the picture follows the playbook: one box per task, in task order, joined by
arrows. It uses Pillow's bundled font only, so the same Pillow version writes the same bytes:

    .venv/bin/python tools/make_playbook_image.py            # writes the image
    .venv/bin/python tools/make_playbook_image.py --check    # fails if the committed image differs
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import generated_file
import yaml
from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parent.parent
PACK = REPO_ROOT / "Packs" / "YodaSpeak"
PLAYBOOK = PACK / "Playbooks" / "playbook-Yoda_Speak.yml"
DEFAULT_OUTPUT = PACK / "doc_files" / "Yoda_Speak.png"

WIDTH = 420
BOX_W, BOX_H, GAP, MARGIN = 300, 54, 34, 20
BACKGROUND = (255, 255, 255, 255)
BOX = (235, 242, 228, 255)
START = (98, 150, 62, 255)
EDGE = (96, 110, 84, 255)
TEXT = (30, 34, 28, 255)


def task_labels(playbook: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (title, detail) for each task, walking from the start task along '#none#' links."""
    tasks = playbook["tasks"]
    labels: list[tuple[str, str]] = []
    task_id: str | None = str(playbook["starttaskid"])
    seen: set[str] = set()
    while task_id is not None and task_id not in seen:
        seen.add(task_id)
        task = tasks[task_id]
        block = task["task"]
        if task["type"] == "start":
            labels.append(("Playbook triggered", "on an incident"))
        else:
            runs = block.get("script") or block.get("scriptName") or ""
            args = ", ".join(
                f"{name}={value.get('simple', '')}" for name, value in (task.get("scriptarguments") or {}).items()
            )
            labels.append((block["name"], f"{runs.split('|||')[-1]}  {args}".strip()))
        following = (task.get("nexttasks") or {}).get("#none#") or []
        task_id = str(following[0]) if following else None
    return labels


def draw(playbook: dict[str, Any]) -> Image.Image:
    """Draw the playbook's tasks top to bottom as boxes joined by arrows."""
    labels = task_labels(playbook)
    height = 2 * MARGIN + len(labels) * BOX_H + (len(labels) - 1) * GAP
    image = Image.new("RGBA", (WIDTH, height), BACKGROUND)
    pen = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(size=14)
    detail_font = ImageFont.load_default(size=11)
    x0 = (WIDTH - BOX_W) // 2
    for index, (title, detail) in enumerate(labels):
        y0 = MARGIN + index * (BOX_H + GAP)
        fill = START if index == 0 else BOX
        ink = BACKGROUND if index == 0 else TEXT
        pen.rounded_rectangle((x0, y0, x0 + BOX_W, y0 + BOX_H), radius=10, fill=fill, outline=EDGE, width=2)
        pen.text((WIDTH // 2, y0 + 18), title, font=title_font, fill=ink, anchor="mm")
        pen.text((WIDTH // 2, y0 + 38), detail, font=detail_font, fill=ink, anchor="mm")
        if index:
            top = y0 - GAP
            pen.line((WIDTH // 2, top, WIDTH // 2, y0 - 2), fill=EDGE, width=2)
            pen.polygon([(WIDTH // 2 - 6, y0 - 10), (WIDTH // 2 + 6, y0 - 10), (WIDTH // 2, y0 - 2)], fill=EDGE)
    return image


def image_bytes(playbook_path: Path = PLAYBOOK) -> bytes:
    """Encode the diagram of the playbook at playbook_path as PNG, without metadata."""
    playbook = yaml.safe_load(playbook_path.read_text(encoding="utf-8"))
    buffer = io.BytesIO()
    draw(playbook).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write the image, or with --check compare it with the file on disk."""
    return generated_file.run(__doc__ or "", DEFAULT_OUTPUT, image_bytes, argv)


if __name__ == "__main__":
    sys.exit(main())
