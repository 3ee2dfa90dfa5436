"""Recall@1/@5 of a model on the labelled queries over sample_assets/photos.

    python -m benchmarks.recall [--model offline]

Baselines from the same run: random ranking (expected value) and hard-label ConSE (T=1, the
classifier's top class only), so the figure for Scout's default says what the soft mapping buys.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import EncoderOptions
from search.engine import Searcher
from search.query import Query, parse_text

REPO = Path(__file__).resolve().parent.parent
QUERIES = json.loads((REPO / "benchmarks" / "queries.json").read_text())["queries"]


def recall(rankings: dict[str, list[str]], k: int) -> float:
    return float(np.mean([any(n in QUERIES[q] for n in ranked[:k]) for q, ranked in rankings.items()]))


def scout_rankings(model: str, workdir: Path, text_precision: str = "fp32") -> tuple[dict[str, list[str]], object]:
    photos = workdir / "photos"
    shutil.copytree(REPO / "sample_assets" / "photos", photos)
    encoder = load_encoder(model)
    library = Library.create_or_open(workdir / "lib")
    IndexRun(library, encoder).run([photos])
    if text_precision != "fp32":  # same stored image vectors, queries embedded at lower precision
        encoder = load_encoder(model, EncoderOptions(text_precision=text_precision))
    searcher = Searcher(library, encoder)
    rankings = {}
    for text in QUERIES:
        hits = searcher.search(Query(parts=parse_text(text), limit=18, include_all=True)).hits
        rankings[text] = [Path(h.asset.path).name for h in hits]
    return rankings, encoder


def hard_label_rankings(encoder, photos: Path) -> dict[str, list[str]]:
    """ConSE with T=1: each photo becomes the embedding of its single most likely class."""
    from indexer.decode import decode_image

    files = sorted(photos.iterdir())
    batch = torch.stack([encoder.preprocess(decode_image(f.read_bytes(), str(f), max_pixels=10**9).image)
                         for f in files])
    with torch.inference_mode():
        top = encoder.classifier(batch).argmax(-1)
    images = encoder.class_vectors[top].numpy()
    texts = encoder.encode_texts(list(QUERIES))
    scores = texts @ images.T
    return {q: [files[j].name for j in np.argsort(-scores[i])] for i, q in enumerate(QUERIES)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="offline")
    parser.add_argument("--text-precision", default="fp32", choices=["fp32", "int8", "bf16"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rankings, encoder = scout_rankings(args.model, Path(tmp), args.text_precision)
        n = len(list((REPO / "sample_assets" / "photos").iterdir()))
        relevant = np.mean([len(v) for v in QUERIES.values()])
        random_r1 = relevant / n
        random_r5 = float(np.mean([1 - np.prod([(n - len(v) - i) / (n - i) for i in range(5)])
                                   for v in QUERIES.values()]))
        print(f"model: {encoder.model_id}")
        print(f"queries: {len(QUERIES)} over {n} photos (benchmarks/queries.json)")
        print(f"{'ranking':34s} {'R@1':>6s} {'R@5':>6s}")
        print(f"{'random (expected)':34s} {random_r1:6.2f} {random_r5:6.2f}")
        if hasattr(encoder, "classifier"):
            hard = hard_label_rankings(encoder, Path(tmp) / "photos")
            print(f"{'hard-label ConSE (T=1)':34s} {recall(hard, 1):6.2f} {recall(hard, 5):6.2f}")
        r1, r5 = recall(rankings, 1), recall(rankings, 5)
        print(f"{'scout ' + args.model + ' (' + args.text_precision + ' queries)':34s} {r1:6.2f} {r5:6.2f}")
        print(f"ratio to random: R@1 x{r1 / random_r1:.1f}, R@5 x{r5 / random_r5:.1f}")
        misses = [q for q, ranked in rankings.items() if ranked[0] not in QUERIES[q]]
        print("top-1 misses: " + "; ".join(misses))


if __name__ == "__main__":
    main()
