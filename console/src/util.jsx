// Small helpers shared by the pages: the hash router, formatting and the
// building blocks every page draws with.
import { useEffect, useState, useCallback } from "preact/hooks";

/** The current location hash without "#", e.g. "/routes/orders". */
export function useHashPath() {
  const read = () => decodeURI(location.hash.replace(/^#/, "")) || "/routes";
  const [path, setPath] = useState(read());
  useEffect(() => {
    const on = () => setPath(read());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return path;
}

/** Goes to a console page. */
export function go(path) {
  location.hash = `#${path}`;
}

/** Runs load() now and whenever deps change; answers {data, error, loading, reload}. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload };
}

/** An RFC 3339 time as local date and time, or "" when unset. */
export function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  return d.toLocaleString(undefined, { hour12: false });
}

/** How long ago t was: "12s ago", "3m ago". */
export function ago(t, now = Date.now()) {
  if (!t) return "";
  const s = Math.round((now - new Date(t).getTime()) / 1000);
  if (s < 0) return `in ${dur(-s)}`;
  return `${dur(s)} ago`;
}

function dur(s) {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Decodes proto bytes as REST sends them (base64) into text; null when not UTF-8. */
export function b64text(b64) {
  if (!b64) return "";
  try {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Pretty JSON when text is JSON, else text unchanged. */
export function prettyJSON(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A payload (base64 bytes) shown as JSON when it is JSON, as text when UTF-8, else as base64. */
export function Payload({ data, label }) {
  const text = b64text(data);
  let shown = data || "";
  let kind = "base64";
  if (text !== null) {
    shown = prettyJSON(text);
    kind = shown !== text || /^\s*[[{]/.test(text) ? "JSON" : "text";
  }
  return (
    <div class="payload">
      <div class="payload-head">
        {label || "payload"} <span class="muted">({kind}, {text === null ? "binary" : `${text.length} bytes`})</span>
      </div>
      <pre>{shown || <span class="muted">(empty)</span>}</pre>
    </div>
  );
}

/** The API's error message in a red box. */
export function ErrorBox({ error, title }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {title && <strong>{title}: </strong>}
      {error.message || String(error)}
      {error.status ? <span class="muted"> (HTTP {error.status})</span> : null}
    </div>
  );
}

/** A coloured state label. */
export function Badge({ kind, children }) {
  return <span class={`badge badge-${kind || "neutral"}`}>{children}</span>;
}

/** A state of DeliveryState as a badge. */
export function StateBadge({ state }) {
  const s = (state || "DELIVERY_STATE_UNSPECIFIED").replace(/^DELIVERY_STATE_/, "").toLowerCase();
  const kind = { delivered: "ok", dead_lettered: "bad", retrying: "warn", pending: "info", scheduled: "info", discarded: "neutral" }[s];
  return <Badge kind={kind}>{s.replace("_", " ")}</Badge>;
}

/** A page title with optional actions on the right. */
export function PageHead({ title, sub, children }) {
  return (
    <div class="page-head">
      <div>
        <h1>{title}</h1>
        {sub && <p class="muted">{sub}</p>}
      </div>
      <div class="actions">{children}</div>
    </div>
  );
}

/** A button that asks once more before acting. */
export function ConfirmButton({ label, confirm, onConfirm, disabled, kind }) {
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    if (!armed) return undefined;
    const t = setTimeout(() => setArmed(false), 5000);
    return () => clearTimeout(t);
  }, [armed]);
  return (
    <button
      type="button"
      class={`btn ${armed ? "btn-danger" : kind || ""}`}
      disabled={disabled}
      onClick={() => {
        if (armed) {
          setArmed(false);
          onConfirm();
        } else setArmed(true);
      }}
    >
      {armed ? confirm : label}
    </button>
  );
}
