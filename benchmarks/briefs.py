"""Machine time per brief on the reuse path, next to a naive baseline, in the same run.

    python -m benchmarks.briefs [--size 50000] [--briefs 20]

A synthetic library (``benchmarks/synthetic.py``: real catalog and FAISS files, clustered made-up
vectors, the offline model's dimension and id, so briefs are embedded by the real offline text
model) and 20 travel briefs of 5-8 aspects each. The reuse threshold is overridden to -100 so
every brief takes the reuse path (synthetic vectors match no text), which is the path the goal is
about: retrieve (one FAISS query per aspect), align every pooled candidate with the clip aligner
(per-aspect calibrated relevance), decide, link the files, write the manifest.

Baseline, same briefs, same process: "one search per brief aspect, each scoring every asset":
embed the aspect, read every vector from the catalog and score it, keep the top 12, then score
the pooled candidates against every aspect with numpy. Times are process CPU seconds (all
threads: the machine time a brief costs) and wall seconds, per brief.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.synthetic import make_library
from generation.align.base import brief_aspects
from generation.align.threshold import ReuseThreshold
from generation.briefs import Brief
from generation.run import brief_run
from indexer.encoders import load_encoder
from indexer.library import Library
from search.engine import Searcher

CACHE = Path(os.environ.get("SCOUT_BENCH_CACHE", Path(tempfile.gettempdir()) / "scout-bench"))
DESTINATIONS = ["Lisbon", "Porto", "Kyoto", "Santorini", "Reykjavik", "Marrakesh", "Cape Town", "Vienna",
                "Havana", "Bali", "Patagonia", "Prague", "Cusco", "Hanoi", "Dubrovnik", "Queenstown",
                "Istanbul", "Banff", "Zanzibar", "Edinburgh"]
POINTS = ["old town walks", "local food markets", "sunset viewpoints", "boutique hotels", "boat trips",
          "mountain hikes", "beaches", "street art", "historic churches", "night life"]
TONES = ["serene", "adventurous", "romantic", "joyful", "nostalgic"]
AUDIENCES = ["young couples", "families with children", "solo travellers", "retirees"]


def travel_briefs(count: int) -> list[Brief]:
    briefs = []
    for i in range(count):
        where = DESTINATIONS[i % len(DESTINATIONS)]
        briefs.append(Brief(
            id=f"bench-{i:02d}", subject=f"{where} city break",
            selling_points=[f"{POINTS[(i + k) % len(POINTS)]} in {where}" for k in range(1 + i % 3)],
            tone=TONES[i % len(TONES)], audience=AUDIENCES[i % len(AUDIENCES)],
            must_show=[f"a landmark of {where}"], must_avoid=["crowds", "bad weather"][: 1 + i % 2], candidates=3,
        ))
    return briefs


def naive(searcher: Searcher, brief: Brief, per_query: int = 12) -> None:
    encoder = searcher.encoder
    aspects = brief_aspects(brief)
    pooled: set[int] = set()
    for aspect in aspects[:-len(brief.must_avoid)] if brief.must_avoid else aspects:
        q = encoder.encode_texts([aspect.text])[0]
        ids, matrix = [], []
        for chunk_ids, chunk in searcher.catalog.iter_vectors():
            ids.append(chunk_ids)
            matrix.append(chunk @ q)
        scores, all_ids = np.concatenate(matrix), np.concatenate(ids)
        pooled.update(int(i) for i in all_ids[np.argsort(-scores)[:per_query]])
    found, vectors = searcher.catalog.vectors_for_ids(np.array(sorted(pooled)))
    texts = encoder.encode_texts([a.text for a in aspects])
    (vectors @ texts.T).sum(axis=1)


def measure(fn) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--briefs", type=int, default=20)
    args = parser.parse_args()
    encoder = load_encoder("offline")
    path = CACHE / f"synthetic-{args.size}-{encoder.dim}"
    make_library(path, args.size, encoder.dim, encoder.model_id).close()
    searcher = Searcher(Library.open(path, readonly=True), encoder)
    briefs = travel_briefs(args.briefs)
    threshold = ReuseThreshold(-100.0, f"clip:{encoder.model_id}", "benchmark: force the reuse path")
    encoder.encode_texts(["warm-up"])  # the model's first call is not a per-brief cost
    with tempfile.TemporaryDirectory() as out:
        run = brief_run(searcher, Path(out), threshold=threshold)
        ours = [measure(lambda b=brief: run.run([b])) for brief in briefs]
        outcomes = {r["outcome"] for r in _manifests(Path(out))}
    searcher._text_cache.clear()
    baseline = [measure(lambda b=brief: naive(searcher, b)) for brief in briefs]
    cpus = os.cpu_count()
    print(f"library: {searcher.size} assets (synthetic, dim {encoder.dim}), {len(briefs)} briefs, "
          f"{statistics.mean(len(brief_aspects(b)) for b in briefs):.1f} aspects per brief, {cpus} CPUs; "
          f"outcomes {sorted(outcomes)}")
    for name, rows in (("scout brief run", ours), ("naive baseline", baseline)):
        cpu = [r[0] for r in rows]
        wall = [r[1] for r in rows]
        print(f"{name:16s} cpu s/brief: median {statistics.median(cpu):.3f}  max {max(cpu):.3f}  |  "
              f"wall s/brief: median {statistics.median(wall):.3f}  max {max(wall):.3f}")
    print(f"speed-up (median cpu): {statistics.median(r[0] for r in baseline) / statistics.median(r[0] for r in ours):.1f}x")
    searcher.library.close()


def _manifests(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in out.glob("*/manifest.json")]


if __name__ == "__main__":
    main()
