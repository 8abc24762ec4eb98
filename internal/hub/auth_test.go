package hub

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/gateway/auth"
	"github.com/junctionhq/junction/internal/cli"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// TestAuthOnARealHub: a default hub refuses anonymous gRPC and REST calls,
// writes an admin key (mode 0600) that works, keeps health, readiness,
// webhooks, OpenAPI and loopback /metrics open, and on a restart over the
// same data keeps the key it made.
func TestAuthOnARealHub(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	h := startHub(t, cfg)
	if want := filepath.Join(dir, AdminKeyFileName); h.AdminKeyFile() != want {
		t.Fatalf("admin key file: got %q, want %q", h.AdminKeyFile(), want)
	}
	fi, err := os.Stat(h.AdminKeyFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin key file: got %v mode %v, want a file with mode 0600", err, fi.Mode().Perm())
	}
	admin := h.adminKey(t)
	if _, err := auth.ParseAPIKey(admin); err != nil {
		t.Fatalf("admin key file holds no API key: %v", err)
	}

	anon, err := grpc.NewClient(h.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	_, err = junctionv1grpc.NewRouteServiceClient(anon).ListRoutes(context.Background(), &junctionv1.ListRoutesRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous gRPC ListRoutes: got %v, want Unauthenticated", err)
	}
	if _, err := h.routes(t).ListRoutes(context.Background(), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Errorf("gRPC ListRoutes with the admin key: %v", err)
	}

	base := "http://" + h.Addrs().HTTP
	for _, tc := range []struct {
		method, path string
		key          string
		want         int
	}{
		{http.MethodGet, "/v1/routes", "", http.StatusUnauthorized},
		{http.MethodPost, "/v1/routes?route_id=x", "", http.StatusUnauthorized},
		{http.MethodGet, "/v1/keys", "", http.StatusUnauthorized},
		{http.MethodGet, "/v1/routes", "jnk_kaaaaaaaaaaaaaaaa_" + strings.Repeat("A", 43), http.StatusUnauthorized},
		{http.MethodGet, "/v1/routes", admin, http.StatusOK},
		{http.MethodGet, "/v1/keys", admin, http.StatusOK},
		{http.MethodGet, "/healthz", "", http.StatusOK},
		{http.MethodGet, "/readyz", "", http.StatusOK},
		{http.MethodGet, "/openapi.json", "", http.StatusOK},
		{http.MethodGet, "/metrics", "", http.StatusOK}, // loopback peer
		// Webhooks check their own signatures: open here, refused there.
		// Webhooks take no API key: the signature check answers (no
		// signature headers: 400).
		{http.MethodPost, "/webhooks/acme", "", http.StatusBadRequest},
	} {
		var body *strings.Reader
		if tc.method == http.MethodPost {
			body = strings.NewReader(`{}`)
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(tc.method, base+tc.path, body)
		req.Header.Set("Content-Type", "application/json")
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s (key %v): got %d, want %d", tc.method, tc.path, tc.key != "", resp.StatusCode, tc.want)
		}
	}

	// Restart over the same data: no new key, the file is unchanged.
	if err := h.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	h2 := startHub(t, cfg)
	if got := h2.adminKey(t); got != admin {
		t.Error("restart replaced the admin key")
	}
	if _, err := h2.routes(t).ListRoutes(context.Background(), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Errorf("ListRoutes with the admin key after restart: %v", err)
	}
}

// TestHubRateLimit: past its burst a key gets 429 with Retry-After over
// REST on a real hub.
func TestHubRateLimit(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Auth.RateLimit = auth.RateLimit{RPS: 0.001, Burst: 2}
	h := startHub(t, cfg)
	codes := []int{}
	retry := ""
	for range 3 {
		resp, err := h.adminGet(t, "http://"+h.Addrs().HTTP+"/v1/routes")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		retry = resp.Header.Get("Retry-After")
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests || retry == "" {
		t.Errorf("three calls with burst 2: got %v, last Retry-After %q; want 200 200 429 with Retry-After", codes, retry)
	}
}

// TestAuthDisabled: only auth.disabled in the config opens the API; no
// admin key is written then.
func TestAuthDisabled(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Auth.Disabled = true
	h := startHub(t, cfg)
	resp, err := http.Get("http://" + h.Addrs().HTTP + "/v1/routes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || h.AdminKeyFile() != "" {
		t.Errorf("auth disabled: got %d and admin key file %q, want 200 and none", resp.StatusCode, h.AdminKeyFile())
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, AdminKeyFileName)); err == nil {
		t.Error("auth disabled: an admin key file was written")
	}
}

func TestLoadAuthConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		wantErr    string
	}{
		{"defaults", "", ""},
		{"oidc", "auth:\n  oidc: {issuer: https://id.example, audience: api, scopes_claim: scp}\n  rate_limit: {rps: 5, burst: 10}\n", ""},
		{"oidc without audience", "auth:\n  oidc: {issuer: https://id.example}\n", "auth.oidc.audience"},
		{"unknown field", "auth:\n  disable: true\n", "disable"},
		{"bad burst", "auth:\n  rate_limit: {rps: 5, burst: -1}\n", "burst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, func(string) string { return "" })
			if err == nil {
				c.SetDefaults()
				err = c.Validate()
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if c.Auth.AdminKeyFile != filepath.Join(DefaultDataDir, AdminKeyFileName) || c.Auth.RateLimit.RPS == 0 {
					t.Errorf("defaults: got admin_key_file %q rate %+v", c.Auth.AdminKeyFile, c.Auth.RateLimit)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

// runCLIWith runs the junction CLI against h with extra arguments (for
// example another --api-key-file, or none).
func runCLIWith(t *testing.T, h *running, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "junction", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(cli.Commands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--server", h.Addrs().GRPC))
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// TestKeysCLI drives `junction keys` against a real hub: a key created
// with routes:read lists routes but cannot apply them (403 naming the
// scope), rotate makes the old secret fail, revoke ends the key, and a
// call without any key gets a hint.
func TestKeysCLI(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	t.Setenv("JUNCTION_API_KEY", "")
	t.Setenv("JUNCTION_API_KEY_FILE", "")
	t.Setenv("JUNCTION_DATA_DIR", "")
	t.Chdir(t.TempDir()) // no ./data/admin.key here
	admin := []string{"--api-key-file", h.AdminKeyFile()}
	secretRe := regexp.MustCompile(`(?m)^(jnk_\S+)$`)

	out, err := runCLIWith(t, h, append([]string{"keys", "create", "--name", "reader", "--scope", "routes:read", "--expires", "720h"}, admin...)...)
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	m := secretRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keys create printed no secret:\n%s", out)
	}
	reader := m[1]
	id := auth.IDOf(reader)
	keyFile := filepath.Join(t.TempDir(), "reader.key")
	if err := os.WriteFile(keyFile, []byte(reader), 0o600); err != nil {
		t.Fatal(err)
	}
	asReader := []string{"--api-key-file", keyFile}

	out, err = runCLIWith(t, h, append([]string{"keys", "list"}, admin...)...)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "reader") || strings.Contains(out, reader) {
		t.Fatalf("keys list: got %v\n%s\nwant the key listed without its secret", err, out)
	}
	if out, err := runCLIWith(t, h, append([]string{"routes", "list"}, asReader...)...); err != nil {
		t.Fatalf("routes list as reader: %v\n%s", err, out)
	}
	routeFile := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(routeFile, []byte("id: r\nfilter: acme.>\ntargets:\n  - destination: webhook\n    config: {url: 'http://127.0.0.1:9/x'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// apply reads first (routes:read passes), then needs routes:write.
	_, err = runCLIWith(t, h, append([]string{"routes", "apply", "-f", routeFile}, asReader...)...)
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied") || !strings.Contains(err.Error(), "needs scope routes:write") {
		t.Fatalf("routes apply as reader: got %v, want PermissionDenied naming routes:write", err)
	}
	if _, err := runCLIWith(t, h, "routes", "list"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") || !strings.Contains(err.Error(), "hint: set JUNCTION_API_KEY") {
		t.Fatalf("routes list with no key: got %v, want Unauthenticated with a hint", err)
	}

	out, err = runCLIWith(t, h, append([]string{"keys", "rotate", id}, admin...)...)
	if err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	m = secretRe.FindStringSubmatch(out)
	if m == nil || m[1] == reader {
		t.Fatalf("keys rotate printed no new secret:\n%s", out)
	}
	if _, err := runCLIWith(t, h, append([]string{"routes", "list"}, asReader...)...); err == nil || !strings.Contains(err.Error(), "Unauthenticated") || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("routes list with the old secret: got %v, want Unauthenticated naming the key file", err)
	}
	if err := os.WriteFile(keyFile, []byte(m[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLIWith(t, h, append([]string{"routes", "list"}, asReader...)...); err != nil {
		t.Fatalf("routes list with the rotated secret: %v\n%s", err, out)
	}
	if out, err := runCLIWith(t, h, append([]string{"keys", "revoke", id}, admin...)...); err != nil {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}
	if _, err := runCLIWith(t, h, append([]string{"routes", "list"}, asReader...)...); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("routes list with a revoked key: got %v, want refused as revoked", err)
	}
	out, err = runCLIWith(t, h, append([]string{"keys", "get", id, "-o", "json"}, admin...)...)
	if err != nil || !strings.Contains(out, `"revoke_time"`) {
		t.Fatalf("keys get: got %v\n%s\nwant revoke_time set", err, out)
	}
}

// TestGuardMetrics: /metrics is open to loopback peers; from another
// address it needs a key with metrics:read; refusals are error bodies.
func TestGuardMetrics(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	ctx := context.Background()
	_, reader, err := h.gateway.Keys().Create(ctx, auth.NewKey{Scopes: []string{auth.ScopeMetricsRead}})
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := h.gateway.Keys().Create(ctx, auth.NewKey{Scopes: []string{auth.ScopeRoutesRead}})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	guard := GuardMetricsPath(h.authn, ok)
	for _, tc := range []struct {
		name, remote, path, key string
		want                    int
	}{
		{"loopback v4", "127.0.0.1:5000", "/metrics", "", http.StatusOK},
		{"loopback v6", "[::1]:5000", "/metrics", "", http.StatusOK},
		{"remote, no key", "192.0.2.7:5000", "/metrics", "", http.StatusUnauthorized},
		{"remote, bad key", "192.0.2.7:5000", "/metrics", "jnk_nope", http.StatusUnauthorized},
		{"remote, key without metrics:read", "192.0.2.7:5000", "/metrics", other.String(), http.StatusForbidden},
		{"remote, metrics:read", "192.0.2.7:5000", "/metrics", reader.String(), http.StatusOK},
		{"remote, admin", "192.0.2.7:5000", "/metrics", h.adminKey(t), http.StatusOK},
		{"remote, other path untouched", "192.0.2.7:5000", "/healthz", "", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.RemoteAddr = tc.remote
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			rec := httptest.NewRecorder()
			guard.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("got %d, want %d (%s)", rec.Code, tc.want, rec.Body.String())
			}
			if rec.Code >= 400 {
				if st, err := rpcstatus.Parse(rec.Body.Bytes()); err != nil || st.Code != int32(rpcstatus.CodeFor(rec.Code)) {
					t.Errorf("refusal %s (%v), want the error body with the code of %d", rec.Body, err, rec.Code)
				}
			}
		})
	}
}

// TestCLIWaitsOutRateLimit: the CLI makes a rate-limited call again after
// the Retry-After the gateway names, so a burst of commands slows down
// instead of failing.
func TestCLIWaitsOutRateLimit(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Auth.RateLimit = auth.RateLimit{RPS: 2, Burst: 1}
	h := startHub(t, cfg)
	for i := range 3 {
		if out, err := runCLIWith(t, h, "routes", "list", "--api-key-file", h.AdminKeyFile()); err != nil {
			t.Fatalf("routes list %d: %v\n%s", i+1, err, out)
		}
	}
}
