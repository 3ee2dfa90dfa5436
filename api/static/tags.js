// The Tags page: the review queue of one tag at a time, keyboard first. Arrows move, Space selects,
// A accepts and R rejects the selection (else the focused card), Shift+A accepts the whole page.
// Assets are addressed by id; text is set with textContent, never HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { tags: [], tag: null, cards: [], focus: 0, selected: new Set() };

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function loadTags() {
  try {
    state.tags = (await api("/api/tags")).filter((t) => t.scored);
  } catch (error) {
    setStatus(describe(error), true);
    return;
  }
  renderTags();
  const wanted = pageParams.get("tag") || (state.tags.find((t) => t.waiting) || state.tags[0] || {}).name;
  if (wanted) pick(wanted);
}

function renderTags() {
  const needle = $("filter").value.trim().toLowerCase();
  $("tags").replaceChildren(...state.tags.filter((t) => t.name.includes(needle)).map((t) => {
    const button = Object.assign(document.createElement("button"), { type: "button" });
    button.dataset.tag = t.name;
    button.setAttribute("aria-pressed", String(t.name === state.tag));
    const name = Object.assign(document.createElement("span"), { textContent: t.parent ? `${t.parent} › ${t.name}` : t.name });
    const count = Object.assign(document.createElement("span"), { className: "count", textContent: String(t.waiting) });
    count.title = `${t.waiting} waiting · ${t.accepted} accepted · ${t.rejected} rejected · threshold ${t.threshold.toFixed(2)} (${t.threshold_source})`;
    button.append(name, count);
    button.addEventListener("click", () => pick(t.name));
    const item = document.createElement("li");
    item.append(button);
    return item;
  }));
}

async function pick(name) {
  state.tag = name;
  state.selected.clear();
  state.focus = 0;
  renderTags();
  $("heading").textContent = `Suggested: ${name}`;
  try {
    state.cards = await api(`/api/tags/queue?tag=${encodeURIComponent(name)}&limit=60`);
  } catch (error) {
    setStatus(describe(error), true);
    state.cards = [];
  }
  renderCards();
  $("cards").focus();
}

function renderCards() {
  $("empty").hidden = state.cards.length > 0;
  $("cards").replaceChildren(...state.cards.map((s, index) => {
    const card = Object.assign(document.createElement("figure"), { className: "card" });
    card.setAttribute("role", "option");
    card.dataset.asset = String(s.asset_id);
    card.setAttribute("aria-selected", String(state.selected.has(s.asset_id)));
    card.classList.toggle("focused", index === state.focus);
    const img = Object.assign(document.createElement("img"), { src: withToken(s.thumbnail_url), alt: s.name, loading: "lazy" });
    const meta = Object.assign(document.createElement("figcaption"), { className: "meta" });
    meta.append(Object.assign(document.createElement("span"), { textContent: s.name }),
                Object.assign(document.createElement("span"), { className: "confidence", textContent: s.confidence.toFixed(1) }));
    card.append(img, meta);
    card.addEventListener("click", (event) => {
      state.focus = index;
      if (event.shiftKey || event.ctrlKey || event.metaKey) toggle(s.asset_id);
      renderCards();
    });
    return card;
  }));
}

function toggle(assetId) {
  if (state.selected.has(assetId)) state.selected.delete(assetId); else state.selected.add(assetId);
}

async function decide(decision, everything = false) {
  const focused = state.cards[state.focus];
  const ids = everything ? state.cards.map((c) => c.asset_id)
    : state.selected.size ? [...state.selected] : focused ? [focused.asset_id] : [];
  if (!ids.length) return;
  const reviewer = $("reviewer").value.trim() || null;
  try {
    const body = JSON.stringify({ reviewer, decisions: ids.map((asset_id) => ({ asset_id, tag: state.tag, decision })) });
    const result = await api("/api/tags/decisions", { method: "POST", body, headers: { "Content-Type": "application/json" } });
    setStatus(`${state.tag}: ${result.recorded} ${decision}.`);
  } catch (error) {
    setStatus(describe(error), true);
    return;
  }
  const gone = new Set(ids);
  state.cards = state.cards.filter((c) => !gone.has(c.asset_id));
  state.selected.clear();
  state.focus = Math.min(state.focus, Math.max(state.cards.length - 1, 0));
  const tag = state.tags.find((t) => t.name === state.tag);
  if (tag) {
    tag.waiting = Math.max(0, tag.waiting - ids.length);
    tag[decision] += ids.length;
  }
  renderTags();
  renderCards();
}

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" || !state.tag) return;
  const key = event.key;
  if (key === "ArrowRight" || key === "ArrowDown") state.focus = Math.min(state.focus + 1, state.cards.length - 1);
  else if (key === "ArrowLeft" || key === "ArrowUp") state.focus = Math.max(state.focus - 1, 0);
  else if (key === " ") { if (state.cards[state.focus]) toggle(state.cards[state.focus].asset_id); }
  else if (key === "A" && event.shiftKey) { decide("accepted", true); event.preventDefault(); return; }
  else if (key === "a") { decide("accepted"); event.preventDefault(); return; }
  else if (key === "r") { decide("rejected"); event.preventDefault(); return; }
  else return;
  event.preventDefault();
  renderCards();
});

$("reviewer").value = localStorage.getItem("scout-reviewer") || "";
$("reviewer").addEventListener("change", () => localStorage.setItem("scout-reviewer", $("reviewer").value.trim()));
$("filter").addEventListener("input", renderTags);
loadTags();
