"""Grounding on sample_assets with the offline model: references the photo shows pass, references
it does not show are flagged for the reviewer, never silently passed."""

from __future__ import annotations

import dataclasses

import pytest

from generation.copy import CopyVariant
from generation.grounding import NOTHING_REFERENCED, ground
from indexer.errors import ConfigError

COFFEE = "cup-of-coffee-on-saucer.png"

# Photos whose subject the offline model recognises, and a reference true of each.
KNOWN = {
    "tabby-cat-chelsea.png": "cat",
    COFFEE: "coffee",
    "chinese-temple-summer-palace.jpg": "palace",
    "spacex-rocket-launch.jpg": "rocket",
    "cameraman-with-tripod-camera.png": "tripod",
}


def variant(*references: str) -> CopyVariant:
    return CopyVariant(headline="Headline", body="Body copy.", cta="Book now", references=list(references))


def test_a_beach_on_the_coffee_photo_is_flagged_and_the_coffee_passes(sample_facts, offline_encoder):
    facts = sample_facts(COFFEE)
    beach, coffee = ground([variant("beach"), variant("a cup of coffee", "espresso")], facts, offline_encoder)
    assert beach.flags and beach.flags[0].startswith("not shown: 'beach'")
    assert [c.shown for c in beach.grounding] == [False]
    assert coffee.flags == []
    assert all(c.shown and c.kind == "label" and c.z >= 3.0 for c in coffee.grounding)


def test_each_photos_own_subject_passes_and_the_others_subjects_do_not(sample_facts, offline_encoder):
    for name, own in KNOWN.items():
        facts = sample_facts(name)
        others = [ref for other, ref in KNOWN.items() if other != name]
        checked = ground([variant(own), *[variant(ref) for ref in others]], facts, offline_encoder)
        assert checked[0].flags == [], (name, checked[0].grounding)
        for other in checked[1:]:
            assert other.flags and other.flags[0].startswith("not shown"), (name, other.grounding)


def test_colours_are_checked_against_the_pixels(sample_facts, offline_encoder):
    facts = sample_facts(COFFEE)
    dominant = facts.colours[0].name
    absent = next(c for c in ("blue", "turquoise", "green", "purple") if c not in facts.visible_elements())
    shown, missing = ground([variant(dominant), variant(absent)], facts, offline_encoder)
    assert shown.flags == [] and shown.grounding[0].kind == "colour"
    assert missing.flags and "dominant colours" in missing.flags[0]


def test_text_in_the_image_counts_as_shown(sample_facts, offline_encoder):
    facts = dataclasses.replace(sample_facts(COFFEE), text="CAFÉ DO MAR - OPEN DAILY")
    (checked,) = ground([variant("Open daily")], facts, offline_encoder)
    assert checked.flags == [] and checked.grounding[0].kind == "text"


def test_copy_that_references_nothing_is_flagged(sample_facts, offline_encoder):
    (checked,) = ground([variant()], sample_facts(COFFEE), offline_encoder)
    assert checked.flags == [NOTHING_REFERENCED]


def test_grounding_with_another_model_is_refused(sample_facts, tiny_encoder):
    with pytest.raises(ConfigError, match="model"):
        ground([variant("coffee")], sample_facts(COFFEE), tiny_encoder)
