// Replay: send stored events again through one route or every enabled
// route (EventService.ReplayEvents), rate capped, after a dry run that lists
// what would be delivered. The replay runs inside the call; one that stops
// early (max events, the call's time limit) answers a token to continue.
import { useState } from "preact/hooks";
import { call, idOf } from "./api.js";
import { Badge, ConfirmButton, ErrorBox, PageHead, useLoad } from "./util.jsx";
import { localInput, rfc3339 } from "./events.jsx";

function Field({ label, hint, children, grow }) {
  return (
    <label class={`field${grow ? " grow" : ""}`}>
      <span class="field-label">{label}</span>
      {children}
      {hint && <span class="muted small">{hint}</span>}
    </label>
  );
}

/** What a replay sent, or would send. */
function ReplayResult({ r }) {
  const items = r.items || [];
  return (
    <section class="card" data-testid="replay-result">
      <div class="section-head">
        <h2>{r.dry_run ? "Dry run: would deliver" : "Replayed"}</h2>
        {r.dry_run ? <Badge kind="info">dry run: nothing sent</Badge> : <Badge kind="ok">sent</Badge>}
      </div>
      <p data-testid="replay-summary">
        {!r.dry_run && <>Replay <span class="mono" data-testid="replay-id">{r.replay_id}</span>: </>}
        {r.events_matched || 0} event{r.events_matched === 1 ? "" : "s"} matched, {r.deliveries || 0}{" "}
        {r.deliveries === 1 ? "delivery" : "deliveries"} {r.dry_run ? "would be sent" : "sent"}.
        {r.next_page_token && <span class="warn-text"> Stopped before the end (max events or the call's time limit).</span>}
      </p>
      {items.length > 0 && (
        <table class="table" data-testid="replay-items">
          <thead><tr><th>Event</th><th>Type</th><th>Route</th><th>Target</th><th>Destination</th><th>Delivery id</th><th>Result</th></tr></thead>
          <tbody>
            {items.map((d) => (
              <tr>
                <td><a class="mono" href={`#/events/${encodeURIComponent(d.event_id)}?source=${encodeURIComponent(d.event_source)}`}>{d.event_id}</a>
                  <div class="muted small mono">{d.event_source}</div></td>
                <td class="mono">{d.event_type}</td>
                <td><a class="mono" href={`#/routes/${d.route_id}`}>{d.route_id}</a></td>
                <td class="mono">{d.target}</td>
                <td class="mono">{d.destination}</td>
                <td class="mono small">{d.delivery_id}</td>
                <td>{d.error ? <span class="fail-text small">{d.error}</span> : r.dry_run ? <Badge kind="info">would send</Badge> : <Badge kind="ok">sent</Badge>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The replay page: the form, its dry run and the real run. */
export function ReplayPage() {
  const routes = useLoad(() => call("GET", "/v1/routes", { query: { page_size: 1000 } }), []);
  const [f, setF] = useState({
    through: "route", route: "", start: localInput(new Date(Date.now() - 3600_000)), end: "",
    source: "", type: "", subject_pattern: "", condition: "", rate: "10", max_events: "1000",
  });
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState("");
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value });
  const list = (routes.data && routes.data.routes) || [];
  const route = f.route || (list[0] ? idOf(list[0].name) : "");

  function request(dryRun, pageToken) {
    const filter = { start_time: rfc3339(f.start) };
    if (f.end) filter.end_time = rfc3339(f.end);
    for (const k of ["source", "type", "subject_pattern", "condition"]) if (f[k].trim()) filter[k] = f[k].trim();
    const body = { filter, dry_run: dryRun };
    if (f.through === "all") body.all_routes = true;
    else body.route = `routes/${route}`;
    if (f.rate.trim()) body.rate = Number(f.rate);
    if (f.max_events.trim()) body.max_events = Number(f.max_events);
    if (pageToken) body.page_token = pageToken;
    return body;
  }
  async function run(dryRun, pageToken) {
    setBusy(dryRun ? "dry" : "real");
    setError(null);
    if (!pageToken) setResult(null);
    try {
      if (!f.start) throw new Error("give the start of the time range (Stored from): a replay needs one");
      if (f.through === "route" && !route) throw new Error("pick a route, or replay through all routes");
      const r = await call("POST", "/v1/events:replay", { body: request(dryRun, pageToken) });
      if (pageToken && result) {
        r.items = [...(result.items || []), ...(r.items || [])];
        r.events_matched = (result.events_matched || 0) + (r.events_matched || 0);
        r.deliveries = (result.deliveries || 0) + (r.deliveries || 0);
      }
      setResult(r);
    } catch (e) {
      setError(e);
    }
    setBusy("");
  }
  return (
    <div>
      <PageHead title="Replay" sub="Send stored events again through a route or all routes: first see what would be delivered, then send it." />
      <form class="card" data-testid="replay-form" onSubmit={(e) => { e.preventDefault(); run(true); }}>
        <div class="row form-row">
          <Field label="Through">
            <select name="replay-through" value={f.through} onChange={set("through")}>
              <option value="route">one route</option>
              <option value="all">all enabled routes</option>
            </select>
          </Field>
          {f.through === "route" && (
            <Field label="Route" hint="its filter, condition and targets apply">
              <select name="replay-route" value={route} onChange={set("route")}>
                {list.map((r) => <option value={idOf(r.name)}>{idOf(r.name)}{r.enabled === false ? " (disabled)" : ""}</option>)}
              </select>
            </Field>
          )}
          <Field label="Stored from" hint="required"><input name="replay-start" type="datetime-local" value={f.start} onInput={set("start")} /></Field>
          <Field label="Stored before" hint="empty: now"><input name="replay-end" type="datetime-local" value={f.end} onInput={set("end")} /></Field>
        </div>
        <div class="grid3">
          <Field label="Source"><input name="replay-source" value={f.source} onInput={set("source")} class="mono" /></Field>
          <Field label="Type"><input name="replay-type" value={f.type} onInput={set("type")} class="mono" /></Field>
          <Field label="Subject pattern"><input name="replay-subject" value={f.subject_pattern} onInput={set("subject_pattern")} class="mono" placeholder="shopify.order.*" /></Field>
        </div>
        <Field label="Condition (CEL)" hint="over event and data; only the events it takes are replayed">
          <input name="replay-condition" value={f.condition} onInput={set("condition")} class="mono" placeholder='event.id == "ord_42"' />
        </Field>
        <div class="row form-row">
          <Field label="Rate" hint="events per second (at most 1000; a dry run is not paced)"><input name="replay-rate" value={f.rate} onInput={set("rate")} class="mono" /></Field>
          <Field label="Max events" hint="per call (at most 10000)"><input name="replay-max" value={f.max_events} onInput={set("max_events")} class="mono" /></Field>
        </div>
        <ErrorBox error={routes.error} title="Could not list routes" />
        <div class="actions">
          <button class="btn btn-primary" type="submit" disabled={!!busy}>{busy === "dry" ? "Listing…" : "Dry run"}</button>
          <ConfirmButton label="Replay" confirm="Really send?" disabled={!!busy} onConfirm={() => run(false)} />
          {busy === "real" && <span class="muted small">Replaying at the rate given…</span>}
          <span class="muted small">A route's receivers get each delivery with the same delivery id as before and a Junction-Replay-Id header.</span>
        </div>
      </form>
      <ErrorBox error={error} title="Replay failed" />
      {result && <ReplayResult r={result} />}
      {result && result.next_page_token && (
        <button class="btn" type="button" disabled={!!busy} onClick={() => run(result.dry_run, result.next_page_token)}>Continue</button>
      )}
    </div>
  );
}
