package hub

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/gateway/auth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
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
	_, err = junctionv1.NewRouteServiceClient(anon).ListRoutes(context.Background(), &junctionv1.ListRoutesRequest{})
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
		{http.MethodPost, "/webhooks/acme", "", http.StatusUnauthorized},
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
