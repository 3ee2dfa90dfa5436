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


def busiest_other_tag(library, besides: str) -> str:
    return max((t for t in tag_reads.tag_overview(library) if t.name != besides), key=lambda t: t.waiting).name


def test_applied_thresholds_change_what_the_queue_shows(tagged_library):
    desk = TagDesk(tagged_library)
    other = busiest_other_tag(tagged_library, "cat")
    wrong = tag_reads.review_queue(tagged_library, tag=other, limit=50)
    assert wrong, "the offline model suggests more than cats on the sample photos"
    desk.decide([(s.asset.id, other, "rejected") for s in wrong], "ana")
    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    (suggested,) = [s for s in tag_reads.review_queue(tagged_library, tag="cat") if s.asset.id == cat]
    desk.decide([(cat, "cat", "accepted")], "ana")
    proposals = {p.tag: p for p in desk.calibrate(min_decisions=1)}
    assert proposals["cat"].proposed == suggested.confidence and proposals[other].proposed is None
    assert desk.apply(list(proposals.values())) == 1
    overview = {t.name: t for t in tag_reads.tag_overview(tagged_library)}
    assert (overview["cat"].threshold, overview["cat"].threshold_source) == (suggested.confidence, "calibrated")
    assert overview[other].threshold_source == "default"
