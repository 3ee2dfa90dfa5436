"""Judge a library: OCR first where the library has it on, then one verdict per content.

What ``scout safety`` runs, in the writer lock, so the command line stays an edge. The policy
used is stored in the library (meta ``safety_policy``), so later runs, the brief pipeline's
checks of generated images and ads, and the search filter all judge by the same rules until
another ``--policy`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from indexer.passes import PassProgress, PassStats, run_pass
from indexer.safety import Assessor
from indexer.safety.checks import DEFAULT_CHECKS
from indexer.safety.content_pass import SafetyPass
from indexer.safety.policy import Policy, load_policy, parse_policy
from indexer.settings import IndexSettings

if TYPE_CHECKING:
    from indexer.encoders.base import Encoder
    from indexer.library import Library

POLICY_META = "safety_policy"


def stored_policy(library: "Library") -> Policy:
    """The policy the library was last judged with, else Scout's default."""
    text = library.catalog.get_meta(POLICY_META)
    return parse_policy(text, "stored in the library") if text else load_policy()


@dataclass
class SafetyRun:
    policy: Policy
    version: str
    ocr: PassStats | None
    safety: PassStats


def judge_library(library: "Library", encoder: "Encoder", policy: Policy | None = None, *,
                  checks: Sequence[str] = DEFAULT_CHECKS, ocr: bool | None = None, ocr_default: bool = True,
                  workers: int = 2, progress: PassProgress | None = None) -> SafetyRun:
    """Run the OCR pass (when the library has OCR on, or ``ocr`` says so; ``ocr_default`` for a
    library that never chose, as for index runs) and the safety pass."""
    from indexer.ocr.content_pass import ocr_passes

    policy = policy or stored_policy(library)
    assessor = Assessor(policy, encoder, tuple(checks))
    with library.writer_lock():
        library.catalog.set_meta(**{POLICY_META: policy.model_dump_json()})
        ocr_stats = None
        passes = ocr_passes(library, IndexSettings(), choice=ocr, default=ocr_default)
        for ocr_pass in passes:
            ocr_stats = run_pass(library, ocr_pass, workers=workers, progress=progress)
        safety_pass = SafetyPass(assessor, library.catalog, ocr=passes[0].version if passes else "off")
        stats = run_pass(library, safety_pass, workers=workers, progress=progress)
    return SafetyRun(policy, safety_pass.version, ocr_stats, stats)
