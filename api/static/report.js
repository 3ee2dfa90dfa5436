// The Report page: every figure of GET /api/report, and the plot (SVG) from /api/report/plot.svg.
"use strict";

const $ = (id) => document.getElementById(id);
const fixed = (value, digits = 2) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));
const percent = (value) => (value === null || value === undefined ? "–" : `${Math.round(value * 100)} %`);

function row(cells) {
  const tr = document.createElement("tr");
  for (const text of cells) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
  return tr;
}

function fact(label, value, note = "") {
  const box = Object.assign(document.createElement("div"), { className: "fact" });
  box.append(label, Object.assign(document.createElement("b"), { textContent: value }));
  if (note) box.append(Object.assign(document.createElement("span"), { className: "muted", textContent: note }));
  return box;
}

async function load() {
  let report;
  try {
    report = await api("/api/report");
  } catch (error) {
    $("r-status").textContent = describe(error);
    return;
  }
  $("r-status").hidden = true;
  $("r-body").hidden = false;
  $("arms").tBodies[0].replaceChildren(...Object.entries(report.arms).map(([arm, s]) => {
    const tr = row([s.label, fixed(s.mean_rating), s.ci95[0] === null ? "–" : `${fixed(s.ci95[0])} – ${fixed(s.ci95[1])}`,
      percent(s.approval_rate), String(s.ratings), String(s.variants), String(s.destinations),
      fixed(s.reviewer_minutes_per_destination, 1), fixed(s.machine_minutes_per_destination, 1)]);
    tr.dataset.arm = arm;
    return tr;
  }));
  const facts = [];
  if (report.comparison) {
    const c = report.comparison;
    facts.push(fact("AI-assisted minus manual", fixed(c.ai_assisted_minus_manual),
      `95 % CI ${fixed(c.ci95[0])} to ${fixed(c.ci95[1])}; ${c.method}`));
  }
  const agreement = report.agreement;
  facts.push(fact("Agreement (Krippendorff's α, ordinal)", fixed(agreement.alpha, 3),
    `${agreement.note}; ${agreement.units} variants with 2+ ratings`));
  facts.push(fact("AI variants on reused photos", percent(report.share.ai_reused),
    `generated images: ${percent(report.share.ai_generated)}`));
  facts.push(fact("AI-assisted time per destination", `${fixed(report.time.ai_assisted_minutes_per_destination, 1)} min`,
    "machine time + reviewer time"));
  facts.push(fact("Manual time per destination", `${fixed(report.time.manual_minutes_per_destination, 0)} min`,
    `hours entered for ${report.time.destinations_with_manual_hours} destinations`));
  $("facts").replaceChildren(...facts);
  $("reviewers").tBodies[0].replaceChildren(...Object.values(report.reviewers || {}).map((r) =>
    row([r.reviewer, String(r.ratings), fixed(r.mean_rating), percent(r.approval_rate)])));
  $("methods").textContent = Object.values(report.methods || {}).join(". ");
  const plot = withToken("/api/report/plot.svg");
  $("plot").src = plot;
}

load().catch((error) => { $("r-status").textContent = error.message; });
