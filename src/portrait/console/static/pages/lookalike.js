// 相似人群扩展 · Lookalike: grow a saved seed segment to N similar users, with the features that
// drive the choice. Shown only when the server has the route (read from its OpenAPI document).

import * as api from "../api.js";
import * as charts from "../charts.js";
import { clear, errorBox, fmtInt, fmtNum, fmtPct, h } from "../dom.js";
import { t } from "../i18n.js";
import { href } from "../router.js";

const ROUTE = "/v1/segments/{name}/lookalike";

export function lookalikeView(seed, me) {
  const box = h("section", { class: "card lookalike", id: "lookalike" }, h("h2", {}, t("ins.lookalike")));
  api.openapi().then((spec) => {
    if (ROUTE in (spec.paths || {})) box.append(...form(seed, me));
    else box.append(h("p", { class: "muted", id: "lookalike-unavailable" }, t("ins.lookalike.unavailable")));
  });
  return box;
}

function form(seed, me) {
  const size = h("input", { id: "lookalike-size", type: "number", min: "1", step: "1", value: "100", "aria-label": t("ins.lookalike.size") });
  const method = h("select", { id: "lookalike-method", "aria-label": t("ins.lookalike.method") },
    h("option", { value: "pu" }, t("ins.lookalike.pu")), h("option", { value: "centroid" }, t("ins.lookalike.centroid")));
  const compare = h("input", { id: "lookalike-compare", type: "checkbox" });
  const canSave = me && me.scopes.includes("segments:write");
  const save = h("input", { id: "lookalike-save", placeholder: t("ins.lookalike.save.example"), pattern: "[a-z][a-z0-9_]{0,62}",
    disabled: !canSave, title: canSave ? "" : t("scope.missing", { scope: "segments:write" }) });
  const out = h("div", { id: "lookalike-result" });
  const run = h("button", { type: "submit", class: "primary", id: "lookalike-run" }, t("ins.lookalike.run"));
  const f = h("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    run.disabled = true;
    clear(out).append(h("p", { class: "muted" }, t("ins.lookalike.running")));
    try {
      const body = { size: Number(size.value), method: method.value, compare: compare.checked };
      if (save.value.trim()) body.save = save.value.trim();
      const data = await api.api(`/v1/segments/${encodeURIComponent(seed)}/lookalike`, { method: "POST", body });
      clear(out).append(result(data));
    } catch (e) {
      clear(out).append(errorBox(e));
    } finally {
      run.disabled = false;
    }
  } },
  h("label", { for: "lookalike-size" }, t("ins.lookalike.size")), size,
  h("label", { for: "lookalike-method" }, t("ins.lookalike.method")), method,
  h("label", { class: "check" }, compare, " ", t("ins.lookalike.compare")),
  h("label", { for: "lookalike-save" }, t("ins.lookalike.save")), save,
  run);
  return [h("p", { class: "muted small" }, t("ins.lookalike.help")), f, out];
}

function result(d) {
  const drivers = h("div", { id: "lookalike-drivers" });
  const view = h("div", {},
    h("p", { class: "summary", id: "lookalike-summary" },
      t("ins.lookalike.result", { n: fmtInt(d.size), seed: fmtInt(d.seed?.size), candidates: fmtInt(d.candidates) })),
    d.saved ? h("p", { class: "ok" }, t("ins.lookalike.saved", { name: `lookalike:${d.saved.name || ""}` })) : null,
    d.comparison ? h("p", { class: "muted small", id: "lookalike-comparison" }, t("ins.lookalike.recall"), " ",
      Object.entries(d.comparison).map(([m, c]) => `${m}: ${fmtPct(c.recall)} (${fmtInt(c.held_out)})`).join(" · ")) : null,
    h("div", { class: "two" },
      h("div", {}, h("h3", {}, t("ins.lookalike.drivers")), h("p", { class: "muted small" }, t("ins.lookalike.drivers.help")), drivers),
      h("div", {}, h("h3", {}, t("ins.lookalike.members")),
        h("table", { class: "ranking", id: "lookalike-members" },
          h("tr", {}, h("th", {}, "#"), h("th", {}, t("seg.explain.user")), h("th", {}, t("ins.lookalike.score")),
            h("th", {}, t("ins.lookalike.percentile"))),
          (d.members || []).map((m) => h("tr", {},
            h("td", {}, m.rank), h("td", {}, h("a", { href: href("profile", m.user_id) }, m.user_id)),
            h("td", {}, fmtNum(m.score, 3)), h("td", {}, fmtPct(m.percentile, 2))))))));
  requestAnimationFrame(() => {
    const rows = (d.drivers || []).slice(0, 12).map((x) => ({
      label: `${x.direction === "lower" ? "↓" : "↑"} ${x.feature}`, value: x.contribution }));
    if (rows.length) charts.hbar(drivers, rows, { name: t("ins.lookalike.contribution"), labelWidth: 34 });
    else drivers.append(h("p", { class: "muted" }, t("common.none")));
  });
  return view;
}
