"""The safety content pass: one verdict per content, stored with its evidence (``scout safety``).

Runs after the OCR pass (it reads the OCR lines the catalog holds, and the stored image vector:
no re-encoding). Its ``version`` is the assessor's stamp (policy name@digest, checks, model) plus
the OCR engine that fed it, so changing any of them re-judges every content on the next run and
an unchanged library costs one count query.

Pixels are decoded only for the checks that need them (nudity, the typographic re-check); the
boxes of OCR lines are scaled to the decoded size, and nudity boxes back to the original's
pixels, so every box in the catalog is in original coordinates, like the OCR table's.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from indexer.catalog.safety import SafetyRow
from indexer.decode import decode_image
from indexer.passes import PassInput
from indexer.safety import Assessment, Assessor
from indexer.safety.signals import Signal, Subject
from indexer.settings import IndexSettings

if TYPE_CHECKING:
    from indexer.catalog import Catalog

DECODE_SIDE = 640  # nudenet looks at 320 px, the image model at 224-256: 640 leaves both margin


def _scale_box(box: list, sx: float, sy: float) -> list:
    if box and isinstance(box[0], (list, tuple)):
        return [[round(x * sx, 1), round(y * sy, 1)] for x, y in box]
    x, y, w, h = box
    return [round(x * sx), round(y * sy), round(w * sx), round(h * sy)]


def _scaled_lines(lines: list[dict], sx: float, sy: float) -> list[dict]:
    return [{**line, "box": _scale_box(line["box"], sx, sy)} if line.get("box") else line for line in lines]


class SafetyPass:
    name = "safety"
    table = "safety"

    def __init__(self, assessor: Assessor, catalog: "Catalog", *, ocr: str = "off",
                 max_megapixels: float = IndexSettings.max_megapixels):
        self.assessor = assessor
        self.version = f"{assessor.version}/ocr={ocr}"
        self._catalog = catalog
        self._reading = threading.Lock()  # the catalog's one connection, shared by the workers
        self._max_pixels = int(max_megapixels * 1_000_000)
        self._pixels = any(check.name in ("nudity", "zero_shot") for check in assessor.checks)

    def process(self, item: PassInput) -> tuple[Assessment, float]:
        started = time.monotonic()
        with self._reading:
            raw_vector, lines = self._catalog.safety_inputs(item.hash)
        vector = np.frombuffer(raw_vector, dtype=np.float32) if raw_vector else None
        subject = Subject(vector=vector, lines=lines or [])
        scale = (1.0, 1.0)
        if self._pixels:
            decoded = decode_image(item.data, item.path, max_pixels=self._max_pixels, target=DECODE_SIDE)
            scale = (decoded.width / decoded.image.width, decoded.height / decoded.image.height)
            subject.image = decoded.image
            subject.lines = _scaled_lines(subject.lines, 1 / scale[0], 1 / scale[1])
        assessment = self.assessor.assess(subject)
        if scale != (1.0, 1.0):  # pixel evidence back into the original's coordinates
            assessment.signals = [
                Signal(s.key, s.source, s.score, s.ambiguous, {**s.evidence, "box": _scale_box(s.evidence["box"], *scale)})
                if s.source == "nudity" and "box" in s.evidence else s for s in assessment.signals]
            assessment.decision = self.assessor.decide_again(assessment.signals)
        return assessment, time.monotonic() - started

    def commit(self, catalog: "Catalog", results: list[tuple[PassInput, object]]) -> None:
        rows = []
        for item, outcome in results:
            if isinstance(outcome, Exception):
                message = getattr(outcome, "message", None) or f"{type(outcome).__name__}: {outcome}"
                rows.append(SafetyRow(item.hash, self.version, error=message))
                continue
            assessment, seconds = outcome
            decision = assessment.decision.as_dict()
            rows.append(SafetyRow(item.hash, self.version, decision["verdict"], decision["categories"],
                                  decision["contexts"], decision["reasons"], [s.as_dict() for s in assessment.signals],
                                  seconds=round(seconds, 3)))
        catalog.store_safety(rows)
