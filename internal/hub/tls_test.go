package hub

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
	"github.com/junctionhq/junction/internal/natsauth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
	"github.com/nats-io/nats.go"
)

// testPKI is a CA with a server certificate (and key) written to files,
// generated per test: no key is committed.
type testPKI struct {
	ca       *tlsconfig.Authority
	dir      string
	certFile string
	keyFile  string
	caFile   string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := tlsconfig.NewAuthority("hub test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &testPKI{ca: ca, dir: dir, certFile: filepath.Join(dir, "server.crt"), keyFile: filepath.Join(dir, "server.key"), caFile: filepath.Join(dir, "ca.pem")}
	if err := os.WriteFile(p.caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	p.issueServer(t)
	return p
}

// issueServer writes a new server certificate for 127.0.0.1 and returns it.
func (p *testPKI) issueServer(t *testing.T) *x509.Certificate {
	t.Helper()
	c, err := p.ca.Issue("hub", []string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := tlsconfig.EncodePEM(c)
	if err != nil {
		t.Fatal(err)
	}
	for path, b := range map[string][]byte{p.keyFile: keyPEM, p.certFile: certPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c.Leaf
}

// client issues a client certificate.
func (p *testPKI) client(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := p.ca.Issue("cli", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *testPKI) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	return pool
}

// tlsClient is what one test caller presents.
type tlsClient struct {
	name  string
	certs []tls.Certificate
}

func (p *testPKI) tlsConfig(certs []tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.roots(), Certificates: certs, MinVersion: tls.VersionTLS12}
}

func (p *testPKI) httpClient(certs []tls.Certificate) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: p.tlsConfig(certs), ForceAttemptHTTP2: true}}
}

// grpcCall lists routes and checks health over gRPC with creds.
func grpcCall(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		return err
	}
	_, err = junctionv1grpc.NewRouteServiceClient(conn).ListRoutes(ctx, &junctionv1.ListRoutesRequest{})
	return err
}

// reachedAPI reports whether a gRPC call got past the transport: an answer,
// or a refusal by the API itself (an API key check of the auth layer).
func reachedAPI(err error) bool {
	return err == nil || status.Code(err) == codes.Unauthenticated || status.Code(err) == codes.PermissionDenied
}

// restGet does GET url and returns the status and body.
func restGet(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// restReached reports whether a REST answer came from the API (200, or
// 401 from an auth layer) rather than from the mutual TLS guard.
func restReached(code int, body string) bool {
	return code == http.StatusOK || (code == http.StatusUnauthorized && !strings.Contains(body, "mutual TLS"))
}

func TestServeTLS(t *testing.T) {
	p := newTestPKI(t)
	cfg := testConfig(t.TempDir())
	cfg.TLS.CertFile, cfg.TLS.KeyFile = p.certFile, p.keyFile
	r := startHub(t, cfg)
	a := r.Addrs()
	https := p.httpClient(nil)

	t.Run("REST over HTTPS", func(t *testing.T) {
		code, body, err := restGet(https, "https://"+a.HTTP+"/v1/routes")
		if err != nil || !restReached(code, body) {
			t.Fatalf("GET https /v1/routes = %d %s, %v; want the API's answer", code, body, err)
		}
		code, _, err = restGet(https, "https://"+a.HTTP+"/readyz")
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET https /readyz = %d, %v; want 200", code, err)
		}
	})
	t.Run("gRPC over TLS", func(t *testing.T) {
		if err := grpcCall(t, a.GRPC, credentials.NewTLS(p.tlsConfig(nil))); !reachedAPI(err) {
			t.Fatalf("gRPC over TLS: %v", err)
		}
	})
	t.Run("plaintext refused", func(t *testing.T) {
		code, body, err := restGet(http.DefaultClient, "http://"+a.HTTP+"/v1/routes")
		if err == nil && (code == http.StatusOK || code == http.StatusUnauthorized) {
			t.Errorf("plain HTTP GET /v1/routes = %d %s, want refused", code, body)
		}
		err = grpcCall(t, a.GRPC, insecure.NewCredentials())
		if status.Code(err) != codes.Unavailable {
			t.Errorf("plaintext gRPC: %v, want Unavailable (no TLS handshake)", err)
		}
	})
	t.Run("NATS over TLS", func(t *testing.T) {
		seed := natsauth.SeedFile(cfg.DataDir, "subscriber")
		plain, err := sdk.NATSAuth{NkeyFile: seed}.Options(nil)
		if err != nil {
			t.Fatal(err)
		}
		if nc, err := nats.Connect(a.NATS, append(plain, nats.NoReconnect())...); err == nil {
			nc.Close()
			t.Error("a NATS client without TLS connected to a hub with TLS")
		}
		withCA, err := sdk.NATSAuth{NkeyFile: seed, CAFile: p.caFile}.Options(nil)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(a.NATS, append(withCA, nats.NoReconnect())...)
		if err != nil {
			t.Fatalf("NATS over TLS with the CA and the subscriber's seed: %v", err)
		}
		defer nc.Close()
		if !nc.TLSRequired() {
			t.Error("the NATS connection is not over TLS")
		}
	})
	t.Run("webhook over HTTPS", func(t *testing.T) {
		resp := r.sendWebhookVia(t, https, "https", "evt_tls_1", userCreated("pro", "a@example.com"))
		if resp.StatusCode/100 != 2 {
			t.Errorf("webhook over HTTPS = %d, want 2xx", resp.StatusCode)
		}
	})

	// Rotation: the file swapped on disk is served to the next handshake
	// after the check; a corrupt replacement keeps the last good one.
	r.TLS().Server().SetCheckInterval(0)
	served := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", a.HTTP, p.tlsConfig(nil))
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	servedGRPC := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", a.GRPC, &tls.Config{RootCAs: p.roots(), NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatalf("gRPC handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	before := served()
	next := p.issueServer(t)
	for name, got := range map[string]*x509.Certificate{"HTTP": served(), "gRPC": servedGRPC()} {
		if !got.Equal(next) {
			t.Errorf("%s after the swap: serial %s, want the new %s (was %s)", name, got.SerialNumber, next.SerialNumber, before.SerialNumber)
		}
	}
	good, _ := os.ReadFile(p.certFile)
	if err := os.WriteFile(p.certFile, good[:len(good)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*x509.Certificate{"HTTP": served(), "gRPC": servedGRPC()} {
		if !got.Equal(next) {
			t.Errorf("%s after a corrupt replacement: serial %s, want the last good %s", name, got.SerialNumber, next.SerialNumber)
		}
	}
	if err := grpcCall(t, a.GRPC, credentials.NewTLS(p.tlsConfig(nil))); !reachedAPI(err) {
		t.Errorf("gRPC after a corrupt replacement: %v", err)
	}
}

func TestServeMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	stranger := newTestPKI(t)
	cfg := testConfig(t.TempDir())
	cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.ClientCAFile = p.certFile, p.keyFile, p.caFile
	r := startHub(t, cfg)
	a := r.Addrs()

	clients := []struct {
		tlsClient
		api bool // the API answers
	}{
		{tlsClient{name: "no client certificate"}, false},
		{tlsClient{name: "certificate from the client CA", certs: []tls.Certificate{p.client(t)}}, true},
		{tlsClient{name: "certificate from another CA", certs: []tls.Certificate{stranger.client(t)}}, false},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			err := grpcCall(t, a.GRPC, credentials.NewTLS(p.tlsConfig(c.certs)))
			if got := reachedAPI(err); got != c.api {
				t.Errorf("gRPC: err = %v; reached the API %v, want %v", err, got, c.api)
			}
			hc := p.httpClient(c.certs)
			for _, path := range []string{"/v1/routes", "/openapi.json", "/metrics"} {
				code, body, err := restGet(hc, "https://"+a.HTTP+path)
				got := err == nil && (restReached(code, body) || (path != "/v1/routes" && code == http.StatusOK))
				if got != c.api {
					t.Errorf("GET %s = %d %.80q, err %v; reached %v, want %v", path, code, body, err, got, c.api)
				}
			}
		})
	}

	// Webhook senders and probes present no certificate and still get in.
	noCert := p.httpClient(nil)
	if resp := r.sendWebhookVia(t, noCert, "https", "evt_mtls_1", userCreated("pro", "b@example.com")); resp.StatusCode/100 != 2 {
		t.Errorf("webhook without a client certificate = %d, want 2xx", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _, err := restGet(noCert, "https://"+a.HTTP+path); err != nil || code != http.StatusOK {
			t.Errorf("GET %s without a client certificate = %d, %v; want 200", path, code, err)
		}
	}
	code, body, err := restGet(noCert, "https://"+a.HTTP+"/v1/routes")
	var e struct{ Message string }
	_ = json.Unmarshal([]byte(body), &e)
	if err != nil || code != http.StatusForbidden || !strings.Contains(e.Message, "client certificate") {
		t.Errorf("GET /v1/routes without a client certificate = %d %s, %v; want 403 naming the client certificate", code, body, err)
	}
	// A webhook sender with a certificate from another CA fails the
	// handshake: a certificate offered must verify.
	if _, _, err := restGet(p.httpClient([]tls.Certificate{stranger.client(t)}), "https://"+a.HTTP+"/healthz"); err == nil {
		t.Error("a client certificate from another CA was accepted on the shared listener")
	}
}

func TestServeSelfSigned(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.TLS.SelfSigned = true
	r := startHub(t, cfg)
	a := r.TLS()
	if want := filepath.Join(dir, "tls", "ca.pem"); a.CAFile != want {
		t.Fatalf("CA written to %q, want %q", a.CAFile, want)
	}
	b, err := os.ReadFile(a.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "PRIVATE KEY") {
		t.Fatal("the CA file holds a private key")
	}
	pool, err := tlsconfig.CertPool(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		c, err := tls.Dial("tcp", r.Addrs().HTTP, &tls.Config{RootCAs: pool, ServerName: host})
		if err != nil {
			t.Errorf("handshake as %s trusting the written CA: %v", host, err)
			continue
		}
		leafCA := c.ConnectionState().VerifiedChains[0]
		c.Close()
		if got := tlsconfig.Fingerprint(leafCA[len(leafCA)-1]); got != a.CAFingerprint {
			t.Errorf("chain ends at CA %s, the banner's fingerprint is %s", got, a.CAFingerprint)
		}
	}
	if err := grpcCall(t, r.Addrs().GRPC, credentials.NewTLS(&tls.Config{RootCAs: pool})); !reachedAPI(err) {
		t.Errorf("gRPC trusting the written CA: %v", err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	p := newTestPKI(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		tls  func(c *Config)
		want []string
	}{
		{name: "certificate without key", tls: func(c *Config) { c.TLS.CertFile = p.certFile }, want: []string{"tls.cert_file", "tls.key_file"}},
		{name: "key without certificate", tls: func(c *Config) { c.TLS.KeyFile = p.keyFile }, want: []string{"tls.cert_file", "tls.key_file"}},
		{name: "unreadable certificate", tls: func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = missing, p.keyFile }, want: []string{missing}},
		{name: "unreadable client CA", tls: func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile, c.TLS.ClientCAFile = p.certFile, p.keyFile, missing }, want: []string{missing}},
		{name: "self-signed and files", tls: func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile, c.TLS.SelfSigned = p.certFile, p.keyFile, true }, want: []string{"tls.self_signed"}},
		{name: "client CA without TLS", tls: func(c *Config) { c.TLS.ClientCAFile = p.caFile }, want: []string{"tls.client_ca_file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			tc.tls(&cfg)
			h, err := New(context.Background(), cfg, nil)
			if err == nil {
				h.close()
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to name %s", err, w)
				}
			}
		})
	}
}

func TestTLSFromEnv(t *testing.T) {
	env := map[string]string{
		"JUNCTION_TLS_CERT_FILE":      "/c.pem",
		"JUNCTION_TLS_KEY_FILE":       "/k.pem",
		"JUNCTION_TLS_CLIENT_CA_FILE": "/ca.pem",
		"JUNCTION_TLS_SELF_SIGNED":    "false",
	}
	c, err := Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != "/c.pem" || c.TLS.KeyFile != "/k.pem" || c.TLS.ClientCAFile != "/ca.pem" || c.TLS.SelfSigned {
		t.Errorf("TLS from env = %+v", c.TLS)
	}
	env["JUNCTION_TLS_SELF_SIGNED"] = "maybe"
	if _, err := Load("", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "JUNCTION_TLS_SELF_SIGNED") {
		t.Errorf("JUNCTION_TLS_SELF_SIGNED=maybe: err = %v, want one naming the variable", err)
	}
}

// sendWebhookVia signs body with the acme source's secret and posts it
// through client over https.
func (r *running) sendWebhookVia(t *testing.T, client *http.Client, scheme, id string, body []byte) *http.Response {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(inboundSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, scheme+"://"+r.Addrs().HTTP+"/webhooks/acme", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("post webhook over %s: %v", scheme, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
