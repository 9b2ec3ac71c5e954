"""Draw the sample digits of notebook 03 (``notebooks/digits/*.png``) the way a mouse would.

Each digit is a few strokes (polylines through points of a unit box) drawn with a thick round pen,
with the wobble of a hand on a mouse: the points are jittered and the box is placed off-centre at
different sizes on canvases of different shapes. Half are dark ink on light paper, half light ink
on a dark canvas (one in colour), so that the notebook shows MNIST-style preprocessing undoing all
of that. The file name starts with the true label: ``7_dark-on-light.png``.

Usage::

    python notebooks/make_sample_digits.py          # rewrites notebooks/digits/*.png (deterministic)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "digits"


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 14) -> list:
    """Points along an ellipse from angle ``start`` to ``stop`` (degrees, 0 = right, 90 = down)."""
    angles = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


# Strokes in a unit box (x right, y down); each stroke is one press of the mouse button.
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.33, 0.47, -90, 275, 24)],
    1: [[(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [_arc(0.5, 0.28, 0.32, 0.27, 200, 380) + [(0.1, 1.0), (0.9, 0.97)]],
    3: [_arc(0.45, 0.26, 0.33, 0.25, 210, 450), _arc(0.45, 0.74, 0.38, 0.26, -90, 150)],
    4: [[(0.6, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.68, 1.0)]],
    5: [[(0.85, 0.0), (0.25, 0.02), (0.2, 0.45)] + _arc(0.48, 0.68, 0.36, 0.3, -120, 150)],
    6: [[(0.75, 0.0), (0.4, 0.3)] + _arc(0.5, 0.7, 0.32, 0.3, 200, 560, 24)],
    7: [[(0.05, 0.05), (0.95, 0.03), (0.4, 1.0)], [(0.3, 0.5), (0.8, 0.5)]],
    8: [_arc(0.5, 0.25, 0.26, 0.24, 90, 450, 20), _arc(0.5, 0.73, 0.32, 0.27, -90, 270, 20)],
    9: [_arc(0.45, 0.28, 0.3, 0.27, 0, 360, 20) + [(0.75, 0.3), (0.7, 1.0)]],
}

# (label, canvas (W, H), box (left, top, width, height) in canvas pixels, pen width,
#  ink, paper, mode): off-centre boxes of different sizes on differently shaped canvases.
SAMPLES = [
    (0, (200, 200), (30, 40, 80, 110), 12, 0, 255, "L"),
    (1, (240, 180), (140, 20, 60, 120), 14, 255, 0, "L"),
    (2, (200, 200), (60, 50, 110, 120), 16, 20, 235, "L"),
    (3, (280, 280), (40, 30, 160, 220), 22, 250, 10, "L"),
    (4, (200, 240), (90, 100, 90, 120), 13, (20, 40, 200), (255, 255, 250), "RGB"),
    (5, (200, 200), (20, 20, 90, 120), 12, 255, 30, "L"),
    (6, (160, 200), (35, 30, 90, 140), 14, 0, 220, "L"),
    (7, (300, 200), (160, 40, 100, 140), 15, (255, 240, 60), (10, 10, 40), "RGB"),
    (8, (200, 200), (70, 20, 90, 150), 13, 30, 255, "L"),
    (9, (220, 220), (100, 90, 90, 120), 12, 240, 0, "L"),
]


def draw_digit(
    label: int,
    canvas: tuple[int, int],
    box: tuple[int, int, int, int],
    pen: int,
    ink,
    paper,
    mode: str,
    rng: np.random.Generator,
) -> Image.Image:
    """One digit drawn with a round pen of width ``pen`` along jittered strokes."""
    image = Image.new(mode, canvas, paper)
    draw = ImageDraw.Draw(image)
    left, top, width, height = box
    wobble = 0.02 * max(width, height)  # a hand on a mouse is not a plotter
    for stroke in STROKES[label]:
        pts = [(left + x * width + rng.normal(0, wobble), top + y * height + rng.normal(0, wobble)) for x, y in stroke]
        draw.line(pts, fill=ink, width=pen, joint="curve")
        r = pen / 2  # round caps at both ends, as a paint program's brush leaves them
        for x, y in (pts[0], pts[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return image


def main(out: Path = OUT) -> list[Path]:
    """Draw every sample into ``out``; returns the files written."""
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(12)
    written = []
    for label, canvas, box, pen, ink, paper, mode in SAMPLES:
        dark_ink = (sum(ink) / 3 if isinstance(ink, tuple) else ink) < 128
        name = f"{label}_{'dark-on-light' if dark_ink else 'light-on-dark'}.png"
        draw_digit(label, canvas, box, pen, ink, paper, mode, rng).save(out / name, optimize=True)
        written.append(out / name)
    return written


if __name__ == "__main__":
    for path in main():
        print(path)
