"""The Searcher: embed a query, look it up in FAISS, filter, rank and calibrate.

Read-only over a library: it opens the catalog with ``mode=ro`` and never writes index files.
Before each search it checks the catalog generation and folds in whatever an index run has
committed since the newest FAISS snapshot, so a running server sees new assets without restart.

Relevance calibration: a raw cosine of 0.25 is a strong hit for one query and noise for another.
Each hit's ``relevance`` is its score in (robust) standard deviations above the median score
*this query* gets over a fixed sample of the library (up to 4096 assets). Junk sits near 0; an asset that
really matches stands several deviations out. The default cutoff (``DEFAULT_MIN_RELEVANCE``) was
chosen on the labelled queries in benchmarks/queries.json; ``include_all`` turns it off.

The cutoff informs, it never hides everything: when a search has candidates but none clears it,
the best ``WEAK_MATCHES`` (ranked, filters and ``min_score`` still applied) come back with
``Hit.weak`` set, so a designer sees "closest, but not a clear match" instead of nothing. On the
18 sample photos only 9 of the 21 labelled queries put their answer at or above 3σ (median 2.0σ),
so without this most of those searches would answer with nothing.

Query by example gets no default cutoff: image-to-image scores live on another scale. Measured
with the offline model on sample_assets/photos plus flipped, cropped and downscaled copies (and
the kitten of sample_assets/awkward): a photo's own copies score 0.98-1.00 but stand only
2.1-4.7σ above the median (the median of image-to-image cosine is 0.58-0.72, its spread wide),
so a text-tuned 3σ cutoff hid the rocket's exact flip (2.3σ); a strongly downscaled copy (0.78)
scores below unrelated pairs of different photos (up to 0.97), so no raw-cosine floor separates
them either. Examples therefore rank all neighbours; ``min_relevance``/``min_score`` still apply
when asked for.

Small libraries: the relevance scale is the same estimator at any size (median/MAD over the
library's own scores). Measured on random 10- and 6-asset subsets of the sample photos (20
draws per query): the share of labelled answers at or above 3σ is 42 % and 39 % (43 % on all
18), the best non-answer crosses 3σ in 4 % of draws (5 % on 18); what grows is the spread of a
given hit's relevance between draws (±36 % at 10 assets). Padding the sample with "background"
vectors (the offline model's 1000 class-prompt vectors) made it worse (a non-answer over 3σ in
25-33 %), as did a trimmed standard deviation for hits (38 % over 3σ); see BENCHMARKS.md. The weak
matches above are what keeps a small library from answering with nothing.

Search modes (``Query.mode``; README "Search modes"): ``vector`` is all of the above; ``keyword``
ranks the keyword index (indexer/catalog/words.py) by bm25 through a MATCH expression built by
search/keyword.py, reporting each hit's meaning score without using it; ``hybrid`` takes the
meaning hits that clear the cutoff plus every keyword hit and orders them by rank fusion
(search/fusion.py). Quoted phrases restrict every mode like a filter. Whatever the mode, a
query without words (example images alone) is a vector search.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import faiss
import numpy as np

from indexer.calibration import robust_scale
from indexer.catalog import AssetRow
from indexer.decode import decode_image
from indexer.encoders.base import Encoder, normalize
from indexer.errors import AssetNotFound, DecodeError, QueryError, TooLarge, UnsupportedImage
from indexer.library import Library
from search.fusion import Candidate, fuse
from search.live_index import LiveIndex
from search.keyword import FIELD_WEIGHTS, MARK_CLOSE, MARK_OPEN, FieldMatch, KeywordQuery, embedding_text, \
    field_matches, keyword_query
from search.query import Example, Query

DEFAULT_MIN_RELEVANCE = 3.0
# A filter that leaves at most this many assets is answered by scoring exactly those assets:
# an approximate index only looks at a few lists, which may hold none of them.
EXACT_FILTER_LIMIT = 50_000
RERANK_DEPTH = 128  # candidates of an approximate index re-scored exactly (see Searcher._growing)
REFERENCE_SAMPLE = 4096
MAX_EXAMPLE_BYTES = 64 * 1024 * 1024
DECODE_SLOTS = 2
# When nothing clears the cutoff, this many of the best candidates are shown, marked weak.
WEAK_MATCHES = 5
# Hybrid search fuses this many of each ranking per hit asked for (at least FUSION_DEPTH_MIN).
FUSION_DEPTH_FACTOR = 2
FUSION_DEPTH_MIN = 100
FUSION = "rrf"  # chosen on benchmarks/hybrid.py (BENCHMARKS.md "Hybrid search")
# A word held by more than this share of the keyword documents (and by at least COMMON_WORD_MIN)
# is left out of the keyword ranking: it ranks almost nothing (bm25's weight for it is near zero)
# and costs time in proportion to the documents it matches. Keyword mode keeps it when the query
# has no rarer word (the user asked for exactly that word); hybrid mode then ranks by meaning.
COMMON_WORD_SHARE = 0.1
COMMON_WORD_MIN = 1000


@dataclass(frozen=True)
class Hit:
    asset: AssetRow
    score: float  # cosine similarity of the combined query vector, in [-1, 1]
    relevance: float  # robust standard deviations above this query's median over the library
    weak: bool = False  # below the cutoff: shown only because nothing cleared it
    keywords: tuple[FieldMatch, ...] = ()  # where the query's words matched, when they did
    fused: float | None = None  # the hybrid ranking's score (search.fusion); None in other modes

    @property
    def why(self) -> str:
        """Why it matched, in one line: the meaning relevance, then each field its words were
        found in (with the snippet for text read in the image or embedded in the file)."""
        reasons = [f"meaning {self.relevance:+.1f}σ" + (" (weak)" if self.weak else "")]
        for match in self.keywords:
            found = f"{match.field}: {', '.join(match.terms)}"
            reasons.append(f"{found} “{match.snippet}”" if match.snippet else found)
        return " · ".join(reasons)


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    has_more: bool
    cutoff: float | None  # the relevance floor applied, None when --all
    embed_ms: float
    search_ms: float
    library_size: int  # vectors searched, as of this search
    mode: str = "vector"  # the mode that ran: hybrid or keyword fall back to vector without words

    @property
    def weak_matches(self) -> bool:
        """True when the hits are the closest candidates, none of which cleared the cutoff."""
        return bool(self.hits) and all(hit.weak for hit in self.hits)


def default_cutoff(query: Query) -> float | None:
    """The relevance floor a query gets: none with ``include_all``, the caller's if given, none
    for query by example (see the module docstring), else ``DEFAULT_MIN_RELEVANCE``."""
    if query.include_all:
        return None
    if query.min_relevance is not None:
        return query.min_relevance
    return None if query.examples else DEFAULT_MIN_RELEVANCE


class Searcher:
    def __init__(self, library: Library, encoder: Encoder, *, text_cache_size: int = 1024, fusion: str = FUSION,
                 field_weights: tuple[float, ...] = FIELD_WEIGHTS, prefix_last: bool = True,
                 exact_rerank: bool = True, mapped_index: bool = False):
        """``mapped_index``: memory-map an IVF snapshot instead of reading it (a process that
        answers one query; search/live_index.py says when each fits)."""
        library.check_model(encoder.model_id)
        self.library = library
        # How keyword and meaning combine (search.fusion, search.keyword); parameters so that
        # benchmarks/hybrid.py can measure the alternatives side by side.
        self.fusion = fusion
        self.field_weights = field_weights
        self.prefix_last = prefix_last
        # Approximate candidates re-scored with the catalog's float vectors (see _growing); a
        # parameter so that benchmarks/query_latency.py can measure what it buys and costs.
        self.exact_rerank = exact_rerank
        self.catalog = library.catalog
        self.encoder = encoder
        self._lock = threading.RLock()
        self._decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._text_cache_size = text_cache_size
        self._live = LiveIndex(encoder.dim, mapped=mapped_index)
        self._reference = faiss.IndexFlatIP(encoder.dim)
        self._reference_count = 0
        self.refresh()

    # -- keeping up with the writer -----------------------------------------------------------

    def refresh(self) -> None:
        with self._lock:
            generation = self.catalog.generation
            if generation == self._live.generation:
                return
            live = self.catalog.asset_count()
            self._live.refresh(self.catalog, self.library.vectors_dir, generation, live)
            self._refresh_reference(live)

    def _refresh_reference(self, count: int) -> None:
        """Re-draw the calibration sample when the library has changed size by over 5 %.

        Drawing it reads 4096 vectors from the catalog; doing that after every commit of a
        running index job would stall the next search each time, for a sample that barely moves.
        Scored through FAISS, not numpy: numpy's BLAS threads would otherwise spin against
        FAISS's OpenMP threads and triple the lookup time on a 2-core machine.
        """
        if self._reference_count and abs(count - self._reference_count) <= 0.05 * self._reference_count:
            return
        sample = self.catalog.sample_vectors(REFERENCE_SAMPLE)
        self._reference = faiss.IndexFlatIP(self.encoder.dim)
        if len(sample):
            self._reference.add(sample)
        self._reference_count = count

    @property
    def size(self) -> int:
        return self._live.size

    @property
    def index(self) -> LiveIndex:
        """The vector index as this searcher holds it (for status lines and benchmarks)."""
        return self._live

    # -- embedding ----------------------------------------------------------------------------

    def embed_texts(self, texts: list[str]) -> list[np.ndarray]:
        """Vectors for ``texts``; the ones not cached are embedded together in one model call."""
        with self._lock:
            found = {t: self._text_cache[t] for t in texts if t in self._text_cache}
            for text in found:
                self._text_cache.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, self.encoder.encode_texts(missing)))
            with self._lock:
                for text, vector in fresh.items():
                    self._text_cache[text] = vector
                while len(self._text_cache) > self._text_cache_size:
                    self._text_cache.popitem(last=False)
            found |= fresh
        return [found[t] for t in texts]

    def embed_text(self, text: str) -> np.ndarray:
        return self.embed_texts([text])[0]

    def embed_example(self, example: Example) -> np.ndarray:
        if example.vector is not None:
            return example.vector
        if example.asset_id is not None:
            vector = self.catalog.vector_for_asset(example.asset_id)
            if vector is None:
                raise AssetNotFound(f"No asset with id {example.asset_id}.")
            return vector
        path = Path(example.path).expanduser()
        row = self.catalog.asset_by_path(str(path.resolve())) if path.exists() else None
        if row is not None:
            return self.catalog.vector_for_asset(row.id)
        if not path.is_file():
            raise AssetNotFound(f"{example.path} is neither an asset id nor an image file.",
                                hint="Use an id from search results (--json) or a path to an image.")
        if path.stat().st_size > MAX_EXAMPLE_BYTES:
            raise QueryError(f"{example.path} is larger than {MAX_EXAMPLE_BYTES >> 20} MB.")
        return self.embed_image_bytes(path.read_bytes(), str(path))

    def embed_image_bytes(self, data: bytes, name: str = "upload", max_pixels: int = 100_000_000) -> np.ndarray:
        """Decode and embed one image. At most ``DECODE_SLOTS`` decodes run at once, so a burst of
        large uploads queues instead of multiplying peak memory."""
        with self._decode_slots:
            try:
                decoded = decode_image(data, name, max_pixels=max_pixels, target=512)
            except DecodeError as exc:
                error = {"too_large": TooLarge, "empty": UnsupportedImage,
                         "not_an_image": UnsupportedImage}.get(exc.reason, QueryError)
                raise error(f"The example image cannot be used: {exc.message}", hint=exc.hint) from None
            tensor = self.encoder.preprocess(decoded.image).unsqueeze(0)
        return self.encoder.encode_images(tensor)[0]

    def query_vector(self, query: Query) -> np.ndarray:
        total = np.zeros(self.encoder.dim, dtype=np.float32)
        texts = self.embed_texts([embedding_text(part.text) for part in query.parts])
        for part, vector in zip(query.parts, texts):
            total += part.weight * vector
        for example in query.examples:
            total += example.weight * self.embed_example(example)
        if not np.all(np.isfinite(total)):
            raise QueryError("The query's weights are too large to combine.")
        if not np.any(total):
            raise QueryError("The query's parts cancel out exactly; nothing to search for.")
        return normalize(total[None, :])[0]

    # -- lookup -------------------------------------------------------------------------------

    def search(self, query: Query) -> SearchResult:
        self.refresh()
        started = time.perf_counter()
        q = self.query_vector(query)
        embedded = time.perf_counter()
        with self._lock:
            hits, has_more, cutoff, mode = self._lookup(q, query)
            size = self.size
        finished = time.perf_counter()
        return SearchResult(hits, has_more, cutoff, (embedded - started) * 1e3,
                            (finished - embedded) * 1e3, size, mode)

    def _calibration(self, q: np.ndarray) -> tuple[float, float]:
        """Robust centre and spread of this query's scores over the library's reference sample."""
        count = self._reference.ntotal
        if count < 2:
            return 0.0, 1.0
        return robust_scale(self._reference.search(q[None, :], count)[0][0])

    def relevance_of(self, q: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Calibrated relevance of the given image ``vectors`` for the query vector ``q``: the
        same scale as :attr:`Hit.relevance`, for callers that score their own candidates (the
        brief aligner scores pooled and freshly generated images aspect by aspect)."""
        self.refresh()
        with self._lock:
            centre, spread = self._calibration(q)
        return (np.asarray(vectors, dtype=np.float32).reshape(-1, len(q)) @ q - centre) / spread

    def _lookup(self, q: np.ndarray, query: Query) -> tuple[list[Hit], bool, float | None, str]:
        words = keyword_query(query.parts, prefix_last=self.prefix_last)
        mode = query.mode if not words.empty else "vector"
        if query.mode == "keyword" and words.empty:
            raise QueryError("A keyword search needs words to look for.",
                             hint="Give words (or a \"quoted phrase\"), or use --mode hybrid / vector.")
        if self.size == 0:
            return [], False, None, mode
        centre, spread = self._calibration(q)
        cutoff = None if mode == "keyword" else default_cutoff(query)

        def passes(score: float) -> bool:
            return (query.min_score is None or score >= query.min_score) and (
                cutoff is None or (score - centre) / spread >= cutoff)

        allowed = None if mode == "keyword" else self._allowed(query, words)  # keyword mode: in its SQL
        need = query.offset + query.limit + 1  # one extra tells whether there is a next page
        if mode == "keyword":
            hits = self._keyword_hits(q, query, words, need, centre, spread)
        elif mode == "hybrid":
            hits = self._hybrid_hits(q, query, words, allowed, passes, need, centre, spread)
        else:
            hits = self._ranked(q, allowed, passes, need, centre, spread)
        if not hits and cutoff is not None:
            floor = (lambda score: True) if query.min_score is None else (lambda score: score >= query.min_score)
            closest = self._ranked(q, allowed, floor, WEAK_MATCHES, centre, spread)
            hits = [Hit(h.asset, h.score, h.relevance, weak=True) for h in closest]
        page, has_more = self._page(hits, query)
        if mode != "vector":
            page = self._explained(page, words)
        return page, has_more, cutoff, mode

    def _allowed(self, query: Query, words: KeywordQuery) -> np.ndarray | None:
        """Ids passing the filters and holding every quoted phrase; None when nothing restricts."""
        allowed = None
        if query.filters.active:
            where, params = query.filters.sql()
            allowed = self.catalog.matching_ids(where, params)
        if required := words.requirement():
            holding = self.catalog.keyword_ids(required)
            allowed = holding if allowed is None else np.intersect1d(allowed, holding)
        return allowed

    def _keyword_ranking(self, query: Query, words: KeywordQuery, depth: int) -> list[tuple[int, float]]:
        """(asset id, bm25) of the keyword hits passing the filters and phrases, best first."""
        words = self._without_common_words(words, alone_too=query.mode == "hybrid")
        if words.empty:
            return []
        expression = words.match()
        if required := words.requirement():
            expression = f"({expression}) AND {required}"
        where, params = query.filters.sql() if query.filters.active else (None, [])
        return self.catalog.keyword_ranking(expression, self.field_weights, depth, where, params)

    def _without_common_words(self, words: KeywordQuery, *, alone_too: bool) -> KeywordQuery:
        """``words`` less those held by over ``COMMON_WORD_SHARE`` of the documents. Unless
        ``alone_too``, a query whose words are all common keeps them all."""
        if not words.terms or self.size < COMMON_WORD_MIN or (len(words.terms) < 2 and not alone_too):
            return words
        floor = max(COMMON_WORD_MIN, COMMON_WORD_SHARE * self.size)
        counts = self.catalog.word_document_counts(list(words.terms))
        rare = tuple(t for t in words.terms if counts[t] <= floor)
        return replace(words, terms=rare) if rare or words.phrases or alone_too else words

    def _meaning_of(self, q: np.ndarray, ids: list[int]) -> dict[int, float]:
        return {asset_id: score for score, asset_id in self._score_exactly(q, np.asarray(ids, dtype=np.int64))}

    def _keyword_hits(self, q, query: Query, words: KeywordQuery, need: int, centre: float,
                      spread: float) -> list[Hit]:
        """Keyword mode: bm25 order; the meaning score is reported, never used."""
        ranking = self._keyword_ranking(query, words, need)
        scores = self._meaning_of(q, [i for i, _ in ranking])
        rows = self.catalog.assets_by_ids(i for i, _ in ranking)
        return [Hit(rows[i], scores.get(i, 0.0), (scores.get(i, 0.0) - centre) / spread)
                for i, _ in ranking if i in rows]

    def _hybrid_hits(self, q, query: Query, words: KeywordQuery, allowed, passes, need: int, centre: float,
                     spread: float) -> list[Hit]:
        """Meaning hits that clear the cutoff and every keyword hit, in fused order.

        Both rankings are read ``depth`` deep; a keyword hit's meaning rank counts only when it
        is within the meaning ranking read, its meaning score always.
        """
        depth = max(need * FUSION_DEPTH_FACTOR, FUSION_DEPTH_MIN)
        meaning = self._nearest(q, allowed, depth)
        ranking = self._without_lookalikes(query, self._keyword_ranking(query, words, depth))
        vector_rank = {asset_id: rank for rank, (_, asset_id) in enumerate(meaning, 1)}
        keyword_rank = {asset_id: (rank, bm25) for rank, (asset_id, bm25) in enumerate(ranking, 1)}
        scores = {asset_id: score for score, asset_id in meaning}
        scores |= self._meaning_of(q, [i for i in keyword_rank if i not in scores])

        def admitted(i: int) -> bool:
            """A keyword hit needs no meaning cutoff (its words matched), only --min-score."""
            if i not in scores:
                return False
            if i in keyword_rank:
                return query.min_score is None or scores[i] >= query.min_score
            return passes(scores[i])

        candidates = [Candidate(i, (scores[i] - centre) / spread, vector_rank.get(i), *keyword_rank.get(i, (None, 0.0)))
                      for i in dict.fromkeys([*vector_rank, *keyword_rank]) if admitted(i)]
        fused = fuse(candidates, self.fusion)[:need]
        rows = self.catalog.assets_by_ids(c.asset_id for _, c in fused)
        return [Hit(rows[c.asset_id], scores[c.asset_id], c.relevance, fused=score)
                for score, c in fused if c.asset_id in rows]

    def _without_lookalikes(self, query: Query, ranking: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Keyword hits minus those that clearly look like a negative part ("coffee | -espresso":
        a file named coffee that shows an espresso): relevance for that part alone at or over
        ``DEFAULT_MIN_RELEVANCE``. The meaning ranking already pushes them down; a keyword
        rank must not lift them back."""
        negatives = [embedding_text(part.text) for part in query.parts if part.weight < 0]
        if not negatives or not ranking:
            return ranking
        ids = np.asarray([i for i, _ in ranking], dtype=np.int64)
        unwanted: set[int] = set()
        for vector in self.embed_texts(negatives):
            centre, spread = self._calibration(vector)
            unwanted |= {i for score, i in self._score_exactly(vector, ids)
                         if (score - centre) / spread >= DEFAULT_MIN_RELEVANCE}
        return [(i, bm25) for i, bm25 in ranking if i not in unwanted]

    def _explained(self, hits: list[Hit], words: KeywordQuery) -> list[Hit]:
        """The page's hits with where the query's words matched them."""
        if not hits or words.empty:
            return hits
        found = self.catalog.keyword_highlights([h.asset.id for h in hits], words.match(), (MARK_OPEN, MARK_CLOSE))
        return [replace(h, keywords=field_matches(*found[h.asset.id])) if h.asset.id in found else h for h in hits]

    def _ranked(self, q: np.ndarray, allowed: np.ndarray | None, passes, need: int, centre: float,
                spread: float) -> list[Hit]:
        """Up to ``need`` best hits that pass ``passes`` among ``allowed`` ids (None: all), best first."""
        if allowed is not None and len(allowed) <= EXACT_FILTER_LIMIT:
            return self._hits(self._score_exactly(q, allowed)[:need], passes, centre, spread)[0]
        for candidates, last in self._growing(q, allowed, need):
            hits, reached_floor = self._hits(candidates, passes, centre, spread)
            if len(hits) >= need or reached_floor or last:
                return hits[:need]
        return []

    def _nearest(self, q: np.ndarray, allowed: np.ndarray | None, need: int) -> list[tuple[float, int]]:
        """Up to ``need`` best (score, id) among ``allowed`` ids (None: all), best first; no rows
        read (the hybrid ranking reads rows for the page only)."""
        if allowed is not None and len(allowed) <= EXACT_FILTER_LIMIT:
            return self._score_exactly(q, allowed)[:need]
        for candidates, last in self._growing(q, allowed, need):
            if len(candidates) >= need or last:
                return candidates[:need]
        return []

    def _growing(self, q: np.ndarray, allowed: np.ndarray | None, need: int):
        """FAISS lookups of a growing depth (x4 each), each as (ranked (score, id) among
        ``allowed``, whether the index has nothing more to give).

        From an approximate (IVF) index, the first ``RERANK_DEPTH`` candidates are re-scored with
        their float vectors from the catalog and re-ordered: the codes round scores by up to ~0.01
        cosine, while the 10th and 11th neighbours in a large library often differ by 0.001, so
        the codes alone put 1 in 10 of the true top ten below the fold (recall@10 0.905 at 10 M
        512-d vectors with 6-bit codes, 0.999 re-ranked; BENCHMARKS.md "Re-ranking and
        memory-mapped snapshots"). Only a fixed head is re-ranked, and the codes' order is kept
        after it, so that the ranking does not depend on the lookup's depth: page 4 looks deeper
        than page 1, and re-ranking all it found would move assets across the pages already
        shown. The head is three pages of the web UI; its scores are exact cosines, on the
        calibration's scale."""
        total = self.size
        allowed = None if allowed is None else set(allowed.tolist())
        rerank = self.exact_rerank and self._live.approximate
        k = min(total, max(need * 2, RERANK_DEPTH))
        while True:
            scores, ids = self._live.search(q, k)
            candidates = [(float(s), int(i)) for s, i in zip(scores, ids)]
            index_exhausted = len(candidates) < k  # an IVF index returned all it probed
            if rerank:
                candidates = self._score_exactly(q, ids[:RERANK_DEPTH]) + candidates[RERANK_DEPTH:]
            if allowed is not None:
                candidates = [c for c in candidates if c[1] in allowed]
            yield candidates, index_exhausted or k >= total
            k = min(total, k * 4)

    def _score_exactly(self, q: np.ndarray, ids: np.ndarray) -> list[tuple[float, int]]:
        if not len(ids):
            return []
        found, matrix = self.catalog.vectors_for_ids(ids)
        scores = matrix @ q
        order = np.argsort(-scores)
        return [(float(scores[i]), int(found[i])) for i in order]

    def _hits(self, candidates, passes, centre: float, spread: float) -> tuple[list[Hit], bool]:
        """Catalog rows for ranked (score, id) pairs, stopping at the first that fails a floor
        (scores are sorted, so nothing after it can pass; the flag says it happened). Ids no
        longer in the catalog (deleted since the snapshot) are skipped."""
        rows = self.catalog.assets_by_ids(i for _, i in candidates)
        hits = []
        for score, asset_id in candidates:
            if not passes(score):
                return hits, True
            row = rows.get(asset_id)
            if row is not None:
                hits.append(Hit(row, score, (score - centre) / spread))
        return hits, False

    @staticmethod
    def _page(hits: list[Hit], query: Query) -> tuple[list[Hit], bool]:
        return hits[query.offset : query.offset + query.limit], len(hits) > query.offset + query.limit
