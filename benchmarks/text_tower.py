"""Text-query encoding speed and what int8 / bf16 cost in quality.

    python -m benchmarks.text_tower

For the offline model (MiniLM) and open_clip ViT-B-32 (random weights: same cost as trained
ones), each query precision is timed on single queries (p50/p95 over 40 distinct texts, the
shape of a user typing) against fp32 in the same run. Quality: cosine of each query embedding to
its fp32 embedding, and for the offline model recall@1/@5 on the labelled set (image vectors
stay fp32; only queries change). ViT-B-32's labelled recall needs trained weights, which this
machine cannot have, so for it the embedding agreement is the quality figure.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.index_throughput import model_spec
from benchmarks.query_latency import queries
from benchmarks.recall import recall, scout_rankings
from indexer.encoders import load_encoder
from indexer.settings import EncoderOptions

PRECISIONS = ("fp32", "int8", "bf16")


def time_queries(encoder, texts: list[str]) -> tuple[float, float, np.ndarray]:
    encoder.encode_texts(["warm-up"])
    times, vectors = [], []
    for text in texts:
        started = time.perf_counter()
        vectors.append(encoder.encode_texts([text])[0])
        times.append((time.perf_counter() - started) * 1e3)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95)), np.vstack(vectors)


def main() -> None:
    texts = queries()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("offline", "vit-b-32"):
            spec = model_spec(name, Path(tmp))
            print(f"\n== {name}: single-query text encoding, {len(texts)} queries, ms")
            reference = None
            for precision in PRECISIONS:
                encoder = load_encoder(spec, EncoderOptions(device="cpu", text_precision=precision))
                p50, p95, vectors = time_queries(encoder, texts)
                if reference is None:
                    reference, base = vectors, p50
                cosine = (vectors * reference).sum(axis=1)
                line = (f"  {precision:5s} p50 {p50:6.1f}  p95 {p95:6.1f}  speed-up x{base / p50:4.2f}  "
                        f"cos to fp32 min {cosine.min():.3f} mean {cosine.mean():.4f}")
                if name == "vit-b-32" and precision == "fp32":  # the padded 77-token baseline
                    encoder._trim_text = False
                    u50, u95, _ = time_queries(encoder, texts)
                    print(f"  fp32 untrimmed (open_clip encode_text) p50 {u50:6.1f}  p95 {u95:6.1f}; "
                          f"trimming is x{u50 / p50:.2f}")
                if name == "offline":
                    rankings, _ = scout_rankings("offline", Path(tempfile.mkdtemp(dir=tmp)), precision)
                    line += f"  R@1 {recall(rankings, 1):.2f} R@5 {recall(rankings, 5):.2f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
