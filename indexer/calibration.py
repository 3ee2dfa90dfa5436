"""The one estimator behind every calibrated score in Scout (search relevance, tag confidence).

A raw cosine of 0.25 is a strong match for one text and noise for another, so scores are read
as robust standard deviations above what that text scores over the library: median and 1.4826 x
MAD rather than mean and standard deviation, because a few strong matches would otherwise inflate
the spread and hide exactly the hits that matter.
"""

from __future__ import annotations

import numpy as np


def robust_scale(scores: np.ndarray) -> tuple[float, float]:
    """(centre, spread) of one text's scores over a library sample; spread never reaches 0."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.size == 0:
        return 0.0, 1.0
    median = float(np.median(scores))
    spread = 1.4826 * float(np.median(np.abs(scores - median)))
    return median, max(spread, float(scores.std()) * 0.1, 1e-6)
