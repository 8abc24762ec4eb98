// Adapters: every running adapter instance as it reports itself
// (AdapterService.ListAdapters), its health and, for destinations, the
// target config keys it takes.
import { call } from "./api.js";
import { Badge, ErrorBox, PageHead, ago, fmtTime, useLoad } from "./util.jsx";

const healthKind = { HEALTH_SERVING: "ok", HEALTH_NOT_SERVING: "bad", HEALTH_STALE: "warn" };

export function AdaptersPage() {
  const { data, error, loading, reload } = useLoad(() => call("GET", "/v1/adapters"), []);
  const list = (data && data.adapters) || [];
  return (
    <div>
      <PageHead title="Adapters" sub="Sources and destinations running now, from their heartbeats.">
        <button class="btn" type="button" onClick={reload} disabled={loading}>Refresh</button>
      </PageHead>
      <ErrorBox error={error} title="Could not list adapters" />
      {data && list.length === 0 && <div class="card empty">No adapter has reported.</div>}
      {list.length > 0 && (
        <table class="table" data-testid="adapters-table">
          <thead><tr><th>Adapter</th><th>Health</th><th>Roles</th><th>Sources</th><th>Version</th><th>Last seen</th><th>Target config</th></tr></thead>
          <tbody>
            {list.map((a) => (
              <tr>
                <td><span class="mono">{a.name}</span><div class="muted small">{a.app} · {a.instance}</div></td>
                <td><Badge kind={healthKind[a.health] || "neutral"}>{(a.health || "HEALTH_UNSPECIFIED").replace(/^HEALTH_/, "").toLowerCase()}</Badge>
                  {a.health_detail && <div class="small">{a.health_detail}</div>}</td>
                <td>{(a.roles || []).join(", ")}</td>
                <td class="mono small">{(a.sources || []).join(", ")}</td>
                <td class="mono small">{a.version}</td>
                <td class="small" title={fmtTime(a.last_seen_time)}>{ago(a.last_seen_time)}<div class="muted">up since {fmtTime(a.start_time)}</div></td>
                <td class="small">
                  {a.target_schema && (a.target_schema.keys || []).map((k) => (
                    <div><span class="mono">{k.name}</span>{k.required && <Badge kind="info">required</Badge>} <span class="muted">{k.description}</span></div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
