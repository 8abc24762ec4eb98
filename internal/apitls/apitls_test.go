package apitls

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
)

func TestSelfSignedHosts(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name   string
		listen []string
		want   []string
		absent []string
	}{
		{name: "loopback", listen: []string{"127.0.0.1:8080", "127.0.0.1:9090"}, want: []string{"localhost", "127.0.0.1", "::1"}, absent: []string{host}},
		{name: "a name", listen: []string{"hub.internal:8443"}, want: []string{"hub.internal", "localhost"}},
		{name: "an address", listen: []string{"10.0.0.5:9090"}, want: []string{"10.0.0.5"}},
		{name: "all interfaces", listen: []string{"0.0.0.0:8080", "[::]:9090"}, want: []string{host, "127.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SelfSignedHosts(tc.listen)
			for _, w := range tc.want {
				if w != "" && !slices.Contains(got, w) {
					t.Errorf("SelfSignedHosts(%q) = %q, missing %q", tc.listen, got, w)
				}
			}
			for _, a := range tc.absent {
				if a != "" && a != "localhost" && slices.Contains(got, a) {
					t.Errorf("SelfSignedHosts(%q) = %q, want no %q", tc.listen, got, a)
				}
			}
			seen := map[string]bool{}
			for _, h := range got {
				if seen[h] {
					t.Errorf("SelfSignedHosts(%q) = %q: %q twice", tc.listen, got, h)
				}
				seen[h] = true
			}
		})
	}
}

// TestGuardPaths checks which paths of the shared listener need a client
// certificate under mutual TLS: all but the webhooks and the probes.
func TestGuardPaths(t *testing.T) {
	a, err := New(Config{SelfSigned: true, ClientCAFile: writeCA(t)}, []string{"127.0.0.1:0"}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := a.Guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		path string
		open bool
	}{
		{"/webhooks/acme", true},
		{"/webhooks/", true},
		{"/healthz", true},
		{"/readyz", true},
		{"/v1/routes", false},
		{"/openapi.json", false},
		{"/metrics", false},
		{"/webhooksacme", false},
		{"/healthz/x", false},
		{"/", false},
	} {
		for _, verified := range []bool{false, true} {
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			r.TLS = &tls.ConnectionState{}
			if verified {
				r.TLS.VerifiedChains = [][]*x509.Certificate{{nil}}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			want := http.StatusForbidden
			if tc.open || verified {
				want = http.StatusTeapot
			}
			if rec.Code != want {
				t.Errorf("GET %s (verified client certificate: %v) = %d, want %d", tc.path, verified, rec.Code, want)
			}
		}
	}
	var none *API
	if none.Guard(h) == nil || none.MutualTLS() || none.Scheme() != "http" || none.HTTPConfig() != nil || none.GRPCServerOptions() != nil {
		t.Error("a nil API (no TLS) must change nothing")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{name: "off"},
		{name: "files", c: Config{CertFile: "c", KeyFile: "k"}},
		{name: "self-signed with a client CA", c: Config{SelfSigned: true, ClientCAFile: "ca"}},
		{name: "certificate alone", c: Config{CertFile: "c"}, want: "tls.key_file"},
		{name: "key alone", c: Config{KeyFile: "k"}, want: "tls.cert_file"},
		{name: "both ways", c: Config{CertFile: "c", KeyFile: "k", SelfSigned: true}, want: "not both"},
		{name: "client CA alone", c: Config{ClientCAFile: "ca"}, want: "without TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// writeCA writes a CA certificate for a client CA file.
func writeCA(t *testing.T) string {
	t.Helper()
	ca, err := tlsconfig.NewAuthority("clients", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
