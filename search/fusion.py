"""Fusing the meaning ranking and the keyword ranking into one order.

Two candidates were measured on two labelled sets (benchmarks/hybrid.py, BENCHMARKS.md "Hybrid
search"):

* reciprocal rank fusion: each list adds ``1 / (k + rank)``; it needs no scale, only ranks;
* a weighted score: ``alpha * relevance / RELEVANCE_SCALE`` (calibrated meaning, clipped to
  [0, 1]) plus ``(1 - alpha) * bm25 / best bm25 of this query``.

Both take the same candidates: the meaning hits that clear the query's cutoff and every keyword
hit; the functions here only order them.
"""

from __future__ import annotations

from dataclasses import dataclass

RRF_K = 60
RELEVANCE_SCALE = 10.0  # sigmas: a strong text match stands 4-15 out (search.engine)
ALPHA = 0.5


@dataclass(frozen=True)
class Candidate:
    asset_id: int
    relevance: float  # calibrated meaning relevance of the asset for this query
    vector_rank: int | None  # 1-based rank in the meaning list, None when not in it
    keyword_rank: int | None  # 1-based rank in the keyword list, None when not in it
    bm25: float = 0.0  # higher is better; 0 when not a keyword hit


def rrf(candidate: Candidate, k: int = RRF_K) -> float:
    return sum(1.0 / (k + rank) for rank in (candidate.vector_rank, candidate.keyword_rank) if rank)


def weighted(candidate: Candidate, best_bm25: float, alpha: float = ALPHA) -> float:
    meaning = min(max(candidate.relevance / RELEVANCE_SCALE, 0.0), 1.0)
    words = candidate.bm25 / best_bm25 if best_bm25 > 0 else 0.0
    return alpha * meaning + (1 - alpha) * words


def fuse(candidates: list[Candidate], method: str = "rrf") -> list[tuple[float, Candidate]]:
    """Candidates with their fused score, best first (ties: the better meaning rank first).
    ``method``: "rrf", "weighted" or "weighted:ALPHA"."""
    name, _, alpha = method.partition(":")
    if name == "rrf":
        scored = [(rrf(c), c) for c in candidates]
    elif name == "weighted":
        best = max((c.bm25 for c in candidates), default=0.0)
        scored = [(weighted(c, best, float(alpha or ALPHA)), c) for c in candidates]
    else:
        raise ValueError(f"unknown fusion {method!r}")
    return sorted(scored, key=lambda sc: (-sc[0], sc[1].vector_rank or 1 << 30, sc[1].asset_id))
