// 相似人群扩展 · Lookalike: expand a saved seed segment to a chosen number of similar users.

import * as api from "../api.js";
import { clear, errorBox, fmtInt, fmtNum, h } from "../dom.js";
import { t } from "../i18n.js";

/** The lookalike form, or a note when this server has no lookalike route (read from its OpenAPI). */
export function lookalikeView(seed) {
  const box = h("section", { class: "card lookalike", id: "lookalike" }, h("h2", {}, t("ins.lookalike")));
  api.openapi().then((spec) => {
    if (ROUTE in (spec.paths || {})) box.append(form(seed));
    else box.append(h("p", { class: "muted", id: "lookalike-unavailable" }, t("ins.lookalike.unavailable")));
  });
  return box;
}

const ROUTE = "/v1/segments/{name}/lookalike";

function form(seed) {
  const size = h("input", { id: "lookalike-size", type: "number", min: "1", step: "1", value: "500", "aria-label": t("ins.lookalike.size") });
  const out = h("div", { id: "lookalike-result" });
  const f = h("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    clear(out).append(h("p", { class: "muted" }, t("common.loading")));
    try {
      const data = await api.api(`/v1/segments/${encodeURIComponent(seed)}/lookalike`, { method: "POST", body: { size: Number(size.value) } });
      clear(out).append(result(data));
    } catch (e) {
      clear(out).append(e.status === 404 && /route/.test(e.message) ? h("p", { class: "notice" }, t("ins.lookalike.unavailable")) : errorBox(e));
    }
  } },
  h("label", { for: "lookalike-size" }, t("ins.lookalike.size")), size,
  h("button", { type: "submit", id: "lookalike-run" }, t("ins.lookalike.run")));
  return [h("p", { class: "muted small" }, t("ins.lookalike.help")), f, out];
}

function result(data) {
  const users = data.users || data.user_ids || [];
  return h("div", {},
    h("p", { class: "summary" }, t("ins.lookalike.result", { n: fmtInt(data.size ?? users.length) })),
    h("ol", { class: "lookalike-users" }, users.slice(0, 20).map((u) => h("li", {},
      typeof u === "object" ? `${u.user_id}  (${fmtNum(u.score, 3)})` : String(u)))));
}
