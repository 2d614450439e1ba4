// 人群圈选 · Segment builder: condition rows ⇄ expression text, a live (debounced) count, save,
// CSV export of the members and "why is this user (not) in it" for a saved segment.

import * as api from "../api.js";
import { builder, emptyCondition } from "../builder.js";
import { add, clear, debounce, download, errorBox, fmtInt, fmtPct, h } from "../dom.js";
import { conditionText, ExprError, toRows, toText } from "../expr.js";
import { t } from "../i18n.js";
import { go, href } from "../router.js";
import { explainView } from "./explain.js";

// Kept across renders (a language switch redraws the page but must not lose the audience).
let state = fresh();

function fresh(tag = "") {
  return { root: { op: "AND", items: [emptyCondition(tag)] }, text: "", rowsOk: true, name: "", description: "", loaded: "" };
}

export async function render(main, { args, query, me }) {
  const [name] = args;
  const [catalog, segments] = await Promise.all([api.tags(), listSegments()]);
  const tagsById = Object.fromEntries(catalog.map((tg) => [tg.id, tg]));
  if (name === "new") {
    if (state.loaded || query.tag || query.expr) state = fresh(query.tag || "");
    if (query.expr) setText(query.expr, tagsById);
  } else if (name && state.loaded !== name) {
    const seg = segments.list.find((s) => s.name === name);
    state = fresh();
    if (seg) {
      state.loaded = name;
      state.name = name;
      state.description = seg.description || "";
      setText(seg.expression, tagsById);
    }
  }

  const canWrite = me.scopes.includes("segments:write");
  const exprBox = h("textarea", { id: "expression", rows: 3, spellcheck: "false", "aria-label": t("seg.expression") });
  const exprNote = h("div", { class: "notice", id: "expression-note", hidden: true });
  const exprError = h("div", { class: "error", id: "expression-error", hidden: true });
  const countBox = h("div", { class: "count", id: "live-count" });
  const incompleteNote = h("p", { class: "muted small", id: "incomplete-note", hidden: true });
  const rowsBox = h("div");
  const ctx = { tags: catalog, tagsById, segments: segments.list, onChange: rowsChanged };

  function drawRows() {
    clear(rowsBox).append(builder(state.root, ctx));
  }
  function rowsChanged() {
    state.text = toText(state.root, tagsById);
    state.rowsOk = true;
    exprBox.value = state.text;
    exprNote.hidden = true;
    count();
  }
  exprBox.value = state.text;
  exprBox.addEventListener("input", debounce(() => {
    setText(exprBox.value, tagsById);
    exprNote.hidden = state.rowsOk;
    exprNote.textContent = t("seg.notrows");
    if (state.rowsOk) drawRows();
    count();
  }, 250));

  // ---- live count -------------------------------------------------------------------------
  let seq = 0;
  let controller = null;
  const count = debounce(async () => {
    const text = state.text.trim();
    const open = state.rowsOk ? incomplete(state.root, tagsById) : 0;
    incompleteNote.hidden = !open;
    incompleteNote.textContent = t("seg.incomplete", { n: open });
    const mine = ++seq;
    if (controller) controller.abort();
    exprError.hidden = true;
    if (!text) {
      clear(countBox).append(h("span", { class: "muted" }, t("seg.count.empty")));
      return;
    }
    countBox.classList.add("pending");
    controller = new AbortController();
    try {
      const data = await api.api("/v1/segments:count", { method: "POST", body: { expression: text }, signal: controller.signal });
      if (mine !== seq) return;
      showCount(countBox, data, await baseSize(catalog));
    } catch (e) {
      if (e.name === "AbortError" || mine !== seq) return;
      clear(countBox).append(h("span", { class: "muted" }, t("common.none")));
      exprError.hidden = false;
      add(clear(exprError), errorText(e, text));
    } finally {
      if (mine === seq) countBox.classList.remove("pending");
    }
  }, 300);

  // ---- save / export / explain ------------------------------------------------------------
  const nameInput = h("input", { id: "segment-name", value: state.name, pattern: "[a-z][a-z0-9_]{0,62}", required: true,
    placeholder: t("seg.name.example"), oninput: () => { state.name = nameInput.value; } });
  const descInput = h("input", { id: "segment-description", value: state.description,
    oninput: () => { state.description = descInput.value; } });
  const saveMsg = h("div", { id: "save-message", role: "status" });
  async function save(replace) {
    clear(saveMsg);
    const segName = nameInput.value.trim();
    try {
      const saved = await api.api("/v1/segments", { method: "POST",
        body: { name: segName, expression: state.text, description: descInput.value, replace } });
      state.loaded = saved?.name || segName;
      saveMsg.append(h("span", { class: "ok" }, t("seg.savedok", { name: state.loaded })));
      go("segments", state.loaded);
    } catch (e) {
      saveMsg.append(errorBox(e));
      if (e.status === 409) {
        saveMsg.append(h("button", { type: "button", id: "replace-segment", onclick: () => save(true) },
          t("seg.replace", { name: segName })));
      }
    }
  }
  const saveForm = h("form", { class: "save", onsubmit: (ev) => {
    ev.preventDefault();
    save(nameInput.value.trim() === state.loaded); // editing a saved segment replaces it
  } },
  h("label", { for: "segment-name" }, t("seg.name"), h("span", { class: "muted small" }, ` (${t("seg.name.help")})`)), nameInput,
  h("label", { for: "segment-description" }, t("seg.description")), descInput,
  h("button", { type: "submit", class: "primary", id: "save-segment", disabled: !canWrite,
    title: canWrite ? "" : t("scope.missing", { scope: "segments:write" }) }, t("seg.save")),
  canWrite ? null : h("div", { class: "muted small" }, t("scope.missing", { scope: "segments:write" })),
  saveMsg);

  const saved = state.loaded && segments.list.find((s) => s.name === state.loaded);
  const savedTools = saved ? savedActions(saved) : h("p", { class: "muted small" }, t("seg.export.needsave"));

  main.append(h("div", { class: "seg-layout" },
    h("aside", { class: "sidebar card" }, savedList(segments, state.loaded)),
    h("section", { class: "detail" },
      h("div", { class: "card" }, h("h1", {}, saved ? `@${saved.name}` : t("seg.title")), rowsBox),
      h("div", { class: "card" },
        h("label", { for: "expression" }, t("seg.expression")), exprBox, exprNote, exprError,
        h("p", { class: "muted small" }, t("seg.expression.help"))),
      h("div", { class: "card" }, savedTools)),
    h("aside", { class: "side-panel" },
      h("div", { class: "card count-card" }, h("h2", {}, t("seg.count")), countBox, incompleteNote),
      h("div", { class: "card" }, saveForm))));
  drawRows();
  exprNote.hidden = state.rowsOk;
  exprNote.textContent = t("seg.notrows");
  if (!state.text) state.text = toText(state.root, tagsById);
  exprBox.value = state.text;
  count();
  return () => count.cancel();
}

/** Conditions that are started but not finished (no value yet): they are left out of the count. */
function incomplete(group, tagsById) {
  return group.items.reduce((n, it) => n + (it.items ? incomplete(it, tagsById)
    : it.tag && !conditionText(it, tagsById) ? 1 : 0), 0);
}

function setText(text, tagsById) {
  state.text = text;
  try {
    const rows = toRows(text, tagsById);
    state.rowsOk = Boolean(rows);
    if (rows) state.root = rows.items.length ? rows : { op: rows.op, items: [emptyCondition()] };
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    state.rowsOk = false; // the server's error (from the count) says what is wrong, with its position
  }
}

async function listSegments() {
  try {
    const data = await api.api("/v1/segments");
    const list = Array.isArray(data) ? data : data.segments || [];
    return { list, error: null };
  } catch (e) {
    return { list: [], error: e };
  }
}

let base = null;
async function baseSize(catalog) {
  if (base === null && catalog.length) {
    try {
      base = (await api.tag(catalog[0].id)).stats?.users ?? 0;
    } catch {
      base = 0;
    }
  }
  return base;
}

function showCount(box, data, total) {
  const n = typeof data === "number" ? data : data.size ?? data.count ?? 0;
  const all = (typeof data === "object" && data.users) || total;
  add(clear(box),
    h("span", { class: "big", id: "count-value", "data-count": n }, fmtInt(n)), " ",
    h("span", { class: "muted" }, t("seg.count.users")),
    all ? h("div", { class: "muted small" }, t("seg.count.share", { pct: fmtPct(n / all, 2), total: fmtInt(all) })) : null,
    h("div", { class: "meter" }, h("span", { style: `width:${all ? Math.min(100, (100 * n) / all).toFixed(2) : 0}%` })));
}

/** The server's parse/bind error, with a caret under the place it points at. */
function errorText(e, text) {
  const parts = [h("strong", {}, e.message)];
  const span = e.detail?.span;
  if (Array.isArray(span) && !text.includes("\n")) {
    const width = Math.max(1, Math.min(span[1], text.length + 1) - span[0]);
    parts.push(h("pre", { class: "code caret" }, `${text}\n${" ".repeat(span[0])}${"^".repeat(width)}`));
  }
  if (e.hint) parts.push(h("div", { class: "hint" }, e.hint));
  return parts;
}

function savedList(segments, current) {
  const items = segments.list.map((s) => h("li", {},
    h("a", { href: href("segments", s.name), class: `segment-link${s.name === current ? " active" : ""}`, "data-segment": s.name },
      h("strong", {}, `@${s.name}`),
      s.size != null ? h("span", { class: "badge" }, fmtInt(s.size)) : null),
    s.description ? h("div", { class: "muted small" }, s.description) : null));
  return [
    h("a", { class: "button", href: href("segments", "new"), id: "new-segment" }, t("seg.new")),
    h("h2", {}, t("seg.saved")),
    segments.error ? errorBox(segments.error) : null,
    items.length ? h("ul", { class: "segments" }, items) : h("p", { class: "muted" }, t("seg.saved.none"))];
}

function savedActions(seg) {
  const progress = h("span", { class: "muted small", id: "export-progress" });
  const exportBtn = h("button", { type: "button", id: "export-csv", onclick: async () => {
    exportBtn.disabled = true;
    try {
      const ids = await allMembers(seg.name, (n) => { progress.textContent = t("seg.exporting", { n: fmtInt(n) }); });
      download(`${seg.name}.csv`, `user_id\n${ids.map(csvCell).join("\n")}\n`);
      progress.textContent = t("seg.members", { n: fmtInt(ids.length) });
    } catch (e) {
      progress.replaceChildren(errorBox(e));
    } finally {
      exportBtn.disabled = false;
    }
  } }, t("seg.export"));
  return [
    h("div", { class: "row-actions" }, exportBtn, progress,
      h("a", { class: "button", href: href("insight", seg.name), id: "open-insight" }, t("seg.open.insight"))),
    explainView(seg)];
}

async function allMembers(name, onProgress) {
  const ids = [];
  let cursor = "";
  for (let page = 0; page < 10000; page++) {
    const qs = `?limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const data = await api.api(`/v1/segments/${encodeURIComponent(name)}/users${qs}`);
    const users = data.users || data.user_ids || data.items || [];
    ids.push(...users.map((u) => (typeof u === "object" ? u.user_id : u)));
    onProgress(ids.length);
    cursor = data.next_cursor || data.cursor || "";
    if (!cursor || !users.length) break;
  }
  return ids;
}

const csvCell = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
