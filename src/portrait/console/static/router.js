// Hash routes: #/tags/<tag>, #/profile/<user>, #/segments/<name>, #/insight/<name>?base=<other>.

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, "");
  const [path, qs = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "tags", args: parts.slice(1), query: Object.fromEntries(new URLSearchParams(qs)) };
}

/** The hash for a page: href("segments", "new", {expr: "…"}) → "#/segments/new?expr=…". */
export function href(page, ...args) {
  const query = args.length && typeof args[args.length - 1] === "object" ? args.pop() : null;
  const qs = query ? `?${new URLSearchParams(Object.entries(query).filter(([, v]) => v != null && v !== ""))}` : "";
  return `#/${[page, ...args.map(encodeURIComponent)].join("/")}${qs === "?" ? "" : qs}`;
}

export function go(page, ...args) {
  location.hash = href(page, ...args);
}
