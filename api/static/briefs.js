// The Briefs page: submit briefs as a background job, follow it, show each brief's candidates.
// Everything is addressed by job id, brief id and asset id; text from the server is set with
// textContent, never as HTML.
"use strict";

const SHOWN = 8; // candidates per brief on screen (the manifest keeps all)

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}
const label = (outcome) => outcome.replace("_", " ");

let current = null;
let timer = null;

function setStatus(text, error = false) {
  const status = document.getElementById("form-status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

async function loadJobs() {
  const list = document.getElementById("jobs");
  const jobs = await api("/api/brief-jobs").catch(() => []);
  list.replaceChildren(...jobs.map((job) => {
    const button = el("button", { type: "button", className: job.id === current ? "on" : "" },
      el("span", { textContent: job.id }), el("span", { className: "muted", textContent: `${job.status} ${job.done}/${job.total}` }));
    button.dataset.job = job.id;
    button.addEventListener("click", () => show(job.id));
    return el("li", {}, button);
  }));
}

async function submit(event) {
  event.preventDefault();
  let briefs;
  try {
    briefs = JSON.parse(document.getElementById("brief-json").value);
  } catch (error) {
    setStatus(`Not valid JSON: ${error.message}`, true);
    return;
  }
  try {
    const job = await api("/api/brief-jobs", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ briefs }),
    });
    const skipped = job.invalid.map((e) => `${e.brief}, ${e.field}: ${e.message}`).join("\n");
    setStatus(`Started ${job.id} with ${job.total} briefs.` + (skipped ? `\nNot run:\n${skipped}` : ""), Boolean(skipped));
    show(job.id);
  } catch (error) {
    setStatus(describe(error), true);
  }
}

async function show(jobId) {
  current = jobId;
  clearTimeout(timer);
  let job;
  try {
    job = await api(`/api/brief-jobs/${encodeURIComponent(jobId)}`);
  } catch (error) {
    setStatus(describe(error), true);
    return;
  }
  loadJobs();
  const results = document.getElementById("results");
  const heading = el("p", { className: "muted", id: "job-status",
    textContent: `Run ${job.id}: ${job.status}, ${job.done} of ${job.total} briefs` + (job.status === "running" && job.brief ? ` (now ${job.brief}: ${job.stage})` : "") });
  const briefs = (job.summary && job.summary.briefs) || [];
  const cards = await Promise.all(briefs.map((b) => briefCard(job.id, b)));
  if (current !== jobId) return;
  results.replaceChildren(heading, ...cards);
  if (job.error) results.append(el("p", { className: "status error", textContent: job.error }));
  if (job.status === "queued" || job.status === "running") timer = setTimeout(() => show(jobId), 700);
}

async function briefCard(jobId, summary) {
  const card = el("section", { className: "brief" });
  card.dataset.brief = summary.id;
  const score = summary.best_score === null ? "–" : summary.best_score.toFixed(2);
  card.append(el("header", {},
    el("h3", { textContent: summary.id }),
    el("span", { className: `badge ${summary.outcome}`, textContent: label(summary.outcome) }),
    el("span", { className: "muted", textContent: `best ${score} · reused ${summary.reused} · generated ${summary.generated}` })));
  if (summary.error) card.append(el("p", { className: "status error", textContent: summary.error }));
  if (summary.outcome === "failed") return card;
  const manifest = await api(`/api/brief-jobs/${encodeURIComponent(jobId)}/briefs/${encodeURIComponent(summary.id)}`).catch(() => null);
  if (!manifest) return card;
  if (manifest.outcome === "needs_generation" && manifest.decision.prompt) {
    card.append(el("div", { className: "prompt" },
      el("strong", { textContent: `Needs generation (${manifest.decision.shortfall} more). Prompt: ` }),
      el("code", { className: "prompt-text", textContent: manifest.decision.prompt }),
      el("br"), el("strong", { textContent: "Negative prompt: " }),
      el("code", { textContent: manifest.decision.negative_prompt })));
  }
  const grid = el("div", { className: "candidates" });
  const shown = manifest.candidates.filter((c) => c.selected || c.best).concat(
    manifest.candidates.filter((c) => !c.selected && !c.best)).slice(0, SHOWN);
  for (const c of shown) grid.append(candidateTile(manifest, c));
  card.append(grid);
  return card;
}

function candidateTile(manifest, c) {
  const classes = ["candidate", c.selected ? "selected" : "", c.best ? "best" : ""].filter(Boolean).join(" ");
  const tile = el("button", { type: "button", className: classes, title: "Show the breakdown" });
  tile.dataset.asset = c.asset_id ?? "";
  const name = c.original.split("/").pop();
  tile.append(
    c.asset_id !== null
      ? el("img", { src: withToken(`/api/assets/${c.asset_id}/thumbnail`), alt: name, loading: "lazy" })
      : el("div", { className: "muted", textContent: name }),
    el("span", { className: `badge source ${c.source === "generated" ? "generated" : "reused"}`,
      textContent: c.source === "generated" ? "generated" : "library" }),
    el("div", { className: "meta" },
      el("span", { className: "score", textContent: c.score === null ? "not scored" : c.score.toFixed(2) }),
      el("span", { className: "muted", textContent: c.selected ? "selected" : `#${c.rank}` })));
  if (c.best) tile.append(el("span", { className: "badge star", textContent: "best" }));
  tile.addEventListener("click", () => breakdown(manifest, c, name));
  return tile;
}

function breakdown(manifest, c, name) {
  const dialog = document.getElementById("breakdown");
  document.getElementById("bd-title").textContent = `${name} · ${c.score === null ? "not scored" : c.score.toFixed(2)}`;
  document.getElementById("bd-summary").textContent = c.error
    ? c.error : `Scale: ${manifest.aligner.scale}. Reuse threshold ${manifest.decision.threshold.value}.`;
  document.querySelector("#bd-table tbody").replaceChildren(...c.aspects.map((a) => el("tr", {},
    el("td", { textContent: `${a.aspect}: ${a.text}` }),
    el("td", { className: "num", textContent: a.score.toFixed(2) }),
    el("td", { textContent: a.reason }))));
  dialog.showModal();
}

document.getElementById("brief-form").addEventListener("submit", submit);
loadJobs().then(() => {
  const first = document.querySelector("#jobs button");
  if (first) show(first.dataset.job);
});
