"""Where an image's point is, and the crop of a format's shape that keeps it.

:func:`find_focus` finds the region that matters and the crop: always the largest
window of the format's shape, so no resolution is thrown away. With a subject and the
library's encoder, every candidate window (a grid of windows of the target shape, full size
and half size) is scored by the cosine between its image embedding and the subject text: the
same model that found the picture decides what in it is "the beach". The crop is the
best-scoring full-size window, the focus the best half-size window inside it (what the text
should not cover). Without them (no model loaded, no subject) the focus is a saliency
estimate, the box holding the central 80 % of the image's gradient energy (it lands on edges
and detail, away from flat sky or studio backdrop), and the crop is centred on it.
:class:`Focus` says which method was used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageFilter

from generation.formats import Box
from indexer.encoders.base import Encoder

_DETAIL_SCALE = 0.5  # the subject's own window, relative to the largest (the crop)
_MAX_STEPS = 5  # candidate positions per axis and scale
_FOCUS_SIDE = 768  # the image is scored at this size: plenty for a 224 px model input
_SALIENCY_SIDE = 256
_ENERGY_SPAN = (0.10, 0.90)  # the saliency box holds the central 80 % of gradient energy per axis


@dataclass(frozen=True)
class Focus:
    """The region of the source image that must survive the crop, and how it was found.

    ``method`` is ``"subject"`` (``crop`` is the full-size window the encoder matched best to
    ``subject``, ``score`` its cosine similarity, ``box`` the best half-size window inside it) or
    ``"saliency"`` (``box`` is the gradient-energy box and ``crop`` is centred on it; ``score`` is
    the share of the image's energy inside the box, 0 for a flat image, whose focus is its
    centre). ``crop`` is for the aspect ratio :func:`find_focus` was asked about.
    """

    box: Box
    method: str
    score: float
    subject: str | None = None
    crop: Box | None = None


def find_focus(image: Image.Image, aspect: float, subject: str | None = None,
               encoder: Encoder | None = None) -> Focus:
    """Where the picture's point is: by the encoder against ``subject`` when both are given,
    else by saliency. ``aspect`` (width / height of the format) shapes the candidate windows."""
    image = as_rgb(image)
    if subject and subject.strip() and encoder is not None:
        return _subject_focus(image, aspect, subject.strip(), encoder)
    focus = _saliency_focus(image)
    return replace(focus, crop=crop_box(image.size, aspect, focus.box))


def _largest_window(size: tuple[int, int], aspect: float) -> tuple[int, int]:
    width, height = size
    if width / height > aspect:
        return max(1, min(width, round(height * aspect))), height
    return width, max(1, min(height, round(width / aspect)))


def _candidate_windows(size: tuple[int, int], aspect: float, scale: float) -> list[Box]:
    full_w, full_h = _largest_window(size, aspect)
    w, h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
    return [Box(x, y, x + w, y + h) for y in _steps(size[1] - h, h) for x in _steps(size[0] - w, w)]


def _steps(free: int, side: int) -> list[int]:
    """Window offsets along one axis: half-window strides, at most ``_MAX_STEPS``, ends included."""
    if free < 2:
        return [max(0, free) // 2]
    count = min(_MAX_STEPS, 1 + math.ceil(free / (side / 2)))
    return [round(free * i / (count - 1)) for i in range(count)]


def _subject_focus(image: Image.Image, aspect: float, subject: str, encoder: Encoder) -> Focus:
    import torch  # only here: the saliency path and everything else needs no torch

    scale = min(1.0, _FOCUS_SIDE / max(image.size))
    small = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BICUBIC) if scale < 1 else image
    crops = _candidate_windows(small.size, aspect, 1.0)
    details = _candidate_windows(small.size, aspect, _DETAIL_SCALE)
    windows = crops + details
    text = np.asarray(encoder.encode_texts([subject]), dtype=np.float32)[0]
    scores = []
    for start in range(0, len(windows), 32):
        batch = torch.stack([encoder.preprocess(small.crop(w.as_tuple())) for w in windows[start:start + 32]])
        scores.extend(np.asarray(encoder.encode_images(batch), dtype=np.float32) @ text)
    best_crop = int(np.argmax(scores[:len(crops)]))
    crop = crops[best_crop]
    inside = [(score, box) for score, box in zip(scores[len(crops):], details) if crop.contains(box)]
    box = max(inside, key=lambda pair: pair[0])[1] if inside else crop

    def full_size(b: Box) -> Box:
        return clip_box(b.scale(1 / scale, 1 / scale), image.size) if scale < 1 else b

    return Focus(full_size(box), "subject", float(scores[best_crop]), subject, full_size(crop))


def _saliency_focus(image: Image.Image) -> Focus:
    scale = min(1.0, _SALIENCY_SIDE / max(image.size))
    gray = image.convert("L")
    if scale < 1:
        gray = gray.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                           Image.Resampling.BILINEAR)
    smooth = np.asarray(gray.filter(ImageFilter.GaussianBlur(1)), dtype=np.float64)
    gy, gx = np.gradient(smooth)
    energy = np.hypot(gx, gy)
    total = energy.sum()
    if total <= 1e-9:
        return Focus(Box(0, 0, image.width, image.height), "saliency", 0.0)
    x0, x1 = _mass_span(energy.sum(axis=0))
    y0, y1 = _mass_span(energy.sum(axis=1))
    share = float(energy[y0:y1, x0:x1].sum() / total)
    box = Box(x0, y0, x1, y1).scale(1 / scale, 1 / scale) if scale < 1 else Box(x0, y0, x1, y1)
    return Focus(clip_box(box, image.size), "saliency", share)


def _mass_span(marginal: np.ndarray) -> tuple[int, int]:
    cumulative = np.cumsum(marginal) / marginal.sum()
    low = int(np.searchsorted(cumulative, _ENERGY_SPAN[0]))
    high = int(np.searchsorted(cumulative, _ENERGY_SPAN[1])) + 1
    return low, max(low + 1, min(high, len(marginal)))


def clip_box(box: Box, size: tuple[int, int]) -> Box:
    left, top = max(0, min(box.left, size[0] - 1)), max(0, min(box.top, size[1] - 1))
    return Box(left, top, max(left + 1, min(box.right, size[0])), max(top + 1, min(box.bottom, size[1])))


def crop_box(size: tuple[int, int], aspect: float, focus: Box) -> Box:
    """The largest window of ``aspect`` inside an image of ``size``, centred on the focus as far
    as the image edges allow (so it contains the focus whenever the focus fits in it)."""
    w, h = _largest_window(size, aspect)
    cx, cy = focus.center
    left = int(min(max(round(cx - w / 2), 0), size[0] - w))
    top = int(min(max(round(cy - h / 2), 0), size[1] - h))
    return Box(left, top, left + w, top + h)


def as_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency goes on white, as the indexer's decoder does, never on black."""
    if image.mode == "RGB":
        return image
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image.convert("RGB")
