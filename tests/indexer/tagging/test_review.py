"""Thresholds proposed from people's decisions: precision and recall at each candidate."""

from __future__ import annotations

from indexer.tagging.review import TagDesk, propose
from search import tags as tag_reads
from tests.indexer.tagging.conftest import asset_named


def test_the_lowest_threshold_reaching_the_target_precision_is_proposed():
    decided = [(9.0, True), (8.0, True), (7.0, True), (6.0, False), (5.0, True), (4.0, False), (3.5, False)]
    proposal = propose("beach", decided, 3.0, target=0.8, min_decisions=5)
    assert proposal.proposed == 5.0  # 4 right of 5 shown: 80 %, all 4 accepted kept
    assert (proposal.chosen.precision, proposal.chosen.recall) == (0.8, 1.0)
    assert "precision >= 80%" in proposal.reason
    strict = propose("beach", decided, 3.0, target=1.0, min_decisions=5)
    assert strict.proposed == 7.0 and strict.chosen.recall == 0.75


def test_too_few_decisions_or_none_accepted_propose_nothing():
    assert propose("beach", [(5.0, True)] * 3, 3.0, 0.9, 8).proposed is None
    none_accepted = propose("beach", [(5.0, False)] * 9, 3.0, 0.9, 8)
    assert none_accepted.proposed is None and "no suggestion was accepted" in none_accepted.reason


def test_no_threshold_reaching_the_target_falls_back_to_best_f1_and_says_so():
    decided = [(9.0, False), (8.0, True), (7.0, False), (6.0, True)]
    proposal = propose("beach", decided, 3.0, target=0.95, min_decisions=4)
    assert proposal.proposed == 6.0 and "best F1" in proposal.reason


def test_applied_thresholds_change_what_the_queue_shows(tagged_library):
    desk = TagDesk(tagged_library)
    crowd = tag_reads.review_queue(tagged_library, tag="crowd", limit=50)
    assert crowd, "the offline model suggests 'crowd' on some sample photos"
    desk.decide([(s.asset.id, "crowd", "rejected") for s in crowd], "ana")
    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    desk.decide([(cat, "cat", "accepted")], "ana")
    proposals = {p.tag: p for p in desk.calibrate(min_decisions=1)}
    assert proposals["cat"].proposed is not None and proposals["crowd"].proposed is None
    assert desk.apply(list(proposals.values())) == 1
    assert tag_reads.tag_overview(tagged_library)[0].threshold_source in ("default", "calibrated")
    assert {t.name: t.threshold_source for t in tag_reads.tag_overview(tagged_library)}["cat"] == "calibrated"
