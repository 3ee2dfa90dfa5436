"""Render one copy variant onto one image in one ad format: crop, text, contrast, files.

The three decisions a designer makes, in the order a designer makes them:

1. **Crop.** :mod:`generation.focus` finds the region that matters (by the library's encoder
   against the brief's subject, else by saliency) and the largest window of the format's shape
   around it.
2. **Text.** Headline (and body where the format shows it) and the call to action are wrapped
   and sized to fit inside the format's safe area (:mod:`generation.formats`), never clipped.
3. **Contrast.** Every text line must reach WCAG 2.x AA contrast (4.5:1, success criterion
   1.4.3) against the *worst* pixel under its box, measured on the pixels that end up in the
   file. First light or dark text is chosen, then the text moves to another region of the safe
   area (away from the subject when it can), and only when no region gives the contrast is a
   semi-opaque scrim laid behind the lines that need it, as light as still passes. The call to
   action is a button whose label contrasts with its fill by construction.

Input images are RGB in sRGB, as :func:`indexer.decode.decode_image` returns them; output PNG
and JPEG carry an sRGB profile.
"""

from __future__ import annotations

import functools
import io
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageCms, ImageDraw, ImageFont

from generation.focus import Focus, as_rgb, clip_box, crop_box, find_focus
from generation.formats import AdFormat, Box
from generation.limits import HasCopy
from indexer.errors import ConfigError

MIN_CONTRAST = 4.5  # WCAG 2.x SC 1.4.3 (AA), normal-size text
# JPEG ringing next to glyphs can pull a background pixel towards the text colour (a 5.1:1 PNG
# measured 4.2:1 as JPEG on a 300x250), so the layout is redone for a stricter target until the
# encoded JPEG passes too; 21 means an opaque scrim.
_TARGETS = (MIN_CONTRAST, 5.5, 7.0, 10.0, 21.0)
LIGHT = (255, 255, 255)
DARK = (17, 17, 17)  # near-black reads softer than #000 and still gives 17.9:1 on white
MIN_FONT_PX = 10
JPEG_QUALITY = 90
FONTS = Path(__file__).resolve().parent / "fonts"



# --- colour science -------------------------------------------------------------------------

def _linear_lut() -> np.ndarray:
    """sRGB 8-bit value -> linear light, as WCAG 2.x defines it (its 0.03928 threshold and the
    sRGB standard's 0.04045 give the same result on 8-bit values: none falls between them)."""
    c = np.arange(256, dtype=np.float64) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_WEIGHTED = _linear_lut()[:, None] * np.array([0.2126, 0.7152, 0.0722])  # per channel, per value


def relative_luminance(pixels: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of uint8 RGB pixels (any leading shape), 0 (black) to 1 (white)."""
    pixels = np.asarray(pixels, dtype=np.uint8)
    return _WEIGHTED[pixels[..., 0], 0] + _WEIGHTED[pixels[..., 1], 1] + _WEIGHTED[pixels[..., 2], 2]


def contrast_ratio(a, b):
    """WCAG contrast ratio of two luminances (or arrays of them), 1 to 21."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


@functools.lru_cache(maxsize=16)
def _colour_luminance(colour: tuple[int, int, int]) -> float:
    return float(relative_luminance(np.array(colour, dtype=np.uint8)))


def _worst_contrast(pixels: np.ndarray, box: Box, colour: tuple[int, int, int]) -> float:
    """The lowest contrast between ``colour`` and any of the RGB ``pixels`` under ``box``."""
    region = relative_luminance(pixels[box.top:box.bottom, box.left:box.right])
    return float(contrast_ratio(region, _colour_luminance(colour)).min())


def _opposite(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    return DARK if colour == LIGHT else LIGHT


# --- fonts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Typeface:
    """A bold face for headline and call to action, a regular one for body copy."""

    bold: Path
    regular: Path

    @classmethod
    def default(cls) -> "Typeface":
        """DejaVu Sans, shipped in ``generation/fonts`` under its redistributable licence."""
        return cls(FONTS / "DejaVuSans-Bold.ttf", FONTS / "DejaVuSans.ttf")

    @classmethod
    def from_file(cls, path: str | Path) -> "Typeface":
        """One TTF/OTF file for every role (a brand font, or one covering the brief's script)."""
        path = Path(path)
        try:
            ImageFont.truetype(str(path), 12)
        except OSError:
            raise ConfigError(f"Font {path} cannot be loaded.",
                              hint="Pass a TrueType or OpenType font file (.ttf, .otf).") from None
        return cls(path, path)

    def font(self, size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
        return _load_font(str(self.bold if bold else self.regular), size)

    def missing_glyphs(self, text: str) -> str:
        """The characters of ``text`` this typeface cannot draw (they would show as empty boxes):
        DejaVu covers Latin, Greek, Cyrillic, Hebrew and Arabic, not CJK or emoji."""
        return "".join(sorted({c for c in text if not c.isspace() and not _has_glyph(str(self.bold), c)}))


@functools.lru_cache(maxsize=256)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=4096)
def _has_glyph(path: str, char: str) -> bool:
    """Whether the font draws ``char`` as something other than its "missing" glyph (.notdef),
    which is what FreeType substitutes for a code point the font lacks (U+10FFFD is never in it)."""
    def drawn(c: str) -> tuple:
        mask = _load_font(path, 24).getmask(c)
        return mask.size, bytes(mask)
    return drawn(char) != drawn("\U0010FFFD")


# --- layout ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TextBox:
    """One rendered line: ``box`` is its glyph box plus padding, in output pixels, and
    ``contrast`` the worst WCAG ratio between ``colour`` and any output pixel under it that is
    not part of a glyph."""

    role: str  # "headline", "body" or "cta"
    text: str
    box: Box
    colour: tuple[int, int, int]
    contrast: float


@dataclass(frozen=True)
class _Line:
    role: str
    text: str
    font: ImageFont.FreeTypeFont
    origin: tuple[int, int]  # where the text is drawn (left-ascender anchor)
    box: Box  # glyph box + padding, same coordinates as origin

    def shift(self, dx: int, dy: int) -> "_Line":
        return _Line(self.role, self.text, self.font, (self.origin[0] + dx, self.origin[1] + dy),
                     self.box.shift(dx, dy))


@dataclass(frozen=True)
class _Block:
    """Lines and an optional call-to-action button, laid out relative to (0, 0)."""

    lines: tuple[_Line, ...]  # headline and body lines
    cta: _Line | None
    button: Box | None
    notes: tuple[str, ...] = ()

    @property
    def bounds(self) -> Box:
        boxes = [line.box for line in self.lines] + ([self.button] if self.button else [])
        return Box(min(b.left for b in boxes), min(b.top for b in boxes),
                   max(b.right for b in boxes), max(b.bottom for b in boxes))

    def shift(self, dx: int, dy: int) -> "_Block":
        return _Block(tuple(line.shift(dx, dy) for line in self.lines),
                      self.cta.shift(dx, dy) if self.cta else None,
                      self.button.shift(dx, dy) if self.button else None, self.notes)


def _pad(size: int) -> int:
    return max(2, round(size * 0.12))


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap to ``width`` pixels; a word longer than a line is broken by characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and font.getlength(current + char) > width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``text`` cut (if need be) so that it and a closing ellipsis fit ``width``: it marks copy
    that continues beyond what the format can show."""
    while text and font.getlength(text.rstrip() + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _line(role: str, text: str, font: ImageFont.FreeTypeFont, x: int, y: int) -> _Line:
    """A line whose glyphs start at x (optical left edge) with the ascender line at y."""
    left, top, right, bottom = font.getbbox(text)
    pad = _pad(font.size)
    origin = (x - left, y)
    return _Line(role, text, font, origin, Box(x - pad, y + top - pad, x + right - left + pad, y + bottom + pad))


def _button(label: str, font: ImageFont.FreeTypeFont, x: int, y: int) -> tuple[_Line, Box]:
    """A call-to-action button with its top-left at (x, y); the label sits inside its padding."""
    left, top, right, bottom = font.getbbox(label)
    px, py = round(font.size * 0.8), round(font.size * 0.45) + _pad(font.size)
    button = Box(x, y, x + (right - left) + 2 * px, y + (bottom - top) + 2 * py)
    line = _line("cta", label, font, x + px, y + py - top)
    return line, button


def _fit_label(label: str, typeface: "Typeface", size: int, width: int) -> tuple[str, ImageFont.FreeTypeFont]:
    """The call-to-action label at ``size``, shrunk (then shortened) until its button fits ``width``."""
    while True:
        font = typeface.font(size)
        left, _, right, _ = font.getbbox(label)
        if (right - left) + 2 * round(size * 0.8) <= width or size <= MIN_FONT_PX:
            break
        size = max(MIN_FONT_PX, int(size * 0.9))
    inner = width - 2 * round(size * 0.8)
    return (label if font.getlength(label) <= inner else _ellipsize(label, font, inner)), font


def _stacked(copy: HasCopy, typeface: Typeface, size: int, width: int, with_body: bool,
             max_headline_lines: int = 4, shorten: bool = False) -> _Block | None:
    """Headline, body, then the button, left-aligned in a column ``width`` wide."""
    font = typeface.font(size)
    pad = _pad(size)
    headline = _wrap(copy.headline.strip(), font, width - 2 * pad)
    notes = []
    if len(headline) > max_headline_lines:
        if not shorten:
            return None
        headline = headline[:max_headline_lines - 1] + [_ellipsize(headline[max_headline_lines - 1], font,
                                                                   width - 2 * pad)]
        notes.append("headline shortened to fit the format")
    ascent, descent = font.getmetrics()
    lines, y = [], 0
    for text in headline:
        lines.append(_line("headline", text, font, 0, y))
        y += ascent + descent
    if with_body and copy.body.strip():
        body_font = typeface.font(max(MIN_FONT_PX, round(size * 0.45)), bold=False)
        y = lines[-1].box.bottom + round(size * 0.3)
        body_ascent, body_descent = body_font.getmetrics()
        for text in _wrap(copy.body.strip(), body_font, width - 2 * _pad(body_font.size)):
            lines.append(_line("body", text, body_font, 0, y))
            y += round((body_ascent + body_descent) * 1.1)
    cta, button = None, None
    if copy.cta.strip():
        label, cta_font = _fit_label(copy.cta.strip(), typeface, max(MIN_FONT_PX, round(size * 0.5)), width)
        cta, button = _button(label, cta_font, -pad, lines[-1].box.bottom + round(size * 0.4))
    return _Block(tuple(lines), cta, button, tuple(notes))


def _row(copy: HasCopy, typeface: Typeface, size: int, width: int, height: int,
         shorten: bool = False) -> _Block | None:
    """Banner layout: headline (up to two lines) on the left, button on the right, centred."""
    notes = []
    cta, button = None, None
    button_w = 0
    if copy.cta.strip():
        label, cta_font = _fit_label(copy.cta.strip(), typeface, max(MIN_FONT_PX, round(size * 0.65)), width // 2)
        cta, button = _button(label, cta_font, 0, 0)
        button_w = button.width + round(size * 0.8)
    font = typeface.font(size)
    pad = _pad(size)
    avail = width - button_w - 2 * pad
    if avail < size * 2:
        return None
    headline = _wrap(copy.headline.strip(), font, avail)
    if len(headline) > 2:
        if not shorten:
            return None
        headline = [headline[0], _ellipsize(headline[1], font, avail)]
        notes.append("headline shortened to fit the format")
    ascent, descent = font.getmetrics()
    lines = tuple(_line("headline", text, font, pad, i * (ascent + descent)) for i, text in enumerate(headline))
    text_top = min(line.box.top for line in lines)
    text_h = max(line.box.bottom for line in lines) - text_top
    block_h = max(text_h, button.height if button else 0)
    if block_h > height:
        return None
    lines = tuple(line.shift(0, (block_h - text_h) // 2 - text_top) for line in lines)
    if button:
        dx = width - button.width
        dy = (block_h - button.height) // 2
        cta, button = cta.shift(dx, dy), button.shift(dx, dy)
    return _Block(lines, cta, button, tuple(notes))


def _mirror(block: _Block, width: int) -> _Block:
    """The row layout with button and headline swapping sides."""
    if not block.button:
        return block
    dx = width - max(line.box.right for line in block.lines)
    return _Block(tuple(line.shift(dx, 0) for line in block.lines), block.cta.shift(-block.button.left, 0),
                  block.button.shift(-block.button.left, 0), block.notes)


def _normalise(block: _Block) -> _Block:
    bounds = block.bounds
    return block.shift(-bounds.left, -bounds.top)


def _sizes(start: int) -> Iterator[int]:
    size = max(MIN_FONT_PX, start)
    while size > MIN_FONT_PX:
        yield size
        size = max(MIN_FONT_PX, min(size - 1, int(size * 0.93)))
    yield MIN_FONT_PX


def _fits(block: _Block | None, width: int, height: int) -> bool:
    if block is None:
        return False
    bounds = block.bounds
    return bounds.width <= width and bounds.height <= height


def _layout(copy: HasCopy, fmt: AdFormat, safe: Box, typeface: Typeface, with_body: bool) -> list[_Block]:
    """Candidate blocks (already positioned in output pixels), in order of preference."""
    if fmt.aspect >= 3.0:
        start = round(safe.height * 0.45)
        for shorten in (False, True):
            for size in ([MIN_FONT_PX] if shorten else _sizes(start)):
                block = _row(copy, typeface, size, safe.width, safe.height, shorten)
                if block is not None and _fits(_normalise(block), safe.width, safe.height):
                    block = _normalise(block)
                    dy = (safe.height - block.bounds.height) // 2
                    mirrored = _normalise(_mirror(block, safe.width))
                    return [b.shift(safe.left, safe.top + dy) for b in (block, mirrored)]
        raise _too_small(fmt)
    start = round(min(safe.height * 0.16, safe.width * 0.11))
    # (body shown, share of the safe height the text may take, headline lines, shorten if longer)
    attempts = []
    if with_body and copy.body.strip():
        attempts += [(True, 0.5, 4, False), (True, 1.0, 4, False)]
    attempts += [(False, 0.5, 4, False), (False, 1.0, 4, False)]
    attempts += [(False, 1.0, lines, True) for lines in (4, 3, 2, 1)]
    for body, share, max_lines, shorten in attempts:
        for size in ([MIN_FONT_PX] if shorten else _sizes(start)):
            block = _stacked(copy, typeface, size, safe.width, body, max_lines, shorten)
            if _fits(block and _normalise(block), safe.width, round(safe.height * share)):
                notes = block.notes + (("body left out: no room at a readable size",)
                                       if with_body and copy.body.strip() and not body else ())
                return _positions(_normalise(_Block(block.lines, block.cta, block.button, notes)), safe)
    raise _too_small(fmt)


def _too_small(fmt: AdFormat) -> ConfigError:
    return ConfigError(f"Format {fmt.name} leaves no room for the headline and call to action at "
                       f"{MIN_FONT_PX} px.", hint="Use a larger format, or a shorter headline and call to action.")


def _positions(block: _Block, safe: Box) -> list[_Block]:
    """The block at the bottom, top, middle, then in between; left-aligned, then right."""
    bounds = block.bounds
    free_y = safe.height - bounds.height
    ys = [free_y, 0, free_y // 2, (3 * free_y) // 4, free_y // 4]
    xs = [0] + ([safe.width - bounds.width] if safe.width - bounds.width > 0.1 * safe.width else [])
    seen, placed = set(), []
    for x in xs:
        for y in ys:
            if (x, y) not in seen:
                seen.add((x, y))
                placed.append(block.shift(safe.left + x, safe.top + y))
    return placed


# --- render ---------------------------------------------------------------------------------

@dataclass
class Rendered:
    """A finished ad and the evidence that it meets the rules.

    ``text_mask`` is the glyph coverage (255 = fully text colour) so anyone can re-measure the
    contrast from ``image`` (or from the JPEG); ``notes`` lists compromises (body left out,
    headline shortened, a font without glyphs for the copy).
    """

    image: Image.Image
    format: AdFormat
    text_boxes: list[TextBox]
    safe_area: Box
    crop_box: Box
    focus: Focus
    scrim_used: bool
    scrim_boxes: list[Box]
    cta_button: Box | None
    text_mask: Image.Image
    notes: list[str] = field(default_factory=list)
    jpeg: bytes = b""  # the JPEG that save() writes, encoded once and measured
    jpeg_min_contrast: float | None = None  # worst text contrast measured on the decoded JPEG

    @property
    def contrast_ratios(self) -> list[float]:
        return [box.contrast for box in self.text_boxes]

    def to_dict(self) -> dict:
        """What a manifest records about this render."""
        return {
            "format": self.format.name,
            "placement": self.format.placement.key if self.format.placement else None,
            "safe_area": list(self.safe_area.as_tuple()),
            "crop_box": list(self.crop_box.as_tuple()),
            "focus": {"method": self.focus.method, "box": list(self.focus.box.as_tuple()),
                      "score": round(self.focus.score, 4), "subject": self.focus.subject},
            "text": [{"role": t.role, "text": t.text, "box": list(t.box.as_tuple()),
                      "colour": "#%02x%02x%02x" % t.colour, "contrast": round(t.contrast, 2)}
                     for t in self.text_boxes],
            "min_contrast": round(min(self.contrast_ratios), 2) if self.text_boxes else None,
            "min_contrast_jpeg": None if self.jpeg_min_contrast is None else round(self.jpeg_min_contrast, 2),
            "scrim_used": self.scrim_used,
            "notes": list(self.notes),
        }


def render(image: Image.Image, fmt: AdFormat | str, copy: HasCopy, focus: Focus | None = None,
           font: Typeface | str | Path | None = None, include_body: bool | None = None) -> Rendered:
    """``copy`` (anything with headline, body, cta: a CopyVariant) on ``image`` in ``fmt``.

    ``focus`` defaults to the saliency estimate (pass :func:`find_focus` with a subject and
    encoder, for this format's aspect, for the model-based one); ``font`` to DejaVu Sans;
    ``include_body`` to what the format shows (:attr:`AdFormat.shows_body`).
    """
    fmt = fmt if isinstance(fmt, AdFormat) else AdFormat.parse(fmt)
    typeface = font if isinstance(font, Typeface) else (Typeface.from_file(font) if font else Typeface.default())
    if not copy.headline.strip():
        raise ConfigError("The copy variant has no headline to render.", hint="Every variant needs a headline.")
    image = as_rgb(image)
    focus = focus or find_focus(image, fmt.aspect)
    crop = focus.crop
    if crop is None or abs(crop.width / crop.height / fmt.aspect - 1) > 0.01:
        crop = crop_box(image.size, fmt.aspect, focus.box)  # a focus found for another shape
    canvas = image.crop(crop.as_tuple()).resize((fmt.width, fmt.height), Image.Resampling.LANCZOS,
                                                reducing_gap=3.0)
    sx, sy = fmt.width / crop.width, fmt.height / crop.height
    subject = clip_box(focus.box.shift(-crop.left, -crop.top).scale(sx, sy), canvas.size)
    safe = fmt.safe_area
    with_body = fmt.shows_body if include_body is None else include_body
    blocks = _layout(copy, fmt, safe, typeface, with_body)
    for target in _TARGETS:
        work = canvas.copy()
        block, colour, scrims = _place(work, blocks, subject, target)
        rendered = _draw(work, fmt, block, colour, scrims, safe, crop, focus)
        rendered.jpeg = _encode(rendered.image, "JPEG")
        rendered.jpeg_min_contrast = _decoded_contrast(rendered)
        if rendered.jpeg_min_contrast >= MIN_CONTRAST:
            break
    missing = typeface.missing_glyphs(" ".join(box.text for box in rendered.text_boxes))
    if missing:
        rendered.notes.append(f"the font has no glyphs for {missing!r}; pass a font that covers the language")
    return rendered


def _place(canvas: Image.Image, blocks: list[_Block], subject: Box,
           target: float) -> tuple[_Block, tuple, list[Box]]:
    """Choose position and text colour; add scrims only if no position gives ``target`` contrast.

    Order: a position where light or dark text passes everywhere without a scrim (covering as
    little of the subject as possible, then by preference); failing that, the least-covering
    position with the best contrast, with scrims behind the lines that fail.
    """
    pixels = np.asarray(canvas)
    scored = []
    for rank, block in enumerate(blocks):
        bounds = block.bounds
        covered = round(4 * bounds.overlap(subject) / max(1, bounds.area)) / 4
        for colour in (LIGHT, DARK):
            worst = min(_worst_contrast(pixels, line.box, colour) for line in block.lines)
            failing = worst < target
            scored.append(((failing, covered, 0 if failing else rank, -worst), block, colour))
    (failing, *_), block, colour = min(scored, key=lambda s: s[0])
    if not failing:
        return block, colour, []
    return block, colour, _scrims(canvas, block, colour, target)


def _scrims(canvas: Image.Image, block: _Block, colour: tuple[int, int, int], target: float) -> list[Box]:
    """Lay a scrim of the opposite colour behind each failing group of lines (headline, body),
    with the lowest opacity (in 5 % steps) that lifts every line of the group to ``target``."""
    placed = []
    for role in ("headline", "body"):
        lines = [line for line in block.lines if line.role == role]
        if not lines:
            continue
        if min(_worst_contrast(np.asarray(canvas), line.box, colour) for line in lines) >= target:
            continue
        pad = _pad(lines[0].font.size)
        area = clip_box(Box(min(line.box.left for line in lines), min(line.box.top for line in lines),
                         max(line.box.right for line in lines), max(line.box.bottom for line in lines)).expand(pad),
                     canvas.size)
        region = canvas.crop(area.as_tuple()).convert("RGBA")
        local = [line.box.shift(-area.left, -area.top) for line in lines]
        for opacity in np.arange(0.30, 1.0001, 0.05):
            overlay = Image.new("RGBA", region.size, (0, 0, 0, 0))
            ImageDraw.Draw(overlay).rounded_rectangle((0, 0, region.width - 1, region.height - 1), radius=pad // 2,
                                                      fill=(*_opposite(colour), round(255 * opacity)))
            candidate = Image.alpha_composite(region, overlay).convert("RGB")
            if min(_worst_contrast(np.asarray(candidate), box, colour) for box in local) >= target:
                break
        canvas.paste(candidate, (area.left, area.top))
        placed.append(area)
    return placed


def _button_fill(pixels: np.ndarray, button: Box) -> tuple[int, int, int]:
    """Light or dark, by contrast with the median luminance of a 4 px ring around the button."""
    ring = clip_box(button.expand(4), (pixels.shape[1], pixels.shape[0]))
    luminance = relative_luminance(pixels[ring.top:ring.bottom, ring.left:ring.right]).copy()
    luminance[button.top - ring.top:button.bottom - ring.top, button.left - ring.left:button.right - ring.left] = np.nan
    around = float(np.nanmedian(luminance)) if np.isfinite(luminance).any() else 0.0
    return max((LIGHT, DARK), key=lambda fill: float(contrast_ratio(_colour_luminance(fill), around)))


def _draw(canvas: Image.Image, fmt: AdFormat, block: _Block, colour: tuple[int, int, int], scrims: list[Box],
          safe: Box, crop: Box, focus: Focus) -> Rendered:
    """Button first (the label's background), then glyphs through one coverage mask.

    The button takes whichever of light or dark stands out more from the photo around it (its
    edge must be seen: WCAG 1.4.11 asks 3:1 for controls); its label is the other one.
    """
    draw = ImageDraw.Draw(canvas)
    button_fill = colour
    if block.button:
        button_fill = _button_fill(np.asarray(canvas), block.button)
        draw.rounded_rectangle(block.button.as_tuple()[:2] + (block.button.right - 1, block.button.bottom - 1),
                               radius=round(block.button.height * 0.2), fill=button_fill)
    pixels = np.asarray(canvas)
    lines = [(line, colour) for line in block.lines] + ([(block.cta, _opposite(button_fill))] if block.cta else [])
    boxes = [TextBox(line.role, line.text, line.box, fill, _worst_contrast(pixels, line.box, fill))
             for line, fill in lines]
    mask = Image.new("L", canvas.size, 0)
    for fill in {fill for _, fill in lines}:
        layer = Image.new("L", canvas.size, 0)
        layer_draw = ImageDraw.Draw(layer)
        for line, line_fill in lines:
            if line_fill == fill:
                layer_draw.text(line.origin, line.text, font=line.font, fill=255)
        canvas.paste(fill, (0, 0), layer)
        mask = Image.fromarray(np.maximum(np.asarray(mask), np.asarray(layer)))
    return Rendered(canvas, fmt, boxes, safe, crop, focus, bool(scrims), scrims, block.button, mask,
                    list(block.notes))


# --- files ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _encode(image: Image.Image, fmt: str) -> bytes:
    """PNG (lossless) or JPEG (quality 90, 4:4:4 so small text stays crisp), tagged sRGB."""
    out = io.BytesIO()
    options = {"quality": JPEG_QUALITY, "subsampling": 0} if fmt == "JPEG" else {}
    image.save(out, fmt, icc_profile=_srgb_icc(), **options)
    return out.getvalue()


def _decoded_contrast(rendered: Rendered) -> float:
    """The worst contrast between each line's colour and the JPEG's pixels under its box that
    no glyph touches (the same rule as the PNG, on what a JPEG viewer shows)."""
    pixels = np.asarray(Image.open(io.BytesIO(rendered.jpeg)).convert("RGB"))
    coverage = np.asarray(rendered.text_mask)
    worst = math.inf
    for box in rendered.text_boxes:
        b = box.box
        background = pixels[b.top:b.bottom, b.left:b.right][coverage[b.top:b.bottom, b.left:b.right] == 0]
        if background.size:
            worst = min(worst, float(contrast_ratio(relative_luminance(background),
                                                    _colour_luminance(box.colour)).min()))
    return worst


def save(rendered: Rendered, folder: str | Path, stem: str) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.jpg`` (the JPEG whose contrast :func:`render` measured),
    each via a temporary file and a rename so a crash never leaves a half-written render."""
    if not stem or stem in (".", "..") or any(c in stem for c in "/\\\0") or stem.startswith("."):
        raise ConfigError(f"Render name {stem!r} is not a plain file name.",
                          hint="Use letters, digits, dashes or underscores, e.g. brief-1-v2-1080x1080.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, jpeg = folder / f"{stem}.png", folder / f"{stem}.jpg"
    _write(png, _encode(rendered.image, "PNG"))
    _write(jpeg, rendered.jpeg or _encode(rendered.image, "JPEG"))
    return png, jpeg


def _write(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
