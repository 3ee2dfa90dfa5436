"""Query latency at scale: Scout in-process and over HTTP, against a naive full scan.

    python -m benchmarks.query_latency --sizes 10000 100000 1000000 --http

For each size a synthetic library (benchmarks/synthetic.py) is built once and cached. Measured
in the same process, with the real text encoder of ``--model``:

  naive     encode the text every time, score every vector with numpy, argsort all scores
  scout     Searcher.search (cached text embeddings after the first time, FAISS lookup, catalog
            rows for the page, calibration); reported cold (new text) and warm (repeated text),
            after five throw-away queries so that first touches of the index are not counted
  http      GET /api/search on a real uvicorn server over loopback, cold and warm

Size 0 stands for sample_assets/photos, indexed for real (18 vectors).
  recall    recall@10 of Scout's searches against exact search, on 200 near-data queries given
            as example vectors, with and without the exact re-rank of an approximate index's
            candidates (``Searcher(exact_rerank=...)``), and the lookup time of each

Also: resident memory of the process after loading the searcher, and the index's bytes per
vector, projected to 10 M vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.synthetic import make_library, synthetic_vectors
from indexer import vectors
from indexer.encoders import load_encoder
from indexer.library import Library
from search.engine import Searcher
from search.query import Example, Query, parse_text

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("SCOUT_BENCH_CACHE", Path(tempfile.gettempdir()) / "scout-bench"))
EXTRA_QUERIES = [
    "sunlit beach with families", "a red sports car", "city skyline at night", "a bowl of soup",
    "a dog running on grass", "a mountain lake at dawn", "an office meeting", "a bicycle",
    "a plate of pasta", "snowy forest", "a child with a balloon", "a laptop on a desk",
    "fireworks over a harbour", "a vintage camera", "a glass of red wine", "a surfer on a wave",
    "autumn leaves", "a wedding couple", "a bowl of fruit",
]


WARM_UP = ["warm-up one", "warm-up two", "warm-up three", "warm-up four", "warm-up five"]


def queries() -> list[str]:
    labelled = json.loads((REPO / "benchmarks" / "queries.json").read_text())["queries"]
    return list(labelled) + EXTRA_QUERIES


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1e3


def recall_at_10(searcher: Searcher, data: np.ndarray, count: int = 200) -> tuple[float, float]:
    """(recall@10 against exact search, p50 lookup ms) of whole searches by example vector."""
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(data), count)
    qs = data[picks] + rng.standard_normal((count, data.shape[1]), dtype=np.float32) * 0.02
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    found, took = 0, []
    for q in qs:
        result = searcher.search(Query(examples=(Example(vector=q, label="probe"),), limit=10, include_all=True))
        exact = np.argpartition(-(data @ q), 10)[:10] + 1  # synthetic asset ids are row + 1
        found += len(set(exact.tolist()) & {h.asset.id for h in result.hits})
        took.append(result.search_ms)
    return found / (10 * count), pct(took, 50)


def sample_library(encoder) -> Path:
    """sample_assets/photos indexed into a fresh library (the real photos, 18 vectors)."""
    import shutil

    from indexer.pipeline import IndexRun

    path = Path(tempfile.mkdtemp(prefix="scout-sample-"))
    shutil.copytree(REPO / "sample_assets" / "photos", path / "photos")
    library = Library.create_or_open(path / "lib")
    IndexRun(library, encoder).run([path / "photos"])
    library.close()
    return path / "lib"


def bench_size(size: int, encoder, texts: list[str], http: bool) -> dict:
    if size == 0:
        path, built = sample_library(encoder), 0.0
    else:
        path = CACHE / f"synthetic-{size}-{encoder.dim}"
        built = timed(lambda: make_library(path, size, encoder.dim, encoder.model_id).close())
    base_rss = rss_mb()
    searcher = Searcher(Library.open(path, readonly=True), encoder)
    loaded_rss = rss_mb()
    index_file = vectors.newest_index_file(path / "vectors")[0]
    row = {"size": size, "index": searcher.index.describe(), "build_s": built / 1e3,
           "rss_mb": loaded_rss, "searcher_mb": loaded_rss - base_rss,
           "bytes_per_vector": index_file.stat().st_size / max(searcher.size, 1)}

    def one(text: str) -> tuple[float, float, float]:
        result = searcher.search(Query(parts=parse_text(text), limit=10, include_all=True))
        return result.embed_ms, result.search_ms, result.embed_ms + result.search_ms

    for warm_up in WARM_UP:  # first touches of the index and the model are not "new text" costs
        one(warm_up)
    searcher._text_cache.clear()
    cold = [one(t) for t in texts]
    warm = [one(t) for t in texts for _ in range(3)]
    row.update(
        cold_p50=pct([c[2] for c in cold], 50), cold_p95=pct([c[2] for c in cold], 95),
        cold_embed_p50=pct([c[0] for c in cold], 50),
        warm_p50=pct([w[2] for w in warm], 50), warm_p95=pct([w[2] for w in warm], 95),
        lookup_p50=pct([w[1] for w in warm], 50),
    )
    if size == 0:  # the sample library: the naive scan runs over its real vectors
        data = np.vstack([v for _, v in searcher.catalog.iter_vectors()])
    else:
        data = synthetic_vectors(size, encoder.dim)

    def naive(text: str) -> None:
        q = encoder.encode_texts([text])[0]
        np.argsort(-(data @ q))[:10]

    naive_ms = [timed(lambda text=t: naive(text)) for t in texts]
    row.update(naive_p50=pct(naive_ms, 50), naive_p95=pct(naive_ms, 95))
    if searcher.index.approximate:
        row["recall10"], row["example_p50"] = recall_at_10(searcher, data)
        codes_only = Searcher(Library.open(path, readonly=True), encoder, exact_rerank=False)
        row["recall10_codes"], row["example_p50_codes"] = recall_at_10(codes_only, data)
        codes_only.library.close()
    else:
        row["recall10"] = row["recall10_codes"] = 1.0
    row["size"] = len(data)
    if http:
        row.update(http_latency(path, encoder, texts))
    searcher.library.close()
    return row


def http_latency(path: Path, encoder, texts: list[str]) -> dict:
    from api.app import create_app
    from tests.api.conftest import LiveServer

    with LiveServer(create_app(path, encoder)) as server, server.client() as client:
        def get(text: str) -> float:
            return timed(lambda: client.get("/api/search", params={"q": text, "limit": 10, "all": True}).raise_for_status())

        cold = [get(t) for t in texts]
        warm = [get(t) for t in texts for _ in range(3)]
    return {"http_cold_p50": pct(cold, 50), "http_cold_p95": pct(cold, 95),
            "http_warm_p50": pct(warm, 50), "http_warm_p95": pct(warm, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 100_000],
                        help="library sizes; 0 means sample_assets/photos indexed for real")
    parser.add_argument("--model", default="offline")
    parser.add_argument("--http", action="store_true")
    args = parser.parse_args()
    encoder = load_encoder(args.model)
    texts = queries()
    print(f"model {encoder.model_id} (dim {encoder.dim}); {len(texts)} distinct queries; "
          f"{os.cpu_count()} CPUs; times in ms")
    for size in args.sizes:
        r = bench_size(size, encoder, texts, args.http)
        label = "sample_assets/photos" if size == 0 else "synthetic"
        print(f"\n== {r['size']:,} vectors ({label}): {r['index']}")
        print(f"  naive scan        p50 {r['naive_p50']:7.1f}  p95 {r['naive_p95']:7.1f}")
        print(f"  scout cold        p50 {r['cold_p50']:7.1f}  p95 {r['cold_p95']:7.1f}  (text encode p50 {r['cold_embed_p50']:.1f})")
        print(f"  scout warm        p50 {r['warm_p50']:7.1f}  p95 {r['warm_p95']:7.1f}  (index lookup p50 {r['lookup_p50']:.2f})")
        if args.http:
            print(f"  http cold         p50 {r['http_cold_p50']:7.1f}  p95 {r['http_cold_p95']:7.1f}")
            print(f"  http warm         p50 {r['http_warm_p50']:7.1f}  p95 {r['http_warm_p95']:7.1f}")
        print(f"  naive/scout-warm p50 = {r['naive_p50'] / r['warm_p50']:.1f}x; "
              f"naive/scout-cold p50 = {r['naive_p50'] / r['cold_p50']:.1f}x")
        if "example_p50" in r:
            print(f"  by example vector recall@10 {r['recall10']:.3f}, lookup p50 {r['example_p50']:.2f} "
                  f"(codes alone, no re-rank: {r['recall10_codes']:.3f}, {r['example_p50_codes']:.2f})")
        print(f"  recall@10 vs exact {r['recall10']:.3f}; RSS {r['rss_mb']:.0f} MB "
              f"(searcher +{r['searcher_mb']:.0f} MB); index {r['bytes_per_vector']:.0f} B/vector "
              f"-> 10M vectors {r['bytes_per_vector'] * 1e7 / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
