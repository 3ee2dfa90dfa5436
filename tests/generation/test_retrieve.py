"""Retrieve: a brief's aspects as queries over the sample library, pooled by asset."""

from __future__ import annotations

from pathlib import Path

import pytest

from generation.briefs import Brief
from generation.retrieve import AVOID_WEIGHT, RetrieveSettings, brief_queries, retrieve
from search.query import Filters, Part


@pytest.fixture(scope="module")
def searcher(sample_searcher):
    return sample_searcher


def names(pool) -> list[str]:
    return [Path(c.path).name for c in pool]


def test_one_query_per_aspect_with_must_avoid_as_negative_parts():
    brief = Brief(id="b", subject="Lisbon", selling_points=["trams", "fado"], tone="nostalgic",
                  audience="couples", must_show=["a tram"], must_avoid=["cars"])
    queries = brief_queries(brief, RetrieveSettings(per_query=5))
    assert [(q.aspect, q.text) for q in queries] == [
        ("subject", "Lisbon"), ("selling_point 1", "trams"), ("selling_point 2", "fado"),
        ("tone", "nostalgic"), ("must_show 1", "a tram")]
    for q in queries:
        assert q.query.parts == (Part(q.text), Part("cars", -AVOID_WEIGHT))
        assert q.query.limit == 5 and q.query.include_all


def test_pool_is_deduplicated_and_remembers_which_aspects_found_each(searcher):
    brief = Brief(id="b", subject="the Summer Palace in Beijing", selling_points=["a palace by the lake"],
                  must_show=["espresso"])
    pool = retrieve(searcher, brief, RetrieveSettings(per_query=3))
    assert len(names(pool)) == len(set(names(pool))) <= 9
    by_name = {Path(c.path).name: c for c in pool}
    assert names(pool)[0] in ("chinese-temple-summer-palace.jpg", "cup-of-coffee-on-saucer.png")
    assert {"subject", "selling_point 1"} <= set(by_name["chinese-temple-summer-palace.jpg"].found_by)
    assert "must_show 1" in by_name["cup-of-coffee-on-saucer.png"].found_by


def test_must_avoid_pushes_a_photo_down(searcher):
    plain = retrieve(searcher, Brief(id="b", subject="a pet"), RetrieveSettings(per_query=18))
    avoiding = retrieve(searcher, Brief(id="b", subject="a pet", must_avoid=["a cat"]), RetrieveSettings(per_query=18))
    assert "tabby-cat-chelsea.png" in names(plain)[:2]
    assert names(avoiding).index("tabby-cat-chelsea.png") >= 3


def test_filters_apply_to_every_aspect_query(searcher, sample_library):
    _, root = sample_library
    settings = RetrieveSettings(per_query=18, filters=Filters(formats=("jpeg",)))
    pool = retrieve(searcher, Brief(id="b", subject="a palace", selling_points=["coffee"]), settings)
    assert pool and all(name.endswith(".jpg") for name in names(pool))


def test_earlier_generated_images_can_be_left_out_and_blocked_or_restricted_ones_always_are():
    settings = RetrieveSettings(include_generated=False, filters=Filters(formats=("png",)))
    [query] = brief_queries(Brief(id="b", subject="Lisbon"), settings)
    assert query.query.filters == Filters(formats=("png",), generated=False, safety="not-blocked",
                                          exclude_flagged=True)
    default = brief_queries(Brief(id="b", subject="Lisbon"))[0].query.filters
    assert (default.generated, default.safety, default.exclude_flagged) == (None, "not-blocked", True)
