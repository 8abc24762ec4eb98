package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/hubspot/hubspottest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// The shipped flows under examples/<flow>/ run end to end in these tests
// (examples_*_e2e_test.go), from the folder's own files: serve's config is
// read from junction.yaml by Load, as `junction serve -c` reads it, and
// the routes are applied from routes/ by the CLI's own `routes apply -f`,
// so an example that no longer loads, validates or routes fails here. The
// tests change only what must point at the test's stand-ins: the addresses
// and data directory (the JUNCTION_* variables serve reads), an app's API
// base URL, and the demo receiver's address in the route files.

// examplesDir is the repository's examples folder, from this package.
const examplesDir = "../../examples"

// exampleFile reads a file of an example folder.
func exampleFile(t *testing.T, flow, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, flow, name))
	if err != nil {
		t.Fatalf("example %s: %v", flow, err)
	}
	return b
}

// loadExample reads examples/<flow>/junction.yaml as serve does, on free
// loopback ports and a fresh data directory, and validates it. edit, when
// given, points the config at the test's stand-ins before validation.
func loadExample(t *testing.T, flow string, edit func(*Config)) Config {
	t.Helper()
	env := map[string]string{
		"JUNCTION_DATA_DIR":  t.TempDir(),
		"JUNCTION_HTTP_ADDR": "127.0.0.1:0",
		"JUNCTION_GRPC_ADDR": "127.0.0.1:0",
		"JUNCTION_NATS_ADDR": "127.0.0.1:0",
		"JUNCTION_LOG_LEVEL": "warn",
	}
	cfg, err := Load(filepath.Join(examplesDir, flow, "junction.yaml"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("example %s: %v", flow, err)
	}
	if edit != nil {
		edit(&cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("example %s: invalid configuration: %v", flow, err)
	}
	return cfg
}

// setAppConfig sets key (a dot path) of the `sources:` entry of app to
// value, e.g. the API base URL of a stand-in. The entry must exist.
func setAppConfig(t *testing.T, cfg *Config, app, key string, value any) {
	t.Helper()
	i := slices.IndexFunc(cfg.Sources, func(s SourceApp) bool { return s.App == app })
	if i < 0 {
		t.Fatalf("the example's config has no sources entry for %s", app)
	}
	m := map[string]any{}
	if cfg.Sources[i].Config.Kind != 0 {
		if err := cfg.Sources[i].Config.Decode(&m); err != nil {
			t.Fatal(err)
		}
	}
	parts := strings.Split(key, ".")
	at := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := at[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			at[p] = next
		}
		at = next
	}
	at[parts[len(parts)-1]] = value
	var node yaml.Node
	if err := node.Encode(m); err != nil {
		t.Fatal(err)
	}
	cfg.Sources[i].Config = node
}

// applyExampleRoutes applies examples/<flow>/routes with `junction routes
// apply -f`, after replacing in the files each old string of replace
// with its new one (old, new, old, new...): the demo receiver's address
// by a test server's, a long delay by the shortest. Every old string must
// occur, so a changed example cannot silently skip its replacement. The
// command is retried until the destination adapters have registered
// their target schemas, and the router runs with the routes it returns.
func applyExampleRoutes(t *testing.T, h *running, flow string, replace ...string) []*junctionv1.Route {
	t.Helper()
	src := filepath.Join(examplesDir, flow, "routes")
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("example %s has no route files in %s (%v)", flow, src, err)
	}
	dir := t.TempDir()
	found := make([]bool, len(replace)/2)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for i := 0; i+1 < len(replace); i += 2 {
			if strings.Contains(s, replace[i]) {
				found[i/2] = true
				s = strings.ReplaceAll(s, replace[i], replace[i+1])
			}
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, ok := range found {
		if !ok {
			t.Fatalf("example %s: no route file contains %q any more; update the test", flow, replace[2*i])
		}
	}
	var out string
	waitFor(t, 30*time.Second, "routes apply -f "+src, func() error {
		var err error
		out, err = runCLI(t, h, "routes", "apply", "-f", dir)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	// The flow's destination adapters register as they start, beside the
	// hub: on a busy machine one may not have yet when the routes are
	// saved. Every destination must be served within the wait.
	var list *junctionv1.ListRoutesResponse
	waitFor(t, 30*time.Second, "every destination of "+flow+"'s routes served", func() error {
		var err error
		if list, err = h.routes(t).ListRoutes(context.Background(), &junctionv1.ListRoutesRequest{}); err != nil {
			return fmt.Errorf("ListRoutes: %w", err)
		}
		for _, r := range list.GetRoutes() {
			if len(r.GetUnservedDestinations()) > 0 {
				return fmt.Errorf("route %s has destinations no adapter serves: %v", r.GetName(), r.GetUnservedDestinations())
			}
		}
		return nil
	})
	var rev uint64
	for _, r := range list.GetRoutes() {
		rev = max(rev, r.GetRevision())
		if !strings.Contains(out, "route/"+strings.TrimPrefix(r.GetName(), "routes/")+" ") {
			t.Errorf("routes apply printed %q, no line for %s", out, r.GetName())
		}
	}
	if len(list.GetRoutes()) != len(files) {
		t.Errorf("%d routes stored from %d files of %s", len(list.GetRoutes()), len(files), src)
	}
	h.routeApplied(t, rev)
	return list.GetRoutes()
}

// hookCall is one request a hookServer took.
type hookCall struct {
	path   string
	id     string // webhook-id: the delivery id, the same on every attempt
	body   []byte
	status int // what the server answered
}

// hookServer stands in for the webhook endpoints of a flow (fulfilment,
// accounting, ...) on one address: every request's Standard Webhooks
// signature is checked with the hub's outbound secret, and each path
// answers 204 unless told to fail.
type hookServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []hookCall
	fail  map[string]int // path -> status to answer while set
}

func newHookServer(t *testing.T, secret string) *hookServer {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	s := &hookServer{fail: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		code := http.StatusNoContent
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := wh.Verify(body, r.Header); err != nil {
			code = http.StatusUnauthorized
		} else if c, ok := s.fail[r.URL.Path]; ok {
			code = c
		}
		s.calls = append(s.calls, hookCall{path: r.URL.Path, id: r.Header.Get("webhook-id"), body: body, status: code})
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

// failPath has path answer code until recover(path).
func (s *hookServer) failPath(path string, code int) {
	s.mu.Lock()
	s.fail[path] = code
	s.mu.Unlock()
}

// recoverPath has path answer 204 again.
func (s *hookServer) recoverPath(path string) {
	s.mu.Lock()
	delete(s.fail, path)
	s.mu.Unlock()
}

// at returns the requests path took, in order.
func (s *hookServer) at(path string) []hookCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []hookCall
	for _, c := range s.calls {
		if c.path == path {
			out = append(out, c)
		}
	}
	return out
}

// delivered returns the requests path answered 2xx.
func (s *hookServer) delivered(path string) []hookCall {
	var out []hookCall
	for _, c := range s.at(path) {
		if c.status/100 == 2 {
			out = append(out, c)
		}
	}
	return out
}

// unsigned counts requests whose signature did not verify.
func (s *hookServer) unsigned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.status == http.StatusUnauthorized {
			n++
		}
	}
	return n
}

// checkJSON reports whether body is the JSON object want, key by key.
func checkJSON(t *testing.T, what string, body []byte, want string) {
	t.Helper()
	var got, exp map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Errorf("%s: not a JSON object: %v: %s", what, err, body)
		return
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s:\n got %s\nwant %s", what, body, want)
	}
}

// checkContact checks the properties of the contact the HubSpot stand-in
// holds for email.
func checkContact(t *testing.T, api *hubspottest.Server, email string, want map[string]string) {
	t.Helper()
	c := api.Contact(email)
	if c == nil {
		t.Errorf("HubSpot has no contact %s", email)
		return
	}
	if !maps.Equal(c.Properties, want) {
		t.Errorf("HubSpot contact %s has properties %v, want %v", email, c.Properties, want)
	}
	if p := api.Problems(); len(p) > 0 {
		t.Errorf("requests broke HubSpot's documented API: %q", p)
	}
}

// exampleHubSpot starts the HubSpot CRM stand-in and sets the variables
// the examples' hubspot entries read; point the entry at it with
// useHubSpot.
func exampleHubSpot(t *testing.T) *hubspottest.Server {
	t.Helper()
	t.Setenv("HUBSPOT_ACCESS_TOKEN", hubspottest.Token)
	t.Setenv("HUBSPOT_CLIENT_SECRET", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy")
	return hubspottest.New(t)
}

// useHubSpot points the example's hubspot entry at the stand-in, which
// listens on loopback (refused unless allowed).
func useHubSpot(t *testing.T, c *Config, api *hubspottest.Server) {
	t.Helper()
	setAppConfig(t, c, "hubspot", "crm.base_url", api.URL)
	setAppConfig(t, c, "hubspot", "crm.allow", []string{"127.0.0.1/32"})
}
