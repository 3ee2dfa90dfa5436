"""The ``clip`` aligner: the library's own encoder scores each candidate against each aspect.

Scores are calibrated relevance (robust σ above the median score the same text gets across the
library, the scale of search results), so "subject 8σ, tone 1σ" means the same for every brief
and every aspect. Library assets use their stored vectors (no decoding); generated images that are
not indexed yet are embedded from their file.
"""

from __future__ import annotations

import numpy as np

from generation.align.base import Aligner, Alignment, AspectScore, CandidateImage, brief_aspects, combine
from generation.briefs import Brief
from indexer.errors import ScoutError
from search.engine import DEFAULT_MIN_RELEVANCE, Searcher

WEAK = 1.5  # σ: below this the model sees no sign of the aspect at all


def describe(kind: str, text: str, relevance: float) -> str:
    """One line for the reviewer; the levels are those of search's relevance cutoff."""
    if kind == "must_avoid":
        if relevance >= DEFAULT_MIN_RELEVANCE:
            return f"shows what the brief avoids, '{text}' ({relevance:.1f}σ): penalised"
        return f"no clear sign of '{text}' ({relevance:.1f}σ)"
    if relevance >= DEFAULT_MIN_RELEVANCE:
        return f"clear match for '{text}' ({relevance:.1f}σ above the library median)"
    if relevance >= WEAK:
        return f"weak match for '{text}' ({relevance:.1f}σ)"
    return f"no sign of '{text}' ({relevance:.1f}σ)"


class ClipAligner:
    name = "clip"
    scale = "relevance σ (robust standard deviations above the library median; >= 3 stands out)"
    max_candidates = None  # stored vectors: scoring every pooled candidate costs next to nothing

    def __init__(self, searcher: Searcher):
        self.searcher = searcher
        self.model_id = f"clip:{searcher.encoder.model_id}"

    def _vector(self, candidate: CandidateImage) -> np.ndarray:
        if candidate.asset_id is not None:
            vector = self.searcher.catalog.vector_for_asset(candidate.asset_id)
            if vector is not None:
                return vector
        if candidate.path is None:
            raise ScoutError(f"Asset {candidate.asset_id} has no stored vector.")
        return self.searcher.embed_image_bytes(candidate.path.read_bytes(), str(candidate.path))

    def align(self, brief: Brief, candidates: list[CandidateImage]) -> list[Alignment]:
        aspects = brief_aspects(brief)
        texts = self.searcher.embed_texts([a.text for a in aspects])
        vectors, failures = [], {}
        for i, candidate in enumerate(candidates):
            try:
                vectors.append(self._vector(candidate))
            except (ScoutError, OSError) as exc:
                failures[i] = str(exc)
                vectors.append(np.zeros(self.searcher.encoder.dim, dtype=np.float32))
        matrix = np.stack(vectors) if vectors else np.zeros((0, self.searcher.encoder.dim), np.float32)
        relevance = np.stack([self.searcher.relevance_of(t, matrix) for t in texts], axis=1) if len(matrix) else matrix
        results = []
        for i in range(len(candidates)):
            if i in failures:
                results.append(Alignment(None, [], failures[i]))
                continue
            scored = [(a, float(relevance[i, j])) for j, a in enumerate(aspects)]
            breakdown = [AspectScore(a.name, a.kind, a.text, s, describe(a.kind, a.text, s)) for a, s in scored]
            results.append(Alignment(combine(scored, absent_level=DEFAULT_MIN_RELEVANCE), breakdown))
        return results


def load(searcher: Searcher, settings) -> Aligner:
    return ClipAligner(searcher)
