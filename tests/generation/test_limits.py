"""Copy length limits: each number cited, formats mapped to the platforms they run on, the
strictest one wins, and check() names every problem."""

from __future__ import annotations

import pytest

from generation import formats
from generation.copy import CopyVariant
from generation.limits import PLATFORMS, CopyLimits, check, limits_for_formats, platforms_for_format
from indexer.errors import ConfigError


def test_every_platform_has_its_numbers_and_a_source():
    for platform in PLATFORMS.values():
        assert platform.headline > 0 and platform.body > platform.headline and platform.cta > 0
        assert platform.sources and all(s.startswith("https://") for s in platform.sources)


def test_the_cited_numbers():
    assert (PLATFORMS["meta-feed"].headline, PLATFORMS["meta-feed"].body) == (40, 125)
    assert (PLATFORMS["google-display"].headline, PLATFORMS["google-display"].body) == (30, 90)
    assert (PLATFORMS["linkedin-feed"].headline, PLATFORMS["linkedin-feed"].body) == (70, 150)


def test_formats_map_to_the_platforms_they_run_on():
    assert [p.name for p in platforms_for_format("1080x1080")] == ["meta-feed"]
    assert [p.name for p in platforms_for_format("1080x1920")] == ["meta-stories"]
    assert {"google-display", "linkedin-feed"} <= {p.name for p in platforms_for_format("1200x628")}
    assert [p.name for p in platforms_for_format(formats.AdFormat.parse("300x250"))] == ["google-display"]


def test_every_placement_formats_knows_has_copy_limits():
    from generation.limits import _PLATFORMS_BY_PLACEMENT

    assert {p.key for p in formats.PLACEMENTS.values()} <= set(_PLATFORMS_BY_PLACEMENT)


def test_a_brief_gets_the_strictest_limits_of_its_formats():
    feed_only = limits_for_formats(["1080x1080"])
    assert (feed_only.headline, feed_only.body) == (40, 125)
    mixed = limits_for_formats(["1080x1080", "1200x628", "1080x1920"])
    assert (mixed.headline, mixed.body, mixed.cta) == (30, 90, 30)
    assert {"meta-feed", "meta-stories", "google-display"} <= set(mixed.platforms)


def test_an_unknown_size_or_no_format_gets_every_platforms_limits():
    strictest = limits_for_formats([])
    assert set(strictest.platforms) == set(PLATFORMS)
    assert limits_for_formats(["1000x333"]).headline == strictest.headline == 30


def test_a_bad_format_is_a_clear_error():
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        limits_for_formats(["square"])


def test_check_names_every_problem():
    limits = CopyLimits(headline=10, body=20, cta=5, platforms=("meta-feed",))
    fits = CopyVariant(headline="Short", body="A short body.", cta="Go")
    assert check(fits, limits) == []
    problems = check(CopyVariant(headline="A headline far too long", body="ok", cta=" "), limits)
    assert problems == ["headline is 23 characters, over the 10 allowed (meta-feed)", "cta is empty"]
