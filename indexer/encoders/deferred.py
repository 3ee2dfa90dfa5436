"""An encoder that loads its model on first use, for index runs over a library that already
knows its model.

An unchanged re-run needs the model's id (to check it) and its dimension (stored in the
catalog), never its weights: loading CLIP costs seconds of imports and weights on a CPU and, on a
GPU machine, CUDA initialisation on top (issue #12 measured 18 s for a re-run that embedded
nothing). The first image to embed, a text to embed or any other attribute loads it.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from indexer.encoders.base import Encoder, resolve_device
from indexer.settings import EncoderOptions


class DeferredEncoder:
    def __init__(self, model_id: str, dim: int, options: EncoderOptions, load: Callable[[], Encoder]):
        self.model_id = model_id
        self._dim = dim
        self._options = options
        self._load = load
        self._encoder: Encoder | None = None
        self._loading = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def encoder(self) -> Encoder:
        with self._loading:
            if self._encoder is None:
                self._encoder = self._load()
            return self._encoder

    @property
    def dim(self) -> int:
        """The catalog's figure until the model is loaded, then the model's own: a catalog whose
        ``dim`` was damaged must not make the run build its index at the wrong width."""
        return self._encoder.dim if self._encoder is not None else self._dim

    @property
    def device(self) -> str:
        """Where the model runs (or will): asks torch, not the model."""
        return self._encoder.device if self._encoder is not None else resolve_device(self._options)

    def preprocess(self, image):
        return self.encoder().preprocess(image)

    def encode_images(self, batch):
        return self.encoder().encode_images(batch)

    def encode_texts(self, texts: list[str]):
        return self.encoder().encode_texts(texts)

    def __getattr__(self, name: str) -> Any:  # what a particular backend offers beyond the protocol
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.encoder(), name)
