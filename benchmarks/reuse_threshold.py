"""How the reuse threshold is chosen: the clip aligner's scores of right and wrong photos.

    python -m benchmarks.reuse_threshold [--model offline]

Every labelled query of benchmarks/queries.json becomes a one-aspect brief (its subject) and the
real clip aligner scores every photo of sample_assets against it. The photos a person accepts for
the query are the "right" ones; all others are "wrong". The threshold is the cut point (midway
between consecutive distinct scores) that maximises F0.5 of "reuse what scores at or above it":
precision counts twice as much as recall, because reusing a wrong photo costs more than generating. The example briefs in examples/briefs are then
run against it, with the outcome a person expects for each. Prints the figures recorded in
BENCHMARKS.md ("Reuse threshold"); the value lives in generation/align/threshold.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from generation.align import CandidateImage, load_aligner
from generation.briefs import Brief, load_briefs
from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
from search.engine import Searcher

REPO = Path(__file__).resolve().parent.parent
QUERIES = json.loads((REPO / "benchmarks" / "queries.json").read_text())["queries"]
EXPECTED = {  # what a person expects the sample library to do for each example brief
    "beijing-summer-palace": True, "vienna-coffee-house": True, "florida-space-coast": True,
    "lisbon-tram-sunset": False, "santorini-sunset": False, "kyoto-temples-autumn": False,
}


def choose(right: np.ndarray, wrong: np.ndarray, beta: float = 0.5) -> tuple[float, float, float, float]:
    """(threshold, F-beta, precision, recall) for "reuse the photos at or above the threshold".

    F0.5 weighs precision twice as much as recall: reusing a wrong photo costs a reviewer more than
    generating one image too many. Cut points lie midway between consecutive distinct scores; ties
    go to the widest gap."""
    scores = np.unique(np.concatenate([right, wrong]))
    best = (-1.0, -1.0, 0.0, 0.0, 0.0)
    for low, high in zip(scores[:-1], scores[1:]):
        cut = (low + high) / 2
        hits, false = (right >= cut).sum(), (wrong >= cut).sum()
        precision = hits / max(hits + false, 1)
        recall = hits / len(right)
        f = (1 + beta**2) * precision * recall / max(beta**2 * precision + recall, 1e-12)
        best = max(best, (f, high - low, cut, precision, recall))
    return best[2], best[0], best[3], best[4]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="offline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        shutil.copytree(REPO / "sample_assets" / "photos", photos)
        encoder = load_encoder(args.model)
        library = Library.create_or_open(Path(tmp) / "lib")
        IndexRun(library, encoder).run([photos])
        searcher = Searcher(library, encoder)
        aligner = load_aligner("clip", searcher)
        assets = searcher.catalog.assets_by_ids(range(1, searcher.size + 1))
        ids = sorted(assets)
        right, wrong = [], []
        for i, (text, accepted) in enumerate(QUERIES.items()):
            scores = aligner.align(Brief(id=f"q{i}", subject=text), [CandidateImage(a) for a in ids])
            for asset_id, alignment in zip(ids, scores):
                (right if Path(assets[asset_id].path).name in accepted else wrong).append(alignment.score)
        right_a, wrong_a = np.array(right), np.array(wrong)
        threshold, f_score, precision, recall = choose(right_a, wrong_a)
        print(f"aligner model: {aligner.model_id}")
        print(f"right photos: n={len(right_a)}  min {right_a.min():.2f}  p10 {np.percentile(right_a, 10):.2f}  "
              f"median {np.median(right_a):.2f}")
        print(f"wrong photos: n={len(wrong_a)}  median {np.median(wrong_a):.2f}  p99 {np.percentile(wrong_a, 99):.2f}  "
              f"max {wrong_a.max():.2f}")
        print(f"chosen threshold {threshold:.2f}: F0.5 {f_score:.3f}, precision {precision:.2f}, recall {recall:.2f} "
              f"(recall is bounded by what the model sees at all)")
        for cut in (2.0, 3.0, 4.0):
            print(f"  at {cut:.1f}: right >= cut {(right_a >= cut).mean():.2f}, wrong >= cut {(wrong_a >= cut).mean():.3f}")
        for path in sorted((REPO / "examples" / "briefs").iterdir()):
            for brief in load_briefs(path).briefs:
                best = max(a.score for a in aligner.align(brief, [CandidateImage(a) for a in ids]))
                print(f"  example {brief.id:24s} best {best:5.2f}  expected "
                      f"{'reuse' if EXPECTED.get(brief.id) else 'generate'}")
        library.close()


if __name__ == "__main__":
    main()
