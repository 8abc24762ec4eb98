// Junction console: the page shell (sign-in, navigation) and the hash
// router over the pages. Every page reads and writes through the public
// REST API (api.js) with the operator's key.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { apiKey, call, setApiKey, signOut } from "./api.js";
import { useHashPath } from "./util.jsx";
import { RoutesPage, RoutePage } from "./routes.jsx";
import { EventsPage, EventPage } from "./events.jsx";
import { DeadLettersPage } from "./deadletters.jsx";
import { AdaptersPage } from "./adapters.jsx";
import { ThroughputPage } from "./throughput.jsx";
import { ReplayPage } from "./replay.jsx";

const nav = [
  ["/routes", "Routes"],
  ["/events", "Events"],
  ["/replay", "Replay"],
  ["/dead-letters", "Dead letters"],
  ["/adapters", "Adapters"],
  ["/throughput", "Throughput"],
];

function SignIn({ reason, onSignedIn }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(reason ? `Signed out: ${reason}` : "");
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const k = key.trim();
    if (!k) {
      setError("Paste an API key first.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      // Any call checks the key; a key without routes:read is still a key.
      await call("GET", "/v1/routes", { query: { page_size: 1 }, key: k });
    } catch (err) {
      if (err.status !== 403) {
        setBusy(false);
        setError(err.status === 401 ? `The hub refused this key: ${err.message}` : err.message);
        return;
      }
    }
    setApiKey(k);
    setBusy(false);
    onSignedIn();
  }
  return (
    <div class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <h1>Junction console</h1>
        <p>
          Sign in with an API key. An administrator key is written by <code>junction serve</code> to{" "}
          <code>&lt;data_dir&gt;/admin.key</code>; <code>junction keys create</code> makes narrower ones.
        </p>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false}
          value={key} onInput={(e) => setKey(e.currentTarget.value)} autofocus />
        <p class="muted small">
          The key stays in this browser tab (sessionStorage) until you sign out or close the tab, and is sent only to
          this hub, as <code>Authorization: Bearer</code>.
        </p>
        {error && <div class="error" role="alert">{error}</div>}
        <button class="btn btn-primary" type="submit" disabled={busy}>{busy ? "Checking…" : "Sign in"}</button>
      </form>
    </div>
  );
}

function Page({ path }) {
  const parts = path.split("/").filter(Boolean);
  switch (parts[0]) {
    case "routes":
      if (parts.length > 1) return <RoutePage id={parts[1]} />;
      return <RoutesPage />;
    case "events":
      if (parts.length > 1) return <EventPage id={parts.slice(1).join("/")} />;
      return <EventsPage />;
    case "replay":
      return <ReplayPage />;
    case "dead-letters":
      return <DeadLettersPage />;
    case "adapters":
      return <AdaptersPage />;
    case "throughput":
      return <ThroughputPage />;
    default:
      return <div class="card">No page at {path}. <a href="#/routes">Routes</a></div>;
  }
}

function App() {
  const [signedIn, setSignedIn] = useState(apiKey() !== "");
  const [reason, setReason] = useState("");
  const path = useHashPath();
  useEffect(() => {
    const on = (e) => {
      setReason(e.detail);
      setSignedIn(false);
    };
    window.addEventListener("junction:signedout", on);
    return () => window.removeEventListener("junction:signedout", on);
  }, []);
  if (!signedIn) return <SignIn reason={reason} onSignedIn={() => { setReason(""); setSignedIn(true); }} />;
  const section = "/" + (path.split("/").filter(Boolean)[0] || "routes");
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/routes">Junction</a>
        <nav>
          {nav.map(([href, label]) => (
            <a href={`#${href}`} class={section === href ? "active" : ""}>{label}</a>
          ))}
        </nav>
        <button class="btn btn-quiet" type="button" onClick={() => signOut("")}>Sign out</button>
      </header>
      <main key={path}>
        <Page path={path} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app"));
