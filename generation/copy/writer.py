"""The copy-writer interface: a brief and what Scout knows of its image in, variants out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

from generation.copy.facts import ImageFacts
from generation.copy.variant import CopyVariant
from generation.limits import CopyLimits

if TYPE_CHECKING:
    from generation.briefs import Brief
    from generation.openai_api import EndpointSettings


@dataclass(frozen=True)
class CopyWriterOptions:
    """Built at the edge (CLI / app) from flags and the environment (``SCOUT_COPY_*``)."""

    endpoint: "EndpointSettings | None" = None
    temperature: float = 0.7


@runtime_checkable
class CopyWriter(Protocol):
    """Writes ``n`` variants for one brief and one image, within ``limits``.

    Every variant names the visual elements it refers to in ``references`` and carries reviewer
    flags for anything it could not satisfy (length, language); writers never drop a variant
    silently and raise a :class:`~indexer.errors.ScoutError` (one per brief) when they cannot
    write at all.
    """

    name: str
    model: str

    def write(self, brief: "Brief", facts: ImageFacts, n: int = 3,
              limits: CopyLimits | None = None) -> list[CopyVariant]: ...


def base_language(code: str) -> str:
    """'de-DE' -> 'de' (BCP-47 primary subtag, lower case)."""
    return (code or "en").replace("_", "-").split("-")[0].strip().lower() or "en"


Loader = Callable[[CopyWriterOptions], CopyWriter]
