"""Synthetic libraries for scale benchmarks: real catalogs and FAISS files, made-up vectors.

Vectors are *clustered* unit vectors (4096 random centres, each point a centre plus Gaussian
noise, normalised), because real image embeddings are clustered and approximate indexes are
tuned on that structure; ``kind="uniform"`` gives the uniform random worst case instead.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from indexer import vectors
from indexer.catalog import Batch, ContentWrite, FileWrite
from indexer.library import Library

CENTRES = 4096


def synthetic_vectors(count: int, dim: int, seed: int = 0, kind: str = "clustered") -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        out = rng.standard_normal((count, dim), dtype=np.float32)
    else:
        centres = rng.standard_normal((CENTRES, dim), dtype=np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        out = np.empty((count, dim), dtype=np.float32)
        for start in range(0, count, 100_000):
            stop = min(count, start + 100_000)
            picks = rng.integers(0, CENTRES, stop - start)
            noise = rng.standard_normal((stop - start, dim), dtype=np.float32) * (0.9 / np.sqrt(dim))
            out[start:stop] = centres[picks] + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def make_library(path: Path, count: int, dim: int, model_id: str, kind: str = "clustered") -> Library:
    """A library of ``count`` fake assets (paths under /synthetic) with a saved FAISS snapshot."""
    marker = path / f".synthetic-{count}-{dim}-{kind}"
    if marker.exists():
        return Library.open(path)
    started = time.monotonic()
    library = Library.create_or_open(path)
    library.catalog.set_meta(model=model_id, dim=str(dim))
    data = synthetic_vectors(count, dim, kind=kind)
    rng = np.random.default_rng(1)
    for start in range(0, count, 20_000):
        batch = Batch()
        for i in range(start, min(count, start + 20_000)):
            content_hash = f"{i:032x}"
            w, h = (int(x) for x in rng.choice([(6000, 4000), (4000, 6000), (3000, 3000), (1920, 1080)]))
            batch.contents.append(ContentWrite(content_hash, "JPEG", w, h, "RGB", data[i], None))
            batch.assets.append((FileWrite(f"/synthetic/shoot-{i % 500:03d}/img-{i:07d}.jpg",
                                           "/synthetic", 1, 1), content_hash))
        library.catalog.commit_batch(batch)
    index = vectors.build_from_catalog(library.catalog, dim)
    vectors.save_index(index, library.vectors_dir, library.catalog.generation)
    library.catalog.set_meta(index_type=vectors.describe(index))
    marker.write_text(f"built in {time.monotonic() - started:.0f}s\n")
    return library
