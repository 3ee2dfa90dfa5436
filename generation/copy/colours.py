"""Dominant colours of a picture, by name.

Each pixel of a 64-pixel-wide copy goes to the nearest colour of a small named palette
(:data:`~generation.copy.lexicon.PALETTE`) in CIE Lab, where Euclidean distance roughly follows
perceived difference (CIE76); the names covering the most pixels are the dominant colours. A named
palette rather than free k-means centres because copy needs words ("blue"), and a palette gives
the same word for the same blue in every image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from generation.copy.lexicon import PALETTE

MIN_SHARE = 0.10  # a colour covering less than a tenth of the picture is not "its" colour


@dataclass(frozen=True)
class Colour:
    name: str
    share: float  # of the picture's pixels, 0..1
    rgb: tuple[int, int, int]  # mean of those pixels


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in 0..255 to CIE Lab (D65)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805],
                             [0.2126, 0.7152, 0.0722],
                             [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


_NAMES = list(PALETTE)
_PALETTE_LAB = srgb_to_lab(np.array([PALETTE[name][0] for name in _NAMES]))


def dominant_colours(image: Image.Image, top: int = 3) -> list[Colour]:
    """Up to ``top`` palette colours covering at least :data:`MIN_SHARE` of the picture, most first."""
    small = image.convert("RGB")
    small.thumbnail((64, 64))
    pixels = np.asarray(small, dtype=np.float64).reshape(-1, 3)
    distances = np.linalg.norm(srgb_to_lab(pixels)[:, None, :] - _PALETTE_LAB[None], axis=2)
    nearest = distances.argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(_NAMES))
    colours = []
    for index in np.argsort(-counts)[:top]:
        share = counts[index] / len(pixels)
        if share < MIN_SHARE:
            break
        mean = pixels[nearest == index].mean(axis=0)
        colours.append(Colour(_NAMES[index], round(float(share), 3), tuple(int(round(v)) for v in mean)))
    return colours
