"""What a safety check looks at (:class:`Subject`) and what it reports (:class:`Signal`).

Signals are raw evidence with a score, not verdicts: the decision (:mod:`indexer.safety.decide`)
weighs them against the policy's thresholds and rules, so one set of stored signals can be
judged as image-only, text-only, late fusion or jointly (what the evaluation compares).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

Source = Literal["image", "nudity", "words", "text"]  # image and nudity see pixels; words and text read
IMAGE_SOURCES = ("image", "nudity")


@dataclass(frozen=True)
class Signal:
    key: str  # a category or context name of the policy
    source: Source
    score: float  # cosine similarity, detector confidence, or 1.0 for a listed word
    ambiguous: bool = False  # a word that counts only when the picture or the sentence agrees
    evidence: dict = field(default_factory=dict)  # {"word", "found", "snippet"} / {"box", "label"} / {"prompt"}

    @property
    def modality(self) -> str:
        return "image" if self.source in IMAGE_SOURCES else "text"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["score"] = round(float(self.score), 4)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Signal":
        return cls(data["key"], data["source"], float(data["score"]), bool(data.get("ambiguous")),
                   dict(data.get("evidence") or {}))


@dataclass
class Subject:
    """One thing to judge: a library content, a generated image or a rendered ad.

    ``vector`` is the image's embedding in the library model's space (stored for library
    contents: no re-encoding); ``image`` the pixels, needed only by pixel checks (nudity, the
    typographic re-check); ``lines`` the OCR lines (text and four-corner box); ``copy`` the ad
    copy when it is known apart from the pixels (a brief's headline).
    """

    vector: np.ndarray | None = None
    image: "Image.Image | None" = None
    lines: list[dict] = field(default_factory=list)
    copy: str = ""

    @property
    def ocr_text(self) -> str:
        return "\n".join(line.get("text", "") for line in self.lines)

    @property
    def text(self) -> str:
        """Everything a reader of the creative sees in words."""
        return "\n".join(part for part in (self.ocr_text, self.copy) if part.strip())
