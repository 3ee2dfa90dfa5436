"""The offline model's variants compared on the tuning split and on held-out photos.

    python -m benchmarks.offline_eval.compare            # quality grid + cost of each classifier
    python -m benchmarks.offline_eval.compare --no-cost  # quality only

Splits: *tuning* is sample_assets/photos with benchmarks/queries.json (21 queries, 18 photos: the
first offline model was tuned on it); *held-out* is benchmarks/offline_eval/photos with
benchmarks/offline_eval/queries.json (64 queries, 40 photos; see LICENSES.md). Each query ranks
every photo of its own split, with no cutoff; R@k is the share of queries with a relevant photo in
the top k, MRR the mean of 1/rank of the first relevant photo.

Every variant is a real ``offline:...`` model spec: the classifier, its preprocessing and the class
vectors come from ``indexer.encoders.offline``; each classifier's probabilities are computed once
and the ConSE mix of each top-T is then done here in numpy, checked against the encoder's own
``encode_images`` for one variant per classifier. Cost (img/s over decode + preprocess + ConSE,
peak RSS) is measured in a fresh process per classifier, with 2 threads, over the 58 photos x3.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from indexer.decode import decode_image
from indexer.encoders.base import normalize
from indexer.encoders.imagenet_classes import KINDS
from indexer.encoders.efficientnet_lite import ARCHS as NETWORKS
from indexer.encoders.offline import DEFAULT, LEGACY, OfflineEncoder, Variant, parse_variant
from indexer.settings import EncoderOptions

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = REPO / ".scout" / "offline-eval-cache"
ARCHS = ("efficientnet_lite0", "tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
TOPS = (1, 5, 10, 20, 50, 100, 200, 1000)
PHRASINGS = {"as written": "{}", "a photo of ...": "a photo of {}"}


def splits() -> dict[str, tuple[list[Path], dict[str, list[str]]]]:
    tuning = json.loads((REPO / "benchmarks" / "queries.json").read_text())["queries"]
    held = {q["query"]: q["relevant"] for q in json.loads((HERE / "queries.json").read_text())["queries"]}
    return {
        "tuning": (sorted((REPO / "sample_assets" / "photos").iterdir()), tuning),
        "held-out": (sorted((HERE / "photos").iterdir()), held),
    }


def kinds_of_held_out() -> dict[str, str]:
    return {q["query"]: q["kind"] for q in json.loads((HERE / "queries.json").read_text())["queries"]}


def options() -> EncoderOptions:
    return EncoderOptions(device="cpu", threads=2, cache_dir=CACHE)


def batch(encoder: OfflineEncoder, files: list[Path]):
    import torch

    return torch.stack([encoder.preprocess(decode_image(f.read_bytes(), str(f), max_pixels=10**9).image)
                        for f in files])


def probabilities(encoder: OfflineEncoder, files: list[Path]) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return encoder.classifier(batch(encoder, files)).softmax(-1).numpy()


def conse(probs: np.ndarray, class_vectors: np.ndarray, top_t: int) -> np.ndarray:
    """The encoder's ConSE mix (offline.OfflineEncoder.encode_images), on stored probabilities."""
    top = np.argsort(-probs, axis=1)[:, :top_t]
    weights = np.take_along_axis(probs, top, axis=1)
    weights /= weights.sum(1, keepdims=True)
    return normalize((weights[..., None] * class_vectors[top]).sum(1))


def ranks(queries: np.ndarray, images: np.ndarray, names: list[str], relevant: list[list[str]]) -> np.ndarray:
    """Rank (1-based) of the first relevant photo of each query."""
    order = np.argsort(-(queries @ images.T), axis=1, kind="stable")
    return np.array([1 + min(list(order[i]).index(names.index(r)) for r in rel) for i, rel in enumerate(relevant)])


def scores(first: np.ndarray) -> tuple[float, float, float]:
    return float(np.mean(first == 1)), float(np.mean(first <= 5)), float(np.mean(1.0 / first))


def copies(workdir: Path) -> tuple[list[Path], list[Path]]:
    """Every photo of both splits and, for each, its mirrored, cropped and downscaled copy
    (benchmarks/relevance.py), which query by example should rank right after it."""
    from benchmarks.relevance import write_copies

    originals = [f for files, _ in splits().values() for f in files]
    for photo in originals:
        write_copies(photo, workdir)
    return originals, sorted(workdir.iterdir())


def copy_recall(images: np.ndarray, originals: list[Path], copied: list[Path]) -> float:
    """Share of each photo's 3 copies among its 3 nearest neighbours (itself left out)."""
    names = [f.name.rsplit(".", 1)[0] for f in originals] + [f.name.rsplit(".", 1)[0] for f in copied]
    similarity = images[: len(originals)] @ images.T
    found = []
    for i, photo in enumerate(originals):
        similarity[i, i] = -np.inf
        nearest = np.argsort(-similarity[i])[:3]
        stem = photo.name.rsplit(".", 1)[0]
        found.append(np.mean([names[j] in {f"{stem}-flipped", f"{stem}-cropped", f"{stem}-small"} for j in nearest]))
    return float(np.mean(found))


def quality() -> None:
    data = splits()
    workdir = Path(tempfile.mkdtemp(prefix="offline-eval-copies-"))
    originals, copied = copies(workdir)
    text_encoder = OfflineEncoder(options(), LEGACY)
    query_vectors = {(split, phrasing): text_encoder.encode_texts([p.format(q) for q in queries])
                     for split, (_, queries) in data.items() for phrasing, p in PHRASINGS.items()}
    class_vectors = {}
    rows = []
    for arch in ARCHS:
        started = time.perf_counter()
        encoder = OfflineEncoder(options(), Variant(arch))
        probs = {split: probabilities(encoder, files) for split, (files, _) in data.items()}
        probs["copies"] = np.concatenate([probs["tuning"], probs["held-out"],
                                          probabilities(encoder, copied)])
        for kind in KINDS:
            if kind not in class_vectors:
                class_vectors[kind] = OfflineEncoder(options(), Variant(arch, kind))._load_class_vectors()
            for top_t in TOPS:
                variant = Variant(arch, kind, top_t)
                for phrasing in PHRASINGS:
                    row = {"variant": variant, "phrasing": phrasing, "copies": copy_recall(
                        conse(probs["copies"], class_vectors[kind], top_t), originals, copied)}
                    for split, (files, queries) in data.items():
                        images = conse(probs[split], class_vectors[kind], top_t)
                        first = ranks(query_vectors[split, phrasing], images, [f.name for f in files],
                                      list(queries.values()))
                        row[split] = scores(first)
                        row[split, "ranks"] = dict(zip(queries, first.tolist()))
                    rows.append(row)
        check = OfflineEncoder(options(), Variant(arch, "name", 20))
        files = data["tuning"][0]
        np.testing.assert_allclose(check.encode_images(batch(check, files)),
                                   conse(probs["tuning"], class_vectors["name"], 20), atol=1e-4)
        print(f"# {arch}: probabilities + checks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    shutil.rmtree(workdir)
    report(rows)


def report(rows: list[dict]) -> None:
    print(f"{'variant (offline:...)':60s} {'query':14s} | {'tuning R@1 R@5  MRR':20s} | held-out R@1 R@5  MRR "
          "| copies@3")
    for row in sorted(rows, key=lambda r: -r["held-out"][2]):
        t, h = row["tuning"], row["held-out"]
        print(f"{row['variant'].spec:60s} {row['phrasing']:14s} | {t[0]:4.2f} {t[1]:4.2f} {t[2]:5.3f}       "
              f"| {h[0]:4.2f} {h[1]:4.2f} {h[2]:5.3f}         | {row['copies']:4.2f}")
    counts = {split: len(queries) for split, (_, queries) in splits().items()}

    def pooled(row: dict) -> float:  # MRR over the queries of both splits
        return sum(row[split][2] * n for split, n in counts.items()) / sum(counts.values())

    print(f"\nbest 12 by MRR over all {sum(counts.values())} queries of both splits")
    for row in sorted(rows, key=lambda r: -pooled(r))[:12]:
        print(f"  {row['variant'].spec:60s} {row['phrasing']:14s} {pooled(row):5.3f}  copies@3 {row['copies']:4.2f}")
    kinds = kinds_of_held_out()
    pick = lambda variant: next(r for r in rows if r["variant"] == variant and r["phrasing"] == "as written")  # noqa: E731
    legacy, default = pick(LEGACY), pick(DEFAULT)
    paired = [(default["held-out", "ranks"][q], rank) for q, rank in legacy["held-out", "ranks"].items()]
    print(f"\nheld-out, default {DEFAULT.spec} against {LEGACY.spec}: first relevant photo ranked higher for "
          f"{sum(d < old for d, old in paired)} queries, lower for {sum(d > old for d, old in paired)}, "
          f"the same for {sum(d == old for d, old in paired)}")
    gain = np.array([1 / d - 1 / old for d, old in paired])
    resampled = np.random.default_rng(0).choice(gain, size=(10_000, len(gain))).mean(1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    print(f"  held-out MRR gain {gain.mean():+.3f}, 95 % bootstrap interval over queries [{low:+.3f}, {high:+.3f}]")
    for label, row in (("legacy " + LEGACY.spec, legacy), ("default " + DEFAULT.spec, default)):
        print(f"\nheld-out by kind, {label} ({row['phrasing']}): R@5 / MRR")
        by_kind: dict[str, list[int]] = {}
        for query, rank in row["held-out", "ranks"].items():
            by_kind.setdefault(kinds[query], []).append(rank)
        for kind, found in sorted(by_kind.items()):
            first = np.array(found)
            print(f"  {kind:12s} n={len(first):2d}  {np.mean(first <= 5):4.2f} / {np.mean(1 / first):5.3f}")
        missed = [f"{q} ({r})" for q, r in row["held-out", "ranks"].items() if r > 5]
        print("  first relevant photo below rank 5: " + "; ".join(missed))


def cost(arch: str) -> dict:
    """Images per second through preprocess + classifier + ConSE (decoding is the same for every
    model and left out), and this process's peak RSS, with both sides of the model loaded."""
    import torch

    data = splits()
    images = [decode_image(f.read_bytes(), str(f), max_pixels=10**9).image
              for split in data.values() for f in split[0]] * 3
    encoder = OfflineEncoder(options(), Variant(arch, "name", 20))
    torch.set_num_threads(2)
    encoder.encode_images(torch.stack([encoder.preprocess(i) for i in images[:4]]))  # load, warm up
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(images), 32):
        encoder.encode_images(torch.stack([encoder.preprocess(i) for i in images[start:start + 32]]))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"arch": arch, "images": len(images), "img_per_s": len(images) / seconds,
            "cpu_ms_per_img": 1000 * cpu / len(images), "loaded_rss_mb": loaded,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def costs(rounds: int = 2) -> None:
    """Each classifier in a fresh process, the classifiers taking turns ``rounds`` times; the best
    round of each is printed (the machine is shared, so a slow round says little about the model)."""
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for arch in ARCHS:
            out = subprocess.run([sys.executable, "-m", "benchmarks.offline_eval.compare", "--cost-of", arch],
                                 cwd=REPO, check=True, capture_output=True, text=True).stdout
            measured = json.loads(out.strip().splitlines()[-1])
            if arch not in best or measured["img_per_s"] > best[arch]["img_per_s"]:
                best[arch] = measured
    print(f"\n{'classifier':24s} {'input':>6s} {'img/s (2 threads)':>18s} {'CPU ms/img':>11s} "
          f"{'RSS loaded MB':>14s} {'peak MB':>8s}")
    for arch, measured in best.items():
        size = NETWORKS[arch].size
        print(f"{arch:24s} {size:6d} {measured['img_per_s']:18.1f} {measured['cpu_ms_per_img']:11.0f} "
              f"{measured['loaded_rss_mb']:14.0f} {measured['peak_rss_mb']:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-cost", action="store_true", help="skip the throughput and memory measurements")
    parser.add_argument("--cost-of", help=argparse.SUPPRESS)  # the per-classifier child process
    args = parser.parse_args()
    if args.cost_of:
        print(json.dumps(cost(parse_variant(f"{args.cost_of}+all-MiniLM-L6-v2/conse-t20").arch)))
        return
    quality()
    if not args.no_cost:
        costs()


if __name__ == "__main__":
    main()
