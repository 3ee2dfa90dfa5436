"""The safety check of a brief's package: every rendered ad judged before it reaches review.

:class:`SafetyCheckStage` follows :class:`generation.run.Stage` and runs after the renders. Each
finished ad (one per copy variant and format) is judged as a reader meets it: the picture (its
vector from the library's model, nudity on its pixels), the text on it as OCR reads it, and the
copy the writer produced, together, against the library's policy (the one its last
``scout safety`` stored, else the default). A generated image is judged inside its ads: the
renders carry its pixels. The manifest's ``safety`` section lists a verdict with reasons per
variant and format; :func:`blocked_variants` is what the review import uses to leave blocked
ads out of the panel, and a brief whose every ad is blocked is marked so on the contact sheet's
manifest.

Reuse is guarded earlier: the retrieve stage never pools an asset whose stored verdict is
``block`` (:mod:`generation.retrieve`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PIL import Image

from indexer.encoders.base import Encoder
from indexer.errors import ComponentUnavailable
from indexer.library import Library
from indexer.safety import Assessment, Assessor, Subject
from indexer.safety.checks import DEFAULT_CHECKS
from indexer.safety.policy import Policy, worse

if TYPE_CHECKING:
    from generation.run import BriefState

SAFETY = "safety"
CHECK_SIDE = 1280  # renders are judged at this long side: headline letters stay legible to OCR


class AdChecker:
    """Judges images that are not in the library (renders, fresh generations) with OCR."""

    def __init__(self, policy: Policy, encoder: Encoder, *, checks: tuple[str, ...] = DEFAULT_CHECKS, ocr=None):
        self.assessor = Assessor(policy, encoder, checks)
        self._ocr = ocr
        self._ocr_loaded = ocr is not None
        self._lock = threading.Lock()
        self.ocr_note: str | None = None

    def _engine(self):
        with self._lock:
            if not self._ocr_loaded:
                self._ocr_loaded = True
                try:
                    from indexer.ocr import load_ocr_engine
                    self._ocr = load_ocr_engine()
                except ComponentUnavailable as exc:  # judged on copy and pixels alone, and said so
                    self.ocr_note = exc.message
            return self._ocr

    def check(self, image: Image.Image, copy: str = "") -> Assessment:
        image = image.convert("RGB")
        if max(image.size) > CHECK_SIDE:
            image = image.copy()
            image.thumbnail((CHECK_SIDE, CHECK_SIDE))
        engine = self._engine()
        lines = [line.as_dict() for line in engine.recognise(image).lines] if engine is not None else []
        return self.assessor.assess(Subject(image=image, lines=lines, copy=copy))


def _copy_text(variant: dict) -> str:
    return "\n".join(str(variant.get(key) or "") for key in ("headline", "body", "cta"))


class SafetyCheckStage:
    name = "safety"

    def __init__(self, library: Library, encoder: Encoder, policy: Policy | None = None, checker: AdChecker | None = None):
        from indexer.safety.library_run import stored_policy

        self.checker = checker or AdChecker(policy or stored_policy(library), encoder)

    def run(self, state: "BriefState") -> None:
        renders = state.sections.get("renders") or {}
        if renders.get("status") != "rendered":
            state.sections[SAFETY] = {"status": "skipped", "reason": "nothing was rendered"}
            return
        copy_variants = (state.sections.get("copy") or {}).get("variants") or []
        checked, worst = [], "safe"
        for entry in renders.get("variants", []):
            index = entry["variant"]
            copy = _copy_text(copy_variants[index - 1]) if 0 < index <= len(copy_variants) else entry.get("headline", "")
            for fmt, files in entry["formats"].items():
                with Image.open(state.folder / files["png"]) as image:
                    assessment = self.checker.check(image, copy)
                decision = assessment.decision
                worst = worse(worst, decision.verdict)
                checked.append({"variant": index, "format": fmt, "verdict": decision.verdict,
                                "categories": sorted(decision.categories),
                                "reasons": [r.as_dict() for r in decision.reasons]})
        state.sections[SAFETY] = {"status": "checked", "policy": self.checker.assessor.policy.stamp,
                                  "verdict": worst, "ads": checked, "ocr": self.checker.ocr_note or "read"}


def blocked_variants(manifest: dict) -> set[int]:
    """Copy variants with at least one ad the safety check blocked: kept out of review."""
    section = manifest.get(SAFETY) or {}
    return {entry["variant"] for entry in section.get("ads", []) if entry.get("verdict") == "block"}
