"""The brand-safety gate of the creative pipeline: finished ads judged (picture, text on it, copy)
before review, blocked ads kept out of the panel, blocked assets never reused."""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageDraw, ImageFont

from generation.align.threshold import ReuseThreshold
from generation.briefs import Brief
from generation.check import AdChecker, blocked_variants
from generation.copy.template import TemplateWriter
from generation.package import package_stages
from generation.retrieve import RetrieveSettings, brief_queries
from generation.run import brief_run
from indexer.safety import load_policy
from search.engine import Searcher
from tests.conftest import SAMPLE_PHOTOS

FONT = "generation/fonts/DejaVuSans-Bold.ttf"


@pytest.fixture(scope="module")
def checker(offline_encoder):
    return AdChecker(load_policy(), offline_encoder)


def ad(photo: str, headline: str) -> Image.Image:
    image = Image.open(SAMPLE_PHOTOS / photo).convert("RGB").resize((1080, 1080))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 900, 1080, 1080], fill=(20, 20, 20))
    draw.text((60, 950), headline, font=ImageFont.truetype(FONT, 64), fill="white")
    return image


def test_words_rendered_on_an_ad_are_read_and_judged(checker):
    unsafe = checker.check(ad("pink-flower-closeup.jpg", "Buy cocaine tonight"))
    assert unsafe.decision.verdict == "block" and "drugs" in unsafe.decision.categories
    assert any(s.source == "words" and "cocaine" in s.evidence["snippet"].lower() for s in unsafe.signals)
    fine = checker.check(ad("cup-of-coffee-on-saucer.png", "Fresh roast, every morning"))
    assert fine.decision.verdict == "safe", fine.decision.reasons


def test_the_copy_counts_even_where_the_picture_carries_no_text(checker):
    plain = Image.open(SAMPLE_PHOTOS / "tabby-cat-chelsea.png")
    assert checker.check(plain).decision.verdict == "safe"
    assert checker.check(plain, copy="Free porn, click now").decision.verdict == "block"


def test_blocked_variants_are_read_from_the_manifest():
    manifest = {"safety": {"ads": [{"variant": 1, "format": "1080x1080", "verdict": "safe"},
                                   {"variant": 2, "format": "1080x1080", "verdict": "block"},
                                   {"variant": 2, "format": "1200x628", "verdict": "review"}]}}
    assert blocked_variants(manifest) == {2}
    assert blocked_variants({}) == set()


def test_retrieve_never_pools_blocked_assets():
    brief = Brief(id="b", subject="a cat", formats=["1080x1080"])
    assert all(q.query.filters.safety == "not-blocked" for q in brief_queries(brief, RetrieveSettings()))


def test_a_brief_run_checks_every_rendered_ad_before_review(sample_library, offline_encoder, tmp_path):
    library, _ = sample_library
    brief = Brief(id="beijing", subject="the Summer Palace in Beijing", selling_points=["imperial architecture"],
                  must_show=["a palace"], candidates=1, formats=["1080x1080", "1200x628"])
    reuse_anything = ReuseThreshold(-1.0, "clip:*", "this test judges ads, not the reuse decision")
    runner = brief_run(Searcher(library, offline_encoder), tmp_path / "out", threshold=reuse_anything,
                       extra_stages=package_stages(TemplateWriter(), library, offline_encoder))
    runner.run([brief])
    manifest = json.loads((tmp_path / "out" / "beijing" / "manifest.json").read_text())
    safety = manifest["safety"]
    assert safety["status"] == "checked" and safety["policy"].startswith("garm-floor-1@")
    rendered = {(v["variant"], f) for v in manifest["renders"]["variants"] for f in v["formats"]}
    assert {(a["variant"], a["format"]) for a in safety["ads"]} == rendered
    assert safety["verdict"] == "safe" and not blocked_variants(manifest), safety["ads"]
    assert "safety" in manifest["timings"]
