"""Copy writers: three headline + body + call-to-action variants per brief that refer to what the
chosen image shows.

Backends live in one registry (``COPY_WRITERS``, entry-point group ``scout.copy_writers``); a
loader is ``load(options: CopyWriterOptions) -> CopyWriter``. Built-ins: ``template`` (offline,
deterministic, the default) and ``openai`` (any OpenAI-compatible chat-completions endpoint).
"""

from __future__ import annotations

from generation.copy.facts import ImageFacts, Label, image_facts
from generation.copy.variant import CopyVariant
from generation.copy.writer import CopyWriter, CopyWriterOptions, Loader
from indexer.registry import Registry

COPY_WRITERS: Registry[Loader] = Registry(
    "copy writer", "scout.copy_writers",
    {"template": "generation.copy.template:load", "openai": "generation.copy.openai:load"},
    example="--copy-writer template",
)


def default_writer_name(options: CopyWriterOptions) -> str:
    """``openai`` when an endpoint is configured (SCOUT_COPY_BASE_URL), else ``template``."""
    return "openai" if options.endpoint is not None else "template"


def load_copy_writer(name: str | None = None, options: CopyWriterOptions | None = None) -> CopyWriter:
    options = options or CopyWriterOptions()
    return COPY_WRITERS.loader(name or default_writer_name(options))(options)


__all__ = ["COPY_WRITERS", "CopyVariant", "CopyWriter", "CopyWriterOptions", "ImageFacts", "Label",
           "default_writer_name", "image_facts", "load_copy_writer"]
