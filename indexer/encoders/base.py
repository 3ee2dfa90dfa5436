"""The one interface every encoder backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

from indexer.errors import ConfigError
from indexer.settings import EncoderOptions


@runtime_checkable
class Encoder(Protocol):
    """Maps images and texts into one space where cosine similarity means relatedness.

    ``model_id`` is the canonical spec stored in a library: loading it again must give the same
    space. Outputs are float32 rows of unit length, so inner product is cosine similarity.
    """

    model_id: str
    dim: int
    device: str

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """One RGB image to the model's input tensor (CHW). Called from decode worker threads."""

    def encode_images(self, batch: torch.Tensor) -> np.ndarray:
        """A stacked NCHW batch to an (N, dim) array."""

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts to an (N, dim) array."""


def resolve_device(options: EncoderOptions) -> str:
    if options.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if options.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"--device {options.device} asked for, but PyTorch sees no CUDA GPU.",
            hint="Use --device auto or --device cpu.",
        )
    return options.device


def apply_threads(options: EncoderOptions) -> None:
    if options.threads:
        torch.set_num_threads(options.threads)


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
