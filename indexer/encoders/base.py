"""The one interface every encoder backend implements.

torch is imported inside the helpers that need it, not here: importing it costs seconds, and
a text query with the offline model runs without it (the search path imports this module).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING, Callable, ContextManager, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from indexer.errors import ConfigError
from indexer.settings import EncoderOptions

if TYPE_CHECKING:
    import torch


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
    import torch

    if options.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if options.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"--device {options.device} asked for, but PyTorch sees no CUDA GPU.",
            hint="Use --device auto or --device cpu.",
        )
    return options.device


def apply_threads(options: EncoderOptions) -> None:
    import torch

    if options.threads:
        torch.set_num_threads(options.threads)


def faster_text_tower(module: torch.nn.Module, precision: str, device: str) -> Callable[[], ContextManager]:
    """Apply a text-side speed lever; returns the context to run text encoding in.

    int8 swaps the Linear layers for dynamically quantised ones (in place); bf16 runs under CPU
    autocast. Both only change how queries are embedded, never stored image vectors, and
    BENCHMARKS.md records what each costs in retrieval quality.
    """
    import torch

    if precision == "int8" and device == "cpu":
        with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
            warnings.simplefilter("ignore")
            # Plain Linear layers only: attention's fused out_proj must keep a float weight.
            names = {name: torch.ao.quantization.default_dynamic_qconfig
                     for name, child in module.named_modules() if type(child) is torch.nn.Linear}
            torch.ao.quantization.quantize_dynamic(module, names, dtype=torch.qint8, inplace=True)
        for child in module.modules():
            if type(child).__name__ == "Linear" and callable(getattr(child, "weight", None)):
                child.int8_original_dtype = torch.float32  # open_clip asks layers for their dtype
    if precision == "bf16" and device == "cpu":
        return lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
