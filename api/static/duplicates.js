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

async function load() {
  const status = document.getElementById("d-status");
  const list = document.getElementById("clusters");
  const exact = document.getElementById("exact").checked;
  status.textContent = "Looking for duplicates…";
  list.replaceChildren();
  try {
    const body = await api(`/api/duplicates${exact ? "?exact=true" : ""}`);
    const files = body.clusters.reduce((sum, c) => sum + c.members.length - 1, 0);
    status.textContent = body.clusters.length
      ? `${body.clusters.length} groups, ${files} files besides the suggested keepers, among ${body.contents} images.`
      : `No duplicates among ${body.contents} images.`;
    if (body.unhashed) status.textContent += ` ${body.unhashed} images are not compared yet (run scout index).`;
    list.append(...body.clusters.map((cluster, index) => clusterCard(cluster, index + 1)));
  } catch (error) {
    status.textContent = describe(error);
  }
}

document.getElementById("exact").addEventListener("change", load);
load();
