"""The image tower's numeric precision: fp32, bf16 autocast, or TF32 matmuls, chosen per device.

A GPU embeds several times faster in bf16 or with TF32 matmuls than in plain fp32 (issue #12:
4,628 images/s fp32 vs over 20,000 on an H200), while the vectors barely move. Stored vectors
stay float32 and unit length whatever runs the tower: only the arithmetic inside changes, so a
library indexed in bf16 is searched with the same space as one indexed in fp32, and
:func:`vector_fidelity` measures how far apart the two are (the goal for ViT-B-32 is a cosine of
0.999 or more per image).

``auto`` is bf16 on a CUDA device that supports it and fp32 everywhere else: CPU bf16 is slower
than fp32 on most CPUs without AMX, so it is only used when asked for (tests use it to run the bf16
code path without a GPU). TF32 is a CUDA matmul mode; asking for it on a CPU is a mistake and is
refused. TF32 is switched on only around the tower's call and restored afterwards: library code
must not change how the rest of the process computes.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Callable, ContextManager, Iterator, Sequence

import numpy as np

from indexer.errors import ConfigError

if TYPE_CHECKING:
    from PIL import Image

    from indexer.encoders.base import Encoder

PRECISIONS = ("auto", "fp32", "bf16", "tf32")


def resolve_image_precision(requested: str, device: str) -> str:
    """The precision an image tower on ``device`` runs in: ``fp32``, ``bf16`` or ``tf32``."""
    import torch

    if requested not in PRECISIONS:
        raise ConfigError(f"Unknown image precision {requested!r}.", hint="Use auto, fp32, bf16 or tf32.")
    on_cuda = device.startswith("cuda")
    if requested == "auto":
        return "bf16" if on_cuda and torch.cuda.is_bf16_supported() else "fp32"
    if requested == "tf32" and not on_cuda:
        raise ConfigError(
            f"--image-precision tf32 needs a CUDA GPU; the model runs on {device}.",
            hint="TF32 is a GPU matmul mode. Use --image-precision fp32 (or auto) on a CPU.",
        )
    if requested == "bf16" and on_cuda and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"--image-precision bf16 asked for, but {torch.cuda.get_device_name(device)} has no bfloat16 support.",
            hint="Use --image-precision tf32 or fp32 (or auto, which picks what the GPU supports).",
        )
    return requested


def image_precision_context(precision: str, device: str) -> Callable[[], ContextManager]:
    """The context to run the image tower in, for a precision :func:`resolve_image_precision` gave."""
    import torch

    if precision == "bf16":
        device_type = "cuda" if device.startswith("cuda") else "cpu"
        return lambda: torch.autocast(device_type, dtype=torch.bfloat16)
    if precision == "tf32":
        return _scoped_tf32
    return contextlib.nullcontext


@contextlib.contextmanager
def _scoped_tf32() -> Iterator[None]:
    """TF32 matmuls and convolutions for the duration of one call, then the caller's settings back.

    Uses the ``fp32_precision`` switches where torch has them (2.9+) and the older ``allow_tf32``
    flags otherwise; torch refuses a mix of the two APIs in one process, so each is restored
    through the same API it was read from.
    """
    import torch

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(matmul, "fp32_precision"):
        saved = (matmul.fp32_precision, cudnn.conv.fp32_precision)
        matmul.fp32_precision, cudnn.conv.fp32_precision = "tf32", "tf32"
        try:
            yield
        finally:
            matmul.fp32_precision, cudnn.conv.fp32_precision = saved
    else:  # pragma: no cover - torch before 2.9
        saved = (matmul.allow_tf32, cudnn.allow_tf32)
        matmul.allow_tf32, cudnn.allow_tf32 = True, True
        try:
            yield
        finally:
            matmul.allow_tf32, cudnn.allow_tf32 = saved


def vector_fidelity(encoder_a: Encoder, encoder_b: Encoder, images: Sequence[Image.Image],
                    batch_size: int = 32) -> tuple[float, float]:
    """(min, mean) cosine between the two encoders' vectors of the same images.

    Each encoder preprocesses the images itself, so two precisions of one model, or one model on
    two devices, are compared on exactly what an index run would store.
    """
    import torch

    if not images:
        raise ConfigError("vector_fidelity needs at least one image.")
    cosines = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        a = encoder_a.encode_images(torch.stack([encoder_a.preprocess(i) for i in chunk]))
        b = encoder_b.encode_images(torch.stack([encoder_b.preprocess(i) for i in chunk]))
        cosines.append(np.sum(a * b, axis=1))
    values = np.concatenate(cosines)
    return float(values.min()), float(values.mean())
