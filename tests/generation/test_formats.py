"""Ad formats: parsing, the placement each size stands for, and its safe area."""

from __future__ import annotations

import pytest

from generation.formats import DEFAULT_MARGIN, PLACEMENTS, AdFormat, Box
from indexer.errors import ConfigError


@pytest.mark.parametrize("text", ["1080x1920", " 1080 X 1920 ", "1080×1920"])
def test_parse_accepts_the_usual_spellings(text):
    fmt = AdFormat.parse(text)
    assert fmt == AdFormat(1080, 1920)
    assert fmt.name == str(fmt) == "1080x1920"
    assert fmt.aspect == pytest.approx(0.5625)


@pytest.mark.parametrize("text", ["", "1080", "axb", "1080x", "x1920", "1080x1920x3", "-100x100", "10.5x20",
                                  "1080 by 1920", None, 1080])
def test_junk_is_a_config_error_with_a_hint(text):
    with pytest.raises(ConfigError) as info:
        AdFormat.parse(text)
    assert "WIDTHxHEIGHT" in info.value.message
    assert "1080x1080" in info.value.hint


@pytest.mark.parametrize("text", ["0x0", "15x100", "100x15", "9000x100", "100000x100000"])
def test_absurd_sizes_are_refused(text):
    with pytest.raises(ConfigError, match="between 16 and 4096 pixels"):
        AdFormat.parse(text)


def test_impossible_shapes_are_refused():
    with pytest.raises(ConfigError, match="no ad placement has that shape"):
        AdFormat.parse("4000x100")


def test_sides_must_be_whole_pixels():
    with pytest.raises(ConfigError, match="whole pixels"):
        AdFormat(1080.0, 1080)


@pytest.mark.parametrize("size, key", [
    ("1080x1080", "feed-square"), ("1080x1350", "feed-portrait"), ("1200x628", "link-landscape"),
    ("1080x1920", "stories-reels"), ("300x250", "medium-rectangle"), ("728x90", "leaderboard"),
    ("160x600", "skyscraper"), ("320x50", "smartphone-banner"), ("970x250", "billboard"),
    # Same shape within 1 %: LinkedIn's 1200x627, a 1440x2560 story, a retina medium rectangle.
    ("1200x627", "link-landscape"), ("1440x2560", "stories-reels"), ("600x500", "medium-rectangle"),
])
def test_each_common_size_stands_for_its_placement(size, key):
    fmt = AdFormat.parse(size)
    assert fmt.placement.key == key
    assert fmt.placement.sources, "every placement cites where its numbers come from"
    assert fmt.placement.description in fmt.describe()


def test_story_safe_area_keeps_clear_of_meta_and_tiktok_interface():
    safe = AdFormat.parse("1080x1920").safe_area
    # Meta Reels: top 14 %, bottom 35 %, sides 6 %; TikTok: right 150 px (its like/comment rail).
    assert safe == Box(left=65, top=269, right=930, bottom=1248)
    assert safe.top >= 0.14 * 1920 and 1920 - safe.bottom >= 0.35 * 1920
    assert safe.left >= 0.06 * 1080 and 1080 - safe.right >= 150


def test_a_larger_story_gets_the_same_safe_area_scaled():
    safe = AdFormat.parse("1440x2560").safe_area
    assert safe.top >= 0.14 * 2560 - 1 and 2560 - safe.bottom >= 0.35 * 2560 - 1
    assert 1440 - safe.right >= 150 * 1440 / 1080 - 1


def test_feed_formats_keep_a_64_pixel_margin():
    assert AdFormat.parse("1080x1080").safe_area == Box(64, 64, 1016, 1016)
    assert AdFormat.parse("1080x1350").safe_area == Box(64, 64, 1016, 1286)
    assert AdFormat.parse("1200x628").safe_area == Box(37, 37, 1163, 591)  # 64/1080 of 628 = 37


@pytest.mark.parametrize("size", [f"{w}x{h}" for (w, h), p in PLACEMENTS.items() if p.key.startswith(
    ("medium", "large", "leader", "super", "bill", "sky", "half", "portrait", "smartphone"))])
def test_display_units_leave_the_adchoices_corner_and_a_border_free(size):
    fmt = AdFormat.parse(size)
    safe = fmt.safe_area
    adchoices = Box(fmt.width - 19, 0, fmt.width, 15)  # 19x15, top-right (Google Ad Manager help)
    assert safe.overlap(adchoices) == 0
    border = max(4, round(0.04 * min(fmt.width, fmt.height)))
    assert safe.left >= border and safe.top >= border
    assert fmt.width - safe.right >= border and fmt.height - safe.bottom >= border
    assert not fmt.shows_body


def test_the_adchoices_strip_is_the_cheaper_one():
    # 300x250: a 15 px top strip costs 4500 px², a 19 px right strip 4750 px²: the top one is cut.
    assert AdFormat.parse("300x250").safe_area == Box(10, 25, 290, 240)
    # 728x90: the right strip (1710 px²) is far cheaper than the top one (10920 px²).
    assert AdFormat.parse("728x90").safe_area == Box(4, 4, 705, 86)


def test_unknown_sizes_get_the_default_margin():
    fmt = AdFormat.parse("1000x700")
    assert fmt.placement is None
    margin = round(DEFAULT_MARGIN * 700)
    assert margin == 41
    assert fmt.safe_area == Box(41, 41, 959, 659)
    assert fmt.shows_body
    assert "default margins" in fmt.describe()
    small = AdFormat.parse("100x40")
    assert small.safe_area == Box(4, 4, 96, 36)  # never under 4 px
    assert not small.shows_body


@pytest.mark.parametrize("size", [f"{w}x{h}" for w, h in PLACEMENTS] + ["1000x700", "777x333", "16x16"])
def test_every_safe_area_lies_inside_its_canvas(size):
    fmt = AdFormat.parse(size)
    safe = fmt.safe_area
    assert Box(0, 0, fmt.width, fmt.height).contains(safe)
    assert safe.width > 0 and safe.height > 0


def test_feed_and_link_formats_show_body_copy_stories_do_not():
    assert AdFormat.parse("1080x1080").shows_body and AdFormat.parse("1200x628").shows_body
    assert not AdFormat.parse("1080x1920").shows_body
