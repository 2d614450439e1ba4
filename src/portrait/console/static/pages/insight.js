// 洞察 · Insight: a saved segment against all users or another segment — TGI bars of the most
// distinguishing traits, the tags ranked by how much they differ, per-tag distributions side by
// side, and the lookalike form.

import * as api from "../api.js";
import * as charts from "../charts.js";
import { clear, errorBox, fmtInt, fmtNum, fmtPct, fmtValue, h } from "../dom.js";
import { localName, t } from "../i18n.js";
import { go, href } from "../router.js";
import { lookalikeView } from "./lookalike.js";

export async function render(main, { args, query }) {
  const [name] = args;
  const baseName = query.base || "";
  const [catalog, segments] = await Promise.all([api.tags(), api.api("/v1/segments").catch((e) => e)]);
  if (segments instanceof Error) {
    main.append(errorBox(segments));
    return null;
  }
  const list = Array.isArray(segments) ? segments : segments.segments || segments.items || [];
  const tagsById = Object.fromEntries(catalog.map((tg) => [tg.id, tg]));

  const segSelect = h("select", { id: "insight-segment", "aria-label": t("ins.segment") },
    h("option", { value: "" }, "…"), list.map((s) => h("option", { value: s.name, selected: s.name === name }, `@${s.name}`)));
  const baseSelect = h("select", { id: "insight-base", "aria-label": t("ins.base") },
    h("option", { value: "" }, t("ins.base.all")),
    list.map((s) => h("option", { value: s.name, selected: s.name === baseName }, `@${s.name}`)));
  const form = h("form", { class: "card inline", onsubmit: (ev) => {
    ev.preventDefault();
    if (segSelect.value) go("insight", segSelect.value, { base: baseSelect.value });
  } },
  h("label", { for: "insight-segment" }, t("ins.segment")), segSelect,
  h("label", { for: "insight-base" }, t("ins.base")), baseSelect,
  h("button", { type: "submit", class: "primary", id: "insight-run" }, t("ins.run")));
  const body = h("div", { id: "insight" });
  main.append(h("h1", {}, t("ins.title")), form, body);
  if (!name) {
    body.append(h("p", { class: "muted" }, list.length ? t("ins.pick") : t("seg.saved.none")),
      list.length ? null : h("a", { class: "button", href: href("segments", "new") }, t("seg.new")));
    return null;
  }
  body.append(h("p", { class: "muted" }, t("common.loading")));
  let report;
  try {
    report = await fetchInsight(name, baseName);
  } catch (e) {
    clear(body).append(e.status === 404 && e.code === "not_found" && /route/.test(e.message) ? h("p", { class: "notice" }, t("ins.unavailable")) : errorBox(e));
    return null;
  }
  clear(body).append(reportView(report, tagsById, name, baseName), lookalikeView(name));
  return null;
}

export function fetchInsight(name, base) {
  const qs = base ? `?base=${encodeURIComponent(base)}` : "";
  return api.api(`/v1/segments/${encodeURIComponent(name)}/insight${qs}`);
}

function label(tag, tagsById) {
  return localName(tagsById[tag]?.name, tag);
}

function rowsOf(d) {
  return d.values || d.histogram || [];
}

function valueLabel(r, tag) {
  if (r.lo !== undefined && r.hi !== undefined) return `${fmtNum(r.lo)}–${fmtNum(r.hi)}`;
  return fmtValue(r.value, tag?.type === "weighted_set" ? { type: "string" } : tag || {});
}

/** The traits (tag = value) whose TGI is furthest from 100, supported by enough users. */
function topTraits(report, tagsById, n = 15) {
  const out = [];
  for (const d of report.tags || []) {
    for (const r of rowsOf(d)) {
      if (r.tgi == null || r.low_support || !r.segment_count) continue;
      out.push({ label: `${label(d.tag, tagsById)}: ${valueLabel(r, tagsById[d.tag])}`, tgi: r.tgi,
        low: r.tgi_low, high: r.tgi_high, lowSupport: r.low_support, score: Math.abs(Math.log(r.tgi / 100)) });
    }
  }
  return out.sort((a, b) => b.score - a.score).slice(0, n).sort((a, b) => b.tgi - a.tgi);
}

function reportView(report, tagsById, name, baseName) {
  const byTag = Object.fromEntries((report.tags || []).map((d) => [d.tag, d]));
  const tgiEl = h("div", { id: "tgi-chart" });
  const distEl = h("div", { id: "compare-chart" });
  const ranked = (report.ranking || []).filter((r) => byTag[r.tag]);
  const pick = h("select", { id: "compare-tag", "aria-label": t("ins.tag"), onchange: () => drawCompare(pick.value) },
    ranked.map((r) => h("option", { value: r.tag }, label(r.tag, tagsById))));
  const segLabel = `@${name}`;
  const baseLabel = baseName ? `@${baseName}` : t("ins.base.all");

  function drawCompare(tag) {
    const d = byTag[tag];
    if (!d) return;
    const rows = rowsOf(d).slice(0, 20).map((r) => ({ label: valueLabel(r, tagsById[tag]), segment: r.segment_share, base: r.base_share }));
    clear(distEl);
    charts.compare(distEl, rows, { segment: segLabel, base: baseLabel });
  }

  const table = h("table", { class: "ranking", id: "ranking" },
    h("tr", {}, h("th", {}, t("ins.tag")), h("th", {}, t("ins.divergence")), h("th", {}, t("ins.topvalue")), h("th", {}, "TGI")),
    ranked.slice(0, 12).map((r) => h("tr", { "data-tag": r.tag, class: "clickable",
      onclick: () => { pick.value = r.tag; drawCompare(r.tag); distEl.scrollIntoView({ block: "nearest" }); } },
    h("td", {}, label(r.tag, tagsById)),
    h("td", {}, h("span", { class: "bar small" }, h("span", { class: "fill", style: `width:${Math.min(100, r.divergence * 100 / Math.max(ranked[0].divergence, 1e-9)).toFixed(0)}%` })), " ", fmtNum(r.divergence, 3)),
    h("td", {}, r.top_value == null ? t("common.none") : valueLabel({ value: r.top_value }, tagsById[r.tag])),
    h("td", { class: r.top_tgi >= 100 ? "up" : "down" }, r.top_tgi == null ? t("common.none") : fmtNum(r.top_tgi, 0)))));

  const view = h("div", {},
    h("p", { class: "summary", id: "insight-size" }, t("ins.size", { seg: fmtInt(report.segment_size), base: fmtInt(report.base_size) }),
      " · ", fmtPct(report.base_size ? report.segment_size / report.base_size : 0)),
    h("div", { class: "two" },
      h("section", { class: "card" }, h("h2", {}, t("ins.tgi")), h("p", { class: "muted small" }, t("ins.tgi.help")), tgiEl),
      h("section", { class: "card" }, h("h2", {}, t("ins.ranking")), table)),
    h("section", { class: "card" }, h("h2", {}, t("ins.distribution"), " ", pick), distEl));
  requestAnimationFrame(() => {
    const traits = topTraits(report, tagsById);
    if (traits.length) charts.tgiBars(tgiEl, traits);
    else tgiEl.append(h("p", { class: "muted" }, t("common.none")));
    if (ranked.length) drawCompare(ranked[0].tag);
  });
  return view;
}
