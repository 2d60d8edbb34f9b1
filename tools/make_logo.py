"""Draw the YodaSpeak integration logo (YodaSpeak_image.png), reproducibly.

XSOAR shows a 120x50 PNG of at most 10 KB with a transparent background next to the
integration. This script draws one from simple shapes only (no fonts, so the output does not
depend on the fonts installed on the machine) and writes the same bytes on every run:

    .venv/bin/python tools/make_logo.py            # writes the pack's logo
    .venv/bin/python tools/make_logo.py --check    # fails if the committed logo differs

The picture: a green, big-eared head with two eyes, and a speech bubble holding three
"words" of different lengths.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import generated_file
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 120, 50
MAX_BYTES = 10 * 1024
# Drawn at 4x and scaled down, which smooths the edges without depending on a font renderer.
SCALE = 4

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak" / "YodaSpeak_image.png"

GREEN = (98, 150, 62, 255)
DARK_GREEN = (56, 96, 34, 255)
EYE = (30, 34, 28, 255)
BUBBLE = (236, 240, 228, 255)
BUBBLE_EDGE = (96, 110, 84, 255)
WORD = (80, 120, 52, 255)


def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """Scale a box given in final-image pixels to the oversampled canvas."""
    return (round(x0 * SCALE), round(y0 * SCALE), round(x1 * SCALE), round(y1 * SCALE))


def _points(*xy: tuple[float, float]) -> list[tuple[int, int]]:
    """Scale polygon points given in final-image pixels to the oversampled canvas."""
    return [(round(x * SCALE), round(y * SCALE)) for x, y in xy]


def draw_logo() -> Image.Image:
    """Return the logo as a 120x50 RGBA image with a transparent background."""
    canvas = Image.new("RGBA", (WIDTH * SCALE, HEIGHT * SCALE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(canvas)

    # Ears: long triangles pointing outwards and slightly up.
    pen.polygon(_points((14, 22), (1, 13), (16, 31)), fill=DARK_GREEN)
    pen.polygon(_points((42, 22), (55, 13), (40, 31)), fill=DARK_GREEN)
    # Head and a hint of a robe collar.
    pen.ellipse(_box(12, 10, 44, 44), fill=GREEN)
    pen.pieslice(_box(10, 38, 46, 62), start=180, end=360, fill=DARK_GREEN)
    # Eyes, brow wrinkles and a small mouth.
    pen.ellipse(_box(18, 21, 25, 28), fill=EYE)
    pen.ellipse(_box(31, 21, 38, 28), fill=EYE)
    pen.line(_points((18, 17), (25, 18)), fill=DARK_GREEN, width=SCALE)
    pen.line(_points((31, 18), (38, 17)), fill=DARK_GREEN, width=SCALE)
    pen.line(_points((24, 36), (32, 36)), fill=DARK_GREEN, width=SCALE)

    # Speech bubble with a tail pointing at the head.
    pen.rounded_rectangle(_box(60, 6, 118, 34), radius=7 * SCALE, fill=BUBBLE, outline=BUBBLE_EDGE, width=SCALE)
    pen.polygon(_points((64, 27), (52, 36), (71, 31)), fill=BUBBLE)
    pen.line(_points((64, 30), (52, 36), (70, 32.5)), fill=BUBBLE_EDGE, width=SCALE)
    # Three "words": two short ones, then a long one.
    for x0, x1, y in ((66, 78, 15), (82, 94, 15), (66, 110, 24)):
        pen.rounded_rectangle(_box(x0, y - 2, x1, y + 2), radius=2 * SCALE, fill=WORD)

    return canvas.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def logo_bytes() -> bytes:
    """Encode the logo as PNG with fixed settings and no metadata, so the bytes are stable."""
    buffer = io.BytesIO()
    draw_logo().save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def checked_logo_bytes() -> bytes:
    """The logo, refused if it breaks XSOAR's size limit."""
    data = logo_bytes()
    if len(data) > MAX_BYTES:
        raise SystemExit(f"make_logo: the logo is {len(data)} bytes, more than XSOAR's {MAX_BYTES}")
    return data


def main(argv: list[str] | None = None) -> int:
    """Write the logo, or with --check compare it with the file on disk."""
    return generated_file.run(__doc__ or "", DEFAULT_OUTPUT, checked_logo_bytes, argv)


if __name__ == "__main__":
    sys.exit(main())
