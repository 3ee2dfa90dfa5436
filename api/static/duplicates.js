// The Duplicates page: GET /api/duplicates, one card per cluster, the suggested keeper marked.
// Paths are user data: every text goes in with textContent, never as HTML.
"use strict";

const ROLE = { keeper: "Keep", exact: "Same file", near: "Near copy" };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function memberFigure(member) {
  const figure = element("figure", `member ${member.relation}`);
  figure.dataset.id = member.id;
  const link = element("a");
  link.href = withToken(`/api/assets/${member.id}/original`);
  link.target = "_blank";
  link.rel = "noopener";
  const image = element("img");
  image.src = withToken(`/api/assets/${member.id}/thumbnail`);
  image.alt = member.path.split("/").pop();
  image.loading = "lazy";
  link.append(image);
  const caption = element("figcaption");
  let detail = `${member.width}×${member.height}`;
  if (member.relation === "near" && member.hamming !== null) {
    detail += ` · cosine ${member.similarity.toFixed(3)} · ${member.hamming} bits`;
  }
  caption.append(element("div", "role", ROLE[member.relation] || member.relation), element("div", "", detail),
                 element("div", "path", member.path));
  figure.append(link, caption);
  return figure;
}

function clusterCard(cluster, number) {
  const card = element("article", "cluster");
  const title = element("h2");
  title.append(element("span", "badge", cluster.kind === "exact" ? "identical" : "near"),
               `Group ${number}: ${cluster.members.length} files`);
  const members = element("div", "members");
  members.append(...cluster.members.map(memberFigure));
  card.append(title, element("p", "reason", `Keep suggested: ${cluster.reason}`), members);
  return card;
}

// Groups per page; ?per_page=N (1-500) in the page's address changes it.
const PER_PAGE = Math.min(500, Math.max(1, parseInt(new URLSearchParams(location.search).get("per_page"), 10) || 50));
let shown = 0;
let version = null;  // the report the pages shown so far come from
let loading = 0;  // which load() is current: a slow answer to an older one is dropped

async function showPage(first) {
  const status = document.getElementById("d-status");
  const list = document.getElementById("clusters");
  const more = document.getElementById("more");
  const exact = document.getElementById("exact").checked;
  const mine = first ? ++loading : loading;
  if (first) {
    shown = 0;
    version = null;
    status.textContent = "Looking for duplicates…";
    list.replaceChildren();
  }
  more.hidden = true;
  try {
    const params = new URLSearchParams({ offset: shown, limit: PER_PAGE });
    if (exact) params.set("exact", "true");
    if (version !== null) params.set("version", version);
    const body = await api(`/api/duplicates?${params}`);
    if (mine !== loading) return;
    version = body.version;
    status.textContent = body.total
      ? `${body.total} groups, ${body.files} files besides the suggested keepers, among ${body.contents} images.`
      : `No duplicates among ${body.contents} images.`;
    if (body.unhashed) status.textContent += ` ${body.unhashed} images are not compared yet (run scout index).`;
    list.append(...body.clusters.map((cluster, index) => clusterCard(cluster, shown + index + 1)));
    shown += body.clusters.length;
    more.hidden = !body.has_more;
    more.textContent = `Show more groups (${shown} of ${body.total} shown)`;
  } catch (error) {
    if (mine !== loading) return;
    if (error.status === 409 && !first) {  // the library changed since the first page: start over
      await showPage(true);
      status.textContent += " (The library changed meanwhile, so the list starts again.)";
      return;
    }
    status.textContent = describe(error);
  }
}

document.getElementById("exact").addEventListener("change", () => showPage(true));
document.getElementById("more").addEventListener("click", () => showPage(false));
showPage(true);
