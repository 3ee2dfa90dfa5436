"""The ``rapidocr`` OCR engine: PaddleOCR's PP-OCRv4 detector and recogniser on onnxruntime, from
the ``rapidocr-onnxruntime`` wheel (the models ship inside it, so nothing is ever downloaded).

Loading is cheap: the package is located and its config read (for the engine id), but rapidocr,
onnxruntime and OpenCV are imported and the sessions built on the first ``recognise``. An index
run of a library whose contents were all read already never pays them (~3 s on 2 busy cores).

Two things the package does that Scout undoes or bounds, since library code must leave the
process as it found it:

* on import and on every session it attaches DEBUG-level stream handlers to its own loggers
  ("RapidOCR", "OrtInferSession"), which would print to stderr whatever the application
  configured; we remove those handlers so its records propagate like any library's;
* it lets onnxruntime use every core per session; we set intra-op threads per session from
  :class:`~indexer.ocr.OcrOptions` through its config file (its keyword arguments cannot reach
  the classifier's and recogniser's thread settings).

One engine serves several threads: a call borrows an idle RapidOCR instance, or builds one when all
are busy (its detector keeps per-call state on itself, so one instance must never serve two calls
at once); the index run's two workers thus end up with two.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from indexer.errors import ComponentUnavailable
from indexer.ocr import OcrLine, OcrOptions, OcrResult

PACKAGE = "rapidocr-onnxruntime"
_PACKAGE_LOGGERS = ("RapidOCR", "OrtInferSession")
_REINSTALL = "Install Scout's dependencies again (pip install -e .), or index with --no-ocr."


def _package_config() -> tuple[dict, str]:
    """The package's default config and version, read without importing it."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    try:
        installed = version(PACKAGE)
    except PackageNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ComponentUnavailable(f"The rapidocr OCR engine needs the Python package {PACKAGE}, which is missing.",
                                   hint=_REINSTALL)
    with open(Path(spec.submodule_search_locations[0]) / "config.yaml") as handle:
        return yaml.safe_load(handle), installed


def _quiet_package_loggers() -> None:
    """Take back the handlers rapidocr attached to its own loggers (it creates each logger once:
    ``get_logger`` is cached, so after this no call adds a handler again)."""
    from rapidocr_onnxruntime.utils import get_logger

    for name in _PACKAGE_LOGGERS:
        logger = get_logger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


# rapidocr scales an image until its short side is 736 pixels, whatever its long side: a 1x1200
# strip (a 100-byte PNG) became a 736x883200 float array, 7 GiB, and the index run was killed.
# Images longer than this ratio are padded on the short side (with their edge pixels) first; the
# 2400x60 banner of tests/indexer/test_ocr.py (40:1) reads the same at 16:1.
MAX_ASPECT = 16


def bounded_aspect(pixels: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """``pixels`` (H x W x 3) padded, centred, to at most ``MAX_ASPECT``:1, and the (top, left)
    offset of the original in the result."""
    height, width = pixels.shape[:2]
    want_h, want_w = max(height, -(-width // MAX_ASPECT)), max(width, -(-height // MAX_ASPECT))
    if (want_h, want_w) == (height, width):
        return pixels, (0, 0)
    top, left = (want_h - height) // 2, (want_w - width) // 2
    padded = np.pad(pixels, ((top, want_h - height - top), (left, want_w - width - left), (0, 0)), mode="edge")
    return padded, (top, left)


class RapidOcrEngine:
    def __init__(self, options: OcrOptions):
        self.options = options
        config, installed = _package_config()
        config["Global"]["text_score"] = options.min_score
        for stage in ("Det", "Cls", "Rec"):
            config[stage]["intra_op_num_threads"] = options.threads
            config[stage]["inter_op_num_threads"] = 1
        self._config = config
        names = "+".join(Path(config[s]["model_path"]).stem.removesuffix("_infer") for s in ("Det", "Rec"))
        self.id = f"rapidocr-{installed}/{names}/min{options.min_score:g}"
        self._lock = threading.Lock()
        self._idle: list = []

    def recognise(self, image: Image.Image) -> OcrResult:
        pixels, (top, left) = bounded_aspect(np.asarray(image if image.mode == "RGB" else image.convert("RGB")))
        pixels = pixels[:, :, ::-1]  # BGR
        with self._lock:
            engine = self._idle.pop() if self._idle else None
        if engine is None:
            engine = self._build()
        try:
            found, _ = engine(np.ascontiguousarray(pixels))
        finally:
            with self._lock:
                self._idle.append(engine)
        lines = [
            OcrLine(str(text).strip(), [[round(float(x) - left, 1), round(float(y) - top, 1)] for x, y in box],
                    round(float(score), 4))
            for box, text, score in (found or [])
            if str(text).strip() and float(score) >= self.options.min_score
        ]
        return OcrResult.of(lines)

    def _build(self):
        """A RapidOCR instance with our config (it takes settings for all three models only from a file)."""
        handle, path = tempfile.mkstemp(prefix="scout-rapidocr-", suffix=".yaml")
        try:
            with os.fdopen(handle, "w") as config_file:
                yaml.safe_dump(self._config, config_file)
            from rapidocr_onnxruntime import RapidOCR

            return RapidOCR(config_path=path)
        except Exception as exc:  # onnxruntime refuses a model, a native library is broken
            raise ComponentUnavailable(f"The rapidocr OCR engine failed to load: {type(exc).__name__}: {exc}.",
                                       hint=_REINSTALL) from None
        finally:
            os.unlink(path)
            if "rapidocr_onnxruntime.utils" in sys.modules:
                _quiet_package_loggers()


def load(options: OcrOptions) -> RapidOcrEngine:
    return RapidOcrEngine(options)
