"""Check a browser screenshot of the report: it exists, is not blank, and shows the heatmap.

Used by ``make report-check`` after headless Chromium renders data/processed/report.html:
``python -m pipeline.dev.screenshot_check data/processed/report.png``. The heatmap is recognised by
its colours: a block of pixels from the YlOrRd colour map the heatmap draws with.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

MIN_INK = 0.02            # share of non-white pixels a rendered page has at least
MIN_HEATMAP_PIXELS = 20000  # pixels in the heatmap's colours (one heatmap is ~10x more)
COLOUR_TOLERANCE = 12     # max per-channel distance to a colour-map colour


def heatmap_colours(levels: int = 32) -> np.ndarray:
    """RGB (0-255) samples of the heatmap's colour map, skipping its near-white start."""
    from matplotlib import colormaps

    cmap = colormaps["YlOrRd"]
    return np.array([cmap(x)[:3] for x in np.linspace(0.15, 1.0, levels)]) * 255


def screenshot_problems(rgb: np.ndarray) -> list[str]:
    """What is wrong with a screenshot (H x W x 3 uint8 array); empty when it is fine."""
    problems = []
    pixels = rgb.reshape(-1, 3).astype(np.int16)
    ink = float((pixels.min(axis=1) < 240).mean())
    if ink < MIN_INK:
        problems.append(f"page looks blank: only {ink:.1%} of pixels are not white")
    near = np.zeros(len(pixels), dtype=bool)
    for colour in heatmap_colours():
        near |= (np.abs(pixels - colour) <= COLOUR_TOLERANCE).all(axis=1)
    if near.sum() < MIN_HEATMAP_PIXELS:
        problems.append(f"no heatmap visible: {int(near.sum())} pixels in its colours "
                        f"(expected at least {MIN_HEATMAP_PIXELS})")
    return problems


def main(argv: list[str]) -> int:
    """Check the PNG named on the command line; print the verdict; exit 1 on a problem."""
    from PIL import Image

    path = Path(argv[0]) if argv else Path("data/processed/report.png")
    if not path.is_file() or path.stat().st_size == 0:
        print(f"error: {path}: no screenshot was written")
        return 1
    rgb = np.asarray(Image.open(path).convert("RGB"))
    problems = screenshot_problems(rgb)
    for p in problems:
        print(f"error: {path}: {p}")
    if not problems:
        print(f"ok: {path} ({rgb.shape[1]}x{rgb.shape[0]}) shows the rendered report with its heatmap")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
