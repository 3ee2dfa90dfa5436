"""Aligners: score candidate images against a brief, aspect by aspect (see ``base``).

Backends come from one registry (``indexer.registry.Registry``): ``clip`` (the library's own
encoder, the default) and ``vlm`` (a vision-language model behind an OpenAI-compatible endpoint).
Plugins register under the ``scout.aligners`` entry-point group with a loader
``load(searcher: Searcher, settings: AlignSettings) -> Aligner``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from generation.align.base import Aligner, Alignment, AspectScore, CandidateImage, brief_aspects
from indexer.registry import Registry
from search.engine import Searcher

if TYPE_CHECKING:
    from generation.openai_api import EndpointSettings


@dataclass(frozen=True)
class AlignSettings:
    endpoint: "EndpointSettings | None" = None  # the vlm aligner's chat-completions endpoint


Loader = Callable[[Searcher, AlignSettings], Aligner]

ALIGNERS: Registry[Loader] = Registry(
    "aligner", "scout.aligners",
    {"clip": "generation.align.clip:load", "vlm": "generation.align.vlm:load"},
    example="--aligner clip",
)


def load_aligner(name: str, searcher: Searcher, settings: AlignSettings | None = None) -> Aligner:
    return ALIGNERS.loader(name)(searcher, settings or AlignSettings())


__all__ = ["ALIGNERS", "AlignSettings", "Aligner", "Alignment", "AspectScore", "CandidateImage",
           "brief_aspects", "load_aligner"]
