"""The review panel's reads: a reviewer's blind queue, one item (its arm revealed only once this
reviewer has rated it), and the rating records the report is computed from.

Blindness: an item before rating shows its destination, copy, image and rendered formats, and
nothing that tells the arm (no arm, provenance, copy-writer flags, import key or source). The
queue's order is a deterministic shuffle per reviewer that spreads every arm evenly through it:
each arm's items are shuffled by a hash of (reviewer, item), and the item of rank ``r`` among
``n`` of its arm sits at position ``(r + u) / n`` (``u`` a second hash in [0, 1)), so the arms
interleave however unequal their sizes, two reviewers see different orders, and a reviewer who
stops and comes back finds the same order minus what they rated.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import AssetNotFound
from indexer.library import Library
from indexer.reviews import REVIEWS_DIR, check_reviewer


@dataclass(frozen=True)
class ReviewView:
    """What a reviewer sees of one item; ``arm``, ``provenance`` and ``rating`` are None until
    this reviewer has rated it."""

    id: int
    destination: str
    headline: str
    body: str
    cta: str
    has_image: bool
    formats: list[str]
    arm: str | None = None
    provenance: dict | None = None
    rating: dict | None = None

    @property
    def revealed(self) -> bool:
        return self.rating is not None

    def to_dict(self) -> dict:
        return {"id": self.id, "destination": self.destination, "headline": self.headline, "body": self.body,
                "cta": self.cta, "has_image": self.has_image, "formats": self.formats, "revealed": self.revealed,
                "arm": self.arm, "provenance": self.provenance, "rating": self.rating}


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def blind_order(items: list[dict], reviewer: str) -> list[dict]:
    """``items`` (catalog rows with ``key`` and ``arm``) in this reviewer's interleaved order."""
    by_arm: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        by_arm[item["arm"]].append(item)
    placed = []
    for group in by_arm.values():
        group.sort(key=lambda i: (_unit(reviewer, "order", i["key"]), i["key"]))
        for rank, item in enumerate(group):
            placed.append(((rank + _unit(reviewer, "spread", item["key"])) / len(group), item["key"], item))
    return [item for _, _, item in sorted(placed, key=lambda p: p[:2])]


def _view(library: Library, item: dict, rating: dict | None) -> ReviewView:
    formats = list(library.catalog.review_renders(item["id"]))
    shown = ReviewView(item["id"], item["destination"], item["headline"], item["body"], item["cta"],
                       bool(item["image"]), formats)
    if rating is None:
        return shown
    return ReviewView(**{**shown.__dict__, "arm": item["arm"], "provenance": item["provenance"], "rating": rating})


def queue(library: Library, reviewer: str) -> list[ReviewView]:
    """The items this reviewer has not rated yet, blind, in their order."""
    reviewer = check_reviewer(reviewer)
    rated = library.catalog.rated_item_ids(reviewer)
    items = [i for i in library.catalog.review_items() if i["image"] is not None]  # files complete
    return [_view(library, item, None) for item in blind_order(items, reviewer) if item["id"] not in rated]


def progress(library: Library, reviewer: str) -> dict:
    """How far this reviewer is: items rated and items in the panel."""
    reviewer = check_reviewer(reviewer)
    total = sum(1 for i in library.catalog.review_items() if i["image"] is not None)
    return {"reviewer": reviewer, "rated": len(library.catalog.rated_item_ids(reviewer)), "total": total}


def item_for(library: Library, item_id: int, reviewer: str | None) -> ReviewView:
    """One item as ``reviewer`` may see it: revealed when they have rated it, blind otherwise."""
    item = library.catalog.review_item(item_id)
    if item is None or item["image"] is None:
        raise AssetNotFound(f"No review item {item_id}.", hint="The review queue lists the items.")
    rating = library.catalog.rating(item_id, check_reviewer(reviewer)) if reviewer else None
    return _view(library, item, rating)


def item_file(library: Library, item_id: int, fmt: str | None = None) -> tuple[str, Path]:
    """The file of an item's image (``fmt`` None) or of one rendered format, by id: the name comes
    from the catalog, never from the request."""
    item = library.catalog.review_item(item_id)
    if item is None:
        raise AssetNotFound(f"No review item {item_id}.")
    name = item["image"] if fmt is None else library.catalog.review_renders(item_id).get(fmt)
    if not name:
        raise AssetNotFound(f"Review item {item_id} has no {'image' if fmt is None else fmt + ' render'}.",
                            hint="The item's formats are listed with it.")
    path = library.path / REVIEWS_DIR / str(item_id) / name
    if not path.is_file():
        raise AssetNotFound(f"The file of review item {item_id} is missing from the library.",
                            hint="Import the brief run again (scout review import OUT_DIR).")
    return "image/jpeg", path


def rating_records(library: Library) -> list[dict]:
    """Every rating as the fields of :class:`generation.report.Rating`."""
    return [{"variant_id": str(r["item_id"]), "destination": r["destination"], "arm": r["arm"],
             "reviewer": r["reviewer"], "rating": r["rating"], "approved": r["approved"],
             "reviewer_seconds": r["seconds"] or 0.0, "machine_seconds": r["machine_seconds"] or 0.0}
            for r in library.catalog.review_ratings()]


def manual_hours(library: Library) -> dict[str, float]:
    return library.catalog.manual_hours()
