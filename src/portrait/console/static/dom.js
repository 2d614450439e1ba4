// DOM building without innerHTML (so no value from the API is ever parsed as HTML) and formatting.

import { getLang, t, word } from "./i18n.js";

/** h("div", {class: "x", onclick: fn}, child, [children], "text") → an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled" || k === "multiple") el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** el.append for what h() accepts: nested arrays flattened, null/false skipped, text as text. */
export function add(el, ...children) {
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function locale() {
  return getLang() === "zh" ? "zh-CN" : "en-GB";
}

export function fmtInt(n) {
  return n === null || n === undefined ? t("common.none") : Number(n).toLocaleString(locale());
}

export function fmtNum(n, digits = 2) {
  if (n === null || n === undefined || n === "") return t("common.none");
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  return x.toLocaleString(locale(), { maximumFractionDigits: Math.abs(x) < 1 ? 4 : digits });
}

export function fmtPct(x, digits = 1) {
  if (x === null || x === undefined) return t("common.none");
  return `${(Number(x) * 100).toLocaleString(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits })}%`;
}

export function fmtTime(iso, withTime = true) {
  if (!iso) return t("common.none");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const opts = withTime
    ? { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
    : { year: "numeric", month: "short", day: "numeric" };
  return d.toLocaleString(locale(), opts);
}

/** A tag value as people read it: units, booleans, timestamps, lists of keys. */
export function fmtValue(value, tag = {}) {
  if (value === null || value === undefined) return t("profile.empty");
  switch (tag.type) {
    case "bool":
      return value === true || value === "true" ? t("common.yes") : t("common.no");
    case "timestamp":
      return fmtTime(value);
    case "date":
      return fmtTime(value, false);
    case "integer":
    case "number": {
      const s = fmtNum(value);
      return tag.unit ? `${s} ${word(tag.unit)}` : s;
    }
    default:
      if (Array.isArray(value)) return value.map((v) => (typeof v === "object" ? v.key ?? JSON.stringify(v) : v)).join(", ");
      if (typeof value === "object") return JSON.stringify(value);
      return String(value);
  }
}

/** A message box for an ApiError or any error. */
export function errorBox(err) {
  const net = err && (err.status === 0 || err.code === "network");
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, net ? t("common.offline") : err.message || String(err)),
    err && err.hint ? h("div", { class: "hint" }, err.hint) : null);
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export function download(filename, text, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
