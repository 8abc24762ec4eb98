package sdk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestMainServesTLS runs an adapter with hub.tls_cert_file: webhooks and
// probes answer over HTTPS with the configured certificate, plain HTTP is
// refused, and a certificate written over the files is served without a
// restart.
func TestMainServesTLS(t *testing.T) {
	for _, k := range []string{EnvNATSURL, EnvHTTPAddr, EnvInstance, EnvLogLevel, EnvConfig, EnvTLSCertFile, EnvTLSKeyFile} {
		t.Setenv(k, "")
	}
	ca, err := tlsconfig.NewAuthority("adapter test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	issue := func() *x509.Certificate {
		c, err := ca.Issue("adapter", []string{"127.0.0.1"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := tlsconfig.EncodePEM(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		return c.Leaf
	}
	first := issue()

	hub := sdktest.NewHub(t)
	addr := freeAddr(t)
	path := filepath.Join(dir, "c.yaml")
	cfg := fmt.Sprintf("hub:\n  nats_url: %s\n  http_addr: %s\n  tls_cert_file: %s\n  tls_key_file: %s\nadapter:\n  greeting: hi\n", hub.URL, addr, certFile, keyFile)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runMain(ctx, Spec{App: "mainapp", Version: "1"}, newMainAdapter, []string{"--config", path}, io.Discard, &stderr)
	}()

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if got := resp.TLS.PeerCertificates[0]; !got.Equal(first) {
					t.Fatalf("served serial %s, want the configured %s", got.SerialNumber, first.SerialNumber)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("https /readyz not 200 within 10s (last err %v); log:\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := client.Post("https://"+addr+"/webhooks/acme", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST https /webhooks/acme = %d, want 202", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP /readyz answered 200 on the TLS listener")
		}
	}

	// Rotation: the default check runs at most once a second, so wait for
	// the new certificate rather than for a fixed time.
	second := issue()
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := client.Get("https://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.TLS.PeerCertificates[0].Equal(second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving serial %s 30s after the files changed, want %s", resp.TLS.PeerCertificates[0].SerialNumber, second.SerialNumber)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runMain = %v", err)
	}
}

func TestMainTLSErrors(t *testing.T) {
	for _, k := range []string{EnvNATSURL, EnvHTTPAddr, EnvInstance, EnvLogLevel, EnvConfig, EnvTLSCertFile, EnvTLSKeyFile} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.crt")
	for _, tc := range []struct {
		name, hub, want string
	}{
		{"certificate without key", "  tls_cert_file: " + missing + "\n", "hub.tls_key_file"},
		{"key without certificate", "  tls_key_file: " + missing + "\n", "hub.tls_cert_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(p, []byte("hub:\n"+tc.hub+"adapter:\n  greeting: hi\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := runMain(t.Context(), Spec{App: "mainapp"}, newMainAdapter, []string{"--config", p}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("runMain = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	t.Run("unreadable certificate", func(t *testing.T) {
		_, err := httpsServe(Config{TLSCertFile: missing, TLSKeyFile: missing}, &http.Server{}, nil)
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("httpsServe = %v, want an error naming %s", err, missing)
		}
	})
}
