package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	natsLine     = regexp.MustCompile(`NATS\s+(nats://[0-9.:]+)`)
	natsKeysLine = regexp.MustCompile(`NATS keys\s+(\S+)`)
)

// TestComponentsAuthenticateToServe: `junction serve` prints where its
// NATS users' seeds are; `junction router` without credentials is refused
// and exits, with --nats-nkey it runs; `junction gateway` takes its seed
// from JUNCTION_NATS_NKEY.
func TestComponentsAuthenticateToServe(t *testing.T) {
	p := start(t, "serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--nats-addr", "127.0.0.1:0", "--log-level", "warn")
	p.waitLine(t, restLine)
	natsURL := p.waitLine(t, natsLine)[1]
	keys := p.waitLine(t, natsKeysLine)[1]

	anon := start(t, "router", "--nats-url", natsURL, "--log-level", "warn")
	if err := anon.wait(t); err == nil || !strings.Contains(anon.output(), "Authorization Violation") {
		t.Errorf("router without credentials: exit %v, output %q; want a failure with Authorization Violation", err, anon.output())
	}

	routerHealth := freeAddr(t)
	start(t, "router", "--nats-url", natsURL, "--nats-nkey", filepath.Join(keys, "router.nk"),
		"--health-addr", routerHealth, "--log-level", "warn")
	t.Setenv("JUNCTION_NATS_NKEY", filepath.Join(keys, "gateway.nk"))
	gwHTTP, gwGRPC := freeAddr(t), freeAddr(t)
	start(t, "gateway", "--nats-url", natsURL, "--http-addr", gwHTTP, "--grpc-addr", gwGRPC, "--log-level", "warn")
	for name, addr := range map[string]string{"router": routerHealth, "gateway": gwHTTP} {
		if code := waitReadyz(addr); code != http.StatusOK {
			t.Errorf("%s with its seed: /readyz = %d, want 200", name, code)
		}
	}
}

// waitReadyz polls addr's /readyz until it answers 200 ready or 60s pass,
// and returns the last status.
func waitReadyz(addr string) int {
	deadline := time.Now().Add(60 * time.Second)
	code := 0
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			code = resp.StatusCode
			if code == http.StatusOK && body["status"] == "ready" {
				return code
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return code
}

// TestNATSAuthCommand: `junction nats-auth` writes a seed per user and
// prints an authorization block naming their public keys only.
func TestNATSAuthCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	p := start(t, "nats-auth", "--keys-dir", dir)
	if err := p.wait(t); err != nil {
		t.Fatalf("nats-auth: %v\n%s", err, p.output())
	}
	out := p.output()
	for _, name := range []string{"webhook", "router", "gateway", "subscriber"} {
		seed, err := os.ReadFile(filepath.Join(dir, name+".nk"))
		if err != nil {
			t.Fatalf("seed of %s: %v", name, err)
		}
		if strings.Contains(out, strings.TrimSpace(string(seed))) {
			t.Errorf("nats-auth printed the seed of %s", name)
		}
		if !strings.Contains(out, "# "+name+" (") {
			t.Errorf("nats-auth output has no user %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "authorization {") {
		t.Errorf("no authorization block in:\n%s", out)
	}
}
