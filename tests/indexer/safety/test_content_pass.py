"""``scout safety``'s work on a real library: OCR'd words, stored vectors and pixels judged together,
stored with evidence, incremental, re-judged when the policy changes, and usable as a filter."""

from __future__ import annotations

import shutil

import pytest

from indexer.library import Library
from indexer.safety import load_policy
from indexer.safety.library_run import judge_library, stored_policy
from indexer.safety.policy import default_policy_text, parse_policy
from search.engine import Searcher
from search.query import Filters, Part, Query
from tests.conftest import SAMPLE_PHOTOS, index_folder
from tests.indexer.test_ocr import render_text_photo


@pytest.fixture(scope="module")
def judged(tmp_path_factory, offline_encoder):
    base = tmp_path_factory.mktemp("safety")
    root = base / "assets"
    render_text_photo(root / "flower-ad.jpg", "Buy c0ca1ne tonight", photo="pink-flower-closeup.jpg", width=1200)
    render_text_photo(root / "coffee-ad.jpg", "Killer deals", width=1200)
    for name in ("tabby-cat-chelsea.png", "cup-of-coffee-on-saucer.png"):
        shutil.copy(SAMPLE_PHOTOS / name, root / name)
    library, _ = index_folder(base / "lib", [root], offline_encoder)
    first = judge_library(library, offline_encoder, ocr=True)
    ids = {name: library.catalog.asset_by_path(str(root / name)).id
           for name in ("flower-ad.jpg", "coffee-ad.jpg", "tabby-cat-chelsea.png", "cup-of-coffee-on-saucer.png")}
    yield library, ids, first
    library.close()


def verdict(library, asset_id):
    return library.catalog.safety(library.catalog.asset(asset_id).hash)


def test_obfuscated_words_in_the_picture_block_it_with_the_ocr_snippet_as_evidence(judged):
    library, ids, first = judged
    assert first.safety.done == 4 and first.ocr.done == 4
    row = verdict(library, ids["flower-ad.jpg"])
    assert row.verdict == "block" and "drugs" in row.categories
    evidence = next(s for r in row.reasons if r["key"] == "drugs" for s in r["signals"] if s["source"] == "words")
    assert evidence["evidence"]["word"] == "cocaine" and "c0ca" in evidence["evidence"]["snippet"].lower()  # OCR may read 1 as l


def test_an_unsafe_looking_idiom_on_a_harmless_photo_and_plain_photos_are_safe(judged):
    library, ids, _ = judged
    for name in ("coffee-ad.jpg", "tabby-cat-chelsea.png", "cup-of-coffee-on-saucer.png"):
        row = verdict(library, ids[name])
        assert row.verdict == "safe", (name, row.reasons)
    idiom = verdict(library, ids["coffee-ad.jpg"])
    assert any(s["source"] == "words" and s["ambiguous"] for s in idiom.signals)  # seen, and judged harmless


def test_a_second_run_judges_nothing_and_a_changed_policy_judges_everything_again(judged, offline_encoder):
    library, ids, _ = judged
    assert judge_library(library, offline_encoder).safety.done == 0
    strict = parse_policy(default_policy_text().replace("version: garm-floor-1", "version: kids-brand").replace(
        "    label: Death, injury or military conflict\n    risk: medium",
        "    label: Death, injury or military conflict\n    risk: medium\n    ambiguous: []"
    ).replace("    ambiguous: [killer, dead, deadly, die, dying, slaughter, crash]\n", "").replace(
        "words: [corpse,", "words: [killer, corpse,"))
    again = judge_library(library, offline_encoder, strict)
    assert again.safety.done == 4
    assert verdict(library, ids["coffee-ad.jpg"]).verdict == "review"  # "killer" is a plain word to this client
    assert stored_policy(library).version == "kids-brand"  # later runs and the brief pipeline use it
    judge_library(library, offline_encoder, load_policy())


def test_search_can_leave_out_blocked_assets_or_keep_only_safe_ones(judged, offline_encoder):
    library, ids, _ = judged
    reader = Library.open(library.path, readonly=True)
    searcher = Searcher(reader, offline_encoder)

    def found(safety):
        query = Query(parts=(Part("a flower"),), filters=Filters(safety=safety), include_all=True, limit=10)
        return {hit.asset.id for hit in searcher.search(query).hits}

    assert ids["flower-ad.jpg"] in found(None)
    assert ids["flower-ad.jpg"] not in found("not-blocked") and ids["flower-ad.jpg"] not in found("safe")
    assert found("blocked") == {ids["flower-ad.jpg"]}
    reader.close()
