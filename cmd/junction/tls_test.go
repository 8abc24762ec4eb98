package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestServeSelfSignedWithCLI runs `junction serve --tls-self-signed` and
// the CLI against it: the banner gives https URLs, the CA path and its
// fingerprint; the CLI with --tls finds the written CA in the data
// directory (or takes it from --tls-ca) and talks to the gateway; without
// TLS, or trusting nothing, it cannot.
func TestServeSelfSignedWithCLI(t *testing.T) {
	dir := t.TempDir()
	p := start(t, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--nats-addr", "127.0.0.1:0", "--log-level", "warn", "--tls-self-signed")
	p.waitLine(t, regexp.MustCompile(`REST\s+https://([0-9.:]+)/v1`))
	grpcAddr := p.waitLine(t, grpcLine)[1]
	caPath := p.waitLine(t, regexp.MustCompile(`trust the CA (\S+)`))[1]
	fp := p.waitLine(t, regexp.MustCompile(`CA SHA-256 ([0-9a-f]{64})`))[1]
	if want := filepath.Join(dir, "tls", "ca.pem"); caPath != want {
		t.Errorf("banner CA path %s, want %s", caPath, want)
	}
	b, err := os.ReadFile(caPath)
	if err != nil || strings.Contains(string(b), "PRIVATE") {
		t.Fatalf("CA file %s: %v, want a certificate and no key", caPath, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("CA file %s holds no PEM block", caPath)
	}
	if sum := sha256.Sum256(block.Bytes); hex.EncodeToString(sum[:]) != fp {
		t.Errorf("banner fingerprint %s, the CA file's is %x", fp, sum)
	}

	otherDir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		ok   bool
	}{
		{name: "--tls finds the CA in JUNCTION_DATA_DIR", args: []string{"--tls"}, env: []string{"JUNCTION_DATA_DIR=" + dir}, ok: true},
		{name: "--tls-ca", args: []string{"--tls-ca", caPath}, env: []string{"JUNCTION_DATA_DIR=" + otherDir}, ok: true},
		{name: "JUNCTION_TLS_CA", env: []string{"JUNCTION_TLS_CA=" + caPath, "JUNCTION_DATA_DIR=" + otherDir}, ok: true},
		{name: "plaintext", env: []string{"JUNCTION_DATA_DIR=" + dir}, ok: false},
		{name: "--tls without the CA", args: []string{"--tls"}, env: []string{"JUNCTION_DATA_DIR=" + otherDir}, ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"routes", "list", "--server", grpcAddr, "--timeout", "20s",
				"--api-key-file", filepath.Join(dir, "admin.key")}, tc.args...)...)
			cmd.Env = append(cleanEnv(), tc.env...)
			out, err := cmd.CombinedOutput()
			if tc.ok != (err == nil) {
				t.Errorf("routes list %v: err %v, want ok=%v\n%s", tc.args, err, tc.ok, out)
			}
		})
	}

	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Errorf("serve exited with %v", err)
	}
}

// cleanEnv is the test's environment without JUNCTION_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JUNCTION_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestGatewayMutualTLS runs `junction gateway` with a certificate and a
// client CA: probes answer over HTTPS without a client certificate, REST
// needs one (403 without), and the CLI gets through only with one.
func TestGatewayMutualTLS(t *testing.T) {
	hub := sdktest.NewHub(t)
	dir := t.TempDir()
	ca, err := tlsconfig.NewAuthority("gateway test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, hosts ...string) (string, string) {
		c, err := ca.Issue(name, hosts, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := tlsconfig.EncodePEM(c)
		if err != nil {
			t.Fatal(err)
		}
		cert, key := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	srvCert, srvKey := write("gateway", "127.0.0.1")
	cliCert, cliKey := write("cli")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	gwHTTP, gwGRPC := freeAddr(t), freeAddr(t)
	keyFile := filepath.Join(dir, "admin.key")
	start(t, "gateway", "--nats-url", hub.URL, "--http-addr", gwHTTP, "--grpc-addr", gwGRPC, "--log-level", "warn",
		"--tls-cert", srvCert, "--tls-key", srvKey, "--tls-client-ca", caFile, "--admin-key-file", keyFile)

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	noCert := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	var code int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := noCert.Get("https://" + gwHTTP + "/readyz")
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			if code == http.StatusOK {
				break
			}
		}
	}
	if code != http.StatusOK {
		t.Fatalf("https /readyz without a client certificate = %d, want 200", code)
	}
	resp, err := noCert.Get("https://" + gwHTTP + "/v1/routes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("https /v1/routes without a client certificate = %d, want 403", resp.StatusCode)
	}
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{name: "with a client certificate", args: []string{"--tls-ca", caFile, "--tls-cert", cliCert, "--tls-key", cliKey}, ok: true},
		{name: "without", args: []string{"--tls-ca", caFile}, ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"routes", "list", "--server", gwGRPC, "--timeout", "20s", "--api-key-file", keyFile}, tc.args...)...)
			cmd.Env = cleanEnv()
			out, err := cmd.CombinedOutput()
			if tc.ok != (err == nil) {
				t.Errorf("routes list %v: err %v, want ok=%v\n%s", tc.args, err, tc.ok, out)
			}
		})
	}
}
