package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
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
			cmd := exec.Command(binary, append([]string{"routes", "list", "--server", grpcAddr, "--timeout", "20s"}, tc.args...)...)
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
