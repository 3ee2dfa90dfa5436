"""Embeddings of fixed text lists (class names, label vocabularies, prompt templates), kept on disk.

Embedding a thousand prompts costs seconds to minutes on a small CPU, and the same list is
embedded again by every process that needs it (each `scout brief run`, each server start). The
vectors depend only on the model and the exact texts, so they are cached under the user's cache
folder keyed by both; a damaged or mismatched file is simply recomputed, and a read-only cache
only costs the time.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from indexer.encoders.base import Encoder
from indexer.settings import default_cache_dir


def cached_text_vectors(encoder: Encoder, texts: list[str], cache_dir: Path | None = None) -> np.ndarray:
    key = hashlib.sha256("\n".join([encoder.model_id, *texts]).encode()).hexdigest()[:20]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder.model_id)[:60]
    path = Path(cache_dir or default_cache_dir()) / "texts" / f"{slug}-{key}.npy"
    if path.is_file():
        try:
            vectors = np.load(path)
            if vectors.shape == (len(texts), encoder.dim):
                return vectors
        except (OSError, ValueError):
            pass
    vectors = np.asarray(encoder.encode_texts(texts), dtype=np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
    except OSError:
        pass
    return vectors
