"""Finished ads: text inside the safe area at WCAG contrast, measured again on the saved pixels,
and crops that keep what the picture is about."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from generation.compose import Typeface, render, save
from generation.focus import Focus, crop_box, find_focus
from generation.copy.variant import CopyVariant
from generation.formats import AdFormat, Box
from indexer.errors import ConfigError
from tests.conftest import SAMPLE_PHOTOS

COPY = CopyVariant(headline="Summer at the palace, by the lake",
                   body="Walk the Long Corridor at dusk, then take the boat across. Tickets from 8 euros.",
                   cta="Book your visit")
FORMATS = ["1080x1080", "1200x628", "1080x1920", "300x250", "728x90", "1000x700"]  # the last: no placement


def wcag_luminance(pixels: np.ndarray) -> np.ndarray:
    """WCAG 2.x relative luminance, written out again here so the test does not trust compose's."""
    c = pixels.astype(np.float64) / 255
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def measured_contrast(image: Image.Image, mask: Image.Image, box: Box, colour=None) -> float:
    """Worst contrast of the text colour against every pixel in the box that no glyph touches,
    straight from the output image. The text colour is read from the pixels glyphs fully cover
    (lossless PNG) or, for a JPEG, given."""
    pixels = np.asarray(image.convert("RGB"))[box.top:box.bottom, box.left:box.right].reshape(-1, 3)
    coverage = np.asarray(mask)[box.top:box.bottom, box.left:box.right].reshape(-1)
    text, background = pixels[coverage == 255], pixels[coverage == 0]
    assert len(text) and len(background)
    if colour is None:
        assert (text == text[0]).all(), "fully covered glyph pixels are exactly the text colour"
        colour = text[0]
    t = wcag_luminance(np.array([colour]))[0]
    b = wcag_luminance(background)
    return float(((np.maximum(b, t) + 0.05) / (np.minimum(b, t) + 0.05)).min())


def check_ad(rendered, folder, stem):
    """The checks every render must pass, on the PNG as written to disk."""
    png, jpeg = save(rendered, folder, stem)
    image = Image.open(png)
    assert image.size == (rendered.format.width, rendered.format.height) and image.mode == "RGB"
    assert Image.open(jpeg).format == "JPEG" and Image.open(jpeg).size == image.size
    safe = rendered.format.safe_area
    assert safe == rendered.safe_area
    roles = {box.role for box in rendered.text_boxes}
    assert {"headline", "cta"} <= roles
    with Image.open(jpeg) as decoded:
        for box in rendered.text_boxes:
            assert safe.contains(box.box), f"{box.role} {box.box} leaves the safe area {safe}"
            assert measured_contrast(image, rendered.text_mask, box.box) >= 4.5, box
            assert measured_contrast(decoded, rendered.text_mask, box.box, box.colour) >= 4.5, ("jpeg", box)
    if rendered.cta_button:
        assert safe.contains(rendered.cta_button)
    # No glyph pixel outside the text boxes: nothing overflows or is drawn off its box.
    ink = np.argwhere(np.asarray(rendered.text_mask) > 0)
    inside = np.zeros(len(ink), dtype=bool)
    for box in rendered.text_boxes:
        b = box.box
        inside |= (ink[:, 0] >= b.top) & (ink[:, 0] < b.bottom) & (ink[:, 1] >= b.left) & (ink[:, 1] < b.right)
    assert inside.all()
    return image


def photo(name: str) -> Image.Image:
    return Image.open(SAMPLE_PHOTOS / name).convert("RGB")


def noise(size=(800, 800), seed=0) -> Image.Image:
    """Every pixel random: no text colour passes anywhere without a scrim."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


BACKGROUNDS = {
    "busy-photo": lambda: photo("gravel-stones-texture.png"),
    "temple-photo": lambda: photo("chinese-temple-summer-palace.jpg"),
    "white": lambda: Image.new("RGB", (900, 700), "white"),
    "black": lambda: Image.new("RGB", (900, 700), "black"),
    "noise": noise,
}


@pytest.mark.parametrize("size", FORMATS)
@pytest.mark.parametrize("background", sorted(BACKGROUNDS))
def test_text_sits_in_the_safe_area_at_wcag_contrast(tmp_path, size, background):
    rendered = render(BACKGROUNDS[background](), size, COPY)
    check_ad(rendered, tmp_path, f"{background}-{size}")


def test_plain_backgrounds_need_no_scrim_and_get_the_right_text_colour():
    on_white = render(Image.new("RGB", (900, 700), "white"), "1080x1080", COPY)
    on_black = render(Image.new("RGB", (900, 700), "black"), "1080x1080", COPY)
    assert not on_white.scrim_used and not on_black.scrim_used
    assert {b.colour for b in on_white.text_boxes if b.role == "headline"} == {(17, 17, 17)}
    assert {b.colour for b in on_black.text_boxes if b.role == "headline"} == {(255, 255, 255)}


def test_the_button_stands_out_from_the_photo_around_it():
    # The headline sits on black (so it is white) and the button just below it on white: a
    # button in the headline's colour would vanish, so it is dark with a light label.
    copy = CopyVariant(headline="Night swims", body="", cta="Book now")
    everywhere = Focus(Box(0, 0, 1080, 1080), "saliency", 0.0)
    probe = render(Image.new("RGB", (1080, 1080), "black"), "1080x1080", copy, focus=everywhere)
    headline = next(b.box for b in probe.text_boxes if b.role == "headline")
    top = min(headline.top, probe.cta_button.top)
    split = 64 + (headline.bottom + probe.cta_button.top) // 2 - top  # between them, at the top position
    image = noise((1080, 1080))
    image.paste((255, 255, 255), (0, 0, 1080, 540))
    image.paste((0, 0, 0), (0, 0, 1080, split))
    rendered = render(image, "1080x1080", copy, focus=everywhere)
    assert not rendered.scrim_used and all(b.box.top >= 64 and b.box.bottom <= 540 for b in rendered.text_boxes)
    assert [b.colour for b in rendered.text_boxes if b.role == "headline"] == [(255, 255, 255)]
    button = rendered.cta_button
    fill = tuple(np.asarray(rendered.image)[button.top + 2, (button.left + button.right) // 2].tolist())
    assert fill == (17, 17, 17)
    assert [b.colour for b in rendered.text_boxes if b.role == "cta"] == [(255, 255, 255)]


def test_noise_gets_a_scrim_behind_the_text_only(tmp_path):
    rendered = render(noise(), "1080x1080", COPY)
    assert rendered.scrim_used and rendered.scrim_boxes
    image = check_ad(rendered, tmp_path, "noise")
    # Far from the text the photo is untouched: the scrim is local, not a full-frame dimming.
    source = np.asarray(noise().resize((1080, 1080), Image.Resampling.LANCZOS)).astype(int)
    corner = np.asarray(image).astype(int)
    text_area = Box(min(b.box.left for b in rendered.text_boxes), min(b.box.top for b in rendered.text_boxes),
                    max(b.box.right for b in rendered.text_boxes), max(b.box.bottom for b in rendered.text_boxes))
    untouched = np.ones((1080, 1080), dtype=bool)
    untouched[max(0, text_area.top - 40):text_area.bottom + 40, max(0, text_area.left - 40):text_area.right + 40] = False
    if rendered.cta_button:
        b = rendered.cta_button
        untouched[b.top:b.bottom, b.left:b.right] = False
    assert np.abs(corner[untouched] - source[untouched]).max() <= 2


def test_text_moves_to_a_calm_region_before_any_scrim():
    # Noise everywhere except a black band at the top: the bottom (the preferred spot) fails for
    # both colours, so the text must move up, in white, with no scrim.
    image = noise((1080, 1080))
    image.paste((0, 0, 0), (0, 0, 1080, 540))
    rendered = render(image, "1080x1080", COPY, focus=Focus(Box(0, 0, 1080, 1080), "saliency", 0.0))
    assert not rendered.scrim_used
    assert all(b.box.bottom <= 540 for b in rendered.text_boxes)
    assert {b.colour for b in rendered.text_boxes if b.role == "headline"} == {(255, 255, 255)}


def test_text_avoids_the_subject_when_it_can():
    # A plain white picture with the subject in the lower half: text goes to the top.
    image = Image.new("RGB", (1080, 1080), "white")
    subject = Box(200, 600, 880, 1000)
    rendered = render(image, "1080x1080", COPY, focus=Focus(subject, "saliency", 1.0))
    assert all(b.box.overlap(subject) == 0 for b in rendered.text_boxes)


def test_long_headlines_wrap_and_shrink_but_never_overflow(tmp_path):
    short = render(Image.new("RGB", (900, 900), "black"), "1080x1080", CopyVariant(headline="Sunlit beaches", body="",
                                                                                    cta="Go"))
    long_copy = CopyVariant(headline="Sunlit beaches, quiet coves and long warm evenings for the whole family, "
                                     "all summer long on the southern coast of Portugal", body="", cta="Book now")
    long = render(Image.new("RGB", (900, 900), "black"), "1080x1080", long_copy)
    check_ad(long, tmp_path, "long")
    headline = [b for b in long.text_boxes if b.role == "headline"]
    assert len(headline) >= 3
    assert " ".join(b.text for b in headline) == long_copy.headline  # wrapped, nothing lost
    short_height = [b for b in short.text_boxes if b.role == "headline"][0].box.height
    assert headline[0].box.height < short_height  # and set smaller
    assert not long.notes


def test_a_headline_too_long_for_a_banner_is_shortened_visibly(tmp_path):
    copy = CopyVariant(headline="An extraordinarily long headline that no mobile banner could ever hold on its "
                                "two short lines without shrinking the letters below anything readable",
                       body="", cta="Shop now")
    rendered = render(Image.new("RGB", (640, 100), "white"), "320x50", copy)
    check_ad(rendered, tmp_path, "banner")
    assert rendered.notes == ["headline shortened to fit the format"]
    lines = [b.text for b in rendered.text_boxes if b.role == "headline"]
    assert lines[-1].endswith("…") and not lines[-1].endswith("……")
    assert copy.headline.startswith(" ".join(lines)[:-1].rstrip())  # the start of the copy, cut once
    # The stacked layout of a small display unit shortens the same way, after shrinking first.
    rectangle = render(Image.new("RGB", (600, 500), "white"), "300x250",
                       CopyVariant(headline=" ".join([copy.headline] * 3), body="", cta="Shop now"))
    check_ad(rectangle, tmp_path, "rectangle")
    assert rectangle.notes == ["headline shortened to fit the format"]
    assert [b.text for b in rectangle.text_boxes if b.role == "headline"][-1].endswith("…")


def test_body_shows_where_the_format_shows_it():
    image = Image.new("RGB", (900, 900), "black")
    assert any(b.role == "body" for b in render(image, "1080x1080", COPY).text_boxes)
    assert not any(b.role == "body" for b in render(image, "1080x1920", COPY).text_boxes)
    assert not any(b.role == "body" for b in render(image, "1080x1080", COPY, include_body=False).text_boxes)


def test_saliency_crop_keeps_a_red_square_off_centre():
    image = Image.new("RGB", (900, 300), (235, 235, 235))
    square = Box(650, 100, 750, 200)
    image.paste((220, 20, 30), square.as_tuple())
    focus = find_focus(image, 1.0)
    assert focus.method == "saliency"
    crop = focus.crop
    assert crop == crop_box(image.size, 1.0, focus.box) and crop.width == crop.height == 300
    assert crop.contains(square)  # a centre crop (300..600) would cut it out
    rendered = render(image, "1080x1080", CopyVariant(headline="Red", body="", cta="Go"), focus=focus)
    assert rendered.crop_box == crop
    red = np.asarray(rendered.image).astype(int)
    assert ((red[..., 0] > 180) & (red[..., 1] < 80) & (red[..., 2] < 80)).sum() > 0.05 * 1080 * 1080


def test_subject_focus_follows_the_brief_with_the_library_model(offline_encoder):
    # A coffee cup on the left, a cat on the right; the model should find each by its name.
    canvas = Image.new("RGB", (1200, 300), (128, 128, 128))
    canvas.paste(photo("cup-of-coffee-on-saucer.png").resize((450, 300)), (0, 0))
    canvas.paste(photo("tabby-cat-chelsea.png"), (1200 - 451, 0))
    for subject, side in (("a cat", "right"), ("a cup of coffee", "left")):
        focus = find_focus(canvas, 1.0, subject, offline_encoder)
        assert focus.method == "subject" and focus.subject == subject
        assert focus.crop.width == focus.crop.height == 300 and focus.crop.contains(focus.box)
        assert (focus.crop.center[0] > 600) == (side == "right"), (subject, focus)
        assert (focus.box.center[0] > 600) == (side == "right"), (subject, focus)


def test_subject_focus_runs_on_an_open_clip_model(tiny_encoder):
    image = photo("spacex-rocket-launch.jpg")
    focus = find_focus(image, 1080 / 1920, "a rocket", tiny_encoder)
    assert focus.method == "subject"
    assert Box(0, 0, *image.size).contains(focus.crop) and focus.crop.contains(focus.box)
    assert focus.crop.height == image.height  # the largest 9:16 window of a landscape photo
    assert focus.crop.width / focus.crop.height == pytest.approx(1080 / 1920, rel=0.01)
    assert focus.box.width / focus.box.height == pytest.approx(1080 / 1920, rel=0.03)
    rendered = render(image, "1080x1920", COPY, focus=focus)
    assert rendered.crop_box == focus.crop
    # A focus found for another shape still renders: the crop is then centred on its box.
    square = render(image, "1080x1080", COPY, focus=focus)
    assert square.crop_box == crop_box(image.size, 1.0, focus.box)


def test_a_custom_font_file_is_used_and_a_bad_one_is_a_clear_error(tmp_path):
    regular = Typeface.default().regular
    rendered = render(Image.new("RGB", (900, 900), "white"), "1080x1080", COPY, font=regular)
    check_ad(rendered, tmp_path, "regular")
    bad = tmp_path / "not-a-font.ttf"
    bad.write_text("hello")
    with pytest.raises(ConfigError, match="cannot be loaded"):
        render(Image.new("RGB", (900, 900), "white"), "1080x1080", COPY, font=bad)


def test_text_the_font_cannot_draw_is_noted_for_the_reviewer():
    greek = render(Image.new("RGB", (900, 900), "black"), "1080x1080",
                   CopyVariant(headline="Καλοκαίρι στη θάλασσα", body="", cta="Κράτηση"))
    assert greek.notes == []
    japanese = render(Image.new("RGB", (900, 900), "black"), "1080x1080",
                      CopyVariant(headline="夏の海 Summer sea", body="", cta="Book"))
    assert len(japanese.notes) == 1 and "'の夏海'" in japanese.notes[0]


def test_bad_inputs_are_clear_errors(tmp_path):
    image = Image.new("RGB", (100, 100), "white")
    with pytest.raises(ConfigError, match="no headline"):
        render(image, "1080x1080", CopyVariant(headline="  ", body="", cta="Go"))
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        render(image, "big", COPY)
    with pytest.raises(ConfigError, match="no room"):
        render(image, "16x16", COPY)
    rendered = render(image, "1080x1080", COPY)
    for stem in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(ConfigError, match="plain file name"):
            save(rendered, tmp_path, stem)
    assert list(tmp_path.iterdir()) == []


def test_files_are_srgb_png_and_quality_jpeg(tmp_path):
    png, jpeg = save(render(photo("pink-flower-closeup.jpg"), AdFormat(1200, 628), COPY), tmp_path, "flower")
    assert (png.name, jpeg.name) == ("flower.png", "flower.jpg")
    for path in (png, jpeg):
        with Image.open(path) as image:
            assert image.info.get("icc_profile"), "tagged sRGB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flower.jpg", "flower.png"]  # no temp files left


def test_a_transparent_image_is_composited_on_white():
    logo = Image.new("RGBA", (400, 400), (0, 0, 0, 0))  # fully transparent black
    rendered = render(logo, "1080x1080", COPY)
    assert np.asarray(rendered.image)[5, 5].tolist() == [255, 255, 255]
    assert {b.colour for b in rendered.text_boxes if b.role == "headline"} == {(17, 17, 17)}


def test_manifest_summary_records_what_was_decided():
    summary = render(noise(), "1080x1920", COPY).to_dict()
    json.dumps(summary)
    assert summary["min_contrast_jpeg"] >= 4.5
    assert summary["format"] == "1080x1920" and summary["placement"] == "stories-reels"
    assert summary["scrim_used"] is True and summary["min_contrast"] >= 4.5
    assert summary["focus"]["method"] == "saliency"
    assert {t["role"] for t in summary["text"]} == {"headline", "cta"}
