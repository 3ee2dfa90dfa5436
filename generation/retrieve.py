"""Retrieve: a brief becomes one query per aspect, each searched in the library, pooled by asset.

Each aspect the library's model can look for (the subject, every selling point, the tone, every
must-show item) is one query; every must-avoid phrase is a negative part of each of them, so
photos showing what the client does not want sink in every list. The pool keeps the top
``per_query`` assets of each query with no relevance cutoff (the aligner judges fit afterwards) and
records which aspects found each asset, so a reviewer can see why it is a candidate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from generation.briefs import Brief
from search.engine import Searcher
from search.query import Filters, Part, Query

AVOID_WEIGHT = 0.5  # each must-avoid phrase pushes away at half the weight of what is asked for


@dataclass(frozen=True)
class RetrieveSettings:
    per_query: int = 12
    filters: Filters = field(default_factory=Filters)
    include_generated: bool = True  # False leaves earlier generated images out of the pool

    def effective_filters(self) -> Filters:
        """The filters, never pooling an asset whose stored brand-safety verdict is ``block``, nor one
        whose licence expired or is marked restricted."""
        filters = dataclasses.replace(self.filters, safety=self.filters.safety or "not-blocked", exclude_flagged=True)
        return filters if self.include_generated else dataclasses.replace(filters, generated=False)


@dataclass(frozen=True)
class AspectQuery:
    aspect: str  # "subject", "selling_point 2", "tone", "must_show 1"
    text: str
    query: Query


@dataclass
class PooledCandidate:
    asset_id: int
    path: str
    found_by: list[str] = field(default_factory=list)  # aspects whose query returned it
    best_relevance: float = float("-inf")


def brief_queries(brief: Brief, settings: RetrieveSettings | None = None) -> list[AspectQuery]:
    settings = settings or RetrieveSettings()
    texts = [("subject", brief.subject)]
    texts += [(f"selling_point {i}", text) for i, text in enumerate(brief.selling_points, start=1)]
    if brief.tone:
        texts.append(("tone", brief.tone))
    texts += [(f"must_show {i}", text) for i, text in enumerate(brief.must_show, start=1)]
    negatives = tuple(Part(text, -AVOID_WEIGHT) for text in brief.must_avoid)
    filters = settings.effective_filters()
    return [
        AspectQuery(aspect, text, Query(parts=(Part(text), *negatives), filters=filters,
                                        limit=settings.per_query, include_all=True))
        for aspect, text in texts
    ]


def retrieve(searcher: Searcher, brief: Brief, settings: RetrieveSettings | None = None) -> list[PooledCandidate]:
    """The pooled candidates, best first (by their best relevance in any aspect's query)."""
    pool: dict[int, PooledCandidate] = {}
    queries = brief_queries(brief, settings)
    # One model call for every text of the brief; the searches below then find them cached.
    searcher.embed_texts(list(dict.fromkeys(p.text for q in queries for p in q.query.parts)))
    for aspect_query in queries:
        for hit in searcher.search(aspect_query.query).hits:
            candidate = pool.setdefault(hit.asset.id, PooledCandidate(hit.asset.id, hit.asset.path))
            candidate.found_by.append(aspect_query.aspect)
            candidate.best_relevance = max(candidate.best_relevance, hit.relevance)
    return sorted(pool.values(), key=lambda c: (-c.best_relevance, c.asset_id))
