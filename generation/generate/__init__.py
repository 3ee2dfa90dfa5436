"""Generator registry: a spec string in, a ready :class:`Generator` out.

Specs are ``BACKEND[:ARGS]``::

    diffusers:/models/stable-diffusion-v1-5   any diffusers text-to-image pipeline folder
    openai-images                             an OpenAI-compatible /v1/images/generations endpoint
    openai-images:gpt-image-1                 ... with another model than the endpoint settings name

Third-party backends register under the ``scout.generators`` entry-point group: the entry point's
name is the backend, its value a callable ``load(args: str, options: GeneratorOptions) -> Generator``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from generation.generate.base import (
    GeneratedImage,
    GenerationRequest,
    Generator,
    GeneratorOptions,
)
from indexer.encoders.base import Encoder
from indexer.errors import ConfigError
from indexer.generated import SavedImage, save_generated
from indexer.library import Library
from indexer.registry import Registry
from indexer.settings import IndexSettings

Loader = Callable[[str, GeneratorOptions], Generator]

GENERATORS: Registry[Loader] = Registry(
    "generator", "scout.generators",
    {"diffusers": "generation.generate.diffusion:load", "openai-images": "generation.generate.openai_images:load"},
    example="--generator diffusers:/models/stable-diffusion-v1-5",
)

__all__ = ["GENERATORS", "GeneratedImage", "GenerationRequest", "Generator", "GeneratorOptions",
           "generate_into_library", "load_generator"]


def load_generator(spec: str, options: GeneratorOptions | None = None) -> Generator:
    backend, _, args = spec.strip().partition(":")
    if not backend:
        raise ConfigError("Empty generator spec.", hint=f"Known generators: {', '.join(GENERATORS.names())}.")
    return GENERATORS.loader(backend)(args, options or GeneratorOptions())


def generate_into_library(generator: Generator, request: GenerationRequest, library: Library,
                          encoder: Encoder, *, brief_id: str | None = None,
                          settings: IndexSettings | None = None) -> list[SavedImage]:
    """Generate, then save and index the images in the library (see :mod:`indexer.generated`),
    each carrying ``brief_id`` in its provenance. Must not be called under the writer lock."""
    items = [(g.image, replace(g.provenance, brief_id=brief_id)) for g in generator.generate(request)]
    return save_generated(library, encoder, items, settings)
