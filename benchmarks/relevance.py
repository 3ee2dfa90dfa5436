"""How the relevance scale behaves on small libraries and for query by example (offline model).

    python -m benchmarks.relevance [--draws 20]

1. Labelled text queries (benchmarks/queries.json) over sample_assets/photos, calibrated on the
   full 18 photos and on random subsets of 10 and 6 (each holding the query's answers), with
   Scout's estimator (``indexer.calibration.robust_scale``, median/MAD) and two alternatives measured
   against it in the same run: padding the sample with the offline model's 1000 class-prompt
   vectors as "background", and a trimmed standard deviation. Per row: the share of queries whose
   answer reaches the 3σ cutoff, the share whose best non-answer does (a false "strong" match),
   how many would answer with nothing without weak matches, and how much one answer's relevance
   varies between draws.
2. Query by example: sample photos plus flipped, cropped and downscaled copies of three of them
   and the kitten of sample_assets/awkward; for each original, its copies' cosine and relevance
   next to the best unrelated photo's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from indexer.calibration import robust_scale as calibrate
from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
from search.engine import DEFAULT_MIN_RELEVANCE

REPO = Path(__file__).resolve().parent.parent
QUERIES = json.loads((REPO / "benchmarks" / "queries.json").read_text())["queries"]
COPIED = ["tabby-cat-chelsea.png", "cup-of-coffee-on-saucer.png", "spacex-rocket-launch.jpg"]


def write_copies(photo: Path, folder: Path) -> None:
    """A mirrored, a cropped (central 75 %) and a downscaled (1/3, JPEG q60) copy of ``photo``."""
    image = Image.open(photo).convert("RGB")
    w, h = image.size
    stem = photo.name.rsplit(".", 1)[0]
    ImageOps.mirror(image).save(folder / f"{stem}-flipped.jpg", quality=85)
    image.crop((w // 8, h // 8, w * 7 // 8, h * 7 // 8)).save(folder / f"{stem}-cropped.jpg", quality=85)
    image.resize((w // 3, h // 3)).save(folder / f"{stem}-small.jpg", quality=60)


def trimmed(scores: np.ndarray) -> tuple[float, float]:
    """Median and the standard deviation of the middle 80 % (scaled to a normal's σ)."""
    ordered = np.sort(scores)
    k = max(1, len(ordered) // 10) if len(ordered) >= 5 else 0
    core = ordered[k : len(ordered) - k] if k else ordered
    return float(np.median(scores)), max(float(core.std(ddof=1)) / 0.789, 1e-6)


def library_vectors(folder: Path, workdir: Path, encoder) -> tuple[list[str], np.ndarray]:
    library = Library.create_or_open(workdir)
    IndexRun(library, encoder).run([folder])
    rows = library.catalog.db.execute("SELECT id, path FROM assets ORDER BY id").fetchall()
    found, matrix = library.catalog.vectors_for_ids(np.array([r[0] for r in rows]))
    position = {int(i): k for k, i in enumerate(found)}
    return [Path(r[1]).name for r in rows], matrix[[position[r[0]] for r in rows]]


def text_table(names, images, texts, background, draws: int, rng) -> None:
    methods = {
        "median/MAD (Scout)": lambda s, q: calibrate(s),
        "median/MAD + 1000 class vectors": lambda s, q: calibrate(np.concatenate([s, background @ q])),
        "trimmed std": lambda s, q: trimmed(s),
    }
    print(f"\n{'estimator':34s} {'photos':>6s} {'answer ≥3σ':>11s} {'non-answer ≥3σ':>15s} "
          f"{'nothing ≥3σ':>12s} {'answer σ varies':>16s}")
    for label, method in methods.items():
        for size in (18, 10, 6):
            answers, others_best, empty, variation = [], [], [], []
            for relevant, q in zip(QUERIES.values(), texts):
                rel = [k for k, n in enumerate(names) if n in relevant]
                rest = [k for k in range(len(names)) if k not in rel]
                per_draw = []
                for _ in range(draws if size < len(names) else 1):
                    subset = rel + (list(rng.choice(rest, size - len(rel), replace=False)) if size < len(names) else rest)
                    scores = images[subset] @ q
                    centre, spread = method(scores, q)
                    relevance = (scores - centre) / spread
                    best_answer = relevance[: len(rel)].max()
                    answers.append(best_answer)
                    others_best.append(relevance[len(rel):].max())
                    empty.append(relevance.max() < DEFAULT_MIN_RELEVANCE)
                    per_draw.append(best_answer)
                if len(per_draw) > 1 and np.mean(per_draw) > 0:
                    variation.append(np.std(per_draw) / np.mean(per_draw))
            spread_text = f"±{np.median(variation):.0%}" if variation else "-"
            print(f"{label:34s} {size:6d} {np.mean(np.array(answers) >= 3):11.0%} "
                  f"{np.mean(np.array(others_best) >= 3):15.0%} {np.mean(empty):12.0%} {spread_text:>16s}")


def example_table(names, images) -> None:
    print(f"\n{'example':34s} {'copy / same subject':36s} {'cosine':>7s} {'relevance':>10s}")
    for original in COPIED:
        q = images[names.index(original)]
        scores = images @ q
        centre, spread = calibrate(scores)
        stem = original.rsplit(".", 1)[0]
        related = [n for n in names if n.startswith(stem + "-") or (stem.startswith("tabby") and n == "kitten.jpg")]
        for name in [original, *related]:
            k = names.index(name)
            print(f"{original:34s} {name:36s} {scores[k]:7.3f} {(scores[k] - centre) / spread:9.1f}σ")
        unrelated = [k for k, n in enumerate(names) if n != original and n not in related]
        best = max(unrelated, key=lambda k: scores[k])
        print(f"{original:34s} {'best unrelated: ' + names[best]:36s} {scores[best]:7.3f} "
              f"{(scores[best] - centre) / spread:9.1f}σ")
    originals = [k for k, n in enumerate(names) if not any(n.startswith(c.rsplit('.', 1)[0] + '-') for c in COPIED)
                 and n != "kitten.jpg"]
    pairs = images[originals] @ images[originals].T
    upper = pairs[np.triu_indices(len(originals), 1)]
    print(f"cosine between different sample photos: median {np.median(upper):.3f}, max {upper.max():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=20, help="Random subsets per query and size.")
    args = parser.parse_args()
    encoder = load_encoder("offline")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        photos = work / "photos"
        shutil.copytree(REPO / "sample_assets" / "photos", photos)
        names, images = library_vectors(photos, work / "lib", encoder)
        texts = encoder.encode_texts(list(QUERIES))
        print(f"model: {encoder.model_id}; {len(QUERIES)} labelled queries, {len(names)} photos, "
              f"{args.draws} random subsets per query and size; cutoff {DEFAULT_MIN_RELEVANCE}σ")
        text_table(names, images, texts, encoder.class_vectors.cpu().numpy(), args.draws, np.random.default_rng(0))
        copies = work / "copies"
        shutil.copytree(photos, copies)
        for name in COPIED:
            write_copies(photos / name, copies)
        shutil.copy(REPO / "sample_assets" / "awkward" / "café-ünïcødé kitten 猫.jpg", copies / "kitten.jpg")
        example_table(*library_vectors(copies, work / "lib-copies", encoder))


if __name__ == "__main__":
    main()
