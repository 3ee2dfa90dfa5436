"""Review panel reads on a real catalog: the blind, interleaved, resumable queue; the arm revealed
after rating only; and the report's numbers from the stored ratings, worked out by hand."""

from __future__ import annotations

import pytest
from scipy import stats

from generation.package import library_report
from indexer.errors import AssetNotFound
from indexer.library import Library
from indexer.reviews import ReviewDesk, ReviewDraft
from search import reviews
from tests.conftest import SAMPLE_PHOTOS

PHOTO = SAMPLE_PHOTOS / "chinese-temple-summer-palace.jpg"
RENDER = SAMPLE_PHOTOS / "pink-flower-closeup.jpg"


def draft(key, destination, arm, machine=0.0) -> ReviewDraft:
    return ReviewDraft(key=key, destination=destination, arm=arm, headline=f"Headline {key}", body="Body",
                       cta="Go", provenance={"arm": arm, "copy": {"writer": "template"}}, machine_seconds=machine,
                       image=PHOTO, renders={"640x427": RENDER})


@pytest.fixture
def panel(tmp_path):
    library = Library.create_or_open(tmp_path / "lib")
    desk = ReviewDesk(library)
    drafts = ([draft(f"r{i}", f"d{i}", "ai_reused") for i in range(6)]
              + [draft(f"g{i}", f"d{i}", "ai_generated") for i in range(3)]
              + [draft(f"m{i}", f"d{i}", "manual") for i in range(3)])
    desk.add(drafts)
    yield library, desk
    library.close()


def arms_of(library, views):
    return [library.catalog.review_item(v.id)["arm"] for v in views]


def test_the_queue_is_blind_interleaved_per_reviewer_and_resumable(panel):
    library, desk = panel
    ana = reviews.queue(library, "ana")
    assert len(ana) == 12
    assert all(v.arm is None and v.provenance is None and not v.revealed for v in ana)
    shown = ana[0].to_dict()
    assert shown["arm"] is None and "key" not in shown and "manual" not in repr(shown) and shown["formats"] == ["640x427"]
    # Deterministic per reviewer, different between reviewers.
    assert [v.id for v in reviews.queue(library, "ana")] == [v.id for v in ana]
    assert [v.id for v in reviews.queue(library, "ben")] != [v.id for v in ana]
    # Every arm is spread through the queue: each third holds items of each arm.
    for reviewer in ("ana", "ben", "chloe"):
        arms = arms_of(library, reviews.queue(library, reviewer))
        for third in (arms[:4], arms[4:8], arms[8:]):
            assert set(third) == {"ai_reused", "ai_generated", "manual"}, (reviewer, arms)

    # Rating removes an item from this reviewer's queue only, and keeps the order of the rest.
    desk.rate(ana[0].id, "ana", 4, True)
    rest = reviews.queue(library, "ana")
    assert [v.id for v in rest] == [v.id for v in ana[1:]]
    assert len(reviews.queue(library, "ben")) == 12
    assert reviews.progress(library, "ana") == {"reviewer": "ana", "rated": 1, "total": 12}


def test_an_item_reveals_its_arm_only_to_a_reviewer_who_rated_it(panel):
    library, desk = panel
    first = reviews.queue(library, "ana")[0]
    assert reviews.item_for(library, first.id, "ana").arm is None
    desk.rate(first.id, "ana", 3, False, "flat light")
    seen = reviews.item_for(library, first.id, "ana")
    assert seen.revealed and seen.arm == library.catalog.review_item(first.id)["arm"]
    assert seen.provenance["copy"]["writer"] == "template" and seen.rating["comment"] == "flat light"
    assert reviews.item_for(library, first.id, "ben").arm is None
    assert reviews.item_for(library, first.id, None).arm is None
    with pytest.raises(AssetNotFound):
        reviews.item_for(library, 9999, "ana")
    kind, path = reviews.item_file(library, first.id, "640x427")
    assert kind == "image/jpeg" and path.is_file() and path.parent.name == str(first.id)
    with pytest.raises(AssetNotFound):
        reviews.item_file(library, first.id, "1080x1080")


def test_report_numbers_from_stored_ratings(tmp_path):
    """Two destinations, each with one AI variant and one manual piece, two reviewers:

    d1: A (reused, 60 s machine)  ana 4 approve, ben 5 approve | M1: ana 4 approve, ben 4 approve
    d2: B (generated, 120 s)      ana 3 reject,  ben 3 approve | M2: ana 5 approve, ben 3 reject
    every rating took 30 s; manual hours: d1 4, d2 3.
    """
    library = Library.create_or_open(tmp_path / "lib")
    desk = ReviewDesk(library)
    ids = dict(zip("AB12", desk.add([draft("A", "d1", "ai_reused", 60), draft("B", "d2", "ai_generated", 120),
                                     draft("M1", "d1", "manual"), draft("M2", "d2", "manual")]).added))
    for item, (ana, ben) in {"A": ((4, True), (5, True)), "B": ((3, False), (3, True)),
                             "1": ((4, True), (4, True)), "2": ((5, True), (3, False))}.items():
        desk.rate(ids[item], "ana", *ana, seconds=30)
        desk.rate(ids[item], "ben", *ben, seconds=30)
    desk.set_hours("d1", 4)
    desk.set_hours("d2", 3)

    report = library_report(library)
    arms = report.arms
    assert arms["ai_reused"].rating.mean == 4.5 and arms["ai_generated"].rating.mean == 3.0
    ai = arms["ai_assisted"].rating  # destination means 4.5 and 3.0
    half = stats.t.ppf(0.975, 1) * 1.5 / 2 ** 0.5 / 2 ** 0.5  # sd of (4.5, 3) is 1.5/sqrt(2); se = sd/sqrt(2)
    assert ai.mean == 3.75 and ai.low == pytest.approx(3.75 - half) and ai.high == pytest.approx(3.75 + half)
    assert (arms["manual"].rating.mean, arms["manual"].rating.low, arms["manual"].rating.high) == (4.0, 4.0, 4.0)
    assert arms["ai_assisted"].approval_rate == 0.75 and arms["manual"].approval_rate == 0.75
    assert report.share_reused == 0.5 and report.share_generated == 0.5
    assert report.comparison.difference.mean == pytest.approx(-0.25)  # (4.5-4) and (3-4), paired
    assert report.comparison.method.startswith("paired")
    # AI time per destination: d1 = 60 s review + 60 s machine, d2 = 60 s + 120 s -> 150 s
    assert report.time.ai_assisted_minutes_per_destination == pytest.approx(2.5)
    assert report.time.manual_minutes_per_destination == pytest.approx(210)
    assert arms["manual"].reviewer_minutes_per_destination == pytest.approx(1.0)
    assert (report.agreement.units, report.agreement.values) == (4, 8)
    library.close()
