"""Reading tags: the review queue, the overview of every tag, one asset's tags.

Shared by the command line and HTTP, which both print :meth:`to_dict` of what comes back, so a
suggestion looks the same wherever it is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.catalog import AssetRow
from indexer.errors import AssetNotFound, ConfigError
from indexer.library import Library
from indexer.catalog.tags import DEFAULT_THRESHOLD
from indexer.tagging.tagger import stored_taxonomy
from indexer.tagging.taxonomy import Taxonomy

MAX_PAGE = 500


@dataclass(frozen=True)
class Suggestion:
    asset: AssetRow
    tag: str
    path: tuple[str, ...]  # the tag's place in the hierarchy, root first
    confidence: float | None
    status: str  # suggested | accepted | rejected

    def to_dict(self) -> dict:
        return {"asset_id": self.asset.id, "name": self.asset.name, "folder": self.asset.folder,
                "tag": self.tag, "path": list(self.path), "confidence": self.confidence, "status": self.status}


@dataclass(frozen=True)
class TagSummary:
    name: str
    parent: str | None
    group: str | None
    scored: bool
    threshold: float
    threshold_source: str  # default | taxonomy | calibrated
    waiting: int
    accepted: int
    rejected: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _taxonomy(library: Library) -> Taxonomy:
    taxonomy = stored_taxonomy(library)
    if taxonomy is None:
        raise ConfigError("This library has not been tagged yet.", hint="Run `scout tag` first.")
    return taxonomy


def _paths(taxonomy: Taxonomy) -> dict[str, tuple[str, ...]]:
    return {t.name: tuple(taxonomy.path(t.name)) for t in taxonomy.tags}


def review_queue(library: Library, *, tag: str | None = None, asset_id: int | None = None,
                 limit: int = 50, offset: int = 0) -> list[Suggestion]:
    """Suggestions waiting for a decision, most confident first (by tag or by asset)."""
    taxonomy = _taxonomy(library)
    paths = _paths(taxonomy)
    if tag is not None and tag not in paths:
        raise ConfigError(f"{tag!r} is not a tag of the library's taxonomy.", hint="See `scout tag list`.")
    if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= 1_000_000:
        raise ConfigError(f"limit must be 1..{MAX_PAGE} and offset 0..1000000.")
    rows = library.catalog.shown_suggestions(library.model_id, DEFAULT_THRESHOLD, tag=tag, asset_id=asset_id,
                                             limit=limit, offset=offset)
    assets = library.catalog.assets_by_ids(r.asset_id for r in rows)
    return [Suggestion(assets[r.asset_id], r.tag, paths.get(r.tag, (r.tag,)), r.confidence, r.status)
            for r in rows if r.asset_id in assets]


def asset_tags(library: Library, asset_id: int) -> list[Suggestion]:
    """One asset's tags: decisions (accepted, rejected), then suggestions waiting for review."""
    asset = library.catalog.asset(asset_id)
    if asset is None:
        raise AssetNotFound(f"No asset with id {asset_id}.")
    taxonomy = stored_taxonomy(library)
    if taxonomy is None:
        return []
    paths = _paths(taxonomy)
    return [Suggestion(asset, r.tag, paths.get(r.tag, (r.tag,)), r.confidence, r.status)
            for r in library.catalog.asset_tags(asset_id, library.model_id, DEFAULT_THRESHOLD)]


def facets(library: Library, asset_ids: list[int], limit: int = 20) -> list[tuple[str, int]]:
    """The most common tags among these assets (a page of search results), for narrowing a search
    by tag; empty for a library nobody tagged."""
    if stored_taxonomy(library) is None:
        return []
    return list(library.catalog.tag_facets(asset_ids, DEFAULT_THRESHOLD).items())[:limit]


def tag_overview(library: Library) -> list[TagSummary]:
    """Every tag of the taxonomy with its threshold for this model and its counts."""
    taxonomy = _taxonomy(library)
    thresholds = library.catalog.tag_thresholds(library.model_id)
    counts = library.catalog.tag_counts(library.model_id, DEFAULT_THRESHOLD)
    out = []
    for t in taxonomy.tags:
        row = thresholds.get(t.name)
        waiting, accepted, rejected = counts.get(t.name, (0, 0, 0))
        out.append(TagSummary(t.name, t.parent, t.group, t.scored, row.threshold if row else DEFAULT_THRESHOLD,
                              row.source if row else "default", waiting, accepted, rejected))
    return out
