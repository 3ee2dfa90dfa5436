"""FAISS snapshots: index type by size, atomic files, and the approximate path's accuracy."""

from __future__ import annotations

import faiss
import numpy as np

from indexer import vectors
from indexer.catalog import Batch, ContentWrite, FileWrite
from indexer.library import Library


def test_exact_until_the_limit_then_ivf_sq():
    assert vectors.choose_factory(vectors.EXACT_LIMIT, 384) is None
    assert vectors.choose_factory(1_000_000, 384) == "IVF4096,SQ8"
    assert vectors.choose_factory(10_000_000, 512).endswith("SQ6")  # 10 M x 512-d stays under 4 GB


def _clustered(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((64, dim)).astype(np.float32)
    data = centres[rng.integers(0, 64, count)] + rng.standard_normal((count, dim)).astype(np.float32) * 0.5
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


def _library_with(tmp_path, data: np.ndarray) -> Library:
    library = Library.create_or_open(tmp_path / "lib")
    batch = Batch()
    for i, vector in enumerate(data):
        h = f"{i:032x}"
        batch.contents.append(ContentWrite(h, "JPEG", 10, 10, "RGB", vector, None))
        batch.assets.append((FileWrite(f"/x/{i}.jpg", "/x", 1, 1), h))
    library.catalog.commit_batch(batch)
    return library


def test_ivf_path_finds_what_exact_search_finds(tmp_path, monkeypatch):
    data = _clustered(6000, 32)
    library = _library_with(tmp_path, data)
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 1000)
    index = vectors.build_from_catalog(library.catalog, 32)
    assert "IVF" in vectors.describe(index)
    rng = np.random.default_rng(3)
    queries = data[rng.integers(0, len(data), 50)]
    _, got = index.search(queries, 10)
    overlap = 0
    for q, row in zip(queries, got):
        exact = set((np.argsort(-(data @ q))[:10] + 1).tolist())  # asset ids start at 1
        overlap += len(exact & set(row.tolist()))
    assert overlap / 500 >= 0.95


def test_snapshots_are_replaced_atomically(tmp_path):
    library = _library_with(tmp_path, _clustered(50, 8))
    index = vectors.build_from_catalog(library.catalog, 8)
    first = vectors.save_index(index, library.vectors_dir, 1)
    second = vectors.save_index(index, library.vectors_dir, 2)
    assert not first.exists() and second.exists()
    assert vectors.newest_index_file(library.vectors_dir) == (second, 2)
    assert [p.name for p in library.vectors_dir.iterdir()] == ["index-2.faiss"]
    assert vectors.load_index(second).ntotal == 50


def test_lists_grow_with_the_library():
    assert vectors.lists_for(vectors.EXACT_LIMIT + 1) == 1024
    assert vectors.lists_for(1_000_000) == 4096
    assert vectors.lists_for(10_000_000) == 16384
    assert vectors.choose_factory(10_000_000, 512) == "IVF16384,SQ6"


def test_snapshot_is_rebuilt_when_the_library_outgrows_its_lists(tmp_path, monkeypatch):
    """A library that passed the exact limit small and kept growing must not keep its first lists
    (at 10 M: 1024 lists of 10 000 vectors, each query scanning 16x the codes it should)."""
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 1000)
    monkeypatch.setattr(vectors, "lists_for", lambda count: 32 if count < 3000 else 64)
    data = _clustered(4000, 16)
    library = _library_with(tmp_path, data[:2000])
    first = vectors.updated_snapshot(library.catalog, library.vectors_dir, 16)
    assert faiss.extract_index_ivf(first).nlist == 32
    vectors.save_index(first, library.vectors_dir, library.catalog.generation)
    batch = Batch()
    for i, vector in enumerate(data[2000:], start=2000):
        batch.contents.append(ContentWrite(f"{i:032x}", "JPEG", 10, 10, "RGB", vector, None))
        batch.assets.append((FileWrite(f"/x/{i}.jpg", "/x", 1, 1), f"{i:032x}"))
    library.catalog.commit_batch(batch)
    grown = vectors.updated_snapshot(library.catalog, library.vectors_dir, 16)
    assert faiss.extract_index_ivf(grown).nlist == 64
    assert grown.ntotal == 4000
    _, got = grown.search(data[3990:], 1)
    assert got[:, 0].tolist() == list(range(3991, 4001))  # asset ids start at 1
    vectors.save_index(grown, library.vectors_dir, library.catalog.generation)
    monkeypatch.setattr(vectors, "lists_for", lambda count: 32)  # shrinking never rebuilds
    kept = vectors.updated_snapshot(library.catalog, library.vectors_dir, 16)
    assert faiss.extract_index_ivf(kept).nlist == 64
