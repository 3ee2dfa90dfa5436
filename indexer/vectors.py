"""FAISS index files: build from the catalog, write atomically, find the newest.

The catalog is the source of truth for vectors; an index file is a derived, stamped snapshot
(``index-<generation>.faiss``). A reader loads the newest file and asks the catalog only for
assets written after that generation, so a killed writer (old file, newer catalog) or a running
one (index file not yet rewritten) still gives complete, correct results.

IDs in FAISS are catalog asset ids (``IndexIDMap2``). Vectors are unit length and the metric is
inner product, so scores are cosine similarities in [-1, 1].
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import faiss

from indexer.catalog import Catalog

_INDEX_NAME = re.compile(r"^index-(\d+)\.faiss$")


def new_index(dim: int) -> faiss.Index:
    """Exact inner-product search: at library sizes Scout targets first, a scan is milliseconds."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def build_from_catalog(catalog: Catalog, dim: int) -> faiss.Index:
    index = new_index(dim)
    for ids, vectors in catalog.iter_vectors():
        index.add_with_ids(vectors, ids)
    return index


def apply_delta(index: faiss.Index, catalog: Catalog, since_gen: int) -> int:
    """Bring a loaded index up to the catalog: (re)add every asset written after ``since_gen``."""
    added = 0
    for ids, vectors in catalog.iter_vectors(since_gen=since_gen):
        index.remove_ids(ids)
        index.add_with_ids(vectors, ids)
        added += len(ids)
    return added


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
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)
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


def load_index(path: Path) -> faiss.Index:
    return faiss.read_index(str(path))

