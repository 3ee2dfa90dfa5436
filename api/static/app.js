// Scout web UI: plain JavaScript over the /api endpoints, no build step.
"use strict";

const PAGE = 40;
const $ = (id) => document.getElementById(id);
const state = {
  q: "", examples: [], filters: { folder: "", orientation: "", minw: "", minh: "", formats: new Set(), source: "", all: false, mode: "hybrid", tags: new Set() },
  results: [], offset: 0, hasMore: false, loading: false, requestId: 0, current: -1, status: null,
};

// --- API ---------------------------------------------------------------------------------------
// --- search ------------------------------------------------------------------------------------
function searchUrl(offset) {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  for (const ex of state.examples) p.append(ex.kind === "asset" ? "like" : "example", ex.ref);
  const f = state.filters;
  if (f.folder) p.set("folder", f.folder);
  if (f.orientation) p.set("orientation", f.orientation);
  if (f.minw) p.set("min_width", f.minw);
  if (f.minh) p.set("min_height", f.minh);
  for (const fmt of f.formats) p.append("format", fmt);
  if (f.source) p.set("source", f.source);
  if (f.capturedFrom) p.set("captured_from", f.capturedFrom);
  if (f.capturedTo) p.set("captured_to", f.capturedTo);
  if (f.camera) p.set("camera", f.camera);
  if (f.gps) p.set("gps", "true");
  if (f.rightsOk) p.set("exclude_restricted", "true");
  for (const tag of f.tags) p.append("tag", tag);
  if (f.all) p.set("all", "true");
  p.set("mode", f.mode);
  p.set("limit", PAGE); p.set("offset", offset);
  return `/api/search?${p}`;
}

function hasQuery() { return state.q.trim() !== "" || state.examples.length > 0; }

async function runSearch({ append = false } = {}) {
  if (!hasQuery()) { state.results = []; render(); showWelcome(); return; }
  const id = ++state.requestId;
  const offset = append ? state.offset : 0;
  state.loading = true;
  if (!append) showState('<div class="spinner" aria-label="Searching"></div>');
  try {
    const data = await api(searchUrl(offset));
    if (id !== state.requestId) return; // a newer search superseded this one
    state.results = append ? state.results.concat(data.results) : data.results;
    state.offset = offset + data.results.length;
    state.hasMore = data.has_more;
    if (!append) state.current = -1;
    render(data);
  } catch (error) {
    if (id !== state.requestId) return;
    showError(error);
  } finally {
    if (id === state.requestId) state.loading = false;
  }
}

// Tag facets: the most common tags of these results, and the tags already narrowing the search
// (pressed); a click adds or removes one. Text is set with textContent, never HTML.
function renderFacets(facets) {
  const counts = new Map((facets || []).map((f) => [f.tag, f.count]));
  const tags = [...state.filters.tags, ...[...counts.keys()].filter((t) => !state.filters.tags.has(t))];
  $("facets").replaceChildren(...tags.map((tag) => {
    const chip = Object.assign(document.createElement("button"), { type: "button", className: "facet" });
    chip.dataset.tag = tag;
    chip.setAttribute("aria-pressed", String(state.filters.tags.has(tag)));
    chip.textContent = counts.has(tag) ? `${tag} ${counts.get(tag)}` : tag;
    chip.onclick = () => {
      if (state.filters.tags.has(tag)) state.filters.tags.delete(tag); else state.filters.tags.add(tag);
      runSearch();
    };
    return chip;
  }));
}

function render(data) {
  if (data) renderFacets(data.facets);
  const grid = $("grid");
  grid.replaceChildren(...state.results.map(cardFor));
  if (data) {
    const cut = data.cutoff === null ? "all matches" : `relevance ≥ ${data.cutoff}σ`;
    // Weak matches: nothing cleared the cutoff, so the closest few are shown, marked as such.
    $("summary").classList.toggle("weak-notice", Boolean(data.weak_matches && state.results.length));
    $("summary").textContent = !state.results.length ? ""
      : data.weak_matches
        ? `No strong matches (${cut}); showing the closest ${state.results.length}${state.hasMore ? "+" : ""}, dimmed.`
        : `${state.results.length}${state.hasMore ? "+" : ""} results · ${cut} · ${Math.round(data.embed_ms + data.search_ms)} ms`;
  }
  if (!state.results.length && hasQuery() && state.filters.mode === "keyword") {
    showState("<h3>No results</h3><p>No file or folder name, embedded keyword or text in an image holds these words.</p>");
  } else if (!state.results.length && hasQuery()) {
    showState(`<h3>No results</h3><p>Nothing in ${state.status ? state.status.assets : "the library"} assets clears the relevance cutoff${activeFilters() ? " with these filters" : ""}.</p>
      <p><button type="button" class="primary" id="show-all">Show weaker matches</button></p>`);
    const button = $("show-all");
    if (button) button.onclick = () => { $("f-all").checked = true; state.filters.all = true; runSearch(); };
  } else if (state.results.length) {
    showState(state.hasMore ? "" : '<p class="end">End of results</p>');
  }
}

function cardFor(hit, index) {
  const a = hit.asset;
  const card = document.createElement("button");
  card.type = "button"; card.className = hit.weak ? "card weak" : "card"; card.setAttribute("role", "listitem");
  card.dataset.index = index; card.dataset.id = a.id; card.dataset.path = a.path;
  card.title = `${a.name}\nscore ${hit.score.toFixed(3)} · relevance ${hit.relevance.toFixed(1)}σ\n${a.width}×${a.height} ${a.format}\n${hit.why}`;
  const img = document.createElement("img");
  img.loading = "lazy"; img.decoding = "async"; img.alt = a.name; img.src = withToken(a.thumbnail_url);
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.innerHTML = `<b></b>${hit.score.toFixed(3)} · ${hit.relevance.toFixed(1)}σ · ${a.width}×${a.height}`;
  badge.querySelector("b").textContent = a.name;
  // Why it matched: meaning relevance, then each field the query's words were found in.
  const why = document.createElement("small");
  why.className = "why"; why.textContent = hit.why;
  badge.append(document.createElement("br"), why);
  card.append(img, badge);
  if (hit.weak) {
    const flag = document.createElement("span");
    flag.className = "weak-flag"; flag.textContent = "Weak match";
    flag.title = "Below the relevance cutoff: the closest the library has, not a clear match";
    card.append(flag);
  }
  if (a.generated) {
    const flag = document.createElement("span");
    flag.className = "gen-flag"; flag.textContent = "Generated";
    flag.title = "Made by an image generator, not a photo from the library";
    card.append(flag);
  }
  card.onclick = () => openDetail(index);
  card.onfocus = () => { state.current = index; };
  return card;
}

function showState(html, cls = "") { const el = $("state"); el.className = `state ${cls}`; el.innerHTML = html; }
function showWelcome() {
  $("summary").textContent = "";
  const n = state.status ? state.status.assets.toLocaleString() : "your";
  showState(`<h3>Search ${n} assets by meaning</h3><p>Describe the picture you need, or drop, paste or upload an image to find similar ones.</p>`);
}
function showError(error) {
  $("grid").replaceChildren(); $("summary").textContent = "";
  showState(`<h3></h3><p></p>`, "error");
  $("state").querySelector("h3").textContent = error.message;
  $("state").querySelector("p").textContent = error.hint || (error.status === 401 || error.status === 403
    ? "Open the page with ?token=YOUR_TOKEN." : "Try again, or check the server's terminal.");
}
function activeFilters() {
  const f = state.filters;
  return f.folder || f.orientation || f.minw || f.minh || f.formats.size || f.source
    || f.capturedFrom || f.capturedTo || f.camera || f.gps || f.rightsOk || f.tags.size;
}

// --- examples (query by image) -----------------------------------------------------------------
function renderExamples() {
  $("examples").replaceChildren(...state.examples.map((ex, i) => {
    const chip = document.createElement("span");
    chip.className = "example-chip"; chip.title = "Example image in this query";
    chip.innerHTML = `<img alt="example"><button type="button" aria-label="Remove example">×</button>`;
    chip.querySelector("img").src = ex.thumb;
    chip.querySelector("button").onclick = () => { state.examples.splice(i, 1); renderExamples(); runSearch(); };
    return chip;
  }));
}
function addAssetExample(asset) {
  if (!state.examples.some((e) => e.kind === "asset" && e.ref === String(asset.id))) {
    state.examples.push({ kind: "asset", ref: String(asset.id), thumb: withToken(asset.thumbnail_url) });
  }
  renderExamples();
}
async function uploadExample(file) {
  if (!file || !file.type.startsWith("image/")) { toast("That is not an image."); return; }
  const form = new FormData(); form.append("file", file);
  showState('<div class="spinner" aria-label="Uploading"></div>');
  try {
    const data = await api("/api/examples", { method: "POST", body: form });
    state.examples.push({ kind: "upload", ref: data.example_id, thumb: URL.createObjectURL(file) });
    renderExamples(); runSearch();
  } catch (error) { showError(error); }
}

// --- detail view -------------------------------------------------------------------------------
const BROWSER_FORMATS = new Set(["JPEG", "PNG", "WEBP", "GIF", "BMP"]);
function openDetail(index) {
  const hit = state.results[index]; if (!hit) return;
  state.current = index;
  const a = hit.asset;
  $("d-img").src = withToken(BROWSER_FORMATS.has(a.format) ? a.original_url : `/api/assets/${a.id}/preview`);
  $("d-img").alt = a.name;
  $("d-name").textContent = a.name;
  $("d-path").textContent = a.path;
  const rows = [["Dimensions", `${a.width} × ${a.height} (${a.orientation})`], ["Format", a.format],
    ["File size", formatBytes(a.size_bytes)], ["Folder", a.folder], ["Score", hit.score.toFixed(3)],
    ["Relevance", `${hit.relevance.toFixed(1)}σ`], ["Asset id", a.id],
    ["Source", a.generated ? "Generated" : "Library"], ["Why", hit.why]];
  $("d-meta").replaceChildren(...metaRows(rows));
  $("d-boxes").replaceChildren(); $("d-ocr").hidden = true; $("d-safety").hidden = true;
  loadDetail(a.id);
  $("d-download").href = withToken(`${a.original_url}?download=true`);
  $("d-download").setAttribute("download", a.name);
  $("detail").hidden = false;
  $("d-similar").focus();
}
function metaRows(rows) {
  return rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  });
}
// What only the asset's detail holds (search results do not): provenance, text found in the image.
async function loadDetail(id) {
  let detail;
  try { detail = await api(`/api/assets/${id}`); } catch (_) { return; }
  const shown = state.results[state.current];
  if ($("detail").hidden || !shown || shown.asset.id !== id) return;
  showProvenance(detail.provenance);
  showMedia(detail.metadata);
  showOcr(detail);
  loadSafety(id);
}
// The stored brand-safety verdict (scout safety), each reason with its evidence: the word as
// written and the OCR snippet, the picture's score against a category, nudity detections.
async function loadSafety(id) {
  let safety;
  try { safety = await api(`/api/assets/${id}/safety`); } catch (_) { return; }
  const shown = state.results[state.current];
  if ($("detail").hidden || !shown || shown.asset.id !== id || !safety.verdict) return;
  $("d-safety-verdict").textContent = safety.verdict;
  $("d-safety-verdict").dataset.verdict = safety.verdict;
  $("d-safety-reasons").replaceChildren(...safety.reasons.map((reason) => {
    const li = document.createElement("li");
    const evidence = reason.signals.map((s) => s.source === "words" ? `"${s.evidence.found}" in "${s.evidence.snippet}"`
      : s.source === "nudity" ? `${s.evidence.label} ${s.score.toFixed(2)}`
      : s.source === "image" ? `picture ~ ${s.evidence.prompt} ${s.score.toFixed(2)}`
      : `text ~ ${s.evidence.description} ${s.score.toFixed(2)}`);
    li.textContent = `${reason.verdict}: ${reason.why}` + (evidence.length ? ` (${evidence.join("; ")})` : "");
    return li;
  }));
  if (!safety.reasons.length) {
    const li = document.createElement("li"); li.textContent = `Judged with ${safety.policy}: nothing found.`;
    $("d-safety-reasons").replaceChildren(li);
  }
  $("d-safety").hidden = false;
}
// The OCR text under the metadata, its boxes drawn over the image (in the original's pixels).
function showOcr(detail) {
  const ocr = detail.ocr;
  if (!ocr || !ocr.text) return;
  $("d-ocr-text").textContent = ocr.text;
  $("d-ocr").hidden = false;
  const svg = $("d-boxes");
  svg.setAttribute("viewBox", `0 0 ${detail.width} ${detail.height}`);
  svg.replaceChildren(...ocr.lines.map((line) => {
    const box = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
    box.setAttribute("points", line.box.map(([x, y]) => `${x},${y}`).join(" "));
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = line.text;
    box.append(title);
    return box;
  }));
}
// What the photographer embedded (EXIF, IPTC, XMP), and whether the licence is flagged.
function showMedia(media) {
  if (!media) return;
  const rows = [["Rights", media.rights ? `${media.rights[0].toUpperCase()}${media.rights.slice(1)}` : null],
    ["Captured", media.captured_at ? new Date(media.captured_at * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC" : null],
    ["Camera", media.camera], ["Lens", media.lens],
    ["Location", media.has_gps ? `${media.latitude.toFixed(5)}, ${media.longitude.toFixed(5)}` : null],
    ["Title", media.title], ["Description", media.description], ["Keywords", media.keywords.join(", ")],
    ["Creator", media.creator], ["Copyright", media.copyright], ["Usage terms", media.usage_terms],
    ["Rating", media.rating > 0 ? "★".repeat(media.rating) : null]];
  $("d-meta").append(...metaRows(rows.filter(([, v]) => v !== null && v !== undefined && v !== "")));
}
// How a generated image was made.
function showProvenance(made) {
  if (!made) return;
  const rows = [["Prompt", made.prompt], ["Negative prompt", made.negative_prompt], ["Seed", made.seed],
    ["Steps", made.steps], ["Guidance", made.guidance], ["Model", made.model], ["Generator", made.generator],
    ["Brief", made.brief_id], ["Generated at", new Date(made.created_at * 1000).toLocaleString()]];
  $("d-meta").append(...metaRows(rows.filter(([, v]) => v !== null && v !== undefined && v !== "")));
}
function closeDetail() {
  $("detail").hidden = true;
  const card = document.querySelector(`.card[data-index="${state.current}"]`);
  if (card) card.focus();
}
function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB"]; let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(1)} ${units[i]}`;
}
$("d-close").onclick = closeDetail;
$("detail").onclick = (e) => { if (e.target === $("detail")) closeDetail(); };
$("d-similar").onclick = () => {
  const a = state.results[state.current].asset;
  state.examples = []; state.q = ""; $("q").value = "";
  addAssetExample(a); closeDetail(); runSearch();
};
$("d-example").onclick = () => { addAssetExample(state.results[state.current].asset); closeDetail(); runSearch(); };
$("d-copy").onclick = async () => {
  const path = state.results[state.current].asset.path;
  try { await navigator.clipboard.writeText(path); toast("Path copied"); }
  catch (_) { window.prompt("Copy the path:", path); }
};

function toast(text) {
  const el = $("toast"); el.textContent = text; el.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { el.hidden = true; }, 1800);
}

// --- inputs ------------------------------------------------------------------------------------
let debounce;
$("q").addEventListener("input", () => {
  clearTimeout(debounce);
  debounce = setTimeout(() => { state.q = $("q").value; runSearch(); }, 250);
});
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault(); clearTimeout(debounce); state.q = $("q").value; runSearch();
});
$("file").addEventListener("change", (e) => { uploadExample(e.target.files[0]); e.target.value = ""; });
document.addEventListener("paste", (e) => {
  const item = [...(e.clipboardData || {}).items || []].find((i) => i.type.startsWith("image/"));
  if (item) { e.preventDefault(); uploadExample(item.getAsFile()); }
});
let dragDepth = 0;
window.addEventListener("dragenter", (e) => { if ([...e.dataTransfer.types].includes("Files")) { dragDepth++; $("dropzone").hidden = false; } });
window.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; $("dropzone").hidden = true; } });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault(); dragDepth = 0; $("dropzone").hidden = true;
  if (e.dataTransfer.files.length) uploadExample(e.dataTransfer.files[0]);
});

function bindFilters() {
  const f = state.filters;
  $("f-folder").onchange = (e) => { f.folder = e.target.value; runSearch(); };
  $("f-orientation").onclick = (e) => {
    if (!e.target.dataset || e.target.dataset.value === undefined) return;
    f.orientation = e.target.dataset.value;
    for (const b of $("f-orientation").children) b.classList.toggle("on", b === e.target);
    runSearch();
  };
  const number = (el, key) => { el.onchange = () => { f[key] = el.value; runSearch(); }; };
  number($("f-minw"), "minw"); number($("f-minh"), "minh");
  $("f-all").onchange = (e) => { f.all = e.target.checked; runSearch(); };
  $("f-mode").onclick = (e) => {
    if (!e.target.dataset || e.target.dataset.value === undefined) return;
    f.mode = e.target.dataset.value;
    for (const b of $("f-mode").children) b.classList.toggle("on", b === e.target);
    runSearch();
  };
  const source = sourceFilter();
  source.onclick = (e) => {
    if (!e.target.dataset || e.target.dataset.value === undefined) return;
    f.source = e.target.dataset.value;
    for (const b of source.children) b.classList.toggle("on", b === e.target);
    runSearch();
  };
  $("f-reset").onclick = () => {
    Object.assign(f, { folder: "", orientation: "", minw: "", minh: "", formats: new Set(), source: "", all: false, mode: "hybrid",
                       tags: new Set() });
    for (const b of $("f-mode").children) b.classList.toggle("on", b.dataset.value === "hybrid");
    for (const b of source.children) b.classList.toggle("on", b.dataset.value === "");
    $("f-folder").value = ""; $("f-minw").value = ""; $("f-minh").value = ""; $("f-all").checked = false;
    for (const b of $("f-orientation").children) b.classList.toggle("on", b.dataset.value === "");
    for (const b of $("f-format").children) b.classList.remove("on");
    resetMediaFilters();
    runSearch();
  };
  mediaFilters();
}

// Library photos, generated images, or both: a segmented control like Orientation, after it.
function sourceFilter() {
  const fieldset = document.createElement("fieldset");
  fieldset.className = "field";
  fieldset.innerHTML = `<legend>Source</legend><div class="segmented three" id="f-source">
    <button type="button" data-value="" class="on">Any</button>
    <button type="button" data-value="library">Library</button>
    <button type="button" data-value="generated">Generated</button></div>`;
  $("f-orientation").closest("fieldset").after(fieldset);
  return $("f-source");
}

// What the photographer embedded: capture dates, camera, GPS, and licences to leave out.
function mediaFilters() {
  const f = state.filters;
  const fieldset = document.createElement("fieldset");
  fieldset.className = "field";
  fieldset.innerHTML = `<legend>Photo metadata</legend>
    <label class="media-field">Taken from<input id="f-from" type="date"></label>
    <label class="media-field">Taken until<input id="f-to" type="date"></label>
    <label class="media-field">Camera<input id="f-camera" type="search" placeholder="e.g. EOS R5" maxlength="100"></label>`;
  const toggles = document.createElement("div");
  toggles.innerHTML = `<label class="toggle"><input id="f-gps" type="checkbox"> With GPS position</label>
    <label class="toggle"><input id="f-rights" type="checkbox"> Leave out expired or restricted licences</label>`;
  $("f-format").closest("fieldset").after(fieldset, toggles);
  const text = (el, key) => { el.onchange = () => { f[key] = el.value.trim(); runSearch(); }; };
  text($("f-from"), "capturedFrom"); text($("f-to"), "capturedTo"); text($("f-camera"), "camera");
  $("f-gps").onchange = (e) => { f.gps = e.target.checked; runSearch(); };
  $("f-rights").onchange = (e) => { f.rightsOk = e.target.checked; runSearch(); };
}
function resetMediaFilters() {
  Object.assign(state.filters, { capturedFrom: "", capturedTo: "", camera: "", gps: false, rightsOk: false });
  for (const id of ["f-from", "f-to", "f-camera"]) $(id).value = "";
  $("f-gps").checked = false; $("f-rights").checked = false;
}

async function loadStatus() {
  try {
    const s = await api("/api/status");
    state.status = s;
    $("libinfo").textContent = `${s.assets.toLocaleString()} assets${s.failed ? ` · ${s.failed} failed` : ""}`;
    $("libinfo").title = `${s.library}\nmodel: ${s.model}`;
    const select = $("f-folder");
    for (const folder of s.folders) {
      const option = document.createElement("option"); option.value = folder; option.textContent = folder;
      select.append(option);
    }
    $("f-format").replaceChildren(...Object.entries(s.formats).map(([fmt, count]) => {
      const b = document.createElement("button"); b.type = "button"; b.textContent = `${fmt} ${count}`;
      b.onclick = () => {
        const set = state.filters.formats;
        set.has(fmt) ? set.delete(fmt) : set.add(fmt);
        b.classList.toggle("on", set.has(fmt)); runSearch();
      };
      return b;
    }));
    if (!hasQuery()) showWelcome();
  } catch (error) { showError(error); }
}

// --- keyboard ----------------------------------------------------------------------------------
function columns() {
  const cards = [...document.querySelectorAll(".card")];
  if (!cards.length) return 1;
  const top = cards[0].offsetTop;
  const n = cards.findIndex((c) => c.offsetTop !== top);
  return n === -1 ? cards.length : n;
}
document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (!$("detail").hidden) {
    if (e.key === "Escape") closeDetail();
    else if (e.key === "ArrowRight" && state.current < state.results.length - 1) openDetail(state.current + 1);
    else if (e.key === "ArrowLeft" && state.current > 0) openDetail(state.current - 1);
    return;
  }
  if (e.key === "/" && !typing) { e.preventDefault(); $("q").focus(); $("q").select(); return; }
  if (e.key === "Escape" && typing) { document.activeElement.blur(); return; }
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() };
  if (e.key in moves && (!typing || (e.key === "ArrowDown" && document.activeElement === $("q")))) {
    if (!state.results.length) return;
    e.preventDefault();
    const next = state.current < 0 ? 0 : Math.min(Math.max(state.current + moves[e.key], 0), state.results.length - 1);
    const card = document.querySelector(`.card[data-index="${next}"]`);
    if (card) { card.focus(); card.scrollIntoView({ block: "nearest" }); }
  }
});

// --- infinite scroll ---------------------------------------------------------------------------
new IntersectionObserver((entries) => {
  if (entries[0].isIntersecting && state.hasMore && !state.loading) runSearch({ append: true });
}, { rootMargin: "600px" }).observe($("sentinel"));

$("filters-toggle").onclick = () => {
  const open = $("filters").classList.toggle("open");
  $("filters-toggle").setAttribute("aria-expanded", String(open));
};

bindFilters();
loadStatus();
