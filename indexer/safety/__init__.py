"""Brand safety: the picture and the words on it judged together, against a client's policy.

    policy = load_policy(path_or_None)                 # the GARM floor by default (default_policy.yaml)
    assessor = Assessor(policy, encoder)               # checks from the registry (checks.py)
    assessment = assessor.assess(Subject(vector=..., image=..., lines=ocr_lines, copy=headline))
    assessment.decision.verdict                        # "safe" | "review" | "block", with reasons

Library contents are judged by :class:`~indexer.safety.content_pass.SafetyPass` (``scout safety``),
stored in the catalog's ``safety`` table and stamped with the policy, so a changed policy
re-judges everything and an unchanged library costs nothing on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.safety.checks import DEFAULT_CHECKS, load_checks
from indexer.safety.decide import Decision, Mode, decide
from indexer.safety.policy import Policy, load_policy
from indexer.safety.signals import Signal, Subject


@dataclass
class Assessment:
    signals: list[Signal]
    decision: Decision


class Assessor:
    def __init__(self, policy: Policy, encoder=None, checks: tuple[str, ...] | list[str] = DEFAULT_CHECKS):
        self.policy = policy
        self.checks = load_checks(checks, policy, encoder)
        model = getattr(encoder, "model_id", "none")
        # What a stored verdict depends on: the policy (name + content), the checks and the model.
        self.version = f"{policy.stamp}/{'+'.join(c.name for c in self.checks)}/{model}"

    def signals(self, subject: Subject) -> list[Signal]:
        return [signal for check in self.checks for signal in check.signals(subject)]

    def assess(self, subject: Subject, mode: Mode = "joint") -> Assessment:
        signals = self.signals(subject)
        return Assessment(signals, decide(self.policy, signals, mode))

    def decide_again(self, signals: list[Signal], mode: Mode = "joint") -> Decision:
        """The decision over signals already gathered (rescaled evidence, another mode)."""
        return decide(self.policy, signals, mode)


__all__ = ["Assessment", "Assessor", "Decision", "Policy", "Signal", "Subject", "decide", "load_policy"]
