"""The decision: signals + policy -> verdict (safe / review / block) with reasons.

Four ways to decide over the same signals, so the evaluation can compare them honestly:

* ``image``: only what the pixels show (zero-shot scores, nudity);
* ``text``: only the words (listed words, ambiguous ones included, and sentence similarity);
* ``late``: each of the two decided alone, the worse verdict wins (late fusion);
* ``joint``: one decision over both. Three things only it can do: a rule fires when its category
  is in the picture and its context in the words, or the other way round (a beer headline on a
  photo of a school bus); an ambiguous word ("killer deals", "shots") counts only when the
  picture or the whole sentence agrees with its category; and a category found in both the
  picture and the words is reported once, with both as evidence.

Rules and categories come from the policy; nothing here knows what "alcohol" is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

from indexer.safety.policy import Policy, Verdict, worse
from indexer.safety.signals import Signal

Mode = Literal["image", "text", "late", "joint"]
MODES: tuple[Mode, ...] = ("image", "text", "late", "joint")


@dataclass(frozen=True)
class Reason:
    key: str  # the category (or the rule name)
    verdict: Verdict
    why: str
    signals: tuple[Signal, ...] = ()

    def as_dict(self) -> dict:
        return {"key": self.key, "verdict": self.verdict, "why": self.why,
                "signals": [s.as_dict() for s in self.signals]}


@dataclass
class Decision:
    verdict: Verdict = "safe"
    categories: set[str] = field(default_factory=set)  # every category seen, whatever its risk
    contexts: set[str] = field(default_factory=set)
    reasons: list[Reason] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "categories": sorted(self.categories), "contexts": sorted(self.contexts),
                "reasons": [r.as_dict() for r in self.reasons]}


def _best(signals: Iterable[Signal]) -> dict[str, Signal]:
    best: dict[str, Signal] = {}
    for signal in signals:
        if signal.key not in best or signal.score > best[signal.key].score:
            best[signal.key] = signal
    return best


class _Seen:
    """Which categories and contexts one modality's signals establish, with the evidence."""

    def __init__(self, policy: Policy, signals: list[Signal], modality: str, *, corroborate: dict[str, float] | None):
        t = policy.thresholds
        self.found: dict[str, list[Signal]] = {}
        scores = {s.source: _best(x for x in signals if x.source == s.source) for s in signals}
        for signal in signals:
            if signal.modality != modality:
                continue
            is_context = signal.key in policy.contexts
            if signal.source == "image":
                passed = signal.score >= (t.context_image if is_context else t.image)
            elif signal.source == "nudity":
                passed = signal.score >= t.nudity
            elif signal.source == "text":
                passed = signal.score >= t.text
            elif signal.ambiguous and corroborate is not None:  # joint: an ambiguous word needs support
                sentence = scores.get("text", {}).get(signal.key)
                passed = (sentence is not None and sentence.score >= t.text_support) or \
                    corroborate.get(signal.key, -1.0) >= t.image_support
            else:  # a listed word
                passed = True
            if passed:
                self.found.setdefault(signal.key, []).append(signal)

    def categories(self, policy: Policy) -> set[str]:
        return {k for k in self.found if k in policy.categories}

    def contexts(self, policy: Policy) -> set[str]:
        return {k for k in self.found if k in policy.contexts}


def _verdict(policy: Policy, seen: dict[str, _Seen]) -> Decision:
    """Category risks plus the rules, over the modalities in ``seen`` ("image" and/or "text")."""
    decision = Decision()
    evidence: dict[str, list[Signal]] = {}
    for side in seen.values():
        decision.categories |= side.categories(policy)
        decision.contexts |= side.contexts(policy)
        for key, signals in side.found.items():
            evidence.setdefault(key, []).extend(signals)
    for key in sorted(decision.categories):
        category = policy.categories[key]
        decision.verdict = worse(decision.verdict, category.verdict)
        if category.verdict != "safe":
            decision.reasons.append(Reason(key, category.verdict, f"{category.label} ({category.risk} risk)",
                                           tuple(evidence[key])))
    for rule in policy.rules:
        if rule.modalities == "image-text":
            image, text = seen.get("image"), seen.get("text")
            if image is None or text is None:
                continue
            hits = [c for c in rule.categories if c in image.found]
            contexts = [c for c in rule.contexts if c in text.found]
        else:
            hits = [c for c in rule.categories if c in decision.categories]
            contexts = [c for c in rule.contexts if c in decision.contexts]
        if hits and contexts:
            decision.verdict = worse(decision.verdict, rule.verdict)
            signals = tuple(s for key in (*hits, *contexts) for s in evidence[key])
            decision.reasons.append(Reason(rule.name, rule.verdict, rule.reason or rule.name, signals))
    return decision


def decide(policy: Policy, signals: list[Signal], mode: Mode = "joint") -> Decision:
    if mode == "image":
        return _verdict(policy, {"image": _Seen(policy, signals, "image", corroborate=None)})
    if mode == "text":
        return _verdict(policy, {"text": _Seen(policy, signals, "text", corroborate=None)})
    if mode == "late":
        image, text = decide(policy, signals, "image"), decide(policy, signals, "text")
        return Decision(worse(image.verdict, text.verdict), image.categories | text.categories,
                        image.contexts | text.contexts, image.reasons + text.reasons)
    picture = {key: s.score for key, s in _best(s for s in signals if s.source == "image").items()}
    return _verdict(policy, {"image": _Seen(policy, signals, "image", corroborate=None),
                             "text": _Seen(policy, signals, "text", corroborate=picture)})
