"""The clip aligner and the reuse threshold, on the sample library with the offline model."""

from __future__ import annotations

import json

import pytest

from generation.align import ALIGNERS, CandidateImage, brief_aspects, load_aligner
from generation.align.threshold import ReuseThreshold, load_threshold_file, reuse_threshold
from generation.briefs import Brief
from indexer.errors import ComponentUnavailable, ConfigError, ModelMismatch
from search.query import Part, Query

PALACE = Brief(id="palace", subject="the Summer Palace in Beijing", selling_points=["imperial architecture"],
               tone="serene", audience="culture lovers", must_show=["a palace"], must_avoid=["crowds"])


def test_aspect_weights_subject_double_selling_points_share_one():
    aspects = {a.name: a for a in brief_aspects(Brief(id="b", subject="s", selling_points=["a", "b"],
                                                      tone="t", must_show=["m"], must_avoid=["x"]))}
    assert {n: a.weight for n, a in aspects.items()} == {
        "subject": 2.0, "selling_point 1": 0.5, "selling_point 2": 0.5, "tone": 0.5, "must_show 1": 1.0,
        "must_avoid 1": 1.0}


def test_the_right_photo_clears_the_threshold_and_the_others_do_not(sample_searcher, sample_ids):
    aligner = load_aligner("clip", sample_searcher)
    threshold = reuse_threshold(aligner.model_id)
    names = sorted(sample_ids)
    results = dict(zip(names, aligner.align(PALACE, [CandidateImage(sample_ids[n]) for n in names])))
    palace = results.pop("chinese-temple-summer-palace.jpg")
    assert palace.score >= threshold.value
    assert all(r.score < threshold.value for r in results.values())
    breakdown = {a.aspect: a for a in palace.aspects}
    assert set(breakdown) == {"subject", "selling_point 1", "tone", "audience", "must_show 1", "must_avoid 1"}
    assert breakdown["subject"].reason.startswith("clear match for 'the Summer Palace in Beijing'")
    assert "crowds" in breakdown["must_avoid 1"].reason


def test_aspect_scores_are_the_search_relevance_scale(sample_searcher, sample_ids):
    aligner = load_aligner("clip", sample_searcher)
    [alignment] = aligner.align(Brief(id="b", subject="espresso"), [CandidateImage(sample_ids["cup-of-coffee-on-saucer.png"])])
    hit = sample_searcher.search(Query(parts=(Part("espresso"),), limit=1)).hits[0]
    assert alignment.aspects[0].score == pytest.approx(hit.relevance, abs=1e-3)
    assert alignment.score == pytest.approx(hit.relevance, abs=1e-3)


def test_must_avoid_is_a_penalty(sample_searcher, sample_ids):
    aligner = load_aligner("clip", sample_searcher)
    candidate = [CandidateImage(sample_ids["tabby-cat-chelsea.png"])]
    [free] = aligner.align(Brief(id="b", subject="a cat"), candidate)
    [avoided] = aligner.align(Brief(id="b", subject="a cat", must_avoid=["a tabby cat"]), candidate)
    assert avoided.score < free.score - 3
    assert "penalised" in avoided.aspects[-1].reason


def test_a_file_not_in_the_library_scores_like_its_indexed_copy(sample_searcher, sample_ids, sample_library):
    _, root = sample_library
    aligner = load_aligner("clip", sample_searcher)
    by_id, by_file = aligner.align(PALACE, [CandidateImage(sample_ids["chinese-temple-summer-palace.jpg"]),
                                            CandidateImage(None, root / "chinese-temple-summer-palace.jpg")])
    assert by_file.score == pytest.approx(by_id.score, abs=0.5)


def test_a_candidate_that_cannot_be_read_is_reported_not_raised(sample_searcher, tmp_path, sample_ids):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    aligner = load_aligner("clip", sample_searcher)
    bad, good = aligner.align(PALACE, [CandidateImage(None, broken), CandidateImage(sample_ids["tabby-cat-chelsea.png"])])
    assert bad.score is None and "cannot be used" in bad.error
    assert good.score is not None


def test_thresholds_are_per_model(tmp_path):
    offline = "clip:offline:efficientnet_lite0+all-MiniLM-L6-v2/conse-t20"
    assert reuse_threshold(offline).value == 2.8
    assert reuse_threshold("vlm:llava").value == 3.5
    with pytest.raises(ConfigError, match="No reuse threshold"):
        reuse_threshold("clip:open_clip:local-dir:/models/x")
    mine = ReuseThreshold(4.0, "clip:open_clip:local-dir:/models/x", "mine")
    assert reuse_threshold("clip:open_clip:local-dir:/models/x", mine) is mine
    with pytest.raises(ModelMismatch, match="not comparable"):
        reuse_threshold(offline, mine)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"model_id": offline, "value": 5}))
    assert load_threshold_file(path).value == 5.0
    path.write_text("{}")
    with pytest.raises(ConfigError, match="not valid"):
        load_threshold_file(path)


def test_unknown_aligner_is_a_clear_error(sample_searcher):
    with pytest.raises(ComponentUnavailable, match="Known aligner backends: clip, vlm"):
        load_aligner("nope", sample_searcher)
    assert {"clip", "vlm"} <= set(ALIGNERS.names())
