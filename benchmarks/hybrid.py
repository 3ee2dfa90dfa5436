"""Search modes and fusion methods on two labelled sets (offline model, real OCR pass).

    python -m benchmarks.hybrid [--backfill 100000] [--latency 100000]

1. The semantic set (benchmarks/queries.json) over sample_assets/photos as they are (their file
   names describe them, so the keyword side has something to find), and over the keyword library
   below, where most photos carry camera-style names (IMG_0401.png) and some carry product or
   campaign words that have nothing to do with the picture: keyword noise, for a semantic query.
2. The keyword set (``KEYWORD_QUERIES``): the same 18 licensed photos laid out as a creative team
   would (``keyword_library``): product names in file names, campaign names in folders, and
   headlines printed onto four photos (``render_sign``), read back by the OCR pass.

Per mode: recall@1, recall@5 (share of a query's answers in the first 1 / 5 results) and MRR, as
a user gets them (default cutoff, weak matches filling an empty answer). Then, optionally, the
cost of building the keyword documents of a 100 k-asset catalog once (``ensure_words``, what a
library from before the keyword index pays on its next writable open), and the in-process query
time of hybrid against vector mode on a synthetic library (benchmarks/synthetic.py, whose file
names are img-0000123.jpg in shoot-123 folders: "img" and "shoot" are words every document holds).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "sample_assets" / "photos"
FONT = REPO / "generation" / "fonts" / "DejaVuSans-Bold.ttf"
SEMANTIC = json.loads((REPO / "benchmarks" / "queries.json").read_text())["queries"]

# original photo -> its path in the keyword library (relative to the root "Creative")
RENAMED = {
    "cup-of-coffee-on-saucer.png": "products/NordBrew_ColdBrew_Can-v3.png",
    "tabby-cat-chelsea.png": "products/PurrfectBite_CatFood-hero.png",
    "cameraman-with-tripod-camera.png": "products/ShutterPro_X200_tripod.png",
    "pink-flower-closeup.jpg": "campaigns/Lumina Spring 2026/IMG_0101.jpg",
    "green-grass-texture.png": "campaigns/Lumina Spring 2026/IMG_0102.png",
    "spacex-rocket-launch.jpg": "campaigns/OrbitX-Launch/IMG_0201.jpg",
    "brick-wall-texture.png": "misc/IMG_0301.png",
    "gravel-stones-texture.png": "misc/IMG_0302.png",
    "ancient-greek-coins.png": "misc/IMG_0303.png",
    "wall-clock-motion-blur.png": "misc/IMG_0304.png",
}
# headlines printed onto photos (original name -> text), read back by OCR
SIGNS = {
    "brick-wall-texture.png": "GRAND OPENING",
    "gravel-stones-texture.png": "SUMMER SALE",
    "ancient-greek-coins.png": "MUSEUM NIGHT",
    "wall-clock-motion-blur.png": "OPEN 24 HOURS",
}
# keyword-bearing query -> original names of the right answers
KEYWORD_QUERIES = {
    "nordbrew": ["cup-of-coffee-on-saucer.png"],
    "cold brew can": ["cup-of-coffee-on-saucer.png"],
    "purrfectbite": ["tabby-cat-chelsea.png"],
    "purrfectbite cat food": ["tabby-cat-chelsea.png"],
    "shutterpro x200": ["cameraman-with-tripod-camera.png"],
    "x200": ["cameraman-with-tripod-camera.png"],
    "lumina": ["pink-flower-closeup.jpg", "green-grass-texture.png"],
    "lumina spring 2026": ["pink-flower-closeup.jpg", "green-grass-texture.png"],
    "lumina flower": ["pink-flower-closeup.jpg"],
    "orbitx": ["spacex-rocket-launch.jpg"],
    "orbitx launch": ["spacex-rocket-launch.jpg"],
    "grand opening": ["brick-wall-texture.png"],
    "summer sale": ["gravel-stones-texture.png"],
    "museum night": ["ancient-greek-coins.png"],
    "open 24 hours": ["wall-clock-motion-blur.png"],
    "sale on stones": ["gravel-stones-texture.png"],
}
# the keyword set as typed so far, for prefix matching of the last word
TYPING = {"nordbr": KEYWORD_QUERIES["nordbrew"], "purrfect": KEYWORD_QUERIES["purrfectbite"],
          "shutterpro x2": KEYWORD_QUERIES["x200"], "lumin": KEYWORD_QUERIES["lumina"],
          "orbi": KEYWORD_QUERIES["orbitx"], "grand open": KEYWORD_QUERIES["grand opening"],
          "summer sa": KEYWORD_QUERIES["summer sale"], "open 24 hou": KEYWORD_QUERIES["open 24 hours"]}


def render_sign(image: Image.Image, text: str) -> Image.Image:
    """``image`` with ``text`` printed across its middle, black bold capitals on a white band, as
    a poster or shop sign would carry a headline (deterministic: fixed font and layout)."""
    picture = image.convert("RGB")
    draw = ImageDraw.Draw(picture)
    size = max(12, picture.height // 9)
    font = ImageFont.truetype(str(FONT), size)
    while font.getlength(text) > picture.width * 0.86 and size > 12:
        size -= 2
        font = ImageFont.truetype(str(FONT), size)
    width = font.getlength(text)
    top = picture.height // 2 - size
    draw.rectangle([0, top, picture.width, top + size * 2], fill="white")
    draw.text(((picture.width - width) / 2, top + size // 2), text, font=font, fill="black")
    return picture


def keyword_library(root: Path, photos: Path = PHOTOS) -> dict[str, Path]:
    """The 18 photos under ``root`` as ``RENAMED`` / ``SIGNS`` say (the rest as misc/IMG_04NN);
    returns original name -> written path."""
    written = {}
    others = iter(range(401, 500))
    for photo in sorted(photos.iterdir()):
        relative = RENAMED.get(photo.name) or f"misc/IMG_{next(others):04d}{photo.suffix}"
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if photo.name in SIGNS:
            render_sign(Image.open(photo), SIGNS[photo.name]).save(target)
        else:
            shutil.copy(photo, target)
        written[photo.name] = target
    return written


def scores(rankings: dict[str, list[str]], answers: dict[str, list[str]]) -> dict[str, float]:
    def reciprocal(ranked, right):
        return next((1 / rank for rank, name in enumerate(ranked, 1) if name in right), 0.0)

    return {
        "r@1": float(np.mean([sum(n in answers[q] for n in ranked[:1]) / min(1, len(answers[q]))
                              for q, ranked in rankings.items()])),
        "r@5": float(np.mean([sum(n in answers[q] for n in ranked[:5]) / len(answers[q])
                              for q, ranked in rankings.items()])),
        "mrr": float(np.mean([reciprocal(ranked, answers[q]) for q, ranked in rankings.items()])),
    }


EQUAL_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0)
VARIANTS = {  # label -> (mode, fusion, bm25 field weights (None: Scout's), last word as a prefix)
    "vector": ("vector", "rrf", None, True),
    "keyword": ("keyword", "rrf", None, True),
    "keyword, equal field weights": ("keyword", "rrf", EQUAL_WEIGHTS, True),
    "keyword, no prefix": ("keyword", "rrf", None, False),
    "hybrid rrf (k=60)": ("hybrid", "rrf", None, True),
    "hybrid rrf, equal weights": ("hybrid", "rrf", EQUAL_WEIGHTS, True),
    "hybrid rrf, no prefix": ("hybrid", "rrf", None, False),
    "hybrid weighted a=0.3": ("hybrid", "weighted:0.3", None, True),
    "hybrid weighted a=0.5": ("hybrid", "weighted:0.5", None, True),
    "hybrid weighted a=0.7": ("hybrid", "weighted:0.7", None, True),
}


def evaluate(library, encoder, queries: dict[str, list[str]], names: dict[Path, str]) -> dict[str, dict]:
    from search.engine import Searcher
    from search.keyword import FIELD_WEIGHTS
    from search.query import Query, parse_text

    results = {}
    for label, (mode, fusion, weights, prefix) in VARIANTS.items():
        searcher = Searcher(library, encoder, fusion=fusion, field_weights=weights or FIELD_WEIGHTS, prefix_last=prefix)
        rankings = {}
        for text in queries:
            hits = searcher.search(Query(parts=parse_text(text), limit=10, mode=mode)).hits
            rankings[text] = [names.get(Path(h.asset.path), "") for h in hits]
        results[label] = scores(rankings, queries)
    return results


def backfill_cost(count: int, workdir: Path) -> dict[str, float]:
    """Seconds to build the keyword documents of a catalog with ``count`` assets from scratch."""
    from indexer.catalog import Catalog
    from search.keyword import FIELD_WEIGHTS

    path = workdir / "big.db"
    catalog = Catalog(path)
    rng = np.random.default_rng(0)
    words = ["summer", "sale", "Campaign", "hero", "IMG", "final", "v2", "Lumina", "brief", "shoot"]
    with catalog.db.atomic():
        catalog.db.conn.executemany(
            "INSERT INTO contents (hash, format, width, height, mode) VALUES (?, 'JPEG', 100, 100, 'RGB')",
            [(f"{i:032x}",) for i in range(count)])
        catalog.db.conn.executemany(
            "INSERT INTO assets (path, root, folder, name, size, mtime_ns, hash, gen) VALUES (?, ?, ?, ?, 1, 1, ?, 1)",
            [(f"/lib/Client{i % 7}/Shoot_{i // 1000}/{name}", "/lib", f"/lib/Client{i % 7}/Shoot_{i // 1000}", name,
              f"{i:032x}")
             for i in range(count)
             for name in [f"{rng.choice(words)}{rng.choice(words).title()}_{i:06d}-{rng.choice(words)}.jpg"]])
        catalog.db.conn.executemany(
            "INSERT INTO ocr (hash, engine, text, lines) VALUES (?, 'bench', ?, '[]')",
            [(f"{i:032x}", "GRAND OPENING 50% OFF everything this weekend") for i in range(0, count, 10)])
        catalog.db.execute("DELETE FROM meta WHERE key = 'words_version'")
    started = time.perf_counter()
    catalog.ensure_words()
    seconds = time.perf_counter() - started
    catalog.close()
    reader = Catalog(path, readonly=True)
    documents = reader.db.execute("SELECT count(*) FROM asset_words").fetchone()[0]

    def ms(expression: str) -> float:
        started = time.perf_counter()
        for _ in range(10):
            reader.keyword_ranking(expression, FIELD_WEIGHTS, 201)
        return (time.perf_counter() - started) / 10 * 1e3

    figures = {"assets": count, "documents": documents, "seconds": seconds,
               "counts": reader.word_document_counts(["lumina", "sale", "grand", "zebra"])}
    for label, expression in (("common, prefix", '"lumina" OR "sale"*'), ("common", '"lumina" OR "sale"'),
                              ("common + rarer", '"lumina" OR "grand"'), ("rarer alone", '"grand"'),
                              ("absent", '"zebra"')):
        figures[label] = ms(expression)
    started = time.perf_counter()
    for _ in range(10):
        reader.word_document_counts(["lumina", "grand"])
    figures["counting 2 words"] = (time.perf_counter() - started) / 10 * 1e3
    reader.close()
    return figures


def latency(size: int, encoder) -> dict[str, dict[str, float]]:
    """Warm p50/p95 (ms, embedding cached) of each mode over the labelled and extra queries, plus
    queries of words every / no document holds, on a synthetic library of ``size`` assets."""
    import os

    from benchmarks.query_latency import CACHE, EXTRA_QUERIES
    from benchmarks.synthetic import make_library
    from indexer.library import Library
    from search.engine import Searcher
    from search.query import Query, parse_text

    path = CACHE / f"synthetic-{size}-{encoder.dim}"
    built = make_library(path, size, encoder.dim, encoder.model_id)
    built.catalog.optimize_words()  # as an index run ends
    built.close()
    searcher = Searcher(Library.open(path, readonly=True), encoder)
    texts = list(SEMANTIC) + EXTRA_QUERIES + ["img", "shoot 123", "img 0000123", "zebra crossing"]
    figures = {}
    for mode in ("vector", "hybrid", "keyword"):
        times = []
        for text in texts * 3:
            result = searcher.search(Query(parts=parse_text(text), limit=10, mode=mode))
            times.append(result.search_ms)
        figures[mode] = {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95)),
                         "max": max(times)}
    figures["load"] = {"load average": os.getloadavg()[0]}
    searcher.library.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backfill", type=int, default=0, help="also time the keyword backfill of N assets")
    parser.add_argument("--no-ocr", action="store_true", help="skip the OCR pass (printed words then go unfound)")
    parser.add_argument("--latency", type=int, default=0, help="also time each mode on a synthetic library of N")
    args = parser.parse_args()

    from indexer.encoders import load_encoder
    from indexer.library import Library
    from indexer.pipeline import IndexRun
    from indexer.settings import IndexSettings

    encoder = load_encoder("offline")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain = work / "photos"
        shutil.copytree(PHOTOS, plain)
        library = Library.create_or_open(work / "lib-plain")
        IndexRun(library, encoder).run([plain])
        table = {"semantic, descriptive names": evaluate(
            library, encoder, SEMANTIC, {p.resolve(): p.name for p in plain.iterdir()})}

        written = keyword_library(work / "Creative")
        passes = []
        if not args.no_ocr:
            from indexer.ocr.content_pass import ocr_passes
            keyword_lib = Library.create_or_open(work / "lib-keyword")
            passes = ocr_passes(keyword_lib, IndexSettings())
        else:
            keyword_lib = Library.create_or_open(work / "lib-keyword")
        started = time.perf_counter()
        IndexRun(keyword_lib, encoder, passes=passes).run([work / "Creative"])
        print(f"keyword library indexed in {time.perf_counter() - started:.1f} s (OCR: {bool(passes)})")
        names = {path.resolve(): name for name, path in written.items()}
        for name, sign in SIGNS.items():
            row = keyword_lib.catalog.ocr(keyword_lib.catalog.asset_by_path(str(written[name].resolve())).hash)
            print(f"  OCR of the {sign!r} photo: {row.text if row else None!r}")
        table["semantic, keyword library"] = evaluate(keyword_lib, encoder, SEMANTIC, names)
        table["keyword set"] = evaluate(keyword_lib, encoder, KEYWORD_QUERIES, names)
        table["keyword set, as typed"] = evaluate(keyword_lib, encoder, TYPING, names)

        for name, rows in table.items():
            count = len(SEMANTIC if name.startswith("semantic") else TYPING if "typed" in name else KEYWORD_QUERIES)
            print(f"\n{name} ({count} queries)")
            print(f"  {'mode':30} {'recall@1':>9} {'recall@5':>9} {'MRR':>6}")
            for label, figures in rows.items():
                print(f"  {label:30} {figures['r@1']:9.2f} {figures['r@5']:9.2f} {figures['mrr']:6.2f}")
        if args.backfill:
            cost = backfill_cost(args.backfill, work)
            print(f"\nkeyword documents for {cost.pop('assets'):,} assets built in {cost.pop('seconds'):.1f} s "
                  f"({cost.pop('documents'):,} documents); documents per word: {cost.pop('counts')}")
            for label, figure in cost.items():
                print(f"  {label:18} {figure:7.1f} ms")
        if args.latency:
            print(f"\nsearch time without embedding, {args.latency:,} synthetic assets (ms):")
            for mode, figures in latency(args.latency, encoder).items():
                print(f"  {mode:8} " + "  ".join(f"{k} {v:.1f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
