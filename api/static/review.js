// The Review page: a reviewer's blind queue, keyboard first. 1-5 rate, A approve, R reject,
// Enter submits (and, once the arm is revealed, moves on), arrows move, C opens the comment.
// Items, images and renders are addressed by item id; text is set with textContent, never HTML.
"use strict";

const ARMS = { ai_reused: "AI-assisted, reused photo", ai_generated: "AI-assisted, generated image", manual: "Manual work" };
const $ = (id) => document.getElementById(id);

const state = { reviewer: "", items: [], index: 0, rating: null, approved: null, dirty: false, shownAt: 0,
                rated: 0, total: 0 };

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function progress() {
  $("progress").textContent = state.reviewer ? `${state.reviewer}: ${state.rated} of ${state.total} rated` : "";
}

async function start(name) {
  state.reviewer = name.trim();
  if (!state.reviewer) return;
  localStorage.setItem("scout-reviewer", state.reviewer);
  $("reviewer").value = state.reviewer;
  try {
    const queue = await api(`/api/reviews/queue?reviewer=${encodeURIComponent(state.reviewer)}`);
    Object.assign(state, { items: queue.items, index: 0, rated: queue.rated, total: queue.total });
    $("placeholder").hidden = true;
    progress();
    show();
  } catch (error) {
    $("placeholder").hidden = false;
    $("placeholder").textContent = describe(error);
  }
}

function show() {
  const item = state.items[state.index];
  $("item").hidden = !item;
  $("done").hidden = Boolean(item);
  if (!item) {
    $("done").textContent = state.total === 0 ? "Nothing to review yet: import a brief run (scout review import)."
      : `Done: you have rated ${state.rated} of ${state.total}. The Report page has the numbers.`;
    return;
  }
  $("i-title").textContent = `Destination ${item.destination}`;
  $("i-position").textContent = `${state.index + 1} of ${state.items.length} in this session · item ${item.id}`;
  $("i-image").hidden = !item.image_url;
  if (item.image_url) $("i-image").src = withToken(item.image_url);
  $("i-headline").textContent = item.headline;
  $("i-body").textContent = item.body;
  $("i-cta").textContent = item.cta;
  const renders = $("i-renders");
  renders.replaceChildren(...item.renders.map((render) => {
    const figure = document.createElement("figure");
    const img = Object.assign(document.createElement("img"), { src: withToken(render.url), alt: `Rendered ${render.format}` });
    const caption = Object.assign(document.createElement("figcaption"), { textContent: render.format });
    figure.append(img, caption);
    return figure;
  }));
  const mine = item.rating || {};
  state.rating = mine.rating ?? null;
  state.approved = item.rating ? mine.approved : null;
  state.dirty = false;
  $("comment").value = mine.comment || "";
  paintChoice();
  reveal(item);
  setStatus("");
  state.shownAt = performance.now();
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
}

function paintChoice() {
  for (const button of $("stars").children) {
    button.setAttribute("aria-checked", String(Number(button.dataset.value) === state.rating));
  }
  $("approve").setAttribute("aria-pressed", String(state.approved === true));
  $("reject").setAttribute("aria-pressed", String(state.approved === false));
}

function reveal(item) {
  $("reveal").hidden = !item.revealed;
  if (!item.revealed) return;
  $("r-arm").textContent = `This was: ${ARMS[item.arm] || item.arm}.`;
  const provenance = item.provenance || {};
  const copy = provenance.copy || {};
  const image = provenance.image || {};
  const parts = [];
  if (copy.writer) parts.push(`copy by ${copy.writer}${copy.model ? " (" + copy.model + ")" : ""}`);
  if (image.source) parts.push(`${image.source} image${image.asset_id ? " (asset " + image.asset_id + ")" : ""}`);
  if ((copy.flags || []).length) parts.push(`flags: ${copy.flags.join("; ")}`);
  $("r-detail").textContent = parts.join(" · ");
}

function choose(rating, approved) {
  if (rating !== undefined) state.rating = rating;
  if (approved !== undefined) state.approved = approved;
  state.dirty = true;
  paintChoice();
}

async function submit() {
  const item = state.items[state.index];
  if (!item) return;
  if (item.revealed && !state.dirty) return move(1);
  if (state.rating === null) return setStatus("Choose a rating first: keys 1 to 5.", true);
  if (state.approved === null) return setStatus("Approve (A) or reject (R) it.", true);
  const body = { reviewer: state.reviewer, rating: state.rating, approved: state.approved,
                 comment: $("comment").value, seconds: Math.round((performance.now() - state.shownAt) / 100) / 10 };
  try {
    const saved = await api(`/api/reviews/items/${item.id}/rating`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!item.revealed) state.rated += 1;
    state.items[state.index] = saved;
    state.dirty = false;
    progress();
    reveal(saved);
    setStatus("Saved.");
    if (document.activeElement) document.activeElement.blur();
  } catch (error) {
    setStatus(describe(error), true);
  }
}

function move(step) {
  const next = state.index + step;
  if (next < 0 || next > state.items.length) return;
  state.index = next;
  show();
}

function keys(event) {
  if (event.target.closest && event.target.closest("textarea, input")) {
    if (event.key === "Escape") event.target.blur();
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "comment") {
      event.preventDefault();
      submit();
    }
    return;
  }
  if ($("item").hidden && event.key !== "ArrowLeft") return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if ("12345".includes(key) && key.length === 1) choose(Number(key));
  else if (key === "a") choose(undefined, true);
  else if (key === "r") choose(undefined, false);
  else if (key === "c") { event.preventDefault(); $("comment").focus(); }
  else if (key === "enter") { event.preventDefault(); submit(); }
  else if (key === "arrowright") move(1);
  else if (key === "arrowleft") move(-1);
  else return;
  event.preventDefault();
}

for (let value = 1; value <= 5; value++) {
  const button = Object.assign(document.createElement("button"), { type: "button", textContent: String(value) });
  button.dataset.value = value;
  button.setAttribute("role", "radio");
  button.addEventListener("click", () => choose(value));
  $("stars").append(button);
}
$("approve").addEventListener("click", () => choose(undefined, true));
$("reject").addEventListener("click", () => choose(undefined, false));
$("comment").addEventListener("input", () => { state.dirty = true; });
$("rate").addEventListener("submit", (event) => { event.preventDefault(); submit(); });
$("who").addEventListener("submit", (event) => { event.preventDefault(); start($("reviewer").value); });
$("manual-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  if (!form.get("hours")) form.delete("hours");
  const status = $("manual-status");
  try {
    const made = await api("/api/reviews/manual", { method: "POST", body: form });
    status.textContent = made.added ? `Added as item ${made.item_id}; it joins every reviewer's queue.`
      : `This work was entered before (item ${made.item_id}).`;
    status.classList.remove("error");
    event.target.reset();
    if (state.reviewer) start(state.reviewer);
  } catch (error) {
    status.textContent = describe(error);
    status.classList.add("error");
  }
});
document.addEventListener("keydown", keys);
start(pageParams.get("reviewer") || localStorage.getItem("scout-reviewer") || "");
