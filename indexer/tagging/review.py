"""People's decisions on tags, and thresholds proposed from them.

A decision is final: an accepted tag is human-confirmed, a rejected one is never suggested again
for that content, and both outlive re-tagging and a change of model (they are keyed by content
and tag, not by the model that suggested them).

``calibrate`` turns decisions into a threshold per tag for the library's current model: among the
decided suggestions, precision and recall at every candidate threshold (each confidence a
reviewer saw), and the lowest threshold whose precision reaches the target, which keeps the most
true tags while the queue stays that clean. With too few decisions, or when no threshold reaches
the target, it says so and proposes nothing for that tag (or the best F1, marked as such).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from indexer.catalog.tags import DECISIONS, DEFAULT_THRESHOLD, ThresholdRow
from indexer.errors import ConfigError
from indexer.library import Library
from indexer.tagging.tagger import stored_taxonomy

MIN_DECISIONS = 8
MAX_DECISIONS_PER_CALL = 1000


@dataclass(frozen=True)
class Candidate:
    threshold: float
    precision: float
    recall: float
    kept: int  # decided suggestions at or above the threshold


@dataclass(frozen=True)
class ThresholdProposal:
    tag: str
    current: float
    proposed: float | None
    decisions: int
    accepted: int
    candidates: tuple[Candidate, ...]
    reason: str

    @property
    def chosen(self) -> Candidate | None:
        return next((c for c in self.candidates if c.threshold == self.proposed), None)


class TagDesk:
    """The writer of tag decisions and thresholds (the review queue's back end)."""

    def __init__(self, library: Library):
        self.library = library
        self.catalog = library.catalog

    def known_tags(self) -> set[str]:
        taxonomy = stored_taxonomy(self.library)
        if taxonomy is None:
            raise ConfigError("This library has not been tagged yet.", hint="Run `scout tag` first.")
        return {t.name for t in taxonomy.tags}

    def decide(self, decisions: list[tuple[int, str, str]], reviewer: str | None = None) -> int:
        """Record (asset id, tag, "accepted" | "rejected") decisions; refuses the whole call on
        any unknown tag or decision word, so a typo never half-applies a bulk review."""
        if len(decisions) > MAX_DECISIONS_PER_CALL:
            raise ConfigError(f"At most {MAX_DECISIONS_PER_CALL} decisions at a time, got {len(decisions)}.")
        known = self.known_tags()
        for _, tag, decision in decisions:
            if decision not in DECISIONS:
                raise ConfigError(f"Unknown decision {decision!r}.", hint="Use accepted or rejected.")
            if tag not in known:
                close = difflib.get_close_matches(tag, known, n=3)
                raise ConfigError(f"{tag!r} is not a tag of the library's taxonomy.",
                                  hint=f"Did you mean {', '.join(close)}?" if close else "See `scout tag list`.")
        with self.library.writer_lock():
            return self.catalog.record_tag_decisions(decisions, reviewer)

    def calibrate(self, *, target_precision: float = 0.9, min_decisions: int = MIN_DECISIONS) -> list[ThresholdProposal]:
        if not 0 < target_precision <= 1:
            raise ConfigError(f"The target precision must be in (0, 1], got {target_precision}.")
        model = self.library.model_id
        if model is None:
            raise ConfigError("This library has no model yet.", hint="Run `scout index` and `scout tag` first.")
        thresholds = self.catalog.tag_thresholds(model)
        proposals = []
        for tag in self.catalog.decided_tags():
            current = thresholds[tag].threshold if tag in thresholds else DEFAULT_THRESHOLD
            proposals.append(propose(tag, self.catalog.decided_confidences(model, tag), current,
                                     target_precision, min_decisions))
        return proposals

    def apply(self, proposals: list[ThresholdProposal]) -> int:
        rows = [ThresholdRow(p.tag, p.proposed, "calibrated", p.chosen.precision, p.chosen.recall, p.decisions)
                for p in proposals if p.proposed is not None and p.chosen is not None]
        with self.library.writer_lock():
            self.catalog.set_tag_thresholds(self.library.model_id, rows)
        return len(rows)


def propose(tag: str, decided: list[tuple[float, bool]], current: float, target: float,
            min_decisions: int) -> ThresholdProposal:
    """A threshold for one tag from its decided (confidence, accepted) pairs."""
    accepted = sum(ok for _, ok in decided)
    if len(decided) < min_decisions or accepted == 0:
        reason = (f"only {len(decided)} decisions (need {min_decisions})" if len(decided) < min_decisions
                  else "no suggestion was accepted yet")
        return ThresholdProposal(tag, current, None, len(decided), accepted, (), f"kept: {reason}")
    candidates = []
    for threshold in sorted({c for c, _ in decided}):
        kept = [ok for c, ok in decided if c >= threshold]
        hits = sum(kept)
        candidates.append(Candidate(threshold, hits / len(kept), hits / accepted, len(kept)))
    reaching = [c for c in candidates if c.precision >= target]
    if reaching:
        best = max(reaching, key=lambda c: (c.recall, -c.threshold))
        reason = (f"lowest threshold with precision >= {target:.0%}: keeps {best.recall:.0%} of the "
                  f"{accepted} accepted tags, {best.kept - round(best.precision * best.kept)} wrong among {best.kept}")
    else:
        best = max(candidates, key=lambda c: (2 * c.precision * c.recall / (c.precision + c.recall or 1), c.threshold))
        reason = (f"no threshold reaches precision {target:.0%}; best F1 instead (precision {best.precision:.0%}, "
                  f"recall {best.recall:.0%}): the prompts may need work")
    return ThresholdProposal(tag, current, best.threshold, len(decided), accepted, tuple(candidates), reason)
