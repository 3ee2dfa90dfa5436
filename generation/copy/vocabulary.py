"""The label vocabulary an image is described with, embedded once per model.

Zero-shot labelling in the open_clip manner: each label becomes the prompt "a photo of a
{label}." (the prompt the offline model's image side was built from, and the classic CLIP one),
embedded with the library's own encoder, so the cosine between an asset's stored vector and a
label's row is that label's zero-shot score for the image. The vocabulary is ImageNet's 1000
classes (first name of each) plus :data:`~generation.copy.lexicon.TRAVEL_TERMS`, which covers
scenes a destination photo shows and ImageNet lacks.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from generation.copy.lexicon import TRAVEL_TERMS
from indexer.encoders.base import Encoder, normalize
from indexer.encoders.text_cache import cached_text_vectors

PROMPT = "a photo of a {}."


class LabelVocabulary:
    """A fixed list of labels and, per encoder model, their embedded prompts."""

    def __init__(self, labels: list[str]):
        self.labels = tuple(dict.fromkeys(label.strip() for label in labels if label.strip()))
        self._index = {label.lower(): i for i, label in enumerate(self.labels)}
        self._matrices: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int | None:
        return self._index.get(label.strip().lower())

    def matrix(self, encoder: Encoder) -> np.ndarray:
        """(len, dim) unit rows, embedded on first use for each model (and cached on disk)."""
        if encoder.model_id not in self._matrices:
            prompts = [PROMPT.format(label) for label in self.labels]  # a fixed list: cached on disk
            self._matrices[encoder.model_id] = normalize(cached_text_vectors(encoder, prompts))
        return self._matrices[encoder.model_id]

    def scores(self, encoder: Encoder, vector: np.ndarray) -> np.ndarray:
        """Zero-shot score (cosine) of every label for one image vector."""
        return self.matrix(encoder) @ normalize(vector.reshape(1, -1))[0]


def embed_labels(encoder: Encoder, labels: list[str]) -> np.ndarray:
    return normalize(encoder.encode_texts([PROMPT.format(label) for label in labels]))


@lru_cache(maxsize=1)
def default_vocabulary() -> LabelVocabulary:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    imagenet = [info.index_to_description(i).split(",")[0].strip() for i in range(1000)]
    return LabelVocabulary(imagenet + list(TRAVEL_TERMS))
