"""The OCR content pass: read the text in every content once, store it with its boxes.

Runs after the embedding in an index run (:mod:`indexer.passes`), one row per content in the
``ocr`` table. Images are decoded for OCR at ``side`` pixels on the long side, not the model's 512:
at 512 fine print is a few pixels high. Measured (benchmarks/ocr_cost.py, BENCHMARKS.md "OCR"):
960 px misses some fine print and merges more words, 1280 reads all of it for about twice the CPU,
1600 adds nothing. Boxes are scaled back to the original's pixel coordinates, so the detail view
can draw them over any rendition.

The pass's ``version`` is the engine id plus the decode size: a different engine, confidence
floor or size re-reads every content on the next run, nothing else does (a failed read
included: its error is stored and kept until then).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from indexer.catalog.ocr import OcrRow
from indexer.decode import decode_image
from indexer.ocr import DEFAULT_ENGINE, OcrEngine, OcrOptions, OcrResult, load_ocr_engine
from indexer.passes import PassInput, failure_text
from indexer.settings import IndexSettings

if TYPE_CHECKING:
    from indexer.catalog import Catalog
    from indexer.library import Library

# Long side of the decode handed to the engine (measured: benchmarks/ocr_cost.py, BENCHMARKS.md "OCR").
DEFAULT_SIDE = 1280


class OcrPass:
    name = "ocr"
    table = "ocr"

    def __init__(self, engine: OcrEngine, *, side: int = DEFAULT_SIDE, max_megapixels: float = IndexSettings.max_megapixels):
        self.engine = engine
        self.side = side
        self.max_pixels = int(max_megapixels * 1_000_000)
        self.version = f"{engine.id}/side{side}"

    def process(self, item: PassInput) -> tuple[OcrResult, float]:
        started = time.monotonic()
        decoded = decode_image(item.data, item.path, max_pixels=self.max_pixels, target=self.side)
        result = self.engine.recognise(decoded.image)
        scale_x, scale_y = decoded.width / decoded.image.width, decoded.height / decoded.image.height
        return result.scaled(scale_x, scale_y), time.monotonic() - started

    def commit(self, catalog: "Catalog", results: list[tuple[PassInput, object]]) -> None:
        rows = []
        for item, outcome in results:
            if isinstance(outcome, Exception):
                rows.append(OcrRow(item.hash, self.version, error=failure_text(outcome)))
            else:
                result, seconds = outcome
                rows.append(OcrRow(item.hash, self.version, result.text, [line.as_dict() for line in result.lines],
                                   seconds=round(seconds, 3)))
        catalog.store_ocr(rows)


def ocr_passes(library: "Library", settings: IndexSettings, *, choice: bool | None = None,
               default: bool = True, engine: str = DEFAULT_ENGINE) -> list[OcrPass]:
    """The OCR pass for an index run of ``library``, or none when OCR is off for it.

    ``choice`` (the user's ``--ocr`` / ``--no-ocr``) is stored in the library and followed by
    later runs; a library that never chose gets ``default``, stored too, so ``scout status`` and
    every later run (CLI or HTTP job) agree on it. The engine runs one compute thread per decode
    worker, so the workers share the cores instead of oversubscribing them.
    """
    enabled = library.catalog.ocr_enabled(default) if choice is None else choice
    library.catalog.set_ocr_enabled(enabled)
    if not enabled:
        return []
    threads = max(1, (os.cpu_count() or 1) // max(1, settings.decode_workers))
    return [OcrPass(load_ocr_engine(engine, OcrOptions(threads=threads)), max_megapixels=settings.max_megapixels)]
