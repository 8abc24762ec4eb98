// Events: open one by id (EventService.GetEvent) and see its payload, its
// deliveries and every attempt with the reason of each failure
// (DeliveryService.ListEventDeliveries); resend it to its routes.
//
// TODO(issue-13 events): the event list with search (EventService.ListEvents)
// and the live tail (EventService.TailEvents, server-sent events over REST)
// belong on EventsPage, in the two sections marked below, once those APIs
// are in the tree.
import { useState } from "preact/hooks";
import { call, idOf, seg } from "./api.js";
import { Badge, ErrorBox, PageHead, Payload, StateBadge, fmtTime, go, useLoad, ago } from "./util.jsx";

/** The events page: open an event by id; search and tail to come. */
export function EventsPage() {
  const [id, setId] = useState("");
  const [source, setSource] = useState("");
  function open(e) {
    e.preventDefault();
    if (id.trim()) go(`/events/${encodeURIComponent(id.trim())}${source.trim() ? `?source=${encodeURIComponent(source.trim())}` : ""}`);
  }
  return (
    <div>
      <PageHead title="Events" sub="Every event the hub stored, with what became of it." />
      <form class="card row" onSubmit={open} data-testid="open-event">
        <label class="field grow"><span class="field-label">Event id</span>
          <input name="event-id" value={id} onInput={(e) => setId(e.currentTarget.value)} class="mono" placeholder="the id the webhook answer or the sender gave" /></label>
        <label class="field"><span class="field-label">Source</span>
          <input name="event-source" value={source} onInput={(e) => setSource(e.currentTarget.value)} class="mono" placeholder="only if ambiguous" /></label>
        <button class="btn btn-primary" type="submit">Open</button>
      </form>
      {/* TODO(issue-13 events): search (source, type, subject pattern, time range, CEL filter) over EventService.ListEvents. */}
      <div class="card placeholder" data-testid="events-search-placeholder">
        <h2>Search</h2>
        <p class="muted">Listing and searching stored events needs the event search API (EventService.ListEvents), which this hub does not serve yet.</p>
      </div>
      {/* TODO(issue-13 events): live tail over EventService.TailEvents (server-sent events). */}
      <div class="card placeholder" data-testid="events-tail-placeholder">
        <h2>Live tail</h2>
        <p class="muted">Following new events live needs the tail API (EventService.TailEvents), which this hub does not serve yet.</p>
      </div>
    </div>
  );
}

/** A Duration as REST writes it ("0.048150299s") in milliseconds or seconds. */
function fmtLatency(d) {
  const s = parseFloat(d);
  if (!d || Number.isNaN(s)) return "";
  return s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms` : `${s.toFixed(2)} s`;
}

const failedOutcomes = new Set(["DELIVERY_STATE_RETRYING", "DELIVERY_STATE_DEAD_LETTERED"]);

function Attempts({ attempts }) {
  if (!attempts || attempts.length === 0) return <p class="muted small">No attempt yet.</p>;
  return (
    <table class="table inner-table">
      <thead><tr><th>#</th><th>Time</th><th>Outcome</th><th>HTTP</th><th>Latency</th><th>Reason</th></tr></thead>
      <tbody>
        {attempts.map((a) => {
          const failed = failedOutcomes.has(a.outcome);
          const excerpt = a.response_excerpt && !(a.error || "").includes(a.response_excerpt.trim()) ? a.response_excerpt : "";
          return (
            <tr class={failed ? "failed" : ""}>
              <td>{a.attempt || ""}</td>
              <td class="small">{fmtTime(a.time)}</td>
              <td><StateBadge state={a.outcome} /></td>
              <td>{a.status_code || <span class="muted">—</span>}</td>
              <td class="small">{fmtLatency(a.latency)}</td>
              <td class="reason">
                {a.error ? <span class={failed ? "fail-text" : "muted"}>{a.error}</span> : <span class="muted">—</span>}
                {excerpt && <pre class="excerpt">{excerpt}</pre>}
                {a.next_attempt_time && a.outcome === "DELIVERY_STATE_RETRYING" && <div class="muted small">next attempt {fmtTime(a.next_attempt_time)}</div>}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The deliveries of one event, each with its attempts. */
export function Deliveries({ id, source }) {
  const { data, error, reload, loading } = useLoad(
    () => call("GET", `/v1/events/${seg(id)}/deliveries`, { query: { source } }),
    [id, source],
  );
  const [resend, setResend] = useState(null);
  async function resendEvent() {
    setResend(null);
    try {
      const r = await call("POST", `/v1/events/${seg(id)}:resend`, { body: { source } });
      const n = (r.delivery_ids || []).length;
      setResend({ ok: `Sent again: ${n} ${n === 1 ? "delivery" : "deliveries"}.` });
      reload();
    } catch (e) {
      setResend({ error: e });
    }
  }
  const list = (data && data.deliveries) || [];
  return (
    <section class="card" data-testid="deliveries">
      <div class="section-head">
        <h2>Deliveries</h2>
        <div class="actions">
          <button class="btn btn-small" type="button" onClick={reload} disabled={loading}>Refresh</button>
          <button class="btn btn-small" type="button" onClick={resendEvent}>Resend to its routes</button>
        </div>
      </div>
      {resend && resend.ok && <div class="ok small">{resend.ok}</div>}
      <ErrorBox error={resend && resend.error} />
      <ErrorBox error={error} title="Could not list deliveries" />
      {data && list.length === 0 && <p class="muted">No route took this event (or its deliveries are no longer kept).</p>}
      {list.map((d) => (
        <div class="delivery" data-testid="delivery">
          <div class="delivery-head">
            <StateBadge state={d.state} />
            <span class="mono">{d.delivery_id}</span>
            <span>route <a href={`#/routes/${d.route_id}`} class="mono">{d.route_id}</a></span>
            <span>target <span class="mono">{d.target}</span> → <span class="mono">{d.destination}</span></span>
            <span class="muted small">{d.attempt_count || 0} attempt{d.attempt_count === 1 ? "" : "s"}</span>
            {d.next_attempt_time && <span class="muted small">next {ago(d.next_attempt_time)}</span>}
          </div>
          <Attempts attempts={d.attempts} />
        </div>
      ))}
    </section>
  );
}

/** Opens a route's dry run on this event. */
function DryRunOn({ id, source }) {
  const { data, error } = useLoad(() => call("GET", "/v1/routes", { query: { page_size: 1000 } }), []);
  const [route, setRoute] = useState("");
  const routes = (data && data.routes) || [];
  if (error || routes.length === 0) return null;
  const chosen = route || idOf(routes[0].name);
  return (
    <form class="card row" data-testid="dry-run-on" onSubmit={(e) => {
      e.preventDefault();
      go(`/routes/${chosen}?event=${encodeURIComponent(id)}&source=${encodeURIComponent(source)}`);
    }}>
      <label class="field"><span class="field-label">Dry-run a route against this event</span>
        <select name="dry-run-route" value={chosen} onChange={(e) => setRoute(e.currentTarget.value)}>
          {routes.map((r) => <option value={idOf(r.name)}>{idOf(r.name)}</option>)}
        </select></label>
      <button class="btn" type="submit">Open dry run</button>
      <span class="muted small">The route's editor opens with this event tested; nothing is delivered.</span>
    </form>
  );
}

const modelFields = ["user", "contact", "company", "deal", "ticket", "order", "payment", "message", "repository"];

/** One event: its envelope, payload, canonical model, and deliveries. */
export function EventPage({ id: raw }) {
  const [idPart, qs] = raw.split("?");
  const id = decodeURIComponent(idPart);
  const source = new URLSearchParams(qs || "").get("source") || "";
  const { data, error } = useLoad(() => call("GET", `/v1/events/${seg(id)}`, { query: { source } }), [id, source]);
  if (error) return <div><PageHead title="Event" sub={id} /><ErrorBox error={error} title="Could not load the event" /></div>;
  if (!data) return <p class="muted">Loading…</p>;
  const model = modelFields.find((f) => data[f]);
  const ext = Object.entries(data.extensions || {});
  return (
    <div>
      <PageHead title="Event" sub={<span class="mono">{data.id}</span>}>
        <a class="btn" href="#/events">Open another</a>
      </PageHead>
      <div class="card" data-testid="event-envelope">
        <dl class="kv">
          <dt>Source</dt><dd class="mono">{data.source}</dd>
          <dt>Type</dt><dd class="mono">{data.type}</dd>
          <dt>Subject</dt><dd class="mono">{data.subject || "—"}</dd>
          <dt>Time</dt><dd>{fmtTime(data.time)}</dd>
          <dt>Received</dt><dd>{fmtTime(data.receive_time)}</dd>
          <dt>Content type</dt><dd class="mono">{data.data_content_type || "—"}</dd>
          {data.trace_id && <><dt>Trace</dt><dd class="mono">{data.trace_id}</dd></>}
          {data.provider_version && <><dt>Provider version</dt><dd class="mono">{data.provider_version}</dd></>}
          {data.source_uri && <><dt>Sender's source</dt><dd class="mono">{data.source_uri}</dd></>}
          {ext.length > 0 && <><dt>Extensions</dt><dd class="mono">{ext.map(([k, v]) => <div>{k}={v}</div>)}</dd></>}
        </dl>
        {(data.mapping_errors || []).length > 0 && (
          <div class="warn-box">
            <Badge kind="warn">mapping errors</Badge>
            {data.mapping_errors.map((m) => <div class="small"><span class="mono">{m.field}</span>: {m.reason}</div>)}
          </div>
        )}
      </div>
      <div class="card">
        <Payload data={data.data} label="Payload" />
        {model && (
          <div class="payload">
            <div class="payload-head">Canonical model <span class="muted">({model})</span></div>
            <pre>{JSON.stringify(data[model], null, 2)}</pre>
          </div>
        )}
      </div>
      <Deliveries id={data.id} source={source || data.source} />
      <DryRunOn id={data.id} source={source || data.source} />
    </div>
  );
}
