"""The searcher's vector index: the newest FAISS snapshot, kept up to the catalog.

The writer stamps each snapshot with the catalog generation it holds (indexer/vectors.py); a
reader takes the newest and folds in what the catalog wrote after it. There are two ways to hold
the snapshot, and a process picks the one that fits how long it lives:

- **loaded** (``mapped=False``, what ``scout serve`` and brief runs use): the file is read into
  RAM and patched in place. Lookups are fastest; the cost is reading the whole file first
  (3.7 GiB at 10 M vectors) and holding it in the process's own memory.
- **mapped** (``mapped=True``, what a one-shot ``scout search`` uses): an IVF snapshot is
  memory-mapped (``faiss.IO_FLAG_MMAP``), so opening it reads next to nothing and a query reads
  only the lists it probes, from the page cache that every process shares. FAISS's mapped lists
  are read-only (adding to them aborts the process), so what the catalog wrote since the
  snapshot goes into a small exact index beside it, and the ids it replaced or removed are
  hidden from the snapshot's answers through an id selector. When that side index outgrows
  ``DELTA_LIMIT`` (an index run that has not written its snapshot yet), the snapshot is loaded
  and patched instead, as a long-lived process would. An exact (flat) snapshot is always loaded:
  FAISS maps only inverted lists, and below ``vectors.EXACT_LIMIT`` vectors the file is small.

Ids are catalog asset ids; a snapshot the writer has replaced stays readable while mapped
(unlinking a mapped file keeps its pages), and the next refresh moves to the newer one.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from indexer import vectors
from indexer.catalog import Catalog

DELTA_LIMIT = vectors.EXACT_LIMIT  # an exact scan of this many vectors takes a few milliseconds


class LiveIndex:
    def __init__(self, dim: int, *, mapped: bool = False) -> None:
        self.dim = dim
        self.mapped = mapped
        self._index: faiss.Index = vectors.new_index(dim)  # the snapshot (loaded, or mapped read-only)
        self._delta: faiss.Index | None = None  # mapped mode only: vectors written since the snapshot
        self._hidden: set[int] = set()  # mapped mode only: snapshot ids replaced or removed since
        self._selector = None  # keeps the SWIG selector objects alive as long as the params using them
        self._params = None
        self._live = 0  # assets in the catalog at the last refresh
        self.damaged: Path | None = None  # a snapshot FAISS could not read (searched from the catalog)
        self.generation = -1

    # -- keeping up with the writer -----------------------------------------------------------

    def refresh(self, catalog: Catalog, directory: Path, generation: int, live: int) -> None:
        """Bring the view up to ``generation``: a newer snapshot if one was written, then the
        catalog's changes after whichever snapshot or generation the view already holds.
        ``live`` is how many assets the catalog holds now (the caller counts them once)."""
        if generation == self.generation:
            return
        self._live = live
        newest = vectors.newest_index_file(directory)
        if newest and self.generation < newest[1] <= generation:
            since = newest[1] if self._take_snapshot(newest[0]) else 0
        else:
            since = max(self.generation, 0)
        if self._delta is None:
            vectors.apply_delta(self._index, catalog, since)
        elif not self._patch_beside(catalog, since):
            held = self._take_snapshot(newest[0] if newest else None, load=True)
            vectors.apply_delta(self._index, catalog, newest[1] if held else 0)
        vectors.prepare_for_search(self._index, self.size)
        if self._hidden:  # the parameters carry nprobe, so they follow it
            self._selector, self._params = vectors.search_params_hiding(self._index, self._hidden)
        self.generation = generation

    def _take_snapshot(self, path: Path | None, load: bool = False) -> bool:
        """Hold the snapshot at ``path``; False when there is none, FAISS cannot read it, or it
        holds vectors of another width (a reindex to another model, interrupted): then an empty
        exact index, which the caller fills from the whole catalog."""
        self._delta, self._hidden, self._selector, self._params = None, set(), None, None
        mapped = self.mapped and not load
        index = vectors.readable_index(path, mapped=mapped) if path is not None else None
        self.damaged = path if path is not None and index is None else None
        if index is not None and index.d != self.dim:  # the old model's, during an interrupted reindex
            index = None
        self._index = index if index is not None else vectors.new_index(self.dim)
        if mapped and index is not None and vectors.is_approximate(index):  # FAISS maps inverted lists only
            self._delta = vectors.new_index(self.dim)
        return index is not None

    def _patch_beside(self, catalog: Catalog, since: int) -> bool:
        """Fold the catalog's changes after ``since`` into the side index; False when they
        would outgrow it (nothing is changed then)."""
        removed = catalog.removed_since(since)
        written = list(catalog.iter_vectors(since_gen=since))
        if self._delta.ntotal + sum(len(ids) for ids, _ in written) > DELTA_LIMIT:
            return False
        hidden = set(self._hidden)
        if len(removed):
            self._delta.remove_ids(removed)
            hidden.update(removed.tolist())
        for ids, rows in written:
            self._delta.remove_ids(ids)
            self._delta.add_with_ids(rows, ids)
            hidden.update(ids.tolist())
        self._hidden = hidden
        return True

    # -- reading -------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Vectors searchable. Mapped with a side index, the snapshot cannot say which of its ids
        were replaced or removed since without reading every list, so the catalog's count of
        assets at the last refresh caps snapshot + side index."""
        if self._delta is None:
            return int(self._index.ntotal)
        return min(int(self._index.ntotal) + int(self._delta.ntotal), self._live)

    @property
    def approximate(self) -> bool:
        return vectors.is_approximate(self._index)

    def describe(self) -> str:
        text = vectors.describe(self._index)
        if self._delta is not None:
            text += f", memory-mapped, {self._delta.ntotal} newer vectors beside it"
        return text

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` (scores, ids) for one query vector, best first; fewer when the index
        has fewer to give (no -1 padding)."""
        k = max(1, min(k, self.size))
        if self._params is not None:
            scores, ids = self._index.search(q[None, :], k, params=self._params)
        else:
            scores, ids = self._index.search(q[None, :], k)
        scores, ids = scores[0], ids[0]
        if self._delta is not None and self._delta.ntotal:
            more_scores, more_ids = self._delta.search(q[None, :], min(k, int(self._delta.ntotal)))
            scores, ids = np.concatenate([scores, more_scores[0]]), np.concatenate([ids, more_ids[0]])
            order = np.argsort(-scores, kind="stable")[:k]
            scores, ids = scores[order], ids[order]
        keep = ids >= 0
        return scores[keep], ids[keep]
