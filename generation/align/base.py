"""What every aligner shares: the brief's aspects, the candidate images, and how aspect scores
combine into one alignment score.

An aligner scores each candidate against each aspect of a brief on its own scale (the ``clip``
aligner in calibrated relevance σ, the ``vlm`` aligner as 1-5 ratings). The combination is the
same for all: a weighted mean of the wanted aspects (the subject counts double, the selling points
share one weight between them, tone and audience half each, each must-show item one) minus a
penalty for every must-avoid aspect the image shows beyond the scale's "not present" level. The
per-aspect scores and one-line reasons are kept for the reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from generation.briefs import Brief

WANTED_KINDS = ("subject", "selling_point", "tone", "audience", "must_show")


@dataclass(frozen=True)
class Aspect:
    name: str  # "subject", "selling_point 2", "must_avoid 1"
    kind: str  # one of WANTED_KINDS or "must_avoid"
    text: str
    weight: float  # share in the weighted mean (wanted) or multiplier of the penalty (must_avoid)


def brief_aspects(brief: Brief) -> list[Aspect]:
    aspects = [Aspect("subject", "subject", brief.subject, 2.0)]
    points = brief.selling_points
    aspects += [Aspect(f"selling_point {i}", "selling_point", text, 1.0 / len(points))
                for i, text in enumerate(points, start=1)]
    if brief.tone:
        aspects.append(Aspect("tone", "tone", brief.tone, 0.5))
    if brief.audience:
        aspects.append(Aspect("audience", "audience", brief.audience, 0.5))
    aspects += [Aspect(f"must_show {i}", "must_show", text, 1.0) for i, text in enumerate(brief.must_show, start=1)]
    aspects += [Aspect(f"must_avoid {i}", "must_avoid", text, 1.0) for i, text in enumerate(brief.must_avoid, start=1)]
    return aspects


@dataclass(frozen=True)
class CandidateImage:
    """An image to score: a library asset (by id), or a freshly generated file not yet indexed."""

    asset_id: int | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.asset_id is None and self.path is None:
            raise ValueError("a candidate needs an asset id or a file")


@dataclass(frozen=True)
class AspectScore:
    aspect: str
    kind: str
    text: str
    score: float
    reason: str

    def as_dict(self) -> dict:
        return {"aspect": self.aspect, "kind": self.kind, "text": self.text,
                "score": round(self.score, 3), "reason": self.reason}


@dataclass(frozen=True)
class Alignment:
    score: float | None  # None when the aligner could not score this candidate (see error)
    aspects: list[AspectScore] = field(default_factory=list)
    error: str | None = None


@runtime_checkable
class Aligner(Protocol):
    name: str
    model_id: str  # what the scores depend on ("clip:offline", "vlm:llava"); thresholds are per this id
    scale: str  # how to read a score, for the manifest and the UI
    max_candidates: int | None  # how many pooled candidates a brief sends it (None: all)

    def align(self, brief: Brief, candidates: list[CandidateImage]) -> list[Alignment]:
        """One Alignment per candidate, in order. A candidate that cannot be scored gets an
        Alignment with ``error`` set; only a misconfiguration raises."""


def combine(scores: list[tuple[Aspect, float]], absent_level: float) -> float:
    """Weighted mean of the wanted aspects minus the must-avoid penalty: each avoided aspect costs
    (its score - ``absent_level``) when it is above that level, i.e. when the image shows it."""
    wanted = [(a.weight, s) for a, s in scores if a.kind != "must_avoid"]
    total = sum(w for w, _ in wanted)
    mean = sum(w * s for w, s in wanted) / total if total else 0.0
    penalty = sum(a.weight * max(0.0, s - absent_level) for a, s in scores if a.kind == "must_avoid")
    return mean - penalty
