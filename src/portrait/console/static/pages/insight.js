// 洞察 · Insight: a saved segment against all users or another segment — TGI bars of the most
// distinguishing traits, the tags ranked by how much they differ, per-tag distributions side by
// side, and the lookalike form.

import * as api from "../api.js";
import * as charts from "../charts.js";
import { add, clear, errorBox, fmtInt, fmtNum, fmtPct, fmtTime, fmtValue, h } from "../dom.js";
import { localName, t } from "../i18n.js";
import { go, href } from "../router.js";
import { lookalikeView } from "./lookalike.js";

export async function render(main, { args, query, me }) {
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
  const support = h("input", { id: "insight-support", type: "number", min: "1", step: "1", value: query.min_support || "30",
    title: t("ins.support.help"), "aria-label": t("ins.support") });
  const form = h("form", { class: "card inline", onsubmit: (ev) => {
    ev.preventDefault();
    if (segSelect.value) go("insight", segSelect.value, { base: baseSelect.value, min_support: support.value === "30" ? "" : support.value });
  } },
  h("label", { for: "insight-segment" }, t("ins.segment")), segSelect,
  h("label", { for: "insight-base" }, t("ins.base")), baseSelect,
  h("label", { for: "insight-support", title: t("ins.support.help") }, t("ins.support")), support,
  h("button", { type: "submit", class: "primary", id: "insight-run" }, t("ins.run")));
  const body = h("div", { id: "insight" });
  main.append(h("h1", {}, t("ins.title")), form, body);
  if (!name) {
    add(body, h("p", { class: "muted" }, list.length ? t("ins.pick") : t("seg.saved.none")),
      list.length ? null : h("a", { class: "button", href: href("segments", "new") }, t("seg.new")));
    return null;
  }
  body.append(h("p", { class: "muted" }, t("common.loading")));
  let report;
  try {
    report = await fetchInsight(name, baseName, query.min_support);
  } catch (e) {
    clear(body).append(e.status === 404 && e.code === "not_found" && /route/.test(e.message) ? h("p", { class: "notice" }, t("ins.unavailable")) : errorBox(e));
    return null;
  }
  clear(body).append(reportView(report, tagsById, name, baseName), lookalikeView(name, me));
  return null;
}

export function fetchInsight(name, base, minSupport) {
  const qs = new URLSearchParams({ vs: base || "all" });
  if (minSupport) qs.set("min_support", minSupport);
  return api.api(`/v1/segments/${encodeURIComponent(name)}/insight?${qs}`);
}

function label(tag, tagsById) {
  return localName(tagsById[tag]?.name, tag);
}

function rowsOf(d) {
  return d.values || d.histogram || [];
}

function valueLabel(r, tag) {
  if (r.lo !== undefined && r.hi !== undefined) {
    const f = typeof r.lo === "string" ? (v) => fmtTime(v, false) : (v) => fmtNum(v);
    return r.lo === r.hi ? f(r.lo) : `${f(r.lo)}–${f(r.hi)}`;
  }
  return fmtValue(r.value, tag?.type === "weighted_set" ? { type: "string" } : tag || {});
}

/**
 * How far a row's TGI is from 100, judged by the near end of its 95% interval (so one user out of
 * eleven does not outrank eleven out of eleven); the point estimate when there is no interval.
 */
function score(r) {
  const near = r.tgi >= 100 ? r.tgi_low : r.tgi_high;
  const x = near > 0 ? near : r.tgi;
  return Math.abs(Math.log(x / 100));
}

/** The row of a tag whose TGI is furthest from 100 among values the segment holds. */
function strongest(d) {
  const rows = rowsOf(d).filter((r) => r.tgi > 0 && r.segment_count > 0);
  const supported = rows.filter((r) => !r.low_support);
  return (supported.length ? supported : rows).sort((a, b) => score(b) - score(a))[0] || null;
}

const MIN_MEMBERS = 3;

/** The service's warnings in the interface language where they are known. */
function warning(text) {
  const small = /has (\d+) users \(< min_support (\d+)\)/.exec(text);
  if (small) return `${t("ins.warn.small", { n: fmtInt(Number(small[1])), min: small[2] })} ${t("ins.lowsupport.note")}`;
  if (/segment is empty/.test(text)) return t("ins.warn.empty");
  return text;
}

/**
 * The traits (tag = value) whose TGI is furthest from 100. Well-supported rows first; a small
 * segment (every row below min_support) still gets its strongest rows, drawn faded and flagged.
 */
function topTraits(report, tagsById, n = 15) {
  const rows = [];
  for (const d of report.tags || []) {
    for (const r of rowsOf(d)) {
      if (r.tgi == null || !(r.tgi > 0) || !r.segment_count) continue;
      rows.push({ label: `${label(d.id || d.tag, tagsById)}: ${valueLabel(r, tagsById[d.id || d.tag])}`, tgi: r.tgi,
        low: r.tgi_low, high: r.tgi_high, lowSupport: r.low_support, count: r.segment_count, score: score(r) });
    }
  }
  const supported = rows.filter((r) => !r.lowSupport).sort((a, b) => b.score - a.score);
  // below the minimum, a trait held by one or two members is an anecdote, not a trait
  const weak = rows.filter((r) => r.lowSupport && r.count >= MIN_MEMBERS).sort((a, b) => b.score - a.score);
  return [...supported, ...weak].slice(0, n).sort((a, b) => b.tgi - a.tgi);
}

function reportView(report, tagsById, name, baseName) {
  const byTag = Object.fromEntries((report.tags || []).map((d) => [d.id || d.tag, d]));
  const tgiEl = h("div", { id: "tgi-chart" });
  const distEl = h("div", { id: "compare-chart" });
  const ranked = (report.ranking || []).filter((r) => byTag[r.tag]);
  const pick = h("select", { id: "compare-tag", "aria-label": t("ins.tag"), onchange: () => drawCompare(pick.value) },
    ranked.map((r) => h("option", { value: r.tag }, label(r.tag, tagsById))));
  const segLabel = `@${name}`;
  const baseLabel = baseName ? `@${baseName}` : t("ins.base.all");
  const segSize = report.segment?.size ?? report.segment_size;
  const baseSize = report.base?.size ?? report.base_size;
  const maxDiv = Math.max(...ranked.map((r) => r.divergence), 1e-9);

  function drawCompare(tag) {
    const d = byTag[tag];
    if (!d) return;
    let rows = rowsOf(d);
    if (!d.histogram && rows.length > 12) {  // categories: the 12 values that weigh most on either side
      const weight = (r) => Math.max(r.segment_share || 0, r.base_share || 0);
      rows = [...rows].sort((a, b) => weight(b) - weight(a)).slice(0, 12);
    }
    rows = rows.map((r) => ({ label: valueLabel(r, tagsById[tag]), segment: r.segment_share, base: r.base_share }));
    clear(distEl);
    charts.compare(distEl, rows, { segment: segLabel, base: baseLabel });
  }

  const table = h("table", { class: "ranking", id: "ranking" },
    h("tr", {}, h("th", {}, t("ins.tag")), h("th", {}, t("ins.divergence")), h("th", {}, t("ins.topvalue")), h("th", {}, "TGI")),
    ranked.slice(0, 12).map((r) => {
      const best = strongest(byTag[r.tag]);
      return h("tr", { "data-tag": r.tag, class: "clickable", title: t("ins.ranking.click"),
        onclick: () => { pick.value = r.tag; drawCompare(r.tag); distEl.scrollIntoView({ block: "nearest" }); } },
      h("td", {}, label(r.tag, tagsById)),
      h("td", {}, h("span", { class: "bar small" }, h("span", { class: "fill", style: `width:${(r.divergence * 100 / maxDiv).toFixed(0)}%` })), " ", fmtNum(r.divergence, 3)),
      h("td", { class: best?.low_support ? "muted" : "" }, best ? valueLabel(best, tagsById[r.tag]) : t("common.none"),
        best?.low_support ? " *" : ""),
      h("td", { class: best && best.tgi >= 100 ? "up" : "down" }, best ? fmtNum(best.tgi, 0) : t("common.none")));
    }));

  const view = h("div", {},
    h("p", { class: "summary", id: "insight-size" }, t("ins.size", { seg: fmtInt(segSize), base: fmtInt(baseSize) }),
      " · ", fmtPct(baseSize ? segSize / baseSize : 0)),
    (report.warnings || []).map((w) => h("p", { class: "notice" }, warning(w))),
    h("div", { class: "two" },
      h("section", { class: "card" }, h("h2", {}, t("ins.tgi")), h("p", { class: "muted small" }, t("ins.tgi.help")), tgiEl),
      h("section", { class: "card" }, h("h2", {}, t("ins.ranking")), table,
        h("p", { class: "muted small" }, `* ${t("ins.lowsupport")}`))),
    h("section", { class: "card" }, h("h2", {}, t("ins.distribution"), " ", pick), distEl));
  requestAnimationFrame(() => {
    const traits = topTraits(report, tagsById);
    if (traits.length) charts.tgiBars(tgiEl, traits);
    else tgiEl.append(h("p", { class: "muted" }, t("common.none")));
    if (ranked.length) drawCompare(ranked[0].tag);
  });
  return view;
}
