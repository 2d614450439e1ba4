// The public HTTP API, called with the signed-in key as `X-API-Key`.
// The key lives in sessionStorage (this tab) or, when the user asks, localStorage (this computer).
// Every answer is {ok: true, data} or {ok: false, status, error: {code, message, hint}}.

const KEY = "portrait.apiKey";

export class ApiError extends Error {
  constructor(status, error = {}, errors = null) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "error";
    this.hint = error.hint || "";
    this.detail = error;
    this.errors = errors;
  }
}

let unauthorizedHandler = () => {};

export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

export function getKey() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || "";
}

export function setKey(key, remember) {
  clearKey();
  (remember ? localStorage : sessionStorage).setItem(KEY, key);
}

export function clearKey() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  cache.clear();
}

/** Call the API; resolves to `data`, rejects with ApiError. `key` overrides the stored key (sign-in). */
export async function api(path, { method = "GET", body, signal, key } = {}) {
  const headers = { Accept: "application/json", "X-API-Key": key ?? getKey() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { code: "network", message: "network error" });
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    throw new ApiError(response.status, { code: "bad_response", message: `HTTP ${response.status} (not JSON)` });
  }
  if (payload && payload.ok) return payload.data;
  const err = new ApiError(response.status, payload?.error || {}, payload?.errors || null);
  if (response.status === 401 && key === undefined) unauthorizedHandler(err);
  throw err;
}

// Small per-session cache for what does not change while a snapshot is served (catalog, tag stats).
const cache = new Map();

export function cached(path) {
  if (!cache.has(path)) {
    const p = api(path).catch((e) => {
      cache.delete(path);
      throw e;
    });
    cache.set(path, p);
  }
  return cache.get(path);
}

export function forget(pathPrefix) {
  for (const k of [...cache.keys()]) if (k.startsWith(pathPrefix)) cache.delete(k);
}

export const tags = () => cached("/v1/tags");
export const tag = (id) => cached(`/v1/tags/${encodeURIComponent(id)}`);
export const whoami = (key) => api("/v1/me", { key });

let spec = null;
/** The server's OpenAPI document (plain JSON, no envelope): which optional routes it has. */
export function openapi() {
  spec ??= fetch("/openapi.json", { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : { paths: {} }))
    .catch(() => ({ paths: {} }));
  return spec;
}
