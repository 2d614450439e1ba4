// 用户画像 · Profile viewer: one user's tags grouped by taxonomy, interest weights as bars, model
// tags with their probability, real-time tags, and recent events as a timeline.

import * as api from "../api.js";
import { add, clear, errorBox, fmtInt, fmtNum, fmtPct, fmtTime, fmtValue, h, locale } from "../dom.js";
import { kindName, localName, nodeName, t, word } from "../i18n.js";
import { go, href } from "../router.js";

const LEVEL1 = ["人口属性", "用户价值", "消费特征", "兴趣偏好", "生命周期", "行为特征", "预测标签"];

export async function render(main, { args }) {
  const userId = args[0] || "";
  const input = h("input", { type: "search", id: "user-search", value: userId, placeholder: t("profile.search"),
    "aria-label": t("profile.search"), required: true });
  const form = h("form", { class: "searchbar card", onsubmit: (ev) => {
    ev.preventDefault();
    if (input.value.trim()) go("profile", input.value.trim());
  } }, input, h("button", { type: "submit", class: "primary", id: "user-go" }, t("profile.go")));
  const body = h("div", { id: "profile" });
  main.append(form, body);
  if (!userId) {
    body.append(h("p", { class: "muted" }, t("profile.intro")), examples());
    input.focus();
    return null;
  }
  body.append(h("p", { class: "muted" }, t("common.loading")));
  const path = `/v1/profiles/${encodeURIComponent(userId)}`;
  const [profile, events, catalog] = await Promise.allSettled([api.api(path), api.api(`${path}/events?limit=50`), api.tags()]);
  clear(body);
  if (profile.status === "rejected") {
    const e = profile.reason;
    body.append(e.status === 404 ? h("div", { class: "card empty" }, t("profile.notfound", { id: userId })) : errorBox(e));
    return null;
  }
  const meta = catalog.status === "fulfilled" ? Object.fromEntries(catalog.value.map((tg) => [tg.id, tg])) : {};
  body.append(header(profile.value),
    h("div", { class: "profile-grid" },
      h("div", { class: "groups" }, groups(profile.value, meta)),
      h("aside", { class: "timeline card", id: "timeline" }, timeline(events))));
  return null;
}

/** A few real user ids to try, taken from the first saved segment (none when there is none). */
function examples() {
  const box = h("p", { class: "examples", id: "profile-examples" });
  api.api("/v1/segments").then(async (list) => {
    const seg = (Array.isArray(list) ? list : []).find((s) => s.size);
    if (!seg) return;
    const page = await api.api(`/v1/segments/${encodeURIComponent(seg.name)}/users?limit=5`);
    add(box, h("span", { class: "muted small" }, t("profile.examples", { name: seg.name })), " ",
      page.users.map((u) => [h("a", { href: href("profile", u), class: "chip" }, u), " "]));
  }).catch(() => {});
  return box;
}

function header(p) {
  const rt = p.realtime || {};
  const quiet = !rt.pending_events && !rt.events_today;
  return h("section", { class: "card profile-head" },
    h("h1", {}, h("span", { class: "muted" }, "ID "), h("span", { id: "profile-user" }, p.user_id)),
    p.in_snapshot === false ? h("p", { class: "notice" }, t("profile.notinsnapshot")) : null,
    h("dl", { class: "facts inline" },
      h("dt", {}, t("profile.asof")), h("dd", {}, fmtTime(p.as_of, false)),
      h("dt", {}, t("profile.snapshot")), h("dd", {}, h("code", {}, p.snapshot_id)),
      h("dt", {}, t("profile.realtime")),
      h("dd", { id: "realtime" }, quiet ? h("span", { class: "muted" }, t("profile.rt.none")) : [
        `${t("profile.rt.last")}: ${fmtTime(rt.last_active_at)} · `,
        `${t("profile.rt.today")}: ${fmtInt(rt.events_today)} · `,
        `${t("profile.rt.pending")}: ${fmtInt(rt.pending_events)}`])));
}

/** The response's groups (one per full taxonomy path) folded into level-1 sections. */
function groups(p, meta) {
  const sections = new Map();
  for (const g of p.groups || []) {
    const top = g.taxonomy[0] || "";
    if (!sections.has(top)) sections.set(top, []);
    for (const tag of g.tags) sections.get(top).push({ ...tag, path: g.taxonomy.slice(1) });
  }
  const order = [...sections.keys()].sort((a, b) => rank(a) - rank(b));
  const rtInterest = (p.realtime || {}).interest || {};
  return order.map((top) => h("section", { class: "card group", "data-taxonomy": top },
    h("h2", {}, nodeName(top), nodeName(top) !== top ? h("small", { class: "muted" }, ` ${top}`) : null),
    h("table", { class: "tags" }, sections.get(top).map((tag) => row(tag, meta[tag.id] || {}, rtInterest[tag.id])))));
}

const rank = (term) => (LEVEL1.includes(term) ? LEVEL1.indexOf(term) : LEVEL1.length);

function row(tag, meta, realtime) {
  const name = h("th", {},
    h("a", { href: href("tags", tag.id), title: tag.id }, localName(tag.name, tag.id)),
    tag.path.length ? h("div", { class: "muted small" }, tag.path.map(nodeName).join(" › ")) : null);
  return h("tr", { "data-tag": tag.id }, name, h("td", {}, value(tag, meta, realtime)),
    h("td", { class: "kind" }, h("span", { class: `pill kind-${tag.kind}` }, kindName(tag.kind))));
}

function value(tag, meta, realtime) {
  if (tag.masked) {
    return h("span", { class: "masked", title: t("profile.masked") }, h("span", { class: "pill pii" }, t("tags.pii")), " ",
      String(tag.value ?? ""), " ", h("span", { class: "muted small" }, t("profile.masked")));
  }
  if (tag.value === null || tag.value === undefined) return h("span", { class: "muted" }, t("profile.empty"));
  if (tag.type === "weighted_set" && Array.isArray(tag.value)) return weights(tag.value, realtime);
  if (isProbability(tag, meta)) return probability(tag.value);
  return h("span", { class: "value" }, fmtValue(tag.value, tag));
}

function isProbability(tag, meta) {
  const x = Number(tag.value);
  return (tag.kind === "model" || tag.kind === "predicted") && tag.type === "number" && x >= 0 && x <= 1
    && !meta.unit;
}

function probability(x) {
  return h("div", { class: "bar-row" },
    h("span", { class: "bar" }, h("span", { class: "fill prob", style: `width:${(Number(x) * 100).toFixed(1)}%` })),
    h("span", { class: "num" }, fmtPct(x)), h("span", { class: "muted small" }, ` ${t("profile.probability")}`));
}

function weights(list, realtime) {
  const max = Math.max(...list.map((w) => Math.abs(Number(w.weight) || 0)), 1e-9);
  const bars = list.map((w) => h("div", { class: "bar-row", title: `${w.key}: ${fmtNum(w.weight, 3)}` },
    h("span", { class: "key" }, w.key),
    h("span", { class: "bar" }, h("span", { class: `fill${w.weight < 0 ? " neg" : ""}`,
      style: `width:${(Math.abs(w.weight) / max * 100).toFixed(1)}%` })),
    h("span", { class: "num" }, fmtNum(w.weight, 2))));
  const recent = (realtime || []).filter((w) => w.weight);
  return h("div", { class: "weights" }, bars,
    recent.length ? h("div", { class: "muted small" }, `${t("profile.realtime")}: `,
      recent.map((w) => `${w.key} +${fmtNum(w.weight, 2)}`).join(", ")) : null);
}

function timeline(result) {
  const head = h("h2", {}, t("profile.events"));
  if (result.status === "rejected") {
    return [head, result.reason.status === 404 ? h("p", { class: "muted" }, t("profile.events.none")) : errorBox(result.reason)];
  }
  const { events, total } = result.value;
  if (!events.length) return [head, h("p", { class: "muted" }, t("profile.events.none"))];
  const days = new Map();
  for (const e of events) {
    const day = new Date(e.event_time).toLocaleDateString(locale(), { year: "numeric", month: "short", day: "numeric", weekday: "short" });
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(e);
  }
  return [head, h("p", { class: "muted small" }, t("profile.events.count", { shown: events.length, total: fmtInt(total) })),
    h("ol", { class: "events" }, [...days].map(([day, list]) => h("li", { class: "day" },
      h("div", { class: "day-label" }, day),
      h("ul", {}, list.map(eventItem)))))];
}

function eventItem(e) {
  const time = new Date(e.event_time).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  const desc = e.props && typeof e.props === "object" ? e.props.description : null;
  const what = [desc || e.category, e.item_id && `#${e.item_id}`].filter(Boolean).join(" ");
  const numbers = [e.quantity != null ? `${t("profile.events.qty")} ${fmtNum(e.quantity)}` : "",
    e.amount != null ? `${t("profile.events.amount")} ${fmtNum(e.amount)}` : ""].filter(Boolean).join(" · ");
  return h("li", { class: `event type-${e.event_type}` },
    h("span", { class: "time" }, time),
    h("span", {}, h("span", { class: `pill ev-${e.event_type}`, title: e.event_type }, word(e.event_type)),
      e.pending ? h("span", { class: "pill live" }, t("profile.events.pending")) : null),
    h("span", { class: "num" }, numbers),
    h("span", { class: "what", title: what }, what));
}
