// Throughput and lag, from the hub's Prometheus endpoint (/metrics, the
// one a Prometheus server scrapes; it takes the same API key): route
// matches and delivery lag per route, deliveries and delivery lag per destination, and
// what waits in each consumer. Rates are the change between two samples
// taken by this page every few seconds. The numbers are those of the
// process that serves this console: under `junction serve`, the whole hub;
// under `junction gateway`, the router's and adapters' counters live in
// their own processes (scrape those with Prometheus).
import { useEffect, useRef, useState } from "preact/hooks";
import { metricsText } from "./api.js";
import { ErrorBox, PageHead } from "./util.jsx";

const intervalMs = 5000;

/** Parses Prometheus text into [{name, labels, value}]. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** Sums the series of name by one label (series failing match are left out). */
function sumBy(series, name, label, match = () => true) {
  const sums = {};
  for (const s of series) {
    if (s.name !== name || !match(s.labels)) continue;
    const k = s.labels[label] || "";
    sums[k] = (sums[k] || 0) + s.value;
  }
  return sums;
}

function snapshot(text) {
  const s = parseMetrics(text);
  return {
    at: Date.now(),
    matches: sumBy(s, "junction_route_matches_total", "route"),
    delivered: sumBy(s, "junction_deliveries_total", "destination", (l) => l.outcome === "success"),
    deadLettered: sumBy(s, "junction_deliveries_total", "destination", (l) => l.outcome === "dead_letter"),
    lagSum: sumBy(s, "junction_delivery_lag_seconds_sum", "destination"),
    lagCount: sumBy(s, "junction_delivery_lag_seconds_count", "destination"),
    routeLagSum: sumBy(s, "junction_delivery_lag_seconds_sum", "route"),
    routeLagCount: sumBy(s, "junction_delivery_lag_seconds_count", "route"),
    pending: sumBy(s, "junction_consumer_pending_messages", "destination"),
    ackPending: sumBy(s, "junction_consumer_ack_pending_messages", "destination"),
    deadLetters: sumBy(s, "junction_dead_letters", "destination"),
  };
}

function rate(cur, prev, field, key) {
  if (!prev) return null;
  const dt = (cur.at - prev.at) / 1000;
  if (dt <= 0) return null;
  return Math.max(0, ((cur[field][key] || 0) - (prev[field][key] || 0)) / dt);
}

const num = (v, digits = 0) => (v === null || v === undefined ? "…" : v.toLocaleString(undefined, { maximumFractionDigits: digits }));

function lag(cur, prev, d, sum = "lagSum", count = "lagCount") {
  // Mean lag of the deliveries made since the last sample, else overall.
  const c = (cur[count][d] || 0) - ((prev && prev[count][d]) || 0);
  if (prev && c > 0) return ((cur[sum][d] || 0) - (prev[sum][d] || 0)) / c;
  return cur[count][d] ? cur[sum][d] / cur[count][d] : null;
}

const secs = (l) => (l === null ? "—" : `${num(l, 3)} s`);

export function ThroughputPage() {
  const [samples, setSamples] = useState({ cur: null, prev: null });
  const [error, setError] = useState(null);
  const timer = useRef(null);
  useEffect(() => {
    let live = true;
    async function tick() {
      try {
        const snap = snapshot(await metricsText());
        if (!live) return;
        setSamples((s) => ({ prev: s.cur, cur: snap }));
        setError(null);
      } catch (e) {
        if (live) setError(e);
      }
      if (live) timer.current = setTimeout(tick, intervalMs);
    }
    tick();
    return () => {
      live = false;
      clearTimeout(timer.current);
    };
  }, []);
  const { cur, prev } = samples;
  const routes = cur ? Object.keys(cur.matches).sort() : [];
  const dests = cur
    ? [...new Set([...Object.keys(cur.delivered), ...Object.keys(cur.deadLettered), ...Object.keys(cur.pending), ...Object.keys(cur.deadLetters)])].filter(Boolean).sort()
    : [];
  return (
    <div>
      <PageHead title="Throughput and lag"
        sub={`From this process's /metrics, sampled every ${intervalMs / 1000}s; rates over the last interval.`} />
      <ErrorBox error={error} title="Could not read /metrics" />
      <section class="card">
        <h2>Routes</h2>
        {cur && routes.length === 0 && <p class="muted">No route has matched an event since this process started.</p>}
        {routes.length > 0 && (
          <table class="table" data-testid="route-throughput">
            <thead><tr><th>Route</th><th class="num">Matches/s</th><th class="num">Matches since start</th><th class="num">Mean lag</th></tr></thead>
            <tbody>{routes.map((r) => (
              <tr><td><a class="mono" href={`#/routes/${r}`}>{r}</a></td><td class="num">{num(rate(cur, prev, "matches", r), 2)}</td><td class="num">{num(cur.matches[r])}</td>
                <td class="num">{secs(lag(cur, prev, r, "routeLagSum", "routeLagCount"))}</td></tr>
            ))}</tbody>
          </table>
        )}
      </section>
      <section class="card">
        <h2>Destinations</h2>
        <p class="muted small">Lag: from the event's arrival at the hub to its delivery, averaged over the deliveries of the last interval (since start when there were none).
          Waiting: deliveries not yet handed to an adapter; in flight: handed out and not yet acknowledged (retries included).</p>
        {cur && dests.length === 0 && <p class="muted">No delivery since this process started.</p>}
        {dests.length > 0 && (
          <table class="table" data-testid="destination-throughput">
            <thead><tr><th>Destination</th><th class="num">Delivered/s</th><th class="num">Delivered</th><th class="num">Dead-lettered</th>
              <th class="num">Mean lag</th><th class="num">Waiting</th><th class="num">In flight</th><th class="num">Dead letters held</th></tr></thead>
            <tbody>{dests.map((d) => {
              const l = lag(cur, prev, d);
              return (
                <tr><td class="mono">{d}</td><td class="num">{num(rate(cur, prev, "delivered", d), 2)}</td><td class="num">{num(cur.delivered[d] || 0)}</td>
                  <td class="num">{num(cur.deadLettered[d] || 0)}</td><td class="num">{secs(l)}</td>
                  <td class="num">{num(cur.pending[d] || 0)}</td><td class="num">{num(cur.ackPending[d] || 0)}</td><td class="num">{num(cur.deadLetters[d] || 0)}</td></tr>
              );
            })}</tbody>
          </table>
        )}
      </section>
    </div>
  );
}
