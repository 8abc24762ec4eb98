// Routes: the list (with enable and disable), and one route's page, which
// is its editor (live validation through the API's validate_only, which
// compiles the CEL condition and transforms and checks each target against
// its destination's schema) and a dry run against a stored event
// (RouteService.TestRoute: nothing is delivered).
import { useEffect, useRef, useState } from "preact/hooks";
import { call, idOf, seg } from "./api.js";
import { Badge, ConfirmButton, ErrorBox, PageHead, Payload, ago, fmtTime, go, useLoad } from "./util.jsx";

async function listRoutes() {
  const routes = [];
  let token = "";
  do {
    const page = await call("GET", "/v1/routes", { query: { page_size: 1000, page_token: token } });
    routes.push(...(page.routes || []));
    token = page.next_page_token || "";
  } while (token);
  return routes;
}

/** Sets a route's enabled flag (update_mask=enabled: nothing else changes). */
function setEnabled(route, enabled) {
  return call("PATCH", `/v1/routes/${seg(idOf(route.name))}`, {
    query: { update_mask: "enabled" },
    body: { name: route.name, enabled },
  });
}

function RouteState({ route }) {
  const degraded = route.status && route.status.state === "STATE_DEGRADED";
  return (
    <span class="stack">
      {route.enabled === false ? <Badge kind="neutral">disabled</Badge> : <Badge kind="ok">enabled</Badge>}
      {degraded && <Badge kind="bad" title={route.status.reason}>degraded</Badge>}
      {(route.unserved_destinations || []).length > 0 && (
        <Badge kind="warn">no adapter for {route.unserved_destinations.join(", ")}</Badge>
      )}
    </span>
  );
}

/** The routes list. */
export function RoutesPage() {
  const { data, error, loading, reload } = useLoad(listRoutes, []);
  const [actionError, setActionError] = useState(null);
  async function toggle(r) {
    setActionError(null);
    try {
      await setEnabled(r, r.enabled === false);
      reload();
    } catch (e) {
      setActionError(e);
    }
  }
  return (
    <div>
      <PageHead title="Routes" sub="Which events go where: a subject filter, a CEL condition and the targets.">
        <button class="btn" type="button" onClick={reload}>Refresh</button>
        <a class="btn btn-primary" href="#/routes/new">New route</a>
      </PageHead>
      <ErrorBox error={error} title="Could not list routes" />
      <ErrorBox error={actionError} />
      {data && data.length === 0 && (
        <div class="card empty">No routes yet. <a href="#/routes/new">Create the first one</a>.</div>
      )}
      {data && data.length > 0 && (
        <table class="table" data-testid="routes-table">
          <thead>
            <tr><th>Route</th><th>Filter</th><th>Condition</th><th>Targets</th><th>State</th><th>Updated</th><th /></tr>
          </thead>
          <tbody>
            {data.map((r) => (
              <tr key={r.name}>
                <td><a href={`#/routes/${idOf(r.name)}`} class="mono">{idOf(r.name)}</a>
                  {r.description && <div class="muted small">{r.description}</div>}</td>
                <td class="mono">{r.filter}</td>
                <td class="mono clip" title={r.condition}>{r.condition || <span class="muted">(every event)</span>}</td>
                <td>{(r.targets || []).map((t) => <div class="small"><span class="mono">{t.destination}</span>{t.config && t.config.url ? <span class="muted"> {t.config.url}</span> : null}</div>)}</td>
                <td><RouteState route={r} /></td>
                <td class="small" title={fmtTime(r.update_time)}>{ago(r.update_time)}</td>
                <td><button class="btn btn-small" type="button" onClick={() => toggle(r)}>
                  {r.enabled === false ? "Enable" : "Disable"}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loading && !data && <p class="muted">Loading…</p>}
    </div>
  );
}

// The editor's form state, and its conversion from and to the API's Route.

const policyFields = [
  ["max_attempts", "Max attempts", "10"],
  ["initial_backoff", "Initial backoff", "1s"],
  ["max_backoff", "Max backoff", "5m"],
  ["max_age", "Max age", "24h"],
  ["attempt_timeout", "Attempt timeout", "30s"],
];

function emptyTarget() {
  return { name: "", destination: "webhook", action: "", transform: "", config: "url: ", delay: "" };
}

function draftOf(route) {
  const p = route.policy || {};
  return {
    id: idOf(route.name),
    description: route.description || "",
    filter: route.filter || "",
    condition: route.condition || "",
    enabled: route.enabled !== false,
    targets: (route.targets || []).map((t) => ({
      name: t.name || "",
      destination: t.destination || "",
      action: t.action || "",
      transform: t.transform || "",
      config: Object.entries(t.config || {}).map(([k, v]) => `${k}: ${v}`).join("\n"),
      delay: t.delay || "",
    })),
    policy: Object.fromEntries(policyFields.map(([f]) => [f, p[f] === undefined ? "" : String(p[f])])),
    // Policy fields the form has no input for (dead_letter), kept as they are.
    otherPolicy: Object.fromEntries(Object.entries(p).filter(([f]) => !policyFields.some(([g]) => g === f))),
    revision: route.revision || "",
  };
}

/** Parses "key: value" lines; answers [config, error]. */
function parseConfig(text) {
  const config = {};
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at <= 0) return [null, `config line ${i + 1} "${line}": write key: value`];
    config[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return [config, null];
}

/** The draft as an API Route; answers [route, error]. */
function routeOf(d) {
  const targets = [];
  for (const [i, t] of d.targets.entries()) {
    const [config, err] = parseConfig(t.config);
    if (err) return [null, `target ${i + 1}: ${err}`];
    const target = { destination: t.destination.trim(), config };
    if (t.name.trim()) target.name = t.name.trim();
    if (t.action.trim()) target.action = t.action.trim();
    if (t.transform.trim()) target.transform = t.transform;
    if (t.delay.trim()) target.delay = t.delay.trim();
    targets.push(target);
  }
  const policy = { ...(d.otherPolicy || {}) };
  for (const [f] of policyFields) {
    const v = d.policy[f].trim();
    if (v) policy[f] = f === "max_attempts" ? Number(v) : v;
  }
  const route = { filter: d.filter.trim(), condition: d.condition, description: d.description, enabled: d.enabled, targets };
  if (Object.keys(policy).length) route.policy = policy;
  return [route, null];
}

/** Saves (validateOnly: checks) the draft; answers the API's route. */
function saveRoute(d, isNew, validateOnly) {
  const [route, err] = routeOf(d);
  if (err) return Promise.reject(new Error(err));
  if (isNew) {
    return call("POST", "/v1/routes", { query: { route_id: d.id.trim(), validate_only: validateOnly || undefined }, body: route });
  }
  route.name = `routes/${d.id}`;
  if (!validateOnly && d.revision) route.revision = d.revision;
  return call("PATCH", `/v1/routes/${seg(d.id)}`, { query: { validate_only: validateOnly || undefined }, body: route });
}

/** Live validation: the draft is checked by the API a moment after each change. */
function useValidation(draft, isNew) {
  const [state, setState] = useState({ checking: false, error: null, route: null });
  const seq = useRef(0);
  useEffect(() => {
    const n = ++seq.current;
    if (isNew && !draft.id.trim()) {
      setState({ checking: false, error: new Error("give the route an id: 1 to 63 characters of a-z, 0-9 and -, starting with a letter"), route: null });
      return undefined;
    }
    setState((s) => ({ ...s, checking: true }));
    const t = setTimeout(() => {
      saveRoute(draft, isNew, true).then(
        (route) => n === seq.current && setState({ checking: false, error: null, route }),
        (error) => n === seq.current && setState({ checking: false, error, route: null }),
      );
    }, 350);
    return () => clearTimeout(t);
  }, [JSON.stringify(draft), isNew]);
  return state;
}

function Field({ label, hint, children }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
      {hint && <span class="muted small">{hint}</span>}
    </label>
  );
}

function Editor({ initial, isNew, onSaved, initialEvent }) {
  const [draft, setDraft] = useState(initial);
  const [saveError, setSaveError] = useState(null);
  const [saving, setSaving] = useState(false);
  const v = useValidation(draft, isNew);
  const set = (k) => (e) => setDraft({ ...draft, [k]: e.currentTarget.type === "checkbox" ? e.currentTarget.checked : e.currentTarget.value });
  const setTarget = (i, k) => (e) => {
    const targets = draft.targets.slice();
    targets[i] = { ...targets[i], [k]: e.currentTarget.value };
    setDraft({ ...draft, targets });
  };
  const setPolicy = (k) => (e) => setDraft({ ...draft, policy: { ...draft.policy, [k]: e.currentTarget.value } });
  async function save(e) {
    e.preventDefault();
    setSaving(true);
    setSaveError(null);
    try {
      const r = await saveRoute(draft, isNew, false);
      setSaving(false);
      onSaved(r);
    } catch (err) {
      setSaving(false);
      setSaveError(err);
    }
  }
  return (
    <div>
    <form class="card editor" onSubmit={save} data-testid="route-editor">
      <div class="grid2">
        <Field label="Route id" hint={isNew ? "a-z, 0-9 and -, starting with a letter; fixed once created" : "fixed"}>
          <input name="id" value={draft.id} onInput={set("id")} readOnly={!isNew} class="mono" />
        </Field>
        <Field label="Description"><input name="description" value={draft.description} onInput={set("description")} /></Field>
      </div>
      <Field label="Subject filter" hint='over event subjects without "junction.events.": acme.user.created, shopify.order.*, jira.>'>
        <input name="filter" value={draft.filter} onInput={set("filter")} class="mono" />
      </Field>
      <Field label="Condition (CEL)" hint="over event and data (the parsed JSON payload); empty takes every event the filter takes">
        <textarea name="condition" rows={3} value={draft.condition} onInput={set("condition")} class="mono" spellcheck={false} />
      </Field>
      <label class="check"><input type="checkbox" name="enabled" checked={draft.enabled} onChange={set("enabled")} /> Enabled</label>

      <h2>Targets</h2>
      {draft.targets.map((t, i) => (
        <fieldset class="target" key={i}>
          <legend>Target {i + 1}</legend>
          <div class="grid3">
            <Field label="Destination"><input name={`target-${i}-destination`} value={t.destination} onInput={setTarget(i, "destination")} class="mono" /></Field>
            <Field label="Name" hint="defaults to its position"><input name={`target-${i}-name`} value={t.name} onInput={setTarget(i, "name")} class="mono" /></Field>
            <Field label="Action"><input name={`target-${i}-action`} value={t.action} onInput={setTarget(i, "action")} class="mono" /></Field>
          </div>
          <Field label="Config" hint="one key: value per line, e.g. url: https://example.com/hook (never secrets)">
            <textarea name={`target-${i}-config`} rows={2} value={t.config} onInput={setTarget(i, "config")} class="mono" spellcheck={false} />
          </Field>
          <Field label="Transform (CEL)" hint="builds the payload sent; empty sends the event's payload unchanged">
            <textarea name={`target-${i}-transform`} rows={2} value={t.transform} onInput={setTarget(i, "transform")} class="mono" spellcheck={false} />
          </Field>
          <div class="grid3">
            <Field label="Delay" hint="e.g. 10m; empty sends at once"><input name={`target-${i}-delay`} value={t.delay} onInput={setTarget(i, "delay")} class="mono" /></Field>
          </div>
          {draft.targets.length > 1 && (
            <button type="button" class="btn btn-small" onClick={() => setDraft({ ...draft, targets: draft.targets.filter((_, j) => j !== i) })}>Remove target</button>
          )}
        </fieldset>
      ))}
      <button type="button" class="btn btn-small" onClick={() => setDraft({ ...draft, targets: [...draft.targets, emptyTarget()] })}>Add target</button>

      <h2>Delivery policy</h2>
      <div class="grid5">
        {policyFields.map(([f, label, ph]) => (
          <Field label={label}><input name={`policy-${f}`} value={draft.policy[f]} placeholder={ph} onInput={setPolicy(f)} class="mono" /></Field>
        ))}
      </div>

      <div class="validation" data-testid="validation" aria-live="polite">
        {v.checking ? <span class="muted">Checking…</span>
          : v.error ? <div class="error">{v.error.message}</div>
          : v.route ? <div class="ok">✓ Valid: the condition and transforms compile and each target fits its destination.
            {(v.route.unserved_destinations || []).length > 0 && <span class="warn-text"> No running adapter serves {v.route.unserved_destinations.join(", ")} yet: deliveries would wait.</span>}</div>
          : null}
      </div>
      <ErrorBox error={saveError} title="Not saved" />
      <div class="actions">
        <button class="btn btn-primary" type="submit" disabled={saving}>{saving ? "Saving…" : isNew ? "Create route" : "Save changes"}</button>
      </div>
    </form>
    <DryRun draft={draft} initialEvent={initialEvent} />
    </div>
  );
}

/**
 * The recent events to dry-run against (EventService.ListEvents, newest
 * first), those the route's subject filter takes when it has one, as the
 * form stood when loaded or refreshed.
 */
function RecentEvents({ filter, picked, onPick }) {
  const [pattern, setPattern] = useState(filter.trim());
  const { data, error, loading, reload } = useLoad(
    () => call("GET", "/v1/events", { query: { "filter.subject_pattern": pattern, page_size: 20 } }),
    [pattern],
  );
  const events = (data && data.events) || [];
  const key = (e) => `${e.source}\u0000${e.id}`;
  const chosen = events.find((e) => e.id === picked);
  return (
    <div class="recent" data-testid="recent-events">
      <label class="field"><span class="field-label">Recent event{pattern ? <span class="muted"> ({pattern})</span> : null}</span>
        <select name="dry-recent" value={chosen ? key(chosen) : ""} onChange={(e) => {
          const ev = events.find((x) => key(x) === e.currentTarget.value);
          if (ev) onPick(ev);
        }}>
          <option value="">{loading ? "Loading…" : events.length ? `pick one of the ${events.length} newest` : "no recent event"}</option>
          {events.map((e) => <option value={key(e)}>{e.id} · {e.type} · {e.source} · {ago(e.receive_time)}</option>)}
        </select></label>
      <button class="btn btn-small" type="button" onClick={() => (filter.trim() === pattern ? reload() : setPattern(filter.trim()))}
        title="read the newest events again, with the subject filter as it stands">Reload</button>
      {error && <span class="fail-text small">{error.message}</span>}
    </div>
  );
}

/** The dry run: the draft (saved or not) against a stored event or one pasted as JSON. */
function DryRun({ draft, initialEvent }) {
  const [eventId, setEventId] = useState((initialEvent && initialEvent.id) || "");
  const [source, setSource] = useState((initialEvent && initialEvent.source) || "");
  const [pasted, setPasted] = useState("");
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function run() {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      let event;
      if (pasted.trim()) {
        try {
          event = JSON.parse(pasted);
        } catch (e) {
          throw new Error(`the pasted event is not JSON: ${e.message}`);
        }
      } else if (eventId.trim()) {
        event = await call("GET", `/v1/events/${seg(eventId.trim())}`, { query: { source } });
      } else {
        throw new Error("give an event id, or paste an event as JSON");
      }
      const [route, err] = routeOf(draft);
      if (err) throw new Error(err);
      setResult(await call("POST", "/v1/routes:test", { body: { route, event } }));
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  }
  // Opened from an event's page: run at once.
  useEffect(() => {
    if (initialEvent && initialEvent.id) run();
  }, []);
  return (
    <section class="card dryrun" data-testid="dry-run">
      <h2>Dry run</h2>
      <p class="muted small">
        Evaluates this form (saved or not) against an event; nothing is delivered. Pick a recent event, give one by id, or
        paste one. An event's page opens this on it.
      </p>
      <RecentEvents filter={draft.filter} picked={eventId} onPick={(e) => { setEventId(e.id); setSource(e.source); setPasted(""); }} />
      <div class="grid3">
        <Field label="Event id"><input name="dry-event-id" value={eventId} onInput={(e) => setEventId(e.currentTarget.value)} class="mono" /></Field>
        <Field label="Source" hint="only when two sources used the id"><input name="dry-event-source" value={source} onInput={(e) => setSource(e.currentTarget.value)} class="mono" /></Field>
      </div>
      <details>
        <summary>…or paste an event as JSON</summary>
        <textarea name="dry-event-json" rows={5} class="mono" value={pasted} onInput={(e) => setPasted(e.currentTarget.value)}
          placeholder='{"id": "evt-1", "source": "acme", "type": "user.created", "subject": "acme.user.created", "data": "eyJwbGFuIjoicHJvIn0="}' />
      </details>
      <button class="btn" type="button" onClick={run} disabled={busy}>{busy ? "Testing…" : "Test route"}</button>
      <ErrorBox error={error} title="Dry run failed" />
      {result && (
        <div class="dry-result" data-testid="dry-result">
          <p>
            Filter {result.filter_matched ? <Badge kind="ok">matched</Badge> : <Badge kind="bad">did not match</Badge>}{" "}
            Condition {result.condition_matched ? <Badge kind="ok">true</Badge> : <Badge kind="bad">false</Badge>}
          </p>
          {result.reason && <p class="muted">{result.reason}</p>}
          {(result.deliveries || []).map((d) => (
            <div class="card inner">
              <div><strong>Would deliver</strong> to <span class="mono">{d.destination}</span> (target <span class="mono">{d.target}</span>{d.action ? `, ${d.action}` : ""})</div>
              <Payload data={d.payload} label="delivery payload" />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

/** One route's page: status, enable and disable, delete, the editor and the dry run; #/routes/new creates. */
export function RoutePage({ id: raw }) {
  // "#/routes/<id>?event=<event id>&source=<source>" opens the dry run on that event.
  const [id, qs] = raw.split("?");
  const params = new URLSearchParams(qs || "");
  const initialEvent = params.get("event") ? { id: params.get("event"), source: params.get("source") || "" } : null;
  const isNew = id === "new";
  const { data, error, reload } = useLoad(
    () => (isNew ? Promise.resolve(null) : call("GET", `/v1/routes/${seg(id)}`)),
    [id],
  );
  const [actionError, setActionError] = useState(null);
  const [saved, setSaved] = useState("");
  if (isNew) {
    const initial = draftOf({ filter: "", targets: [{ destination: "webhook", config: { url: "" } }] });
    return (
      <div>
        <PageHead title="New route" sub="Checked by the hub as you type; nothing is stored until you create it." />
        <Editor initial={initial} isNew onSaved={(r) => go(`/routes/${idOf(r.name)}`)} />
      </div>
    );
  }
  if (error) return <div><PageHead title={`Route ${id}`} /><ErrorBox error={error} /></div>;
  if (!data) return <p class="muted">Loading…</p>;
  async function toggle() {
    setActionError(null);
    try {
      await setEnabled(data, data.enabled === false);
      reload();
    } catch (e) {
      setActionError(e);
    }
  }
  async function remove() {
    setActionError(null);
    try {
      await call("DELETE", `/v1/routes/${seg(id)}`, { query: { revision: data.revision } });
      go("/routes");
    } catch (e) {
      setActionError(e);
    }
  }
  return (
    <div>
      <PageHead title={`Route ${id}`} sub={data.description}>
        <button class="btn" type="button" onClick={toggle}>{data.enabled === false ? "Enable" : "Disable"}</button>
        <ConfirmButton label="Delete" confirm="Really delete?" onConfirm={remove} />
      </PageHead>
      <div class="card meta">
        <RouteState route={data} />
        <span class="muted small">revision {data.revision} · created {fmtTime(data.create_time)} · updated {fmtTime(data.update_time)}</span>
        {data.status && data.status.reason && <div class="small">Router: {data.status.reason}</div>}
        {saved && <div class="ok small">{saved}</div>}
      </div>
      <ErrorBox error={actionError} />
      <Editor key={data.revision} initial={draftOf(data)} isNew={false} initialEvent={initialEvent}
        onSaved={(r) => { setSaved(`Saved: revision ${r.revision}.`); reload(); }} />
    </div>
  );
}
