"""The reuse threshold: the alignment score a library photo must reach to be reused for a brief.

Scores mean different things for different aligners and models, so a threshold is stored with the
aligner model id it was measured for and refused for any other (:class:`ModelMismatch`). The
built-in values and how each was chosen:

- ``clip:offline:...`` (the built-in offline model): measured by ``benchmarks/reuse_threshold.py`` over the labelled queries of
  ``benchmarks/queries.json`` on sample_assets, each query scored as a one-aspect brief by the real
  clip aligner: the midpoint of the widest gap between the scores of the photos a person accepts
  and the best-scoring wrong photos (see BENCHMARKS.md, "Reuse threshold").
- ``clip:open_clip:ViT-B-32@laion2b_s34b_b79k``: the search relevance cutoff (3σ), which the
  README documents for CLIP (matches 4-15σ, best non-matches under 3σ); not re-measured here.
- ``vlm:*`` (any vision-language model): 3.5 on the 1-5 rubric the model is given, i.e. the mean
  aspect rating must lean to "good fit" (4) rather than "partly" (3); defined by the rubric.

A user's own threshold (``--reuse-threshold``, or a JSON file ``{"model_id", "value", "how"}``)
overrides these.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from indexer.errors import ConfigError, ModelMismatch


@dataclass(frozen=True)
class ReuseThreshold:
    value: float
    model_id: str  # the aligner model id the value was chosen for ("clip:offline", "vlm:*")
    how: str  # how it was chosen, shown in manifests

    def applies_to(self, model_id: str) -> bool:
        return self.model_id == model_id or (self.model_id.endswith("*") and model_id.startswith(self.model_id[:-1]))

    def as_dict(self) -> dict:
        return asdict(self)


BUILTIN: tuple[ReuseThreshold, ...] = (
    ReuseThreshold(2.8, "clip:offline:efficientnet_lite0+all-MiniLM-L6-v2/conse-t20",
                   "benchmarks/reuse_threshold.py: best F0.5 cut between right and wrong photos' scores on "
                   "the 21 labelled queries over sample_assets (precision 0.91)"),
    ReuseThreshold(2.0, "clip:offline:tf_efficientnet_lite1+all-MiniLM-L6-v2/conse-t1000-gloss",
                   "benchmarks/reuse_threshold.py: no wrong photo of the 21 labelled queries scores above 1.58 "
                   "(precision 1.00, recall 0.45); the best-F0.5 cut 1.73 would reuse for the Santorini example"),
    ReuseThreshold(3.0, "clip:open_clip:ViT-B-32@laion2b_s34b_b79k",
                   "search's documented relevance cutoff for CLIP (matches 4-15σ, non-matches < 3σ)"),
    ReuseThreshold(3.5, "vlm:*", "rubric: mean aspect rating between 'partly' (3) and 'good fit' (4)"),
)


def reuse_threshold(model_id: str, override: ReuseThreshold | None = None) -> ReuseThreshold:
    """The threshold to use for scores of ``model_id``: the override if given (refused when it was
    chosen for another model), else the built-in one for that model."""
    if override is not None:
        if not override.applies_to(model_id):
            raise ModelMismatch(
                f"The reuse threshold {override.value} was chosen for {override.model_id!r}, but the "
                f"aligner scores with {model_id!r}; scores of different models are not comparable.",
                hint=f"Choose a threshold for {model_id} (--reuse-threshold VALUE applies to the current model).",
            )
        return override
    for threshold in BUILTIN:
        if threshold.applies_to(model_id):
            return threshold
    raise ConfigError(
        f"No reuse threshold is known for {model_id!r}.",
        hint="Pass --reuse-threshold VALUE (in the aligner's scale), or measure one with "
        "benchmarks/reuse_threshold.py.",
    )


def load_threshold_file(path: Path) -> ReuseThreshold:
    try:
        data = json.loads(Path(path).read_text())
        return ReuseThreshold(float(data["value"]), str(data["model_id"]), str(data.get("how", f"from {path}")))
    except FileNotFoundError:
        raise ConfigError(f"Threshold file {path} does not exist.") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"Threshold file {path} is not valid: {exc}.",
                          hint='Expected JSON like {"model_id": "clip:offline", "value": 3.0, "how": "..."}.') from None
