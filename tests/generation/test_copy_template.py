"""The offline template writer on sample_assets with the offline model: three distinct variants
within the limits, in the brief's language, each about something the photo shows."""

from __future__ import annotations

import pytest

from generation.briefs import Brief
from generation.copy import COPY_WRITERS, CopyWriterOptions, load_copy_writer
from generation.copy.template import TemplateWriter
from generation.grounding import ground
from generation.limits import CopyLimits, check, limits_for_formats
from indexer.errors import ComponentUnavailable, ConfigError

CAT = "tabby-cat-chelsea.png"
COFFEE = "cup-of-coffee-on-saucer.png"


def brief(**fields) -> Brief:
    values = {"id": "lisbon", "subject": "Lisbon", "selling_points": ["Three nights from 299 EUR"],
              "audience": "couples", "formats": ["1080x1080", "1200x628", "1080x1920"]}
    return Brief(**{**values, **fields})


def test_the_default_writer_without_an_endpoint_is_the_template():
    writer = load_copy_writer(None, CopyWriterOptions())
    assert isinstance(writer, TemplateWriter)


def test_unknown_writer_and_openai_without_endpoint_are_clear_errors():
    with pytest.raises(ComponentUnavailable, match="copy writer"):
        COPY_WRITERS.loader("shakespeare")
    with pytest.raises(ConfigError, match="SCOUT_COPY_BASE_URL"):
        load_copy_writer("openai", CopyWriterOptions())


def test_three_distinct_variants_within_limits_about_the_cat(sample_facts):
    facts = sample_facts(CAT)
    the_brief = brief()
    variants = TemplateWriter().write(the_brief, facts)
    limits = limits_for_formats(the_brief.formats)
    assert len(variants) == 3
    assert len({v.headline for v in variants}) == 3 and len({v.body for v in variants}) == 3
    assert {v.angle for v in variants} == {"place", "mood", "offer"}
    visible = set(facts.visible_elements())
    for variant in variants:
        assert check(variant, limits) == [] and variant.flags == []
        assert variant.references and set(variant.references) <= visible
        assert any("cat" in r or "tabby" in r for r in variant.references)
        assert "rocket" not in f"{variant.headline} {variant.body}".lower()
        assert (variant.writer, variant.language) == ("template", "en")


def test_the_coffee_photo_gets_coffee_copy_that_grounding_confirms(sample_facts, offline_encoder):
    facts = sample_facts(COFFEE)
    variants = ground(TemplateWriter().write(brief(), facts), facts, offline_encoder)
    for variant in variants:
        text = f"{variant.headline} {variant.body}".lower()
        assert "espresso" in text or "coffee" in text
        assert variant.flags == [] and all(check.shown for check in variant.grounding)


@pytest.mark.parametrize("language, word", [("de-DE", "Katze"), ("fr", "chat"), ("es", "gato")])
def test_copy_in_the_briefs_language_with_english_references(sample_facts, language, word):
    variants = TemplateWriter().write(brief(language=language, audience=""), sample_facts(CAT))
    english = TemplateWriter().write(brief(audience=""), sample_facts(CAT))
    assert all(v.language == language[:2] for v in variants)
    assert {v.body for v in variants}.isdisjoint({v.body for v in english})
    assert any(word in v.headline or word in v.body for v in variants)
    assert any("cat" in v.references for v in variants)  # grounding scores the English key


def test_an_unsupported_language_is_english_flagged_for_the_reviewer(sample_facts):
    variants = TemplateWriter().write(brief(language="it"), sample_facts(CAT))
    assert all(v.language == "en" for v in variants)
    assert all(any(f.startswith("language-fallback") and "'it'" in f for f in v.flags) for v in variants)


def test_the_same_brief_and_image_give_the_same_copy(sample_facts):
    first = TemplateWriter().write(brief(), sample_facts(CAT))
    again = TemplateWriter().write(brief(), sample_facts(CAT))
    assert [v.model_dump() for v in first] == [v.model_dump() for v in again]


def test_tight_limits_are_met_and_cuts_are_flagged(sample_facts):
    limits = CopyLimits(headline=14, body=32, cta=9, platforms=("test",))
    variants = TemplateWriter().write(brief(subject="Lisbon and the Tagus estuary"), sample_facts(CAT), limits=limits)
    for variant in variants:
        assert check(variant, limits) == []
    assert any(f.startswith("shortened") for v in variants for f in v.flags)


def test_must_avoid_keeps_an_element_out_and_must_show_brings_one_in(sample_facts):
    facts = sample_facts(CAT)
    names = [label.name for label in facts.labels]
    avoided = TemplateWriter().write(brief(must_avoid=names[:1]), facts)
    assert all(names[0] not in v.references for v in avoided)
    shown = TemplateWriter().write(brief(must_show=[names[-1]]), facts)
    assert names[-1] in shown[0].references


def test_more_than_three_variants_still_differ(sample_facts):
    variants = TemplateWriter().write(brief(), sample_facts(COFFEE), n=5)
    assert len(variants) == 5 and len({(v.headline, v.body) for v in variants}) == 5
