// Segment expressions in the browser: the builder's rows → text, and text → rows where it fits.
// The server's parser (portrait.segments) is the authority: this one reads the same grammar only
// far enough to rebuild rows; anything it cannot place is left as text and counted by the server.
//
//   expr := or;  or := and (OR and)*;  and := not (AND not)*;  not := NOT not | primary
//   primary := '(' expr ')' | '@' name | operand tail
//   tail := cmp value | [NOT] IN (v, ...) | [NOT] BETWEEN v AND v | IS [NOT] NULL | [NOT] LIKE 's' | HAS 's' | (bool)

const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "HAS", "TRUE", "FALSE", "INTERVAL", "TIMESTAMP"]);
const CMP = ["=", "!=", "<>", "<=", ">=", "<", ">"];

export class ExprError extends Error {
  constructor(message, at) {
    super(message);
    this.at = at;
  }
}

export function tokenize(src) {
  const out = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    const start = i;
    if (c === "'" || c === '"') {
      let text = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new ExprError("unterminated string", start);
        if (src[i] === c) {
          if (src[i + 1] === c) { text += c; i += 2; continue; }
          i++;
          break;
        }
        text += src[i++];
      }
      out.push({ kind: c === "'" ? "str" : "word", text, start });
      continue;
    }
    const num = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) { out.push({ kind: "num", text: num[0], start }); i += num[0].length; continue; }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (word) {
      const up = word[0].toUpperCase();
      out.push(KEYWORDS.has(up) ? { kind: "kw", text: up, start } : { kind: "word", text: word[0], start });
      i += word[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["!=", "<>", "<=", ">="].includes(two)) { out.push({ kind: "punct", text: two === "<>" ? "!=" : two, start }); i += 2; continue; }
    if ("()[],=<>@+-".includes(c)) { out.push({ kind: "punct", text: c, start }); i++; continue; }
    throw new ExprError(`unexpected character ${c}`, i);
  }
  out.push({ kind: "eof", text: "", start: src.length });
  return out;
}

/** Text → a small tree: {t: and|or|not|ref|cmp|in|between|null|like|has, ...}. */
export function parse(src) {
  const toks = tokenize(src);
  let i = 0;
  const tok = () => toks[i];
  const isKw = (...w) => tok().kind === "kw" && w.includes(tok().text);
  const isP = (...p) => tok().kind === "punct" && p.includes(tok().text);
  const fail = (msg) => { throw new ExprError(msg, tok().start); };
  const next = () => {
    const t = toks[i];
    if (i < toks.length - 1) i++;
    return t;
  };
  const peek = () => toks[Math.min(i + 1, toks.length - 1)];

  function list(kind, sub) {
    const items = [sub()];
    while (isKw(kind.toUpperCase())) { next(); items.push(sub()); }
    return items.length === 1 ? items[0] : { t: kind, items };
  }
  const or = () => list("or", and);
  const and = () => list("and", not);
  function not() {
    if (isKw("NOT")) { next(); return { t: "not", child: not() }; }
    return primary();
  }
  function primary() {
    if (isP("(")) {
      next();
      const inner = or();
      if (!isP(")")) fail("expected )");
      next();
      return inner;
    }
    if (isP("@")) {
      next();
      if (tok().kind !== "word") fail("expected a segment name after @");
      return { t: "ref", name: next().text };
    }
    if (tok().kind === "word" && tok().text.toLowerCase() === "segment" && peek().text === "(") {
      next(); next();
      if (tok().kind !== "str") fail("expected segment('name')");
      const name = next().text;
      if (!isP(")")) fail("expected )");
      next();
      return { t: "ref", name };
    }
    if (tok().kind !== "word") fail("expected a tag");
    const tag = next().text;
    let key = null;
    if (isP("[")) {
      next();
      if (tok().kind !== "str") fail("expected a key string");
      key = next().text;
      if (!isP("]")) fail("expected ]");
      next();
    }
    return tail(tag, key);
  }
  function tail(tag, key) {
    if (tok().kind === "punct" && CMP.includes(tok().text)) {
      const op = next().text;
      return { t: "cmp", tag, key, op, value: value() };
    }
    let neg = false;
    if (isKw("NOT") && peek().kind === "kw" && ["IN", "BETWEEN", "LIKE"].includes(peek().text)) { next(); neg = true; }
    if (isKw("IN")) {
      next();
      if (!isP("(")) fail("expected (");
      next();
      const values = [value()];
      while (isP(",")) { next(); values.push(value()); }
      if (!isP(")")) fail("expected )");
      next();
      return { t: "in", tag, key, values, neg };
    }
    if (isKw("BETWEEN")) {
      next();
      const low = value();
      if (!isKw("AND")) fail("expected AND");
      next();
      return { t: "between", tag, key, low, high: value(), neg };
    }
    if (isKw("LIKE")) {
      next();
      if (tok().kind !== "str") fail("expected a pattern");
      return { t: "like", tag, key, pattern: next().text, neg };
    }
    if (isKw("IS")) {
      next();
      let n = false;
      if (isKw("NOT")) { next(); n = true; }
      if (!isKw("NULL")) fail("expected NULL");
      next();
      return { t: "null", tag, key, neg: n };
    }
    if (isKw("HAS")) {
      next();
      if (tok().kind !== "str") fail("expected a key");
      return { t: "has", tag, key: next().text };
    }
    if (tok().kind === "eof" || isKw("AND", "OR") || isP(")")) {
      return { t: "cmp", tag, key, op: "=", value: { kind: "bool", v: true } };
    }
    return fail("expected an operator");
  }
  function value() {
    let sign = "";
    if (isP("-", "+") && peek().kind === "num") sign = next().text === "-" ? "-" : "";
    if (tok().kind === "num") return { kind: "num", v: sign + next().text };
    if (isKw("TRUE", "FALSE")) return { kind: "bool", v: next().text === "TRUE" };
    if (isKw("TIMESTAMP")) {
      next();
      if (tok().kind !== "str") fail("expected a timestamp string");
      return shifts({ kind: "time", base: next().text, shifts: [] });
    }
    if (tok().kind === "word" && tok().text.toLowerCase() === "snapshot_time") {
      next();
      return shifts({ kind: "time", base: null, shifts: [] });
    }
    if (tok().kind === "str") {
      const s = next().text;
      if (isP("+", "-") && peek().text === "INTERVAL") return shifts({ kind: "time", base: s, shifts: [] });
      return { kind: "str", v: s };
    }
    return fail("expected a value");
  }
  function shifts(v) {
    while (isP("+", "-") && peek().kind === "kw" && peek().text === "INTERVAL") {
      const sign = next().text === "-" ? -1 : 1;
      next();
      let amount;
      let unit;
      if (tok().kind === "num") {
        amount = Number(next().text);
        unit = next().text;
      } else if (tok().kind === "str") {
        [amount, unit] = next().text.split(/\s+/);
        amount = Number(amount);
      } else fail("expected an interval amount");
      v.shifts.push({ sign, amount, unit: String(unit || "").toLowerCase().replace(/s$/, "") });
    }
    return v;
  }
  if (tok().kind === "eof") return null;
  const root = or();
  if (tok().kind !== "eof") fail(`unexpected ${tok().text}`);
  return root;
}

// ---- rows ---------------------------------------------------------------------------------
// A builder state is a root group {op: "AND"|"OR", items: [condition | group]}; groups nest one
// level. A condition is {tag, op, value, values, low, high, key, days} with op one of OPS below.

export const OPS = {
  categorical: ["eq", "ne", "in", "notin", "null", "notnull"],
  string: ["eq", "ne", "in", "notin", "like", "null", "notnull"],
  number: ["ge", "gt", "le", "lt", "eq", "ne", "between", "null", "notnull"],
  bool: ["true", "false", "null", "notnull"],
  timestamp: ["within", "ago", "after", "before", "null", "notnull"],
  weighted_set: ["has", "weight", "null", "notnull"],
  segment: ["inseg", "notinseg"],
};

export function opsFor(tag) {
  if (!tag) return [];
  if (tag.segment) return OPS.segment;
  switch (tag.type) {
    case "enum": return OPS.categorical;
    case "string": return OPS.string;
    case "integer": case "number": return OPS.number;
    case "bool": return OPS.bool;
    case "timestamp": case "date": return OPS.timestamp;
    case "weighted_set": return OPS.weighted_set;
    default: return OPS.string;
  }
}

export function quote(s) {
  return `'${String(s).replace(/'/g, "''")}'`;
}

function literal(v, tag) {
  const numeric = tag && (tag.type === "integer" || tag.type === "number");
  if (numeric && v !== "" && Number.isFinite(Number(v))) return String(Number(v));
  if (tag && tag.type === "bool") return String(v).toLowerCase() === "true" ? "TRUE" : "FALSE";
  return quote(v);
}

const SYMBOL = { eq: "=", ne: "!=", gt: ">", ge: ">=", lt: "<", le: "<=" };
const filled = (v) => v !== undefined && v !== null && String(v).trim() !== "";

/** One condition → text, or "" while it is incomplete. */
export function conditionText(c, tagsById) {
  if (!c.tag) return "";
  if (c.op === "inseg" || c.op === "notinseg") {
    return filled(c.value) ? `${c.op === "notinseg" ? "NOT " : ""}@${c.value}` : "";
  }
  const tag = tagsById[c.tag];
  const id = c.tag;
  switch (c.op) {
    case "eq": case "ne": case "gt": case "ge": case "lt": case "le":
      return filled(c.value) ? `${id} ${SYMBOL[c.op]} ${literal(c.value, tag)}` : "";
    case "in": case "notin": {
      const vals = (c.values || []).filter(filled);
      return vals.length ? `${id} ${c.op === "notin" ? "NOT IN" : "IN"} (${vals.map((v) => literal(v, tag)).join(", ")})` : "";
    }
    case "between":
      return filled(c.low) && filled(c.high) ? `${id} BETWEEN ${literal(c.low, tag)} AND ${literal(c.high, tag)}` : "";
    case "null": return `${id} IS NULL`;
    case "notnull": return `${id} IS NOT NULL`;
    case "like": return filled(c.value) ? `${id} LIKE ${quote(c.value)}` : "";
    case "true": return `${id} = TRUE`;
    case "false": return `${id} = FALSE`;
    case "has": return filled(c.key) ? `${id} HAS ${quote(c.key)}` : "";
    case "weight":
      return filled(c.key) && filled(c.value) && Number.isFinite(Number(c.value)) ? `${id}[${quote(c.key)}] >= ${Number(c.value)}` : "";
    case "within": case "ago":
      return filled(c.days) && /^\d+$/.test(String(c.days).trim())
        ? `${id} ${c.op === "within" ? ">=" : "<"} snapshot_time - INTERVAL ${Number(c.days)} DAY` : "";
    case "after": case "before":
      return filled(c.value) ? `${id} ${c.op === "after" ? ">=" : "<"} TIMESTAMP ${quote(c.value)}` : "";
    default: return "";
  }
}

/** A builder state → expression text ("" when nothing is complete yet). */
export function toText(group, tagsById, nested = false) {
  const parts = group.items
    .map((it) => (it.items ? toText(it, tagsById, true) : conditionText(it, tagsById)))
    .filter(Boolean);
  const text = parts.join(` ${group.op} `);
  return nested && parts.length > 1 ? `(${text})` : text;
}

/** Expression text → a builder state, or null when it cannot be shown as rows (throws ExprError on bad syntax). */
export function toRows(src, tagsById) {
  const ast = parse(src);
  if (!ast) return { op: "AND", items: [] };
  const asGroup = (node, depth) => {
    if (node.t === "and" || node.t === "or") {
      if (depth > 1) return null;
      const items = node.items.map((n) => asGroup(n, depth + 1));
      return items.includes(null) ? null : { op: node.t.toUpperCase(), items };
    }
    return toCondition(node, tagsById);
  };
  const root = asGroup(ast, 0);
  if (!root) return null;
  return root.items ? root : { op: "AND", items: [root] };
}

function plain(v) {
  if (!v) return null;
  if (v.kind === "num") return v.v;
  if (v.kind === "str") return v.v;
  if (v.kind === "bool") return v.v ? "true" : "false";
  return null;
}

function toCondition(node, tagsById) {
  if (node.t === "ref") return { tag: `@${node.name}`, op: "inseg", value: node.name };
  if (node.t === "not") {
    const c = node.child;
    if (c.t === "ref") return { tag: `@${c.name}`, op: "notinseg", value: c.name };
    const inner = toCondition(c, tagsById);
    // Only exact rewrites: NOT (x = 1) also holds for users without x, which x != 1 does not.
    const flip = { null: "notnull", notnull: "null" };
    return inner && flip[inner.op] ? { ...inner, op: flip[inner.op] } : null;
  }
  const tag = tagsById[node.tag] || {};
  const base = { tag: node.tag, value: "", values: [], low: "", high: "", key: "", days: "" };
  switch (node.t) {
    case "cmp": {
      const v = node.value;
      if (node.key !== null) {
        return node.op === ">=" && v.kind === "num" ? { ...base, op: "weight", key: node.key, value: v.v } : null;
      }
      if (v.kind === "time") {
        const [s] = v.shifts;
        if (v.base === null && v.shifts.length === 1 && s.sign < 0 && s.unit === "day" && [">=", "<"].includes(node.op)) {
          return { ...base, op: node.op === ">=" ? "within" : "ago", days: String(s.amount) };
        }
        if (v.base !== null && !v.shifts.length && [">=", "<"].includes(node.op)) {
          return { ...base, op: node.op === ">=" ? "after" : "before", value: v.base };
        }
        return null;
      }
      if (v.kind === "bool" && node.op === "=" && (tag.type === "bool" || tag.type === undefined)) {
        return { ...base, op: v.v ? "true" : "false" };
      }
      if (v.kind === "str" && tag.type === "timestamp" && [">=", "<"].includes(node.op)) {
        return { ...base, op: node.op === ">=" ? "after" : "before", value: v.v };
      }
      const op = Object.keys(SYMBOL).find((k) => SYMBOL[k] === node.op);
      return op ? { ...base, op, value: plain(v) } : null;
    }
    case "in": {
      const values = node.values.map(plain);
      return node.key === null && !values.includes(null) ? { ...base, op: node.neg ? "notin" : "in", values } : null;
    }
    case "between":
      return node.key === null && !node.neg && plain(node.low) !== null && plain(node.high) !== null
        ? { ...base, op: "between", low: plain(node.low), high: plain(node.high) } : null;
    case "null":
      return node.key === null ? { ...base, op: node.neg ? "notnull" : "null" } : null;
    case "like":
      return node.key === null && !node.neg ? { ...base, op: "like", value: node.pattern } : null;
    case "has":
      return { ...base, op: "has", key: node.key };
    default:
      return null;
  }
}
