// The REST API client: every call sends the operator's API key as a bearer
// token. The key lives in this tab's sessionStorage only (gone when the tab
// closes, never sent anywhere but this hub's /v1 API and /metrics).

const storageKey = "junction.apiKey";

/** The API key of this tab, or "" when signed out. */
export function apiKey() {
  return sessionStorage.getItem(storageKey) || "";
}

/** Keeps key for this tab. */
export function setApiKey(key) {
  sessionStorage.setItem(storageKey, key);
}

/** Forgets the key and tells the app to show the sign-in form. */
export function signOut(reason) {
  sessionStorage.removeItem(storageKey);
  window.dispatchEvent(new CustomEvent("junction:signedout", { detail: reason || "" }));
}

/** ApiError is a failed call: the HTTP status, the gRPC code and the API's message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API: method and path ("/v1/routes"), an optional JSON body and
 * query parameters (empty values are left out). Answers the parsed JSON;
 * throws ApiError with the API's own message. A 401 signs the tab out.
 */
export async function call(method, path, { body, query, key } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") q.append(k, String(v));
  }
  const qs = q.toString();
  const url = path + (qs ? `?${qs}` : "");
  const headers = { Accept: "application/json", Authorization: `Bearer ${key || apiKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, 14, `the hub did not answer (${e.message}): is it running?`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = null;
  }
  if (!res.ok) throw refusal(res, text, json, !key);
  return json ?? {};
}

/** The ApiError of a refused call (signing the tab out on 401 when signOutOn401). */
function refusal(res, text, json, signOutOn401) {
  const msg = (json && json.message) || text.trim() || res.statusText;
  if (res.status === 401 && signOutOn401) signOut(msg);
  return new ApiError(res.status, json ? json.code : undefined, msg);
}

/**
 * Follows a server-sent events call (GET path?query with Accept:
 * text/event-stream). EventSource cannot send the Authorization header, so
 * this reads the stream with fetch and a reader. For each event it calls
 * onEvent(name, data parsed as JSON, id); for each comment line (": heartbeat")
 * onComment(text). It answers when the stream ends and stops when signal
 * aborts (the fetch then rejects with an AbortError); a refused call throws
 * ApiError with the API's message.
 */
export async function stream(path, { query, signal, onEvent, onComment }) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") q.append(k, String(v));
  }
  const qs = q.toString();
  let res;
  try {
    res = await fetch(path + (qs ? `?${qs}` : ""), {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${apiKey()}` },
      credentials: "omit",
      cache: "no-store",
      signal,
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, 14, `the hub did not answer (${e.message}): is it running?`);
  }
  if (!res.ok) {
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    throw refusal(res, text, json, true);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let name = "message";
      let id = "";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) {
          if (onComment) onComment(line.slice(1).trim());
          continue;
        }
        const at = line.indexOf(":");
        const field = at < 0 ? line : line.slice(0, at);
        const val = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (field === "event") name = val;
        else if (field === "id") id = val;
        else if (field === "data") data.push(val);
      }
      if (data.length === 0) continue;
      let parsed;
      try {
        parsed = JSON.parse(data.join("\n"));
      } catch {
        parsed = data.join("\n");
      }
      onEvent(name, parsed, id);
    }
  }
}

/** The Prometheus text of /metrics (sent with the key, which /metrics needs from other hosts). */
export async function metricsText() {
  const res = await fetch("/metrics", {
    headers: { Authorization: `Bearer ${apiKey()}` },
    credentials: "omit",
    cache: "no-store",
  });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, undefined, text.trim() || res.statusText);
  return text;
}

/** The id in a resource name: "routes/orders" gives "orders". */
export function idOf(name) {
  return (name || "").split("/").pop();
}

/** Escapes one path segment. */
export const seg = encodeURIComponent;
