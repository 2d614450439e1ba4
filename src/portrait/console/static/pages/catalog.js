// 标签管理 · Tag catalog: the taxonomy as a tree (level-1/2/3), search by name in either language,
// and per tag its definition, kind, owner, freshness, coverage and value distribution.

import * as api from "../api.js";
import * as charts from "../charts.js";
import { clear, errorBox, fmtInt, fmtNum, fmtPct, fmtTime, fmtValue, h } from "../dom.js";
import { kindName, localName, nodeName, otherName, t, word } from "../i18n.js";
import { href } from "../router.js";

// The field's usual level-1 order (as the profile service orders groups); others follow by name.
const LEVEL1 = ["人口属性", "用户价值", "消费特征", "兴趣偏好", "生命周期", "行为特征", "预测标签"];
let query = "";

export async function render(main, { args }) {
  const selected = args[0] || "";
  const all = await api.tags();
  const treeBox = h("div", { class: "tree", id: "tag-tree" });
  const counter = h("div", { class: "muted small count" });
  const search = h("input", { type: "search", id: "tag-search", value: query, placeholder: t("tags.search"),
    "aria-label": t("tags.search"), oninput: () => { query = search.value; drawTree(); } });
  const detail = h("section", { class: "detail", id: "tag-detail" });
  main.append(h("div", { class: "split" },
    h("aside", { class: "sidebar card" }, search, counter, treeBox),
    detail));

  function drawTree() {
    clear(treeBox);
    const q = query.trim().toLowerCase();
    const hits = q ? all.filter((tg) => matches(tg, q)) : all;
    counter.textContent = q ? t("tags.count.filtered", { n: hits.length, total: all.length }) : t("tags.count", { n: all.length });
    if (!hits.length) {
      treeBox.append(h("p", { class: "muted" }, t("tags.nomatch", { q: query })));
      return;
    }
    treeBox.append(drawNode(buildTree(hits), 0, Boolean(q), selected));
  }
  drawTree();

  if (!selected) {
    detail.append(h("div", { class: "card empty" }, h("p", {}, t("tags.pick"))));
    return null;
  }
  detail.append(h("p", { class: "muted" }, t("common.loading")));
  try {
    const tag = await api.tag(selected);
    clear(detail).append(tagDetail(tag));
  } catch (e) {
    clear(detail).append(errorBox(e));
  }
  return null;
}

/** Every word of the query appears in the tag's id, either name or a taxonomy node (any order). */
function matches(tag, q) {
  const text = [tag.id, tag.name?.en, tag.name?.zh, ...(tag.taxonomy || []), ...(tag.taxonomy || []).map(nodeName)]
    .filter(Boolean).join(" ").toLowerCase();
  return q.split(/\s+/).every((word) => text.includes(word));
}

function buildTree(tags) {
  const root = { term: "", children: new Map(), tags: [] };
  for (const tag of tags) {
    let node = root;
    for (const term of tag.taxonomy || []) {
      if (!node.children.has(term)) node.children.set(term, { term, children: new Map(), tags: [] });
      node = node.children.get(term);
    }
    node.tags.push(tag);
  }
  return root;
}

function countTags(node) {
  let n = node.tags.length;
  for (const c of node.children.values()) n += countTags(c);
  return n;
}

function drawNode(node, depth, openAll, selected) {
  const kids = [...node.children.values()];
  if (depth === 0) {
    kids.sort((a, b) => rank(a.term) - rank(b.term) || a.term.localeCompare(b.term));
  }
  const list = h("ul", { class: `level level-${depth}` });
  for (const tag of node.tags) list.append(h("li", { class: "leaf" }, tagLink(tag, selected)));
  for (const child of kids) {
    if (depth > 0 && !child.children.size && child.tags.length === 1) {
      // A node holding a single tag reads better as the tag itself (the node is its last level).
      list.append(h("li", { class: "leaf", title: (child.tags[0].taxonomy || []).map(nodeName).join(" › ") },
        tagLink(child.tags[0], selected)));
      continue;
    }
    const holdsSelected = containsTag(child, selected);
    const open = openAll || depth === 0 || holdsSelected;
    const label = nodeName(child.term);
    list.append(h("li", {},
      h("details", { open, "data-node": child.term },
        h("summary", {}, label, label !== child.term ? h("span", { class: "muted" }, ` ${child.term}`) : null,
          h("span", { class: "badge" }, countTags(child))),
        drawNode(child, depth + 1, openAll, selected))));
  }
  return list;
}

function tagLink(tag, selected) {
  return h("a", { href: href("tags", tag.id), class: `tag-link${tag.id === selected ? " active" : ""}`, "data-tag": tag.id },
    h("span", { class: `dot kind-${tag.kind}`, title: kindName(tag.kind) }),
    localName(tag.name, tag.id), " ", h("code", { class: "muted" }, tag.id));
}

function containsTag(node, id) {
  if (!id) return false;
  return node.tags.some((t) => t.id === id) || [...node.children.values()].some((c) => containsTag(c, id));
}

const rank = (term) => (LEVEL1.includes(term) ? LEVEL1.indexOf(term) : LEVEL1.length);

function tagDetail(tag) {
  const stats = tag.stats || {};
  const other = otherName(tag.name);
  const facts = [
    [t("tags.kind"), h("span", { class: `pill kind-${tag.kind}` }, kindName(tag.kind))],
    [t("tags.type"), tag.type + (tag.values ? ` · ${tag.values.join(" / ")}` : "")],
    [t("tags.owner"), tag.owner],
    [t("tags.computed"), fmtTime(tag.computed_at || stats.computed_at)],
    tag.freshness ? [t("tags.freshness"), tag.freshness] : null,
    tag.unit ? [t("tags.unit"), word(tag.unit)] : null,
    [t("tags.coverage"), h("span", {}, h("strong", { id: "coverage" }, fmtPct(tag.coverage)), " ",
      h("span", { class: "muted" }, t("tags.coverage.detail", { covered: fmtInt(stats.covered), users: fmtInt(stats.users) })))],
    tag.depends_on?.length ? [t("tags.depends"), tag.depends_on.map((d) => [h("a", { href: href("tags", d) }, d), " "])] : null,
    [t("tags.declared"), h("code", {}, tag.declared_in)],
  ].filter(Boolean);
  const chart = h("div", { id: "distribution-chart" });
  const card = h("article", { class: "card", "data-tag": tag.id },
    h("div", { class: "crumbs muted" }, (tag.taxonomy || []).map(nodeName).join(" › ")),
    h("div", { class: "title-row" },
      h("h1", {}, localName(tag.name, tag.id), other ? h("small", { class: "muted" }, ` ${other}`) : null),
      h("a", { class: "button", href: href("segments", "new", { tag: tag.id }), id: "use-in-segment" }, t("tags.use"))),
    h("code", { class: "tag-id" }, tag.id),
    tag.pii ? h("span", { class: "pill pii" }, t("tags.pii")) : null,
    tag.description ? h("p", {}, tag.description) : null,
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h2", {}, t("tags.distribution")),
    distribution(tag, stats.distribution, chart),
    h("h2", {}, t("tags.definition")),
    definition(tag.definition || {}));
  // ECharts measures its container: draw once the card is in the document.
  requestAnimationFrame(() => drawDistribution(tag, stats.distribution, chart));
  return card;
}

function distribution(tag, dist, chart) {
  if (!dist) return h("p", { class: "muted" }, t("tags.distribution.none"));
  const box = h("div", { class: "distribution" }, chart);
  if (dist.quantiles) {
    const q = Object.entries(dist.quantiles);
    box.append(h("table", { class: "quantiles" },
      h("tr", {}, h("th", {}, t("tags.quantiles")), q.map(([p]) => h("th", {}, `p${Math.round(Number(p) * 100)}`)), h("th", {}, t("tags.mean"))),
      h("tr", {}, h("td", {}), q.map(([, v]) => h("td", {}, fmtNum(v))), h("td", {}, fmtNum(dist.mean)))));
  } else if (!dist.values && !dist.keys && !dist.histogram && (dist.min || dist.max)) {
    box.append(h("p", {}, t("tags.range", { min: fmtValue(dist.min, tag), max: fmtValue(dist.max, tag) })));
  }
  return box;
}

function drawDistribution(tag, dist, el) {
  if (!dist || !el.isConnected) return;
  const users = t("common.users");
  if (dist.values) {
    const rows = dist.values.slice(0, 30).map((v) => ({ label: fmtValue(v.value, tag), value: v.count }));
    charts.hbar(el, rows, { name: users });
  } else if (dist.histogram) {
    const rows = dist.histogram.map((b) => ({
      label: b.lo === b.hi ? fmtNum(b.lo) : `${fmtNum(b.lo)}–${fmtNum(b.hi)}`, value: b.count }));
    charts.columns(el, rows, { name: users });
  } else if (dist.keys) {
    el.before(h("p", { class: "muted small" }, t("tags.keys")));
    charts.hbar(el, dist.keys.slice(0, 20).map((k) => ({ label: k.key, value: k.users })), { name: users });
  } else {
    el.remove();
  }
}

function definition(def) {
  const parts = [];
  if (def.sql) parts.push(h("pre", { class: "code" }, def.sql.trim()));
  const meta = Object.entries(def).filter(([k]) => !["sql", "formula"].includes(k));
  if (meta.length) {
    parts.push(h("dl", { class: "facts" }, meta.map(([k, v]) => [h("dt", {}, k),
      h("dd", {}, h("code", {}, typeof v === "object" ? JSON.stringify(v) : String(v)))])));
  }
  if (def.formula) parts.push(h("pre", { class: "code formula" }, def.formula));
  return parts.length ? parts : h("p", { class: "muted" }, t("common.none"));
}
