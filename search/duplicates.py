"""Duplicate clusters: the same file at several paths, and near-duplicates (resized, recompressed,
slightly cropped or colour-graded copies), each cluster with a suggested keeper. Never deletes.

Two signals, because neither suffices alone (measured in BENCHMARKS.md "Duplicates"):

* Embedding similarity says "looks alike". But a burst of one scene, or two shots of one
  landmark, are just as close as a recompressed copy, and with the offline model a downscaled
  copy can score below a pair of unrelated photos.
* The perceptual hash (:mod:`indexer.perceptual`) says "same picture": copies sit a few bits
  apart, different pictures near 32 of 64; crops move it most.

So a pair of contents is a near-duplicate when its cosine is at least ``min_similarity`` and
its pHash distance at most ``max_hamming``; or, for
a pair the embedding holds nearly identical (cosine at least ``close_similarity``), a pHash
distance up to ``close_hamming``. The second rule is for crops: cutting 4 % off each side moves
pHash by 4-26 bits (median 10) while the cosine stays above 0.98.
Clusters are the connected groups of such pairs plus the contents held by several paths.

The keeper: the most pixels; then the oldest file (the original is usually older than its
copies); then the richest embedded metadata; then the first path.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import faiss
import numpy as np

from indexer.catalog import AssetRow
from indexer.catalog.media import MediaRow
from indexer.errors import QueryError, StaleResult
from indexer.library import Library
from indexer.perceptual import PHASH, hamming

# Measured with benchmarks/duplicates.py on the sample photos and their variants (BENCHMARKS.md
# "Librarian passes and duplicate thresholds"): resized, recompressed and graded copies sit 0-6
# pHash bits from the original, 4 % crops 4-26 (cosine 0.89-1), different photos 18-44 bits.
MIN_SIMILARITY = 0.5
MAX_HAMMING = 12
CLOSE_SIMILARITY = 0.975
CLOSE_HAMMING = 18
_BLOCK = 4096  # hashes per range search
_PAIRS = 200_000  # candidate pairs per cosine batch (two 512-d gathers: ~800 MB)


@dataclass(frozen=True)
class DuplicateSettings:
    min_similarity: float = MIN_SIMILARITY
    max_hamming: int = MAX_HAMMING
    exact_only: bool = False
    close_similarity: float = CLOSE_SIMILARITY
    close_hamming: int = CLOSE_HAMMING

    def __post_init__(self) -> None:
        if not -1.0 <= self.min_similarity <= 1.0:
            raise QueryError(f"min_similarity must be between -1 and 1, got {self.min_similarity}.")
        for name in ("max_hamming", "close_hamming"):
            if not 0 <= getattr(self, name) <= 32:
                raise QueryError(f"{name} must be between 0 and 32 bits, got {getattr(self, name)}.",
                                 hint="Copies sit a few bits apart; 32 is what unrelated pictures differ by.")
        if not -1.0 <= self.close_similarity <= 1.0:
            raise QueryError(f"close_similarity must be between -1 and 1, got {self.close_similarity}.")


@dataclass(frozen=True)
class Member:
    asset: AssetRow
    relation: str  # "keeper", "exact" (same bytes as the keeper) or "near"
    similarity: float | None  # cosine to the keeper's content; None for the keeper and exact copies
    hamming: int | None  # pHash bits differing from the keeper's content


@dataclass(frozen=True)
class Cluster:
    kind: str  # "exact": one content at several paths; "near": several contents
    keeper: AssetRow
    reason: str
    members: tuple[Member, ...]  # the keeper first

    @property
    def others(self) -> tuple[AssetRow, ...]:
        return tuple(m.asset for m in self.members if m.relation != "keeper")


@dataclass(frozen=True)
class DuplicateReport:
    clusters: list[Cluster]  # largest first, then by the keeper's path: a stable order to page through
    contents: int  # embedded contents looked at
    unhashed: int  # contents without a perceptual hash yet: their near-duplicates cannot be confirmed

    @property
    def extra_files(self) -> int:
        """Files besides the suggested keepers, over every cluster (what a clean-up would free)."""
        return sum(len(c.members) - 1 for c in self.clusters)

    def page(self, offset: int, limit: int) -> list[Cluster]:
        return self.clusters[offset : offset + limit]


class _Groups:
    """Union-find over content positions."""

    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_pairs(vectors: np.ndarray, hashes: list[int | None], settings: DuplicateSettings) -> list[tuple[int, int, float]]:
    """(i, j, cosine) for content pairs passing both tests, i < j.

    Candidates come from the perceptual hashes (every pair within ``close_hamming`` bits, found
    exactly by FAISS's binary index), then the embedding confirms them: at 100 000 contents that
    takes seconds where an exact nearest-neighbour search over the vectors takes minutes
    (BENCHMARKS.md), and no copy is lost for falling outside a fixed number of neighbours.

    The search runs over distinct hash values. A value held by more than ``CROWDED`` contents says
    nothing about the picture (flat, blank and near-uniform images all hash alike): its contents
    are candidates of its first one only (a star, not every pair). Without this, 4,000 distinct
    blank images made 8 million pairs, 24 s and 2.6 GB, and /api/duplicates grew quadratically.
    """
    present = np.array([i for i, h in enumerate(hashes) if h is not None], dtype=np.int64)
    if len(present) < 2:
        return []
    values, inverse = np.unique(np.array([hashes[i] for i in present], dtype=np.uint64), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    holders = np.split(present[order], np.cumsum(np.bincount(inverse, minlength=len(values)))[:-1])
    codes = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    index = faiss.IndexBinaryFlat(64)
    index.add(codes)
    radius = max(settings.max_hamming, settings.close_hamming) + 1  # range_search keeps distances < radius
    candidates: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for group in holders:
        if len(group) > 1:
            a, b = _within(group)
            candidates.append((a, b, np.zeros(len(a), dtype=np.int32)))
    first = np.array([group[0] for group in holders], dtype=np.int64)
    single = np.array([len(group) == 1 or len(group) > CROWDED for group in holders])  # one candidate each
    for start in range(0, len(codes), _BLOCK):
        limits, bits, found = index.range_search(codes[start : start + _BLOCK], radius)
        rows = np.repeat(np.arange(start, start + len(limits) - 1), np.diff(limits.astype(np.int64)))
        keep = found > rows
        x, y, d = rows[keep], found[keep], bits[keep]
        direct = single[x] & single[y]
        candidates.append((first[x[direct]], first[y[direct]], d[direct].astype(np.int32)))
        for one, other, bits_apart in zip(x[~direct], y[~direct], d[~direct]):
            a, b = _across(holders[one], holders[other])
            candidates.append((a, b, np.full(len(a), bits_apart, dtype=np.int32)))
    pairs: list[tuple[int, int, float]] = []
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    waiting = 0
    for number, item in enumerate(candidates):
        pending.append(item)
        waiting += len(item[0])
        if waiting < _PAIRS and number < len(candidates) - 1:
            continue
        a, b, d = (np.concatenate(column) for column in zip(*pending))
        pending, waiting = [], 0
        cosine = np.einsum("ij,ij->i", vectors[a], vectors[b])
        accept = ((d <= settings.max_hamming) & (cosine >= settings.min_similarity)) | (
            (d <= settings.close_hamming) & (cosine >= settings.close_similarity))
        pairs += [(int(i), int(j), float(c)) for i, j, c in zip(a[accept], b[accept], cosine[accept])]
    return sorted((min(i, j), max(i, j), c) for i, j, c in pairs)


CROWDED = 64  # contents sharing one exact pHash value beyond which it no longer tells pictures apart


def _within(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs among contents with the same hash: all of them, or the first with each
    other when the value is crowded."""
    if len(group) > CROWDED:
        return np.full(len(group) - 1, group[0]), group[1:]
    first, second = np.triu_indices(len(group), k=1)
    return group[first], group[second]


def _across(one: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs between two hash values within the radius; a crowded side is its first content."""
    one = one[:1] if len(one) > CROWDED else one
    other = other[:1] if len(other) > CROWDED else other
    return np.repeat(one, len(other)), np.tile(other, len(one))


def _when(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, timezone.utc).strftime("%Y-%m-%d")


def choose_keeper(assets: list[AssetRow], media: dict[str, MediaRow]) -> tuple[AssetRow, str]:
    """The asset to keep, and why, by the rule in the module docstring."""
    def richness(asset: AssetRow) -> int:
        row = media.get(asset.hash)
        return row.richness if row else 0

    ranked = sorted(assets, key=lambda a: (-a.width * a.height, a.mtime_ns, -richness(a), a.path))
    best, runner = ranked[0], ranked[1]
    if best.width * best.height > runner.width * runner.height:
        return best, f"largest: {best.width}x{best.height} (next {runner.width}x{runner.height})"
    if best.mtime_ns < runner.mtime_ns:
        return best, f"same size; oldest file ({_when(best.mtime_ns)}, next {_when(runner.mtime_ns)})"
    if richness(best) > richness(runner):
        return best, f"same size and age; richest embedded metadata ({richness(best)} fields, next {richness(runner)})"
    return best, "identical size, age and metadata; first by path"


def find_duplicates(library: Library, settings: DuplicateSettings = DuplicateSettings()) -> DuplicateReport:
    catalog = library.catalog
    names: list[str] = []
    blocks: list[np.ndarray] = []
    for hashes, matrix in catalog.content_vectors():
        names += hashes
        blocks.append(matrix)
    position = {name: i for i, name in enumerate(names)}
    groups = _Groups(len(names))
    phashes = catalog.perceptual_values(PHASH)
    unhashed = sum(name not in phashes for name in names)
    if not settings.exact_only and blocks:
        pairs = near_pairs(np.vstack(blocks), [phashes.get(name) for name in names], settings)
        for i, j, _ in pairs:
            groups.join(i, j)
    shared = {position[h] for h in catalog.shared_contents() if h in position}
    components: dict[int, list[int]] = {}
    for i in range(len(names)):
        components.setdefault(groups.find(i), []).append(i)
    wanted = [members for members in components.values() if len(members) > 1 or members[0] in shared]
    holders = catalog.assets_for_hashes(names[i] for members in wanted for i in members)
    media = catalog.media_for_hashes(holders)
    vectors = np.vstack(blocks) if blocks else None
    clusters = []
    for members in wanted:
        assets = [asset for i in members for asset in holders.get(names[i], [])]
        if len(assets) < 2:
            continue
        keeper, reason = choose_keeper(assets, media)
        keep = position[keeper.hash]
        rows = []
        for asset in assets:
            if asset is keeper:
                continue
            if asset.hash == keeper.hash:
                rows.append(Member(asset, "exact", None, 0 if keeper.hash in phashes else None))
                continue
            other = position[asset.hash]
            score = float(vectors[keep] @ vectors[other])
            bits = hamming(phashes[keeper.hash], phashes[asset.hash]) \
                if keeper.hash in phashes and asset.hash in phashes else None
            rows.append(Member(asset, "near", round(score, 4), bits))
        rows.sort(key=lambda m: (m.relation != "exact", m.hamming if m.hamming is not None else 99, m.asset.path))
        kind = "exact" if len(members) == 1 else "near"
        clusters.append(Cluster(kind, keeper, reason, (Member(keeper, "keeper", None, None), *rows)))
    clusters.sort(key=lambda c: (-len(c.members), c.keeper.path))
    return DuplicateReport(clusters, len(names), 0 if settings.exact_only else unhashed)


class ReportCache:
    """Reports kept for paging, keyed by settings; each names itself with a random version.

    A server pages through the groups of a large library (about 40 s to find them at 100 000
    images): finding them all again for every page would make each "more" click as slow as the
    first page. And pages must come from one report: an index run between two pages can move a
    group ahead, and offset paging into the new report would repeat one group and never show
    another. So every answer names its report's version; a page asked for with that version comes
    from that report while it is kept (the current and the previous one), and is refused as stale
    after that. The version is random, not SQLite's ``data_version`` (which tells when to search
    again): that counter starts over on every connection, so after a server restart an old page's
    number would name another report. One search at a time per cache, so two first pages do not
    both do the work."""

    KEPT = 2  # reports per settings: the current one, and the one a client may still be paging

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # per settings: the catalog's data_version the newest report was made at, then
        # version -> report, oldest first
        self._reports: dict[DuplicateSettings, tuple[int, dict[int, DuplicateReport]]] = {}

    def report(self, library: Library, settings: DuplicateSettings,
               version: int | None = None) -> tuple[int, DuplicateReport]:
        """(version, report): the current one, or with ``version`` that one if it is still kept."""
        with self._lock:
            made_at, kept = self._reports.get(settings, (None, {}))
            if version is not None:
                if version not in kept:
                    raise StaleResult("The library changed since the first page of duplicates.",
                                      hint="Start again from the first page (offset 0, no version).")
                return version, kept[version]
            current = library.catalog.data_version()
            if current != made_at:
                kept[secrets.randbits(52)] = find_duplicates(library, settings)  # exact in a JavaScript number
                for old in list(kept)[:-self.KEPT]:
                    del kept[old]
                self._reports[settings] = (current, kept)
            newest = next(reversed(kept))
            return newest, kept[newest]


def cluster_json(cluster: Cluster) -> dict:
    """A cluster as the CLI's ``--json`` and the HTTP API show it."""
    return {
        "kind": cluster.kind, "keeper": cluster.keeper.id, "reason": cluster.reason,
        "members": [{
            "id": m.asset.id, "path": m.asset.path, "relation": m.relation, "width": m.asset.width,
            "height": m.asset.height, "size": m.asset.size, "format": m.asset.format,
            "similarity": m.similarity, "hamming": m.hamming,
        } for m in cluster.members],
    }
