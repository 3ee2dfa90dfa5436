"""What OCR costs and what it finds: seconds per image and recall of rendered words at several
decode sizes, the confidence floor, and index throughput with and without the OCR pass.

    python -m benchmarks.ocr_cost                      # 12 images, sizes 960 1280 1600
    python -m benchmarks.ocr_cost --count 18 --sizes 960 1280 1600 2000

The images are the sample photos scaled to 2400 px wide with two to three words rendered in
three sizes (a headline at 1/14 of the width, a line at 1/28, fine print at 1/56), in random
colours with an outline, seeded, so every run measures the same thing. A word counts as found
when it appears in the OCR text (case-insensitive) with spaces removed, since the recogniser
sometimes drops the space between two words ("SUMMERSALE"); "as tokens" counts only words that
came out separated, which is what a keyword search for that word needs.

Measured in one process: the engine loaded once with one compute thread (as each of the index
run's two workers uses it), then per image decode + recognise at each size, as wall seconds and
as the thread's CPU seconds (what it costs when the cores are not shared with anything else);
lines recognised on the 18 unmodified sample photos (almost all without text: what the
confidence floor has to drop); then two cold IndexRuns with the offline model into fresh
libraries over the same folder, without and with the OCR pass (two workers each), wall and
process CPU seconds.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from indexer.decode import decode_image
from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.ocr import OcrOptions, load_ocr_engine
from indexer.ocr.content_pass import OcrPass
from indexer.pipeline import IndexRun
from indexer.settings import EncoderOptions, IndexSettings

REPO = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
WORDS = ("SUMMER SALE FRESH ROAST GRAND OPENING WINTER DEALS LIMITED OFFER FREE SHIPPING NEW SEASON "
         "ORGANIC COFFEE LAUNCH EVENT TODAY ONLY SPRING COLLECTION CITY MARATHON MEMBERS CLUB").split()
SIZES = {"headline": 14, "line": 28, "fine print": 56}  # text height = width / this
FLOORS = (0.5, 0.6, 0.75, 0.85)


def make_images(folder: Path, count: int, seed: int = 7) -> dict[str, dict[str, list[str]]]:
    """``count`` photos with words rendered in; returns {file name: {size class: words}}."""
    rng = random.Random(seed)
    photos = sorted((REPO / "sample_assets" / "photos").iterdir())
    truth = {}
    for i in range(count):
        image = Image.open(photos[i % len(photos)]).convert("RGB")
        image = image.resize((2400, round(2400 * image.height / image.width)))
        draw = ImageDraw.Draw(image)
        y, placed = 60, {}
        for label, divisor in SIZES.items():
            words = rng.sample(WORDS, rng.choice((2, 3)))
            font = ImageFont.truetype(FONT, 2400 // divisor)
            colour = rng.choice(("white", "yellow", "black", "#e03030"))
            outline = "black" if colour != "black" else "white"
            draw.text((80, y), " ".join(words), font=font, fill=colour, stroke_width=max(1, 2400 // divisor // 30),
                      stroke_fill=outline)
            y += int(2400 // divisor * 1.6) + 40
            placed[label] = words
        name = f"{i:02d}-{photos[i % len(photos)].stem}.jpg"
        image.save(folder / name, quality=90)
        truth[name] = placed
    return truth


def recall(found: str, words: list[str]) -> tuple[int, int]:
    """(words found with spaces ignored, words found as separate tokens)."""
    squeezed = "".join(found.upper().split())
    tokens = set(re.findall(r"[A-Z0-9]+", found.upper()))
    return sum(w in squeezed for w in words), sum(w in tokens for w in words)


def measure_sizes(folder: Path, truth: dict, sizes: list[int]) -> None:
    engine = load_ocr_engine(options=OcrOptions(threads=1, min_score=min(FLOORS)))
    print(f"engine {engine.id} (one compute thread)\n")
    print(f"{'side':>6} {'s/image':>8} {'cpu s':>6} " + " ".join(f"{k + ' recall':>18}" for k in SIZES)
          + f" {'all, as tokens':>15}")
    floors = {}
    for side in sizes:
        seconds, cpu, hits, token_hits, total = [], [], dict.fromkeys(SIZES, 0), 0, dict.fromkeys(SIZES, 0)
        for name, placed in truth.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            decoded = decode_image((folder / name).read_bytes(), str(folder / name), max_pixels=10**9, target=side)
            result = engine.recognise(decoded.image)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
            kept = [line for line in result.lines if line.score >= 0.75]
            text = "\n".join(line.text for line in kept)
            for label, words in placed.items():
                found, as_tokens = recall(text, words)
                hits[label] += found
                token_hits += as_tokens
                total[label] += len(words)
            rendered = "".join("".join(w) for w in placed.values())
            for line in result.lines:  # which lines are real text, at what confidence
                real = len("".join(line.text.split())) >= 2 and "".join(line.text.upper().split()) in rendered
                floors.setdefault(side, []).append((line.score, real))
        cells = " ".join(f"{hits[k]:>9}/{total[k]:<3} {hits[k] / total[k]:>4.0%}" for k in SIZES)
        print(f"{side:>6} {statistics.mean(seconds):>8.2f} {statistics.mean(cpu):>6.2f} {cells} "
              f"{token_hits / sum(total.values()):>14.0%}")
    print("\nconfidence floor: recognised lines kept (real text / junk), per decode size")
    for side, lines in floors.items():
        cells = "  ".join(f">={f}: {sum(r for s, r in lines if s >= f)}/{sum(not r for s, r in lines if s >= f)}"
                          for f in FLOORS)
        print(f"{side:>6}  {cells}")
    junk = []
    for photo in sorted((REPO / "sample_assets" / "photos").iterdir()):
        if photo.suffix in (".jpg", ".png"):
            decoded = decode_image(photo.read_bytes(), str(photo), max_pixels=10**9, target=1280)
            junk += [(line.score, line.text) for line in engine.recognise(decoded.image).lines]
    print("\nthe unmodified sample photos: lines recognised, by confidence")
    for score, text in sorted(junk):
        print(f"  {score:.2f}  {text!r}")


def measure_index(folder: Path, count: int) -> None:
    encoder = load_encoder("offline", EncoderOptions(device="cpu"))
    settings = IndexSettings()
    print(f"\nindex run, {count} images, offline model, {settings.decode_workers} workers:")
    baseline = None
    for label in ("without OCR", "with OCR"):
        with tempfile.TemporaryDirectory() as lib_dir:
            library = Library.create_or_open(Path(lib_dir))
            passes = [OcrPass(load_ocr_engine(options=OcrOptions(threads=1)))] if label == "with OCR" else []
            started, started_cpu = time.perf_counter(), time.process_time()
            result = IndexRun(library, encoder, settings, passes=passes).run([folder])
            seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
            library.close()
        baseline = baseline or cpu
        extra = f", OCR pass {result.passes[0].seconds:.1f} s wall" if result.passes else ""
        print(f"  {label:<12} {seconds:6.1f} s wall  {count / seconds:5.2f} img/s  {cpu:6.1f} s CPU "
              f"(x{cpu / baseline:.2f}){extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--sizes", type=int, nargs="+", default=[960, 1280, 1600])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        truth = make_images(folder, args.count)
        measure_sizes(folder, truth, args.sizes)
        measure_index(folder, args.count)


if __name__ == "__main__":
    main()
