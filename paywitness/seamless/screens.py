"""Screenshot comparison in the manner of pixelmatch: YIQ colour distance against a threshold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = ["MAX_YIQ_DELTA", "ScreenDiff", "compare_images"]

# pixelmatch's maximum squared YIQ distance: a threshold t counts pixels with delta > MAX * t^2.
MAX_YIQ_DELTA = 35215.0


@dataclass(frozen=True)
class ScreenDiff:
    """How many pixels of two screenshots differ beyond the colour threshold."""

    diff_pixels: int
    total_pixels: int
    threshold: float

    @property
    def ratio(self) -> float:
        return self.diff_pixels / self.total_pixels if self.total_pixels else 0.0


def _rgb_on_white(path: Path, size: tuple[int, int]) -> NDArray[np.float64]:
    with Image.open(path) as img:
        rgba = img.convert("RGBA")
    canvas = Image.new("RGBA", size, (255, 255, 255, 0))
    canvas.paste(rgba, (0, 0))
    arr = np.asarray(canvas, dtype=np.float64)
    alpha = arr[..., 3:4] / 255.0
    rgb: NDArray[np.float64] = 255.0 + (arr[..., :3] - 255.0) * alpha
    return rgb


def _yiq(rgb: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = r * 0.29889531 + g * 0.58662247 + b * 0.11448223
    i = r * 0.59597799 - g * 0.27417610 - b * 0.32180189
    q = r * 0.21147017 - g * 0.52261711 + b * 0.31114694
    return y, i, q


def compare_images(
    expected: Path, actual: Path, *, threshold: float = 0.2, diff_path: Path | None = None
) -> ScreenDiff:
    """Count differing pixels (sizes may differ: the extra area counts as different)."""
    with Image.open(expected) as a, Image.open(actual) as b:
        size = (max(a.width, b.width), max(a.height, b.height))
        inside = np.zeros((size[1], size[0]), dtype=bool)
        inside[: min(a.height, b.height), : min(a.width, b.width)] = True
    rgb_a, rgb_b = _rgb_on_white(expected, size), _rgb_on_white(actual, size)
    ya, ia, qa = _yiq(rgb_a)
    yb, ib, qb = _yiq(rgb_b)
    delta = 0.5053 * (ya - yb) ** 2 + 0.299 * (ia - ib) ** 2 + 0.1957 * (qa - qb) ** 2
    differs = (delta > MAX_YIQ_DELTA * threshold * threshold) | ~inside
    if diff_path is not None:
        # Like pixelmatch's output: the expected image faded to grey, differences in red.
        grey = 255.0 - (255.0 - ya) * 0.1
        out = np.repeat(grey[..., None], 3, axis=2)
        out[differs] = (255.0, 0.0, 0.0)
        diff_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(out.clip(0, 255).astype(np.uint8), "RGB").save(diff_path)
    return ScreenDiff(
        diff_pixels=int(differs.sum()), total_pixels=int(differs.size), threshold=threshold
    )
