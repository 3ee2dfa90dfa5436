"""Text in images: the real rapidocr engine on sample photos with text rendered into them, the OCR
content pass in real index runs, and the per-library switch through the real command line."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.errors import ComponentUnavailable
from indexer.ocr import OcrOptions, default_switch, load_ocr_engine
from indexer.ocr.content_pass import OcrPass
from tests.conftest import SAMPLE_PHOTOS, index_folder

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def squeezed(text: str) -> str:
    """Text without spaces: the PP-OCRv4 recogniser sometimes drops the one between two English
    words ("SUMMERSALE 2026"), and these tests are about finding the text, not its spacing."""
    return "".join(text.split())


def render_text_photo(path: Path, text: str, *, width: int = 1800, photo: str = "cup-of-coffee-on-saucer.png",
                      at: tuple[int, int] = (120, 120)) -> tuple[int, int, int, int]:
    """A sample photo scaled to ``width`` with ``text`` drawn on it (white, black outline, about a
    tenth of the width high); returns the drawn text's bounding box in the file's pixels."""
    image = Image.open(SAMPLE_PHOTOS / photo).convert("RGB")
    image = image.resize((width, round(width * image.height / image.width)))
    font = ImageFont.truetype(FONT, width // 16)
    draw = ImageDraw.Draw(image)
    draw.text(at, text, font=font, fill="white", stroke_width=width // 400, stroke_fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=92)
    return draw.textbbox(at, text, font=font, stroke_width=width // 400)


def overlap(box: list[list[float]], drawn: tuple[int, int, int, int]) -> float:
    """Intersection over union of a stored box (four corners) and a drawn rectangle."""
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    found = (min(xs), min(ys), max(xs), max(ys))
    ix = max(0.0, min(found[2], drawn[2]) - max(found[0], drawn[0]))
    iy = max(0.0, min(found[3], drawn[3]) - max(found[1], drawn[1]))
    area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
    return ix * iy / (area(found) + area(drawn) - ix * iy)


@pytest.fixture(scope="module")
def engine():
    return load_ocr_engine()


@pytest.fixture(scope="module")
def ocr_library(tmp_path_factory, offline_encoder, engine):
    """A library indexed with the OCR pass: a photo with a headline, one without text, a 1x1
    image and a 2400x60 banner."""
    base = tmp_path_factory.mktemp("ocr")
    root = base / "assets"
    drawn = render_text_photo(root / "sale.jpg", "SUMMER SALE 2026")
    shutil.copy(SAMPLE_PHOTOS / "pink-flower-closeup.jpg", root / "flower.jpg")
    Image.new("RGB", (1, 1), "red").save(root / "dot.png")
    banner = Image.new("RGB", (2400, 60), "white")
    ImageDraw.Draw(banner).text((20, 5), "FREE SHIPPING ON EVERY ORDER", font=ImageFont.truetype(FONT, 44), fill="black")
    banner.save(root / "banner.png")
    library, result = index_folder(base / "lib", [root], offline_encoder, passes=[OcrPass(engine)])
    library.close()
    return base / "lib", root, drawn, result


def _row(library, name):
    asset = library.catalog.asset_by_path(str(next(Path(r) for r in library.catalog.roots()) / name))
    return library.catalog.ocr(asset.hash)


def test_recognise_reads_rendered_text_where_it_was_drawn(engine):
    image = Image.open(SAMPLE_PHOTOS / "spacex-rocket-launch.jpg").convert("RGB")
    font = ImageFont.truetype(FONT, 48)
    ImageDraw.Draw(image).text((40, 300), "LAUNCH DAY", font=font, fill="yellow", stroke_width=2, stroke_fill="black")
    drawn = ImageDraw.Draw(image).textbbox((40, 300), "LAUNCH DAY", font=font, stroke_width=2)
    result = engine.recognise(image)
    assert "LAUNCHDAY" in squeezed(result.text)
    line = next(line for line in result.lines if "LAUNCH" in line.text)
    assert overlap(line.box, drawn) > 0.6 and 0.75 <= line.score <= 1.0
    assert engine.id.startswith("rapidocr-") and "min0.75" in engine.id


def test_loading_leaves_logging_as_it_was(engine):
    """rapidocr attaches DEBUG stream handlers to its loggers; Scout takes them back."""
    engine.recognise(Image.new("RGB", (64, 32), "white"))
    for name in ("RapidOCR", "OrtInferSession"):
        assert logging.getLogger(name).handlers == []
        assert logging.getLogger(name).level == logging.NOTSET


def test_an_unknown_engine_is_a_scout_error_with_the_known_ones():
    with pytest.raises(ComponentUnavailable) as error:
        load_ocr_engine("tesseract-please")
    assert "rapidocr" in error.value.hint


def test_index_stores_the_text_and_its_box_in_the_originals_pixels(ocr_library):
    from indexer.library import Library

    lib_dir, root, drawn, result = ocr_library
    assert result.status == "completed"
    ocr_stats = {p.name: p for p in result.passes}["ocr"]
    assert (ocr_stats.total, ocr_stats.done, ocr_stats.failed) == (4, 4, 0)
    library = Library.open(lib_dir, readonly=True)
    sale = _row(library, "sale.jpg")
    assert "SUMMERSALE2026" in squeezed(sale.text) and sale.error is None
    line = next(line for line in sale.lines if "SUMMER" in line["text"])
    # decoded at 1280 px for OCR, the box is stored in the 1800 px original's coordinates
    assert overlap(line["box"], drawn) > 0.6
    assert sale.engine.endswith("/side1280")
    assert _row(library, "flower.jpg").error is None
    assert "SUMMER" not in _row(library, "flower.jpg").text
    dot, banner = _row(library, "dot.png"), _row(library, "banner.png")
    assert dot.error is None and dot.text == ""
    assert banner.error is None and "SHIPPING" in banner.text.upper()
    counts = library.catalog.ocr_counts()
    assert (counts.read, counts.failed) == (4, 0) and counts.with_text >= 2


def test_ocr_text_is_in_the_keyword_index(ocr_library, offline_encoder):
    """The pass refreshes the assets' keyword documents: a printed word finds the photo."""
    from indexer.library import Library
    from search.engine import Searcher
    from search.query import Query, parse_text

    library = Library.open(ocr_library[0], readonly=True)
    query = Query(parts=parse_text("2026", []), mode="keyword")
    names = [hit.asset.name for hit in Searcher(library, offline_encoder).search(query).hits]
    assert names[:1] == ["sale.jpg"]


def test_runs_are_incremental_and_follow_the_engine_version(tmp_path, offline_encoder, engine):
    root = tmp_path / "assets"
    render_text_photo(root / "ad.jpg", "SPRING DEALS", width=900)
    library, first = index_folder(tmp_path / "lib", [root], offline_encoder, passes=[OcrPass(engine)])
    assert first.passes[0].done == 1
    library.close()
    library, second = index_folder(tmp_path / "lib", [root], offline_encoder, passes=[OcrPass(engine)])
    assert (second.passes[0].total, second.passes[0].done) == (0, 0)  # nothing read again
    library.close()
    render_text_photo(root / "ad.jpg", "WINTER OFFER", width=900)  # the file changes: read again
    library, third = index_folder(tmp_path / "lib", [root], offline_encoder, passes=[OcrPass(engine)])
    assert third.passes[0].done == 1
    assert "WINTEROFFER" in squeezed(_row(library, "ad.jpg").text)
    library.close()
    # Another decode size is another version of the pass: everything is read again under it.
    library, fourth = index_folder(tmp_path / "lib", [root], offline_encoder, passes=[OcrPass(engine, side=960)])
    assert fourth.passes[0].done == 1
    assert _row(library, "ad.jpg").engine.endswith("/side960")
    library.close()


def test_an_image_the_pass_cannot_read_records_an_error_and_the_run_goes_on(tmp_path, offline_encoder, engine):
    root = tmp_path / "assets"
    render_text_photo(root / "big.jpg", "BIG", width=1800)  # 1800 x 1200: 2.2 MP
    render_text_photo(root / "small.jpg", "SMALL PRINT", width=600)
    limited = OcrPass(engine, max_megapixels=1.0)
    library, result = index_folder(tmp_path / "lib", [root], offline_encoder, passes=[limited])
    assert result.status == "completed" and result.stats.embedded == 2
    assert (result.passes[0].done, result.passes[0].failed) == (2, 1)
    big = _row(library, "big.jpg")
    assert big.text == "" and big.lines == [] and "megapixels" in big.error.lower()
    assert "SMALLPRINT" in squeezed(_row(library, "small.jpg").text)
    library.close()
    library, again = index_folder(tmp_path / "lib", [root], offline_encoder, passes=[OcrPass(engine, max_megapixels=1.0)])
    assert again.passes[0].total == 0  # a failure is kept until the engine changes, not retried every run
    library.close()


class _EngineThatCannotLoad:
    """A plugin engine whose native runtime is broken: it fails on first use, as rapidocr does."""

    id = "broken-1"

    def recognise(self, image):
        raise ComponentUnavailable("The broken OCR engine failed to load.", hint="Reinstall it.")


def test_an_engine_that_cannot_load_stops_the_pass_and_stores_nothing(tmp_path, offline_encoder):
    """Not a per-image failure: nothing is stored (it would never be retried), the error reaches
    the user, and the vectors committed before it stay searchable."""
    from indexer.library import Library

    root = tmp_path / "assets"
    render_text_photo(root / "ad.jpg", "SPRING", width=600)
    with pytest.raises(ComponentUnavailable, match="failed to load"):
        index_folder(tmp_path / "lib", [root], offline_encoder, passes=[OcrPass(_EngineThatCannotLoad())])
    library = Library.open(tmp_path / "lib", readonly=True)
    assert library.catalog.asset_count() == 1 and library.catalog.ocr_counts().read == 0


def test_the_environment_default_is_on_unless_it_says_off():
    assert default_switch({}) and default_switch({"SCOUT_OCR": "on"})
    assert not any(default_switch({"SCOUT_OCR": v}) for v in ("off", "OFF", "0", "false", "no"))
    with pytest.raises(Exception, match="threads"):
        OcrOptions(threads=0)


def _scout(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "api.cli", *map(str, args)], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "COLUMNS": "200", **(env or {})})
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def _status(library: Path) -> dict:
    return json.loads(_scout("status", "--library", library, "--json").stdout)["ocr"]


@pytest.mark.slow
def test_the_switch_is_stored_in_the_library_and_later_runs_follow_it(tmp_path, tiny_clip_dir):
    root, library = tmp_path / "assets", tmp_path / "lib"
    render_text_photo(root / "poster.jpg", "GRAND OPENING", width=800)
    _scout("index", root, "--library", library, "--model", f"open_clip:local-dir:{tiny_clip_dir}", "--no-ocr",
           env={"SCOUT_OCR": "on"})
    assert _status(library) == {"enabled": False, "read": 0, "with_text": 0, "failed": 0}
    render_text_photo(root / "second.jpg", "CLOSING DOWN", width=800)
    _scout("index", root, "--library", library, env={"SCOUT_OCR": "on"})  # no flag: the stored choice wins
    assert _status(library)["read"] == 0
    run = _scout("index", root, "--library", library, "--ocr")
    assert "ocr: 2 read" in run.stderr
    assert _status(library) == {"enabled": True, "read": 2, "with_text": 2, "failed": 0}
    status = _scout("status", "--library", library).stdout
    assert "on, 2 of 2 read contents have text" in status
