"""Duplicate thresholds and the cost of the metadata and perceptual passes (offline model).

    python -m benchmarks.duplicates [--copies 6]

Builds a library from sample_assets/photos plus, for ``--copies`` of them, an exact copy in
another folder and five variants (half size, JPEG q30, 8 % crop, colour grade, 1/4 size q60),
indexes it with the metadata and perceptual passes, and prints:

1. each pass's cost per asset (and the embedding run's, measured in the same run, for scale);
2. for copy pairs and for pairs of different photos: cosine (offline model) and pHash Hamming
   distance, min / median / max, so the thresholds in search/duplicates.py can be checked;
3. the clusters ``find_duplicates`` makes with its defaults: pairs found, missed, wrong.

    python -m benchmarks.duplicates --scale 100000

times the pair search on synthetic contents instead (see :func:`scale`).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "sample_assets" / "photos"
VARIANTS = ("half", "q30", "crop", "graded", "small")


def write_variants(photo: Path, folder: Path) -> list[Path]:
    """Near-duplicates of ``photo`` a library really collects: a resized export, a recompressed
    one, a slight crop (4 % off each side), a colour grade (warmer, more contrast and
    saturation) and a small web copy."""
    image = Image.open(photo).convert("RGB")
    w, h = image.size
    stem = photo.name.rsplit(".", 1)[0]
    folder.mkdir(parents=True, exist_ok=True)
    red, green, blue = image.split()
    graded = Image.merge("RGB", (red.point(lambda v: min(255, int(v * 1.12))), green, blue.point(lambda v: int(v * 0.9))))
    graded = ImageEnhance.Color(ImageEnhance.Contrast(graded).enhance(1.2)).enhance(1.3)
    made = {
        "half": (image.resize((w // 2, h // 2), Image.Resampling.LANCZOS), 90),
        "q30": (image, 30),
        "crop": (image.crop((w * 4 // 100, h * 4 // 100, w * 96 // 100, h * 96 // 100)), 90),
        "graded": (graded, 90),
        "small": (image.resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.BILINEAR), 60),
    }
    paths = []
    for name in VARIANTS:
        picture, quality = made[name]
        path = folder / f"{stem}-{name}.jpg"
        picture.save(path, quality=quality)
        paths.append(path)
    return paths


def build(root: Path, copies: int) -> dict[str, str]:
    """The library's files under ``root``; returns file name -> the original's stem."""
    originals = root / "originals"
    shutil.copytree(PHOTOS, originals)
    source = {p.name: p.name.rsplit(".", 1)[0] for p in originals.iterdir()}
    for photo in sorted(originals.iterdir())[:copies]:
        stem = photo.name.rsplit(".", 1)[0]
        (root / "exact").mkdir(exist_ok=True)
        shutil.copy2(photo, root / "exact" / photo.name)
        for path in write_variants(photo, root / "variants"):
            source[path.name] = stem
    return source


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.3g} / {float(np.median(values)):.3g} / {max(values):.3g}"


def scale(count: int, dim: int = 512) -> None:
    """near_pairs on ``count`` synthetic contents (random unit vectors and random 64-bit hashes,
    1 % of them planted copies: 3 bits and a little noise away from another), next to an exact
    nearest-neighbour search over the vectors, timed on a 5 000-query slice and scaled up."""
    import faiss

    from search.duplicates import DuplicateSettings, near_pairs

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    codes = [int(x) for x in rng.integers(0, 2**63, count, dtype=np.int64)]
    planted = count // 100
    for k in range(planted):
        source, copy = k, count - 1 - k
        vectors[copy] = vectors[source] + 0.1 * rng.standard_normal(dim).astype(np.float32)
        codes[copy] = codes[source] ^ 0b10101
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    pairs = near_pairs(vectors, codes, DuplicateSettings())
    seconds = time.perf_counter() - started
    found = {(i, j) for i, j, _ in pairs}
    hits = sum((k, count - 1 - k) in found for k in range(planted))
    print(f"near_pairs over {count} contents: {seconds:.1f}s, {len(pairs)} pairs, {hits} of {planted} planted copies")
    index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    started = time.perf_counter()
    index.search(vectors[:5000], 11)
    knn = (time.perf_counter() - started) * count / 5000
    print(f"exact 10-nearest-neighbour search over the vectors instead: ~{knn:.0f}s (5 000 queries timed, scaled)")


def main() -> None:
    from indexer.encoders import load_encoder
    from indexer.library import Library
    from indexer.metadata import MetadataPass
    from indexer.perceptual import PHASH, PerceptualPass, hamming
    from indexer.pipeline import IndexRun
    from indexer.settings import EncoderOptions
    from search.duplicates import DuplicateSettings, find_duplicates

    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--scale", type=int, default=0, help="Time duplicate search on this many synthetic contents.")
    args = parser.parse_args()
    if args.scale:
        scale(args.scale)
        return
    encoder = load_encoder("offline", EncoderOptions(device="cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "files"
        source = build(root, args.copies)
        library = Library.create_or_open(Path(tmp) / "lib")
        started = time.perf_counter()
        result = IndexRun(library, encoder, passes=[MetadataPass(), PerceptualPass()]).run([root])
        total = time.perf_counter() - started
        assets = library.catalog.asset_count()
        print(f"{assets} assets ({result.stats.embedded} embedded), run {total:.2f}s")
        for stats in result.passes:
            print(f"  pass {stats.name:<10} {stats.done} contents, {stats.seconds * 1e3 / max(stats.done, 1):.2f} ms each")
        embed = total - sum(s.seconds for s in result.passes)
        print(f"  embedding  {embed * 1e3 / max(result.stats.embedded, 1):.1f} ms per asset (the rest of the run)")

        names, blocks = [], []
        for hashes, matrix in library.catalog.content_vectors():
            names += hashes
            blocks.append(matrix)
        vectors = np.vstack(blocks)
        holders = library.catalog.assets_for_hashes(names)
        stem_of = {h: source[holders[h][0].name] for h in names}
        phashes = library.catalog.perceptual_values(PHASH)
        same, different = {"cos": [], "bits": []}, {"cos": [], "bits": []}
        for i, j in combinations(range(len(names)), 2):
            bucket = same if stem_of[names[i]] == stem_of[names[j]] else different
            bucket["cos"].append(float(vectors[i] @ vectors[j]))
            bucket["bits"].append(hamming(phashes[names[i]], phashes[names[j]]))
        print("\n                     cosine min/median/max     pHash bits min/median/max")
        print(f"copies ({len(same['cos'])} pairs)   {spread(same['cos']):<26} {spread(same['bits'])}")
        print(f"different ({len(different['cos'])})   {spread(different['cos']):<26} {spread(different['bits'])}")
        close = [b for c, b in zip(different["cos"], different["bits"]) if c >= 0.95]
        print(f"different pairs with cosine >= 0.95: {len(close)}, pHash bits {spread(close)}")
        per_variant = {}
        for i, j in combinations(range(len(names)), 2):
            if stem_of[names[i]] != stem_of[names[j]]:
                continue
            for k in (i, j):
                name = holders[names[k]][0].name
                variant = next((v for v in VARIANTS if name.endswith(f"-{v}.jpg")), None)
                other = holders[names[j if k == i else i]][0].name
                if variant and not any(other.endswith(f"-{v}.jpg") for v in VARIANTS):
                    per_variant.setdefault(variant, []).append(
                        (float(vectors[i] @ vectors[j]), hamming(phashes[names[i]], phashes[names[j]])))
        for variant, values in per_variant.items():
            print(f"  {variant:<7} vs original: cosine {spread([v[0] for v in values]):<24} bits {spread([v[1] for v in values])}")

        started = time.perf_counter()
        report = find_duplicates(library, DuplicateSettings())
        seconds = time.perf_counter() - started
        expected = {stem for stem in set(source.values()) if list(source.values()).count(stem) > 1}
        found_right, wrong = 0, 0
        for cluster in report.clusters:
            stems = {source[m.asset.name] for m in cluster.members}
            wrong += len(stems) > 1
            found_right += len(stems) == 1
        members = sum(len(c.members) for c in report.clusters)
        grouped = {m.asset.name for c in report.clusters for m in c.members}
        missed = sorted(name for name, stem in source.items() if stem in expected and name not in grouped)
        wanted = sum(list(source.values()).count(stem) + 1 for stem in expected)  # + the exact copy
        print(f"\nfind_duplicates: {len(report.clusters)} clusters ({found_right} pure, {wrong} mixing photos), "
              f"{members} of {wanted} copies and originals grouped, {seconds * 1e3:.0f} ms")
        print(f"not grouped: {', '.join(missed) or 'none'}")
        library.close()


if __name__ == "__main__":
    main()
