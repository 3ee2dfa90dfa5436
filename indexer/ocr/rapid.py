"""The ``rapidocr`` OCR engine: PaddleOCR's PP-OCRv4 detector and recogniser on onnxruntime, from
the ``rapidocr-onnxruntime`` wheel (the models ship inside it, so nothing is ever downloaded).

Imported only through the registry, when an engine is loaded: it brings onnxruntime and OpenCV.

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
at once); the index run's two workers thus end up with two, the first built at load.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from importlib.metadata import version
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from rapidocr_onnxruntime import RapidOCR
from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
from rapidocr_onnxruntime.utils import get_logger, read_yaml

from indexer.errors import ComponentUnavailable
from indexer.ocr import OcrLine, OcrOptions, OcrResult

_PACKAGE_LOGGERS = ("RapidOCR", "OrtInferSession")


def _quiet_package_loggers() -> None:
    """Take back the handlers rapidocr attached to its own loggers (it creates each logger once:
    ``get_logger`` is cached, so after this no call adds a handler again)."""
    for name in _PACKAGE_LOGGERS:
        logger = get_logger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def _config(options: OcrOptions) -> dict:
    config = read_yaml(DEFAULT_CFG_PATH)
    config["Global"]["text_score"] = options.min_score
    for stage in ("Det", "Cls", "Rec"):
        config[stage]["intra_op_num_threads"] = options.threads
        config[stage]["inter_op_num_threads"] = 1
    return config


class RapidOcrEngine:
    def __init__(self, options: OcrOptions):
        self.options = options
        models = _config(options)
        names = "+".join(Path(models[s]["model_path"]).stem.removesuffix("_infer") for s in ("Det", "Rec"))
        self.id = f"rapidocr-{version('rapidocr-onnxruntime')}/{names}/min{options.min_score:g}"
        self._lock = threading.Lock()
        self._idle = [_build(options)]  # load now: a broken install fails here, not in every worker

    def recognise(self, image: Image.Image) -> OcrResult:
        pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))[:, :, ::-1]  # BGR
        with self._lock:
            engine = self._idle.pop() if self._idle else None
        if engine is None:
            engine = _build(self.options)
        try:
            found, _ = engine(np.ascontiguousarray(pixels))
        finally:
            with self._lock:
                self._idle.append(engine)
        lines = [
            OcrLine(str(text).strip(), [[round(float(x), 1), round(float(y), 1)] for x, y in box], round(float(score), 4))
            for box, text, score in (found or [])
            if str(text).strip() and float(score) >= self.options.min_score
        ]
        return OcrResult.of(lines)


def _build(options: OcrOptions) -> RapidOCR:
    handle, path = tempfile.mkstemp(prefix="scout-rapidocr-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w") as config_file:
            yaml.safe_dump(_config(options), config_file)
        engine = RapidOCR(config_path=path)
    except Exception as exc:  # onnxruntime refuses a model, a library is broken
        raise ComponentUnavailable(f"The rapidocr OCR engine failed to load: {type(exc).__name__}: {exc}.",
                                   hint="Reinstall it (pip install -e .), or index with --no-ocr.") from None
    finally:
        os.unlink(path)
        _quiet_package_loggers()
    return engine


def load(options: OcrOptions) -> RapidOcrEngine:
    return RapidOcrEngine(options)
