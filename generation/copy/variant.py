"""What a copy writer hands on: one headline + body + call to action, and what it refers to."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ReferenceCheck(BaseModel):
    """What grounding found for one reference (see :mod:`generation.grounding`)."""

    reference: str
    kind: Literal["label", "colour", "text"]
    shown: bool
    z: float | None = None  # label: robust standard deviations above the image's median label score
    detail: str = ""


class CopyVariant(BaseModel):
    """One variant of ad copy for one brief and one image.

    ``references`` names the visual elements of the image the copy refers to, in plain English
    words the library's model can score ("cat", "red", "harbour"): grounding checks them against
    the picture. ``flags`` collects problems for the human reviewer (over-long text, a reference
    the image does not show, a language fallback); a flagged variant is kept, never dropped, so the
    reviewer sees why it was flagged.
    """

    headline: str
    body: str
    cta: str
    references: list[str] = Field(default_factory=list)
    language: str = "en"
    writer: str = ""
    model: str = ""
    angle: str = ""
    flags: list[str] = Field(default_factory=list)
    grounding: list[ReferenceCheck] = Field(default_factory=list)

    def flagged(self, *problems: str) -> "CopyVariant":
        """A copy of this variant with ``problems`` added to its flags (each once)."""
        flags = list(self.flags)
        flags.extend(p for p in problems if p not in flags)
        return self.model_copy(update={"flags": flags})
