// Events: search the stored events (EventService.ListEvents), follow new
// ones live (EventService.TailEvents, server-sent events read with fetch),
// open one by id (EventService.GetEvent) and see its payload, its
// deliveries and every attempt with the reason of each failure
// (DeliveryService.ListEventDeliveries); resend it to its routes.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, idOf, seg, stream } from "./api.js";
import { Badge, ErrorBox, PageHead, Payload, StateBadge, fmtTime, go, useLoad, ago } from "./util.jsx";

/** The page of one event: "#/events/<id>?source=<source>". */
export function eventHref(e) {
  return `#/events/${encodeURIComponent(e.id)}?source=${encodeURIComponent(e.source || "")}`;
}

/** A datetime-local input's value as RFC 3339 (UTC), or "" when empty. */
export function rfc3339(local) {
  if (!local) return "";
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** A Date as a datetime-local input's value (local time, minutes). */
export function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The payload of an event on one line: its JSON (data_json) or its text. */
function payloadLine(e) {
  if (e.data_json !== undefined) return JSON.stringify(e.data_json);
  if (!e.data) return "";
  try {
    return atob(e.data);
  } catch {
    return e.data;
  }
}

/** Events as a table, newest first; a row opens the event's page. */
function EventTable({ events, testid, timeOf }) {
  return (
    <table class="table events-table" data-testid={testid}>
      <thead><tr><th>Received</th><th>Source</th><th>Type</th><th>Subject</th><th>Event id</th><th>Payload</th></tr></thead>
      <tbody>
        {events.map((e) => (
          <tr key={`${e.source}/${e.id}`} class="clickable" onClick={() => go(eventHref(e).slice(1))}>
            <td class="small nowrap" title={fmtTime(e.receive_time)}>{fmtTime(timeOf ? timeOf(e) : e.receive_time)}</td>
            <td class="mono">{e.source}</td>
            <td class="mono">{e.type}</td>
            <td class="mono clip" title={e.subject}>{e.subject || <span class="muted">—</span>}</td>
            <td><a class="mono" href={eventHref(e)} onClick={(ev) => ev.stopPropagation()}>{e.id}</a></td>
            <td class="mono small clip payload-cell" title={payloadLine(e)}>{payloadLine(e)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Input({ label, name, value, set, placeholder, hint, type, grow }) {
  return (
    <label class={`field${grow ? " grow" : ""}`}><span class="field-label">{label}</span>
      <input name={name} type={type || "text"} value={value} placeholder={placeholder || ""} class={type ? "" : "mono"}
        onInput={(e) => set(e.currentTarget.value)} />
      {hint && <span class="muted small">{hint}</span>}
    </label>
  );
}

/** Search: ListEvents with a filter, newest first, a page at a time. */
function Search() {
  const [f, setF] = useState({ source: "", type: "", subject_pattern: "", start: "", end: "", condition: "" });
  const [pageSize, setPageSize] = useState("50");
  const [state, setState] = useState({ events: [], scanned: 0, token: "", done: false, busy: false, error: null, query: null });
  const set = (k) => (v) => setF({ ...f, [k]: v });
  async function fetchPage(query, prev) {
    setState({ ...prev, busy: true, error: null });
    try {
      const r = await call("GET", "/v1/events", { query: { ...query, page_token: prev.token } });
      setState({
        events: [...prev.events, ...(r.events || [])],
        scanned: prev.scanned + Number(r.scanned || 0),
        token: r.next_page_token || "",
        done: true,
        busy: false,
        error: null,
        query,
      });
    } catch (error) {
      setState({ ...prev, busy: false, error });
    }
  }
  function search(e) {
    if (e) e.preventDefault();
    const query = {
      "filter.source": f.source.trim(),
      "filter.type": f.type.trim(),
      "filter.subject_pattern": f.subject_pattern.trim(),
      "filter.start_time": rfc3339(f.start),
      "filter.end_time": rfc3339(f.end),
      "filter.condition": f.condition.trim(),
      page_size: pageSize,
    };
    fetchPage(query, { events: [], scanned: 0, token: "", done: false });
  }
  useEffect(() => search(), []);
  const { events, scanned, token, done, busy, error } = state;
  return (
    <section class="card" data-testid="events-search">
      <h2>Search</h2>
      <form onSubmit={search} data-testid="search-form">
        <div class="grid3">
          <Input label="Source" name="search-source" value={f.source} set={set("source")} placeholder="shopify" />
          <Input label="Type" name="search-type" value={f.type} set={set("type")} placeholder="order.created" />
          <Input label="Subject pattern" name="search-subject" value={f.subject_pattern} set={set("subject_pattern")} placeholder="shopify.order.*, jira.>" />
        </div>
        <div class="row search-row">
          <Input label="Stored from" name="search-start" type="datetime-local" value={f.start} set={set("start")} />
          <Input label="Stored before" name="search-end" type="datetime-local" value={f.end} set={set("end")} />
          <label class="field grow"><span class="field-label">Condition (CEL)</span>
            <input name="search-condition" value={f.condition} onInput={(e) => set("condition")(e.currentTarget.value)} class="mono"
              placeholder='over event and data, as a route condition: data.total > 100 && event.subject == "ord_42"' /></label>
          <label class="field narrow"><span class="field-label">Per page</span>
            <select name="search-page-size" value={pageSize} onChange={(e) => setPageSize(e.currentTarget.value)}>
              {["20", "50", "100", "500"].map((n) => <option value={n}>{n}</option>)}
            </select></label>
          <button class="btn btn-primary" type="submit" disabled={busy}>{busy && events.length === 0 ? "Searching…" : "Search"}</button>
        </div>
      </form>
      <ErrorBox error={error} title="Search failed" />
      {done && events.length === 0 && !token && <p class="muted" data-testid="search-empty">No stored event matches.</p>}
      {events.length > 0 && <EventTable events={events} testid="search-results" />}
      {done && (
        <div class="pager search-status" data-testid="search-status" data-source={(state.query || {})["filter.source"] || ""}
          data-condition={(state.query || {})["filter.condition"] || ""}>
          <span class="muted small">
            {events.length} event{events.length === 1 ? "" : "s"} shown, newest first · scanned {scanned} stored event{scanned === 1 ? "" : "s"}
            {token ? ", more older ones to read" : ", nothing older"}
          </span>
          {token && <button class="btn btn-small" type="button" disabled={busy} onClick={() => fetchPage(state.query, state)}>
            {busy ? "Reading…" : "More…"}</button>}
        </div>
      )}
    </section>
  );
}

const tailCap = 100;
// A dropped tail (the hub restarting, the connection lost) is taken up again
// after the last event it showed: tries from tailRetryMin ms, doubling up to
// tailRetryMax, for tailGiveUpMs at most.
const tailRetryMin = 250;
const tailRetryMax = 5000;
const tailGiveUpMs = 120000;

/** Whether a tail that failed with err is worth taking up again: the hub did not answer or went away, not a refusal. */
function resumable(err) {
  if (!(err instanceof ApiError)) return true; // the stream broke while being read
  return err.status === 0 || err.code === 14 || err.status === 502 || err.status === 503 || err.status === 504;
}

/** Waits ms; answers false when signal aborts first. */
function pause(ms, signal) {
  return new Promise((ok) => {
    const t = setTimeout(() => ok(true), ms);
    signal.addEventListener("abort", () => { clearTimeout(t); ok(false); }, { once: true });
  });
}

/** Live tail: TailEvents as server-sent events, newest on top, the last tailCap kept. */
function Tail() {
  const [pattern, setPattern] = useState(">");
  const [condition, setCondition] = useState("");
  const [events, setEvents] = useState([]);
  const [status, setStatus] = useState("stopped"); // stopped, connecting, following, reconnecting
  const [error, setError] = useState(null);
  const abort = useRef(null);
  useEffect(() => () => abort.current && abort.current.abort(), []);
  async function start(e) {
    e.preventDefault();
    if (abort.current) abort.current.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setError(null);
    setEvents([]);
    setStatus("connecting");
    let last = ""; // the sequence of the last event shown: a dropped tail resumes after it
    let followed = false; // a heartbeat came: the tail was up once
    let down = 0; // when the tail dropped; 0 while it is up
    let wait = tailRetryMin;
    for (;;) {
      let dropped;
      try {
        await stream("/v1/events:tail", {
          query: { subject_pattern: pattern.trim(), condition: condition.trim(), after_sequence: last },
          signal: ctl.signal,
          // The first heartbeat says the tail is in place: every event stored from now on (or after the last one shown) arrives.
          onComment: () => {
            if (ctl.signal.aborted) return;
            followed = true;
            down = 0;
            wait = tailRetryMin;
            setStatus("following");
          },
          onEvent: (name, msg) => {
            if (ctl.signal.aborted) return;
            if (name === "error") {
              setError({ message: (msg && msg.message) || String(msg) });
              return;
            }
            if (msg && msg.event) {
              last = msg.sequence || last;
              const ev = { ...msg.event, seq: msg.sequence, seen: new Date().toISOString() };
              setEvents((list) => [ev, ...list].slice(0, tailCap));
            }
          },
        });
        dropped = { message: "the hub ended the tail" };
      } catch (err) {
        if (err.name === "AbortError") break;
        if (!followed || !resumable(err)) {
          setError(err);
          break;
        }
        dropped = err;
      }
      if (abort.current !== ctl) break;
      if (!down) down = Date.now();
      else if (Date.now() - down > tailGiveUpMs) {
        setError({ message: `the tail could not be taken up again: ${dropped.message}` });
        break;
      }
      setStatus("reconnecting");
      if (!(await pause(wait, ctl.signal))) break;
      wait = Math.min(wait * 2, tailRetryMax);
    }
    if (abort.current === ctl) {
      abort.current = null;
      setStatus("stopped");
    }
  }
  function stop() {
    if (abort.current) abort.current.abort();
    abort.current = null;
    setStatus("stopped");
  }
  const running = status !== "stopped";
  return (
    <section class="card" data-testid="events-tail">
      <div class="section-head">
        <h2>Live tail</h2>
        <span data-testid="tail-status">
          {status === "following" ? <Badge kind="ok">following</Badge>
            : status === "connecting" ? <Badge kind="info">connecting…</Badge>
              : status === "reconnecting" ? <Badge kind="warn">reconnecting…</Badge> : <Badge>stopped</Badge>}
        </span>
      </div>
      <form class="row" onSubmit={start} data-testid="tail-form">
        <Input label="Subject pattern" name="tail-pattern" value={pattern} set={setPattern} hint="> follows every event" />
        <label class="field grow"><span class="field-label">Condition (CEL)</span>
          <input name="tail-condition" value={condition} onInput={(e) => setCondition(e.currentTarget.value)} class="mono" placeholder="data.total > 100" />
          <span class="muted small">events stored from the start on; the newest {tailCap} stay on screen; a dropped tail resumes after the last event shown</span></label>
        {running
          ? <button key="stop" class="btn" type="button" onClick={stop}>Stop</button>
          : <button key="start" class="btn btn-primary" type="submit">Start</button>}
      </form>
      <ErrorBox error={error} title="Tail" />
      {running && events.length === 0 && <p class="muted small">Waiting for events…</p>}
      {events.length > 0 && <EventTable events={events} testid="tail-events" />}
      {events.length >= tailCap && <p class="muted small">Showing the newest {tailCap}.</p>}
    </section>
  );
}

/** Open an event by id (and source when two sources used the id). */
function OpenById() {
  const [id, setId] = useState("");
  const [source, setSource] = useState("");
  function open(e) {
    e.preventDefault();
    if (id.trim()) go(`/events/${encodeURIComponent(id.trim())}${source.trim() ? `?source=${encodeURIComponent(source.trim())}` : ""}`);
  }
  return (
    <form class="card row" onSubmit={open} data-testid="open-event">
      <label class="field grow"><span class="field-label">Event id</span>
        <input name="event-id" value={id} onInput={(e) => setId(e.currentTarget.value)} class="mono" placeholder="the id the webhook answer or the sender gave" /></label>
      <label class="field"><span class="field-label">Source</span>
        <input name="event-source" value={source} onInput={(e) => setSource(e.currentTarget.value)} class="mono" placeholder="only if ambiguous" /></label>
      <button class="btn" type="submit">Open</button>
    </form>
  );
}

/** The events page: search, live tail, open by id. */
export function EventsPage() {
  return (
    <div>
      <PageHead title="Events" sub="Every event the hub stored, with what became of it.">
        <a class="btn" href="#/replay">Replay…</a>
      </PageHead>
      <Search />
      <Tail />
      <OpenById />
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
