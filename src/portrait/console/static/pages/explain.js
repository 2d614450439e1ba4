// "Why is this user (not) in this segment?": GET /v1/segments/{name}/explain/{user_id}, drawn as
// the expression tree with each clause marked true or false and the user's values beside it.

import * as api from "../api.js";
import { add, clear, errorBox, h } from "../dom.js";
import { t } from "../i18n.js";

export function explainView(seg) {
  const input = h("input", { id: "explain-user", placeholder: t("seg.explain.example"), "aria-label": t("seg.explain.user"), required: true });
  const out = h("div", { id: "explain-result" });
  const form = h("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    const user = input.value.trim();
    if (!user) return;
    clear(out).append(h("p", { class: "muted" }, t("common.loading")));
    try {
      const data = await api.api(`/v1/segments/${encodeURIComponent(seg.name)}/explain/${encodeURIComponent(user)}`);
      clear(out).append(result(seg.name, user, data));
    } catch (e) {
      clear(out).append(errorBox(e));
    }
  } }, input, h("button", { type: "submit", id: "explain-go" }, t("seg.explain.go")));
  const members = h("p", { class: "examples" });
  api.api(`/v1/segments/${encodeURIComponent(seg.name)}/users?limit=3`).then((page) => {
    if (!page.users.length) return;
    add(members, h("span", { class: "muted small" }, t("seg.explain.members")), " ", page.users.map((u) => [
      h("button", { type: "button", class: "chip", onclick: () => { input.value = u; form.requestSubmit(); } }, u), " "]));
  }).catch(() => {});
  return h("div", { class: "explain" }, h("h2", {}, t("seg.explain")), form, members, out);
}

function result(name, user, data) {
  return h("div", {},
    h("p", { class: data.member ? "verdict yes" : "verdict no", id: "explain-verdict" },
      t(data.member ? "seg.explain.in" : "seg.explain.out", { user, name: `@${name}` })),
    h("p", { class: "muted small" }, t("seg.explain.legend")),
    h("div", { class: "explain-tree" }, node(data.explanation)));
}

const MARK = { true: "✓", false: "✗", unknown: "?" };

/** One clause: ✓ / ✗ / ? (unknown: the user has no value), the text, the user's value; children below. */
function node(n) {
  if (!n) return null;
  const kids = n.children || [];
  const own = n.kind === "predicate"
    ? h("span", { class: "muted small" }, ` ${n.tag}${n.key ? `['${n.key}']` : ""} = ${show(n.value)}`) : null;
  const head = n.kind === "AND" || n.kind === "OR" || n.kind === "NOT"
    ? h("strong", {}, n.kind) : n.kind === "segment" ? h("code", {}, `@${n.segment}`) : h("code", {}, n.clause);
  return h("div", { class: `clause ${n.result}`, "data-result": n.result },
    h("span", { class: "mark", title: n.result }, MARK[n.result] || "•"), " ", head, own,
    kids.length ? h("div", { class: "children" }, kids.map(node)) : null);
}

function show(v) {
  if (v === null || v === undefined) return t("profile.empty");
  if (Array.isArray(v)) return v.map((x) => (x && typeof x === "object" ? `${x.key}:${x.weight}` : x)).join(", ");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
