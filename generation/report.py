"""The review statistics: does AI-assisted work rate close enough to manual work, for less time?

Pure functions over rating records (:class:`Rating`), so the catalog, the CLI, the HTTP page and
the tests all get the same numbers from the same code. What is computed, and why that way:

- **Mean rating per arm with a 95 % confidence interval** (arms: ``ai_reused``, ``ai_generated``,
  ``manual``, plus ``ai_assisted`` = both AI arms). The unit of the interval is the
  *destination* (brief), not the single rating: the ratings of one destination share its photo,
  its copy and its reviewers, so they are correlated, and treating 270 ratings as 270
  independent draws would make the interval far too narrow. Each destination contributes the
  mean of its ratings in that arm; the arm's mean is the mean of those destination means and its
  interval the Student t-interval over them (n - 1 degrees of freedom). With balanced data (as
  many ratings per destination) this mean equals the plain mean of all ratings.
- **AI-assisted minus manual**: a paired t-interval over the destinations that have both arms
  (each destination is its own control: same brief, same reviewers); when fewer than two
  destinations are paired, Welch's unpaired interval over destination means. The report says
  which method was used.
- **Inter-rater agreement**: Krippendorff's alpha with the ordinal difference function, computed
  from its definition via the coincidence matrix (Krippendorff, "Computing Krippendorff's
  Alpha-Reliability", 2011); units are variants, values are 1-5 ratings, missing ratings are
  allowed. It is undefined (``None``) when no variant has two ratings, or all ratings are equal.
- **Approval rate** per arm: approved ratings over ratings.
- **Share reused vs generated**: among AI variants (each counted once).
- **Per reviewer**: ratings given, mean rating and approval rate (leniency at a glance).
- **Time per destination**: machine seconds (each AI variant counted once; summed per
  destination), reviewer seconds per arm (summed per destination), and the hours entered for
  manual production; each averaged over the destinations that have them.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

from indexer.errors import ConfigError
from search.export import spreadsheet_safe

ARMS = ("ai_reused", "ai_generated", "manual")
AI_ARMS = ("ai_reused", "ai_generated")
AI_ASSISTED = "ai_assisted"
ARM_LABELS = {"ai_reused": "AI, reused photo", "ai_generated": "AI, generated image",
              AI_ASSISTED: "AI-assisted (all)", "manual": "Manual"}
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Rating:
    """One reviewer's verdict on one variant.

    ``machine_seconds`` is the machine time spent producing the variant (retrieval, generation,
    copy, renders); it repeats on each of the variant's ratings and is counted once.
    """

    variant_id: str
    destination: str
    arm: str
    reviewer: str
    rating: int
    approved: bool
    reviewer_seconds: float = 0.0
    machine_seconds: float = 0.0

    def __post_init__(self):
        if self.arm not in ARMS:
            raise ConfigError(f"Rating of variant {self.variant_id!r} has arm {self.arm!r}.",
                              hint=f"An arm is one of {', '.join(ARMS)}.")
        if isinstance(self.rating, bool) or not isinstance(self.rating, int) or not 1 <= self.rating <= 5:
            raise ConfigError(f"Rating of variant {self.variant_id!r} by {self.reviewer!r} is {self.rating!r}.",
                              hint="Ratings are whole numbers from 1 to 5.")
        if self.reviewer_seconds < 0 or self.machine_seconds < 0:
            raise ConfigError(f"Rating of variant {self.variant_id!r} has a negative time.",
                              hint="Times are seconds spent, 0 or more.")


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided confidence interval (``None`` bounds: fewer than two units)."""

    mean: float
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    rating: Interval  # over destination means
    ratings: int
    variants: int
    destinations: int
    approval_rate: float
    reviewer_minutes_per_destination: float
    machine_minutes_per_destination: float | None  # None for manual work


@dataclass(frozen=True)
class Agreement:
    alpha: float | None
    metric: str
    units: int  # variants with two or more ratings
    values: int  # ratings in those variants
    note: str


@dataclass(frozen=True)
class Comparison:
    """AI-assisted minus manual mean rating."""

    difference: Interval
    method: str


@dataclass(frozen=True)
class TimeSummary:
    ai_assisted_minutes_per_destination: float | None  # machine + review of the AI arms
    manual_minutes_per_destination: float | None  # from the hours entered by hand
    destinations_with_manual_hours: int


@dataclass(frozen=True)
class ReviewerSummary:
    """How one reviewer rates overall: a lenient or strict reviewer shows here first."""

    reviewer: str
    ratings: int
    mean_rating: float
    approval_rate: float


@dataclass(frozen=True)
class Report:
    arms: dict[str, ArmSummary]  # the arms present, plus "ai_assisted" when any AI arm is
    comparison: Comparison | None
    agreement: Agreement
    share_reused: float | None
    share_generated: float | None
    time: TimeSummary
    reviewers: dict[str, ReviewerSummary]

    def to_dict(self) -> dict:
        """JSON-ready: ``scout report --json`` and the Report page use this."""
        return {
            "arms": {arm: _arm_dict(summary) for arm, summary in self.arms.items()},
            "comparison": None if self.comparison is None else {
                "ai_assisted_minus_manual": self.comparison.difference.mean,
                "ci95": [self.comparison.difference.low, self.comparison.difference.high],
                "destinations": self.comparison.difference.n,
                "method": self.comparison.method,
            },
            "agreement": asdict(self.agreement),
            "share": {"ai_reused": self.share_reused, "ai_generated": self.share_generated},
            "time": asdict(self.time),
            "reviewers": {name: asdict(r) for name, r in self.reviewers.items()},
            "methods": {
                "ci": "Student t-interval (95 %) over per-destination mean ratings: ratings of one "
                      "destination are clustered, so the destination is the unit",
                "agreement": "Krippendorff's alpha, ordinal metric, from the coincidence matrix",
            },
        }

    def csv_rows(self) -> list[dict]:
        """One row per figure: section, arm, metric, value, ci_low, ci_high, n."""
        rows = []
        for arm, s in self.arms.items():
            rows.append(_row("rating", arm, "mean_rating", s.rating.mean, s.rating.low, s.rating.high,
                             s.rating.n))
            rows.append(_row("rating", arm, "approval_rate", s.approval_rate, n=s.ratings))
            rows.append(_row("time", arm, "reviewer_minutes_per_destination", s.reviewer_minutes_per_destination,
                             n=s.destinations))
            if s.machine_minutes_per_destination is not None:
                rows.append(_row("time", arm, "machine_minutes_per_destination", s.machine_minutes_per_destination,
                                 n=s.destinations))
        if self.comparison:
            d = self.comparison.difference
            rows.append(_row("comparison", "ai_assisted-manual", "mean_rating_difference", d.mean, d.low, d.high, d.n))
        rows.append(_row("agreement", "", "krippendorff_alpha_ordinal", self.agreement.alpha, n=self.agreement.units))
        rows.append(_row("share", "ai_reused", "share_of_ai_variants", self.share_reused))
        rows.append(_row("share", "ai_generated", "share_of_ai_variants", self.share_generated))
        rows.append(_row("time", AI_ASSISTED, "production_minutes_per_destination",
                         self.time.ai_assisted_minutes_per_destination))
        rows.append(_row("time", "manual", "production_minutes_per_destination",
                         self.time.manual_minutes_per_destination, n=self.time.destinations_with_manual_hours))
        for name, r in self.reviewers.items():
            rows.append(_row("reviewer", name, "mean_rating", r.mean_rating, n=r.ratings))
            rows.append(_row("reviewer", name, "approval_rate", r.approval_rate, n=r.ratings))
        return rows


CSV_FIELDS = ("section", "arm", "metric", "value", "ci_low", "ci_high", "n")


def _row(section, arm, metric, value, low=None, high=None, n=None) -> dict:
    return dict(zip(CSV_FIELDS, (section, arm, metric, value, low, high, n)))


def _arm_dict(s: ArmSummary) -> dict:
    return {"label": ARM_LABELS[s.arm], "mean_rating": s.rating.mean, "ci95": [s.rating.low, s.rating.high],
            "destinations": s.destinations, "variants": s.variants, "ratings": s.ratings,
            "approval_rate": s.approval_rate,
            "reviewer_minutes_per_destination": s.reviewer_minutes_per_destination,
            "machine_minutes_per_destination": s.machine_minutes_per_destination}


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in report.csv_rows())
    return out.getvalue()


# --- statistics -----------------------------------------------------------------------------

def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean and Student t-interval of independent values (bounds ``None`` below two values)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        raise ConfigError("No values to average.", hint="Rate some variants first.")
    mean = float(values.mean())
    if len(values) < 2:
        return Interval(mean, None, None, len(values))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return Interval(mean, mean - half, mean + half, len(values))


def welch_interval(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean of ``a`` minus mean of ``b`` with Welch's t-interval (unequal variances)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    difference = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Interval(difference, None, None, len(a) + len(b))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(difference, difference, difference, len(a) + len(b))
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * se)
    return Interval(difference, difference - half, difference + half, len(a) + len(b))


def krippendorff_alpha(units: Iterable[Sequence[float | None]], metric: str = "ordinal") -> float | None:
    """Krippendorff's alpha over units (each a sequence of the values its coders gave; ``None``
    for a missing value), for the ``nominal``, ``ordinal`` or ``interval`` metric.

    From the definition: the coincidence matrix o_ck sums, over units with m_u >= 2 values, the
    number of ordered c-k value pairs divided by m_u - 1; n_c are its marginals and n their sum;
    alpha = 1 - (n - 1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck). The ordinal difference is
    d_ck = (sum of n_g for g from c to k - (n_c + n_k) / 2) ** 2. ``None`` when undefined: no
    pairable values, or no variation among them.
    """
    coders = [[v for v in unit if v is not None] for unit in units]
    pairable = [values for values in coders if len(values) >= 2]
    categories = sorted({v for values in pairable for v in values})
    if len(categories) < 2:
        return None
    index = {value: i for i, value in enumerate(categories)}
    o = np.zeros((len(categories), len(categories)))
    for values in pairable:
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                o[index[c], index[k]] += (n_c * (n_c - 1) if c == k else n_c * n_k) / (len(values) - 1)
    n_c = o.sum(axis=1)
    delta = _difference(np.array(categories, dtype=np.float64), n_c, metric)
    expected = (np.outer(n_c, n_c) * delta).sum()
    return float(1 - (n_c.sum() - 1) * (o * delta).sum() / expected)


def _difference(values: np.ndarray, n_c: np.ndarray, metric: str) -> np.ndarray:
    if metric == "nominal":
        return 1.0 - np.eye(len(values))
    if metric == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if metric == "ordinal":
        cumulative = np.concatenate([[0.0], np.cumsum(n_c)])
        i, k = np.meshgrid(np.arange(len(values)), np.arange(len(values)), indexing="ij")
        low, high = np.minimum(i, k), np.maximum(i, k)
        between = cumulative[high + 1] - cumulative[low]
        return (between - (n_c[i] + n_c[k]) / 2) ** 2
    raise ConfigError(f"Unknown Krippendorff metric {metric!r}.", hint="Use nominal, ordinal or interval.")


# --- the report -----------------------------------------------------------------------------

def build_report(ratings: Iterable[Rating], manual_hours: Mapping[str, float] | None = None) -> Report:
    """Every figure of the review report from rating records and the manual hours entered per
    destination (``{destination: hours}``)."""
    ratings = list(ratings)
    if not ratings:
        raise ConfigError("There are no ratings to report on.", hint="Rate some variants first (scout review).")
    variants = _variants(ratings)
    manual_hours = dict(manual_hours or {})
    for destination, hours in manual_hours.items():
        if not isinstance(hours, (int, float)) or isinstance(hours, bool) or hours < 0 or math.isnan(hours):
            raise ConfigError(f"Manual hours for {destination!r} are {hours!r}.", hint="Enter hours as 0 or more.")

    groups = {arm: [r for r in ratings if r.arm == arm] for arm in ARMS}
    ai = groups["ai_reused"] + groups["ai_generated"]
    arms = {arm: _summarise(arm, group, variants) for arm, group in groups.items() if group}
    if ai:
        arms = {AI_ASSISTED: _summarise(AI_ASSISTED, ai, variants), **arms}

    ai_variants = [v for v, (arm, _, _) in variants.items() if arm in AI_ARMS]
    reused = sum(1 for v in ai_variants if variants[v][0] == "ai_reused")
    by_unit = defaultdict(list)
    for r in ratings:
        by_unit[r.variant_id].append(r.rating)
    alpha = krippendorff_alpha(by_unit.values(), "ordinal")
    pairable = [values for values in by_unit.values() if len(values) >= 2]
    note = ("ordinal Krippendorff's alpha over variants" if alpha is not None else
            "undefined: no variant has two ratings" if not pairable else
            "undefined: every rating is the same value, so there is no disagreement to compare")

    ai_time = None
    if ai:
        per_destination = defaultdict(float)
        for r in ai:
            per_destination[r.destination] += r.reviewer_seconds
        for v in ai_variants:
            per_destination[variants[v][1]] += variants[v][2]
        ai_time = float(np.mean(list(per_destination.values()))) / 60
    return Report(
        arms=arms,
        comparison=_compare(ai, groups["manual"]),
        agreement=Agreement(alpha, "ordinal", len(pairable), sum(len(v) for v in pairable), note),
        share_reused=reused / len(ai_variants) if ai_variants else None,
        share_generated=(len(ai_variants) - reused) / len(ai_variants) if ai_variants else None,
        time=TimeSummary(ai_time,
                         float(np.mean(list(manual_hours.values()))) * 60 if manual_hours else None,
                         len(manual_hours)),
        reviewers=_reviewers(ratings),
    )


def _reviewers(ratings: list[Rating]) -> dict[str, ReviewerSummary]:
    by_reviewer = defaultdict(list)
    for r in ratings:
        by_reviewer[r.reviewer].append(r)
    return {name: ReviewerSummary(name, len(own), float(np.mean([r.rating for r in own])),
                                  sum(r.approved for r in own) / len(own))
            for name, own in sorted(by_reviewer.items())}


def _variants(ratings: list[Rating]) -> dict[str, tuple[str, str, float]]:
    """variant id -> (arm, destination, machine seconds); a variant must agree with itself."""
    variants: dict[str, tuple[str, str, float]] = {}
    seen = set()
    for r in ratings:
        facts = (r.arm, r.destination, r.machine_seconds)
        if variants.setdefault(r.variant_id, facts) != facts:
            raise ConfigError(f"Variant {r.variant_id!r} appears with different arm, destination or machine time "
                              f"({variants[r.variant_id]} and {facts}).",
                              hint="Each variant belongs to one destination and one arm.")
        if (r.variant_id, r.reviewer) in seen:
            raise ConfigError(f"Reviewer {r.reviewer!r} rated variant {r.variant_id!r} twice.",
                              hint="Keep each reviewer's latest rating only.")
        seen.add((r.variant_id, r.reviewer))
    return variants


def _destination_means(ratings: list[Rating]) -> dict[str, float]:
    by_destination = defaultdict(list)
    for r in ratings:
        by_destination[r.destination].append(r.rating)
    return {d: float(np.mean(values)) for d, values in by_destination.items()}


def _summarise(arm: str, ratings: list[Rating], variants: dict[str, tuple[str, str, float]]) -> ArmSummary:
    means = _destination_means(ratings)
    review = defaultdict(float)
    for r in ratings:
        review[r.destination] += r.reviewer_seconds
    own = {r.variant_id for r in ratings}
    machine = None
    if arm != "manual":
        per_destination = defaultdict(float)
        for v in own:
            per_destination[variants[v][1]] += variants[v][2]
        machine = float(np.mean([per_destination[d] for d in means])) / 60
    return ArmSummary(
        arm=arm,
        rating=mean_interval(list(means.values())),
        ratings=len(ratings),
        variants=len(own),
        destinations=len(means),
        approval_rate=sum(r.approved for r in ratings) / len(ratings),
        reviewer_minutes_per_destination=float(np.mean(list(review.values()))) / 60,
        machine_minutes_per_destination=machine,
    )


def _compare(ai: list[Rating], manual: list[Rating]) -> Comparison | None:
    if not ai or not manual:
        return None
    ai_means, manual_means = _destination_means(ai), _destination_means(manual)
    paired = sorted(set(ai_means) & set(manual_means))
    if len(paired) >= 2:
        differences = [ai_means[d] - manual_means[d] for d in paired]
        return Comparison(mean_interval(differences), "paired t-interval over destinations with both arms")
    return Comparison(welch_interval(list(ai_means.values()), list(manual_means.values())),
                      "Welch t-interval over destination means (too few destinations have both arms to pair)")


# --- the plot -------------------------------------------------------------------------------

def plot(report: Report):
    """Mean rating per arm with its 95 % interval and, when times are known, production minutes
    per destination, as a matplotlib Figure (no pyplot, no global backend: the caller may be a
    server thread)."""
    from matplotlib.figure import Figure

    timed = report.time.ai_assisted_minutes_per_destination is not None or \
        report.time.manual_minutes_per_destination is not None
    figure = Figure(figsize=(10.4 if timed else 6.4, 4.0), dpi=100, layout="constrained")
    if timed:
        ratings_axes, time_axes = figure.subplots(1, 2, width_ratios=(1.6, 1))
        _plot_time(report, time_axes)
    else:
        ratings_axes = figure.subplots()
    _plot_ratings(report, ratings_axes)
    return figure


def _plot_ratings(report: Report, axes) -> None:
    arms = [arm for arm in ("ai_reused", "ai_generated", AI_ASSISTED, "manual") if arm in report.arms]
    for x, arm in enumerate(arms):
        interval = report.arms[arm].rating
        colour = "#6b6b6b" if arm == "manual" else ("#1f5fa8" if arm == AI_ASSISTED else "#6fa3d8")
        if interval.low is not None:
            axes.errorbar(x, interval.mean, yerr=[[interval.mean - interval.low], [interval.high - interval.mean]],
                          fmt="o", color=colour, capsize=6, markersize=8, linewidth=2)
        else:
            axes.plot(x, interval.mean, "o", color=colour, markersize=8)
        axes.annotate(f"{interval.mean:.2f}", (x, interval.mean), textcoords="offset points", xytext=(12, -4))
    axes.set_xticks(range(len(arms)), [f"{ARM_LABELS[a]}\nn={report.arms[a].destinations}" for a in arms],
                    fontsize=9)
    axes.set_xlim(-0.5, len(arms) - 0.5)
    axes.set_ylim(1, 5)
    axes.set_ylabel("Mean rating (1-5)")
    axes.set_title("Mean rating per arm, 95 % CI over destinations")
    axes.grid(axis="y", alpha=0.3)


def _plot_time(report: Report, axes) -> None:
    """Minutes per destination: machine + review for AI-assisted work, hours entered for manual."""
    ai = report.arms.get(AI_ASSISTED)
    rows = []
    if ai is not None:
        rows.append(("AI-assisted", [(ai.machine_minutes_per_destination or 0.0, "machine", "#6fa3d8"),
                                     (ai.reviewer_minutes_per_destination, "review", "#1f5fa8")]))
    if report.time.manual_minutes_per_destination is not None:
        rows.append(("Manual", [(report.time.manual_minutes_per_destination, "production (entered)", "#6b6b6b")]))
    labelled = set()
    for y, (_, parts) in enumerate(rows):
        left = 0.0
        for minutes, part, colour in parts:
            axes.barh(y, minutes, left=left, color=colour, label=None if part in labelled else part)
            labelled.add(part)
            left += minutes
        axes.annotate(f"{left:.0f} min", (left, y), textcoords="offset points", xytext=(4, -4))
    axes.set_yticks(range(len(rows)), [name for name, _ in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, max(sum(m for m, _, _ in parts) for _, parts in rows) * 1.3 or 1)
    axes.set_xlabel("Minutes per destination")
    axes.set_title("Production time per destination")
    axes.legend(loc="upper right", fontsize=8, frameon=False)


def save_plot(report: Report, folder: str | Path, stem: str = "report") -> tuple[Path, Path]:
    """The plot as ``stem.png`` and ``stem.svg`` in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figure = plot(report)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    figure.savefig(png, format="png", dpi=150)
    figure.savefig(svg, format="svg", metadata={"Date": None})
    return png, svg
