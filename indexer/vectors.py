"""FAISS index files: build from the catalog, write atomically, find the newest.

The catalog is the source of truth for vectors; an index file is a derived, stamped snapshot
(``index-<generation>.faiss``). A reader loads the newest file and asks the catalog only for
assets written after that generation, so a killed writer (old file, newer catalog) or a running
one (index file not yet rewritten) still gives complete, correct results.

IDs in FAISS are catalog asset ids. Vectors are unit length and the metric is inner product, so
scores are cosine similarities in [-1, 1].

Index type follows library size (``choose_factory``): exact search up to ``EXACT_LIMIT`` vectors,
where a scan takes a few milliseconds; beyond it an inverted file with 8-bit (or, above 384
dimensions, 6-bit) scalar-quantised codes, which keeps 10 M 512-d vectors at 3.7 GiB. With
``NPROBE`` lists probed, recall@10 against exact search is 0.985 at 1 M (384-d, SQ8) for queries
near stored vectors; for held-out queries of a tightly clustered 512-d mixture it is 0.91 (1 M) /
0.905 (10 M), a limit set by the 6-bit codes, not by ``NPROBE`` (8-bit: 0.97 at 1 M; BENCHMARKS.md,
"Archive scale: 10 M vectors").
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import faiss
import numpy as np

from indexer.catalog import Catalog
from indexer.errors import LibraryReadOnly

_INDEX_NAME = re.compile(r"^index-(\d+)\.faiss$")


EXACT_LIMIT = 50_000
NPROBE = 48
TRAIN_PER_LIST = 40  # FAISS warns below 39 training points per list


def new_index(dim: int) -> faiss.Index:
    """Exact inner-product search, ids mapped to catalog asset ids."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def lists_for(count: int) -> int:
    """Inverted lists for ``count`` vectors: a power of two near 4 sqrt(count), 1024 to 65536."""
    return 1 << max(10, min(16, round(float(np.log2(4 * np.sqrt(max(count, 1)))))))


def choose_factory(count: int, dim: int) -> str | None:
    """None means exact search; otherwise a ``faiss.index_factory`` string for ``count`` vectors."""
    if count <= EXACT_LIMIT:
        return None
    codes = "SQ8" if dim <= 384 else "SQ6"
    return f"IVF{lists_for(count)},{codes}"


def describe(index: faiss.Index) -> str:
    ivf = _ivf(index)
    if ivf is None:
        return "exact inner product (FAISS IndexFlatIP)"
    return f"IVF-SQ approximate ({ivf.nlist} lists, nprobe {ivf.nprobe}; FAISS {type(ivf).__name__})"


def is_approximate(index: faiss.Index) -> bool:
    """Whether the index's scores come from quantised codes rather than the stored floats."""
    return _ivf(index) is not None


def _ivf(index: faiss.Index):
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def prepare_for_search(index: faiss.Index, live: int | None = None) -> faiss.Index:
    """Set how many lists a lookup probes. ``live``: how many assets the library holds now; when
    that is few enough for an exact scan, every list is probed. A library that shrank after its
    IVF snapshot (a run that removed most files and was killed before writing a new one) would
    otherwise find its remaining assets only in the lists a query happens to probe."""
    ivf = _ivf(index)
    if ivf is not None:
        ivf.nprobe = ivf.nlist if live is not None and live <= EXACT_LIMIT else min(NPROBE, ivf.nlist)
    return index


def build_from_catalog(catalog: Catalog, dim: int) -> faiss.Index:
    count = catalog.asset_count()
    factory = choose_factory(count, dim)
    if factory is None:
        index = new_index(dim)
    else:
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        index.train(catalog.sample_vectors(TRAIN_PER_LIST * _ivf(index).nlist))
    for ids, vectors in catalog.iter_vectors():
        index.add_with_ids(vectors, ids)
    return prepare_for_search(index)


def apply_delta(index: faiss.Index, catalog: Catalog, since_gen: int) -> int:
    """Bring an index up to the catalog: drop assets removed after ``since_gen``, (re)add those
    written after it. Returns how many vectors were added."""
    removed = catalog.removed_since(since_gen)
    if len(removed):
        index.remove_ids(removed)
    added = 0
    for ids, vectors in catalog.iter_vectors(since_gen=since_gen):
        index.remove_ids(ids)
        index.add_with_ids(vectors, ids)
        added += len(ids)
    return added


def updated_snapshot(catalog: Catalog, directory: Path, dim: int) -> faiss.Index:
    """The newest snapshot patched up to the catalog, or a fresh build when there is none or the
    library has grown past the size where another index type fits better.

    An IVF index is also rebuilt once the library has grown into more lists than it has: patched
    forever, the 1024 lists trained when a library first passed ``EXACT_LIMIT`` would hold 10 000
    vectors each at 10 M, and every query would scan 16 times more codes than with the 16384 lists
    ``choose_factory`` picks there (BENCHMARKS.md, "Archive scale"). Lists double at ~131 k, 524 k,
    2.1 M, 8.4 M... assets, so all the rebuilds before the last cost under a third of it. A shrinking
    library keeps its lists (too many lists costs little; no rebuild back and forth at a boundary).

    ``dim`` is what the caller's encoder declares; the stored vectors' width wins when they
    disagree, because a run that only removes files loads no model and trusts the catalog's meta,
    which a damaged catalog can get wrong (FAISS would assert on vectors of another width)."""
    dim = catalog.vector_width() or dim
    newest = newest_index_file(directory)
    count = catalog.asset_count()
    exact_wanted = choose_factory(count, dim) is None
    index = readable_index(newest[0]) if newest is not None else None
    if index is not None:
        ivf = _ivf(index)
        outgrown = ivf is not None and ivf.nlist < lists_for(count)
        if index.d == dim and (ivf is None) == exact_wanted and not outgrown:
            apply_delta(index, catalog, newest[1])
            return index
    return build_from_catalog(catalog, dim)


def newest_index_file(directory: Path) -> tuple[Path, int] | None:
    best: tuple[Path, int] | None = None
    if not directory.is_dir():
        return None
    for entry in directory.iterdir():
        match = _INDEX_NAME.match(entry.name)
        if match and (best is None or int(match.group(1)) > best[1]):
            best = (entry, int(match.group(1)))
    return best


def save_index(index: faiss.Index, directory: Path, generation: int) -> Path:
    """Write to a temp name, fsync, rename into place, then drop older snapshots."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"index-{generation}.faiss"
    tmp = directory / f".index-{generation}.{os.getpid()}.tmp"
    try:
        faiss.write_index(index, str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except (RuntimeError, OSError) as exc:  # FAISS reports a short write (a full disk) as RuntimeError
        tmp.unlink(missing_ok=True)
        reason = "no space left on the device" if "No space left" in str(exc) else str(exc)
        raise LibraryReadOnly(
            f"Cannot write the search index in {directory}: {reason}.",
            hint="Free disk space and run scout index again; everything committed to the catalog is kept, "
            "and search keeps using the previous index meanwhile.") from None
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    for entry in directory.iterdir():
        match = _INDEX_NAME.match(entry.name)
        if (match and int(match.group(1)) < generation) or entry.name.endswith(".tmp"):
            entry.unlink(missing_ok=True)
    return final


def load_index(path: Path, mapped: bool = False) -> faiss.Index:
    """Read a snapshot into RAM, or with ``mapped`` map its inverted lists from the file (an
    exact index is read either way). Mapped lists are read-only: FAISS aborts the process on an
    add or a remove, so a mapped index is only ever searched (search/live_index.py)."""
    return prepare_for_search(faiss.read_index(str(path), faiss.IO_FLAG_MMAP if mapped else 0))


def readable_index(path: Path, mapped: bool = False) -> faiss.Index | None:
    """``load_index``, or None when FAISS cannot read the file (cut short by a full disk,
    emptied, overwritten). A snapshot is derived data: the catalog holds every vector, so a
    reader searches the catalog's vectors instead and the next index run writes a new one."""
    try:
        return load_index(path, mapped)
    except RuntimeError:
        return None


def snapshot_is_readable(path: Path) -> bool:
    """Whether FAISS can open the snapshot. Inverted lists and flat codes are both mapped, not
    read: an unchanged re-run checks a 3.7 GB IVF file from its header and list offsets, and a
    50 000-vector exact one in 10 ms instead of the 70 ms of reading its codes."""
    try:
        faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_MMAP_IFC)
    except RuntimeError:
        return False
    return True


def search_params_hiding(index: faiss.Index, ids: set[int]):
    """(selector objects to keep alive, search parameters) that leave ``ids`` out of an IVF
    index's answers at the index's own nprobe (FAISS's parameter default is 1 list)."""
    batch = faiss.IDSelectorBatch(np.fromiter(ids, dtype=np.int64, count=len(ids)))
    selector = faiss.IDSelectorNot(batch)
    params = faiss.SearchParametersIVF(sel=selector, nprobe=_ivf(index).nprobe)
    return (batch, selector), params

