"""Tagging: precision and recall per tag on labelled photos, per model, and throughput at scale.

    python -m benchmarks.tagging [--count 100000] [--skip-scale]

Labelled set: the 18 photos of sample_assets/photos and the 40 held-out photos of
benchmarks/offline_eval/photos, with labels taken from the relevance judgements already made for
them (benchmarks/queries.json and benchmarks/offline_eval/queries.json: "every file a person would
accept as relevant" to a query). A starter tag is labelled only where such a query says what it
means (``LABELS`` below), and its labels are complete over the 58 photos, so a suggestion of that
tag on any other photo counts as wrong. Tags with no labelling query are not scored here.

Per model: the offline model, and the open_clip code path with the tiny random-weight CLIP the
tests build (its figures show the path works end to end, not CLIP's quality: no CLIP weights can
be downloaded here). Precision and recall are for suggestions *shown* (threshold reached, leader
of its exclusive group), at several thresholds.

Scale: a synthetic catalog of ``--count`` vectors (benchmarks/synthetic.py), the offline model's
dimension, the starter taxonomy: first tagging (assets/s, with the prompt embedding) and an
unchanged re-run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import make_library
from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import EncoderOptions
from indexer.catalog.tags import DEFAULT_THRESHOLD
from indexer.tagging.tagger import Tagger
from indexer.tagging.taxonomy import load_taxonomy

REPO = Path(__file__).resolve().parent.parent
SETS = [(REPO / "sample_assets" / "photos", REPO / "benchmarks" / "queries.json"),
        (REPO / "benchmarks" / "offline_eval" / "photos", REPO / "benchmarks" / "offline_eval" / "queries.json")]
# starter tag -> the labelled queries whose relevant files carry it
LABELS = {
    "cat": ["a cat"], "dog": ["a dog"], "birds": ["a bird"], "horse": ["a horse"],
    "animals": ["a cat", "a dog", "a bird", "a horse", "wildlife", "a bee", "a giraffe", "a zebra"],
    "bicycle": ["a bicycle"], "car": ["a car"], "train": ["a train"], "boat": ["a boat"],
    "rocket": ["a rocket launch"], "beach": ["a beach"], "lake": ["a lake"], "mountains": ["mountains"],
    "city street": ["a city street"], "winter": ["winter"], "cloudy": ["a cloudy sky"], "night": ["night"],
    "cycling": ["riding a bike"], "shopping": ["shopping"], "pastry": ["a cake", "dessert"],
    "coffee": ["a cup of coffee"], "palace": ["a palace"], "temple": ["a temple"], "flowers": ["a flower"],
    "coins": ["coins"], "photography": ["a photographer with a camera on a tripod", "a camera"],
    "space": ["galaxies in deep space", "a rocket launch"], "texture": ["a brick wall", "grass", "gravel and stones"],
}
THRESHOLDS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0)


def labelled() -> dict[str, set[str]]:
    """tag -> the photo file names that carry it (over both sets)."""
    tags: dict[str, set[str]] = {}
    for _, queries_file in SETS:
        data = json.loads(queries_file.read_text())["queries"]
        queries = data if isinstance(data, dict) else {q["query"]: q["relevant"] for q in data}
        for tag, sources in LABELS.items():
            for query in sources:
                tags.setdefault(tag, set()).update(queries.get(query, []))
    return tags


def build(encoder, workdir: Path) -> Library:
    photos = workdir / "photos"
    for folder, _ in SETS:
        shutil.copytree(folder, photos / folder.parent.name)
    library = Library.create_or_open(workdir / "lib")
    IndexRun(library, encoder).run([photos])
    Tagger(library, encoder).run(load_taxonomy())
    return library


def shown(library: Library, threshold: float) -> dict[str, set[str]]:
    """tag -> file names it is shown for at ``threshold`` (thresholds table empty: default applies)."""
    found: dict[str, set[str]] = {}
    rows = library.catalog.shown_suggestions(library.model_id, threshold, limit=100_000)
    names = {a.id: a.name for a in library.catalog.assets_by_ids({r.asset_id for r in rows}).values()}
    for r in rows:
        found.setdefault(r.tag, set()).add(names[r.asset_id])
    return found


def quality(library: Library, truth: dict[str, set[str]]) -> None:
    print(f"  {'threshold':>9}  {'precision':>9}  {'recall':>6}  shown  (micro over {len(truth)} labelled tags)")
    for threshold in THRESHOLDS:
        got = shown(library, threshold)
        tp = sum(len(got.get(t, set()) & truth[t]) for t in truth)
        shown_n = sum(len(got.get(t, set())) for t in truth)
        relevant = sum(len(v) for v in truth.values())
        mark = "  <- default" if threshold == DEFAULT_THRESHOLD else ""
        print(f"  {threshold:>9.1f}  {tp / max(shown_n, 1):>9.2f}  {tp / relevant:>6.2f}  {shown_n:>5}{mark}")
    got = shown(library, DEFAULT_THRESHOLD)
    print(f"  per tag at {DEFAULT_THRESHOLD}: tag precision recall (labelled photos)")
    for tag in sorted(truth):
        hits = got.get(tag, set())
        tp = len(hits & truth[tag])
        precision = f"{tp / len(hits):.2f}" if hits else "  - "
        print(f"    {tag:12} {precision:>5} {tp / len(truth[tag]):>6.2f}  ({len(truth[tag])})")


def scale(count: int, workdir: Path) -> None:
    encoder = load_encoder("offline", EncoderOptions(device="cpu"))
    library = make_library(workdir / f"synthetic-{count}", count, encoder.dim, encoder.model_id)
    tagger = Tagger(library, encoder)
    taxonomy = load_taxonomy()
    started = time.perf_counter()
    first = tagger.run(taxonomy)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = tagger.run(taxonomy)
    again_s = time.perf_counter() - started
    print(f"scale: {count} assets x {len(taxonomy.scored_tags)} tags, offline model ({encoder.dim}-d)")
    print(f"  first tagging   {first_s:7.2f} s  {first.scored / first_s:9.0f} assets/s  "
          f"{first.suggestions} scores stored")
    print(f"  unchanged re-run {again_s:6.3f} s  (scored {again.scored}; {first_s / max(again_s, 1e-9):.0f}x faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    truth = labelled()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        import tests.conftest as fixtures  # the tiny CLIP the tests build, for the open_clip path

        tiny = load_encoder(f"open_clip:local-dir:{fixtures.save_tiny_clip(tmp / 'tiny-clip')}",
                            EncoderOptions(device="cpu"))
        for name, encoder in (("offline", load_encoder("offline", EncoderOptions(device="cpu"))),
                              ("open_clip (tiny random weights)", tiny)):
            started = time.perf_counter()
            library = build(encoder, tmp / name.split()[0])
            print(f"{name}: {encoder.model_id}  (index + tag of 58 photos: {time.perf_counter() - started:.1f} s)")
            quality(library, truth)
            library.close()
        if not args.skip_scale:
            scale(args.count, tmp)


if __name__ == "__main__":
    main()
