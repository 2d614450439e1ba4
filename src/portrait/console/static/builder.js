// The segment builder's rows: tag picker → operator → value picker (values with their user counts
// from the tag's distribution), in AND/OR groups. It edits a plain state object in place and calls
// `onChange` after every edit; the page turns the state into expression text and a live count.

import * as api from "./api.js";
import { clear, fmtInt, fmtNum, h } from "./dom.js";
import { opsFor } from "./expr.js";
import { localName, nodeName, t } from "./i18n.js";

const LEVEL1 = ["人口属性", "用户价值", "消费特征", "兴趣偏好", "生命周期", "行为特征", "预测标签"];
const SYMBOLS = { eq: "=", ne: "≠", gt: ">", ge: "≥", lt: "<", le: "≤" };

export function emptyCondition(tag = "") {
  return { tag, op: "", value: "", values: [], low: "", high: "", key: "", days: "" };
}

/**
 * Render the builder for `state` (a root group). ctx: {tags, tagsById, segments, onChange}.
 * Returns the element; it redraws itself on structural edits.
 */
export function builder(state, ctx) {
  const box = h("div", { class: "builder", id: "builder" });
  const redraw = () => {
    clear(box).append(groupView(state, ctx, true, () => { redraw(); ctx.onChange(); }));
  };
  redraw();
  return box;
}

function groupView(group, ctx, isRoot, structural, onRemove) {
  const combinator = h("select", { class: "combinator", "aria-label": t("seg.match"),
    onchange: () => { group.op = combinator.value; ctx.onChange(); } },
  h("option", { value: "AND", selected: group.op === "AND" }, t("seg.all")),
  h("option", { value: "OR", selected: group.op === "OR" }, t("seg.any")));
  const items = h("div", { class: "items" });
  group.items.forEach((item, i) => {
    const remove = () => { group.items.splice(i, 1); structural(); };
    items.append(item.items ? groupView(item, ctx, false, structural, remove) : conditionView(item, ctx, structural, remove));
  });
  const actions = h("div", { class: "actions" },
    h("button", { type: "button", class: "add-condition", onclick: () => { group.items.push(emptyCondition()); structural(); } }, t("seg.addcond")),
    isRoot ? h("button", { type: "button", class: "add-group",
      onclick: () => { group.items.push({ op: group.op === "AND" ? "OR" : "AND", items: [emptyCondition()] }); structural(); } }, t("seg.addgroup")) : null,
    onRemove ? h("button", { type: "button", class: "ghost remove", onclick: onRemove }, t("seg.remove")) : null);
  return h("div", { class: `group${isRoot ? " root" : " nested"}` },
    h("div", { class: "group-head" }, h("span", {}, t("seg.match")), " ", combinator),
    items, actions);
}

function tagPicker(c, ctx, onPick) {
  const select = h("select", { class: "tag-picker", "aria-label": t("seg.tag"), onchange: () => onPick(select.value) },
    h("option", { value: "" }, t("seg.tag")));
  const byTop = new Map();
  for (const tag of ctx.tags) {
    const top = tag.taxonomy?.[0] || "";
    if (!byTop.has(top)) byTop.set(top, []);
    byTop.get(top).push(tag);
  }
  const order = [...byTop.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const top of order) {
    select.append(h("optgroup", { label: nodeName(top) },
      byTop.get(top).map((tag) => h("option", { value: tag.id, selected: c.tag === tag.id },
        `${localName(tag.name, tag.id)} (${tag.id})`))));
  }
  if (ctx.segments.length) {
    select.append(h("optgroup", { label: t("seg.segments") },
      ctx.segments.map((s) => h("option", { value: `@${s.name}`, selected: c.tag === `@${s.name}` }, `@${s.name}`))));
  }
  if (c.tag && ![...select.options].some((o) => o.value === c.tag)) {
    select.append(h("option", { value: c.tag, selected: true }, c.tag));
  }
  return select;
}

const rank = (term) => (LEVEL1.includes(term) ? LEVEL1.indexOf(term) : LEVEL1.length);

function tagOf(c, ctx) {
  if (c.tag.startsWith("@")) return { id: c.tag, segment: true };
  return ctx.tagsById[c.tag];
}

function conditionView(c, ctx, structural, onRemove) {
  const tag = c.tag ? tagOf(c, ctx) : null;
  const ops = opsFor(tag || (c.tag ? { type: "string" } : null));
  if (c.tag && !ops.includes(c.op)) {
    c.op = ops[0];
    if (c.op === "within" && !c.days) c.days = "30";
  }
  const picker = tagPicker(c, ctx, (id) => {
    Object.assign(c, emptyCondition(id));
    if (id.startsWith("@")) c.value = id.slice(1);
    structural();
  });
  const op = h("select", { class: "op-picker", "aria-label": t("seg.op"), hidden: !c.tag,
    onchange: () => {
      c.op = op.value;
      if ((c.op === "within" || c.op === "ago") && !c.days) c.days = "30";
      structural();
    } },
  ops.map((o) => h("option", { value: o, selected: c.op === o }, SYMBOLS[o] || t(`op.${o}`))));
  const value = h("span", { class: "value-box" });
  if (c.tag && !c.tag.startsWith("@")) valuePicker(c, tag || { type: "string" }, ctx, value);
  return h("div", { class: "cond", "data-tag": c.tag || "" }, picker, op, value,
    h("button", { type: "button", class: "ghost remove", title: t("seg.remove"), "aria-label": t("seg.remove"), onclick: onRemove }, "×"));
}

/** The value input(s) for the condition's operator, filled from the tag's distribution. */
function valuePicker(c, tag, ctx, box) {
  const changed = () => ctx.onChange();
  const input = (attrs, field) => h("input", { ...attrs, class: "value-input", value: c[field] ?? "",
    oninput: (ev) => { c[field] = ev.target.value; changed(); } });
  switch (c.op) {
    case "null": case "notnull": case "true": case "false":
      return;
    case "gt": case "ge": case "lt": case "le": case "eq": case "ne":
      if (tag.type === "integer" || tag.type === "number") {
        box.append(input({ type: "number", step: "any", "aria-label": t("seg.value") }, "value"));
        hintQuantiles(tag, box);
        return;
      }
      box.append(valueSelect(c, tag, false, changed));
      return;
    case "in": case "notin":
      box.append(valueSelect(c, tag, true, changed), h("span", { class: "muted small hint" }, t("seg.multi")));
      return;
    case "between":
      box.append(input({ type: "number", step: "any", "aria-label": "low" }, "low"), " – ",
        input({ type: "number", step: "any", "aria-label": "high" }, "high"));
      hintQuantiles(tag, box);
      return;
    case "like":
      box.append(input({ type: "text", placeholder: "%pattern%", "aria-label": t("seg.value") }, "value"));
      return;
    case "has":
      box.append(keySelect(c, tag, changed));
      return;
    case "weight":
      box.append(keySelect(c, tag, changed), " ",
        input({ type: "number", step: "0.05", min: "-1", max: "1", placeholder: "0.2", "aria-label": t("profile.weights") }, "value"));
      return;
    case "within": case "ago":
      box.append(input({ type: "number", min: "0", step: "1", "aria-label": t("seg.days") }, "days"), ` ${t("seg.days")}`);
      return;
    case "after": case "before":
      box.append(input({ type: "date", "aria-label": t("seg.value") }, "value"));
      return;
    default:
  }
}

function distributionValues(tag) {
  return api.tag(tag.id).then((d) => d.stats?.distribution || {});
}

function valueSelect(c, tag, multiple, changed) {
  const select = h("select", { class: "value-picker", multiple, size: multiple ? 6 : undefined, "aria-label": t("seg.value"),
    onchange: () => {
      if (multiple) c.values = [...select.selectedOptions].map((o) => o.value);
      else c.value = select.value;
      changed();
    } });
  if (!multiple) select.append(h("option", { value: "" }, t("seg.value")));
  const chosen = new Set(multiple ? c.values : [c.value].filter(Boolean));
  const add = (value, label) => select.append(h("option", { value, selected: chosen.has(value) }, label));
  const known = new Set();
  if (tag.type === "bool") {
    add("true", t("common.yes"));
    add("false", t("common.no"));
    return select;
  }
  distributionValues(tag).then((dist) => {
    const counts = new Map((dist.values || []).map((v) => [String(v.value), v.count]));
    const values = [...counts.keys()];
    for (const v of tag.values || []) if (!counts.has(String(v))) values.push(String(v));
    for (const v of values) {
      known.add(v);
      add(v, counts.has(v) ? `${v} (${fmtInt(counts.get(v))})` : v);
    }
    for (const v of chosen) if (!known.has(v)) add(v, v);
  }).catch(() => {
    for (const v of chosen) add(v, v);
  });
  return select;
}

function keySelect(c, tag, changed) {
  const select = h("select", { class: "key-picker", "aria-label": t("seg.key"),
    onchange: () => { c.key = select.value; changed(); } }, h("option", { value: "" }, t("seg.key")));
  distributionValues(tag).then((dist) => {
    const keys = (dist.keys || []).map((k) => [String(k.key), k.users]);
    for (const [k, n] of keys) select.append(h("option", { value: k, selected: c.key === k }, `${k} (${fmtInt(n)})`));
    if (c.key && !keys.some(([k]) => k === c.key)) select.append(h("option", { value: c.key, selected: true }, c.key));
  }).catch(() => {});
  return select;
}

function hintQuantiles(tag, box) {
  distributionValues(tag).then((dist) => {
    const q = dist.quantiles;
    if (!q) return;
    const p = (k) => q[k] ?? q[Number(k)];
    box.append(h("span", { class: "muted small hint" },
      ` p5 ${fmtNum(p("0.05"))} · p50 ${fmtNum(p("0.5"))} · p95 ${fmtNum(p("0.95"))}`));
  }).catch(() => {});
}
