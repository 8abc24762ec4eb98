// Dead letters: deliveries that gave up (DeadLetterService), filtered by
// destination, route and reason, with redrive (send again, optionally
// rendered anew from the current route) and purge.
import { useState } from "preact/hooks";
import { call, idOf } from "./api.js";
import { Badge, ConfirmButton, ErrorBox, PageHead, Payload, fmtTime, useLoad } from "./util.jsx";

export function DeadLettersPage() {
  const [filter, setFilter] = useState({ destination: "", route_id: "", reason: "" });
  const [applied, setApplied] = useState(filter);
  const [token, setToken] = useState("");
  const [tokens, setTokens] = useState([]); // previous pages' tokens, for Back
  const [selected, setSelected] = useState(new Set());
  const [rerender, setRerender] = useState(false);
  const [outcome, setOutcome] = useState(null);
  const query = {
    page_size: 50,
    page_token: token,
    "filter.destination": applied.destination,
    "filter.route_id": applied.route_id,
    "filter.reason": applied.reason,
  };
  const { data, error, loading, reload } = useLoad(() => call("GET", "/v1/deadLetters", { query }), [JSON.stringify(query)]);
  const list = (data && data.dead_letters) || [];

  function apply(e) {
    e.preventDefault();
    setToken("");
    setTokens([]);
    setSelected(new Set());
    setApplied({ ...filter });
  }
  function toggle(name) {
    const s = new Set(selected);
    if (s.has(name)) s.delete(name);
    else s.add(name);
    setSelected(s);
  }
  async function act(kind) {
    setOutcome(null);
    const names = [...selected];
    try {
      if (kind === "redrive") {
        const r = await call("POST", "/v1/deadLetters:redrive", { body: { names, rerender } });
        const failures = r.failures || [];
        setOutcome({
          ok: `Redriven: ${r.redriven_count || 0}.`,
          error: failures.length ? new Error(failures.map((f) => `${f.name}: ${f.error}`).join("; ")) : null,
        });
      } else {
        const r = await call("POST", "/v1/deadLetters:purge", { body: { names } });
        setOutcome({ ok: `Purged: ${r.purged_count || 0}.` });
      }
      setSelected(new Set());
      reload();
    } catch (e) {
      setOutcome({ error: e });
    }
  }
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.currentTarget.value });
  const allSelected = list.length > 0 && list.every((d) => selected.has(d.name));
  return (
    <div>
      <PageHead title="Dead letters" sub="Deliveries that gave up, and why. Redrive sends them again; purge drops them.">
        <button class="btn" type="button" onClick={reload} disabled={loading}>Refresh</button>
      </PageHead>
      <form class="card row" onSubmit={apply}>
        <label class="field"><span class="field-label">Destination</span><input name="destination" value={filter.destination} onInput={set("destination")} class="mono" /></label>
        <label class="field"><span class="field-label">Route id</span><input name="route_id" value={filter.route_id} onInput={set("route_id")} class="mono" /></label>
        <label class="field"><span class="field-label">Reason</span><input name="reason" value={filter.reason} onInput={set("reason")} class="mono" placeholder="e.g. max_attempts" /></label>
        <button class="btn" type="submit">Filter</button>
      </form>
      <div class="toolbar">
        <span class="muted">{selected.size} selected</span>
        <label class="check small"><input type="checkbox" checked={rerender} onChange={(e) => setRerender(e.currentTarget.checked)} /> render again from the current route</label>
        <button class="btn btn-primary" type="button" disabled={selected.size === 0} onClick={() => act("redrive")}>Redrive selected</button>
        <ConfirmButton label="Purge selected" confirm={`Really purge ${selected.size}?`} disabled={selected.size === 0} onConfirm={() => act("purge")} />
      </div>
      {outcome && outcome.ok && <div class="ok" role="status">{outcome.ok}</div>}
      <ErrorBox error={outcome && outcome.error} />
      <ErrorBox error={error} title="Could not list dead letters" />
      {data && list.length === 0 && <div class="card empty">No dead letters{token ? " on this page" : ""}.</div>}
      {list.length > 0 && (
        <table class="table" data-testid="dead-letters-table">
          <thead>
            <tr>
              <th><input type="checkbox" aria-label="select all" checked={allSelected}
                onChange={() => setSelected(allSelected ? new Set() : new Set(list.map((d) => d.name)))} /></th>
              <th>Dead-lettered</th><th>Event</th><th>Route / target</th><th>Destination</th><th>Reason</th><th>Attempts</th><th>Last failure</th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => {
              const dl = d.delivery || {};
              return (
                <tr key={d.name} data-name={d.name}>
                  <td><input type="checkbox" aria-label={`select ${idOf(d.name)}`} checked={selected.has(d.name)} onChange={() => toggle(d.name)} /></td>
                  <td class="small">{fmtTime(d.dead_letter_time)}</td>
                  <td><a class="mono small" href={`#/events/${encodeURIComponent(dl.event_id || "")}?source=${encodeURIComponent(dl.event_source || "")}`}>{dl.event_id}</a>
                    <div class="muted small">{dl.event_source} {dl.event_type}</div></td>
                  <td><a class="mono" href={`#/routes/${d.route_id}`}>{d.route_id}</a> <span class="muted">/ {d.target}</span></td>
                  <td class="mono">{d.destination}</td>
                  <td><Badge kind="bad">{d.reason}</Badge></td>
                  <td>{d.attempts}</td>
                  <td class="reason">{d.last_status_code ? <span class="mono">HTTP {d.last_status_code} </span> : null}{d.last_error}
                    <details><summary class="small">payload</summary><Payload data={dl.payload} label="delivery payload" /></details></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div class="pager">
        <button class="btn btn-small" type="button" disabled={tokens.length === 0}
          onClick={() => { const t = tokens.slice(); setToken(t.pop()); setTokens(t); }}>Previous page</button>
        <button class="btn btn-small" type="button" disabled={!(data && data.next_page_token)}
          onClick={() => { setTokens([...tokens, token]); setToken(data.next_page_token); }}>Next page</button>
      </div>
    </div>
  );
}
