package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/webhook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// binary is the junction binary built once for the tests that run it as a
// real process (to kill it, or to check what a user sees).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "junction-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "junction")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build junction:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a junction process under test.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder
	lines  chan string
	exited chan error
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), lines: make(chan string, 1024), exited: make(chan error, 1)}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &lockedWriter{p: p}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.write(sc.Text() + "\n")
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("output of junction %s:\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) { w.p.write(string(b)); return len(b), nil }

func (p *proc) write(s string) { p.mu.Lock(); p.out.WriteString(s); p.mu.Unlock() }
func (p *proc) output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

// waitLine returns the first stdout line matching re.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case err := <-p.exited:
			t.Fatalf("junction exited early: %v\n%s", err, p.output())
		case <-timeout:
			t.Fatalf("no line matching %s within 60s:\n%s", re, p.output())
		}
	}
}

func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.exited:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("junction did not exit within 60s:\n%s", p.output())
		return nil
	}
}

var (
	restLine = regexp.MustCompile(`REST\s+http://([0-9.:]+)/v1`)
	grpcLine = regexp.MustCompile(`gRPC\s+([0-9.:]+)`)
)

func startServe(t *testing.T, dataDir string) (p *proc, httpAddr, grpcAddr string) {
	p = start(t, "serve", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--nats-addr", "127.0.0.1:0", "--log-level", "warn")
	httpAddr = p.waitLine(t, restLine)[1]
	grpcAddr = p.waitLine(t, grpcLine)[1]
	return p, httpAddr, grpcAddr
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// TestServeBinary runs `junction serve` as a user would: from an empty data
// dir, then again from the existing one; routes applied with the CLI
// survive; SIGTERM exits cleanly. As in the README, the data directory is
// ./data of the directory the CLI runs in, so the CLI finds the admin key
// there with no flag; an anonymous REST call is refused.
func TestServeBinary(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	p, httpAddr, grpcAddr := startServe(t, dir)
	keyFile := filepath.Join(dir, "admin.key")
	if got := p.waitLine(t, regexp.MustCompile(`^\s*admin key (\S+)`))[1]; got != keyFile {
		t.Errorf("ready banner names admin key %q, want %q", got, keyFile)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("serve wrote no admin key: %v", err)
	}
	if out := p.output(); strings.Contains(out, strings.TrimSpace(string(key))) {
		t.Errorf("ready banner: want the admin key's path and never the key, got:\n%s", out)
	}
	if resp, err := http.Get("http://" + httpAddr + "/v1/routes"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous GET /v1/routes: got %v %v, want 401", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	cliCmd := func(args ...string) *exec.Cmd {
		c := exec.Command(binary, args...)
		c.Dir = root
		return c
	}

	if code, body := getJSON(t, "http://"+httpAddr+"/readyz"); code != 200 || body["status"] != "ready" {
		t.Fatalf("/readyz = %d %v, want 200 ready", code, body)
	}
	// The process answering is ours: its OpenAPI document names our API.
	code, doc := getJSON(t, "http://"+httpAddr+"/openapi.json")
	if paths, _ := doc["paths"].(map[string]any); code != 200 || paths["/v1/routes"] == nil {
		t.Fatalf("/openapi.json = %d without /v1/routes", code)
	}

	routeFile := filepath.Join(t.TempDir(), "route.yaml")
	if err := os.WriteFile(routeFile, []byte("id: cli-route\nfilter: acme.user.created\ncondition: data.plan == \"enterprise\"\ntargets:\n  - destination: webhook\n    config:\n      url: http://127.0.0.1:9/hook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apply := func() string {
		out, err := cliCmd("routes", "apply", "-f", routeFile, "--server", grpcAddr).CombinedOutput()
		if err != nil {
			t.Fatalf("routes apply: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := apply(); !strings.Contains(out, "created") {
		t.Errorf("first apply printed %q, want created", out)
	}
	if out := apply(); !strings.Contains(out, "unchanged") {
		t.Errorf("second apply printed %q, want unchanged", out)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("after SIGTERM junction serve exited with %v, want 0", err)
	}

	p2, _, grpcAddr2 := startServe(t, dir)
	out, err := cliCmd("routes", "get", "cli-route", "-o", "json", "--server", grpcAddr2).CombinedOutput()
	if err != nil {
		t.Fatalf("routes get after restart: %v\n%s", err, out)
	}
	var route map[string]any
	if err := json.Unmarshal(out, &route); err != nil || !strings.HasSuffix(fmt.Sprint(route["name"]), "cli-route") {
		t.Fatalf("routes get -o json after restart = %s (%v)", out, err)
	}
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := p2.wait(t); err != nil {
		t.Errorf("second serve exited with %v", err)
	}
}

// TestRouterKilledMidFlow kills the router process with SIGKILL while
// events flow and starts a new one: every event is delivered at least once,
// and every duplicate carries the same webhook-id, so the receiver dedupes
// to exactly one each.
func TestRouterKilledMidFlow(t *testing.T) {
	const n = 20000
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const secret = "whsec_dGVzdC1vdXRib3VuZC1zZWNyZXQtMDEyMzQ1Njc4OWE="
	verifier, _ := standardwebhooks.NewWebhook(secret)
	var mu sync.Mutex
	received := map[string]int{}
	total := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		received[r.Header.Get("webhook-id")]++
		total++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	counts := func() (distinct, all int) { mu.Lock(); defer mu.Unlock(); return len(received), total }

	store, err := router.NewStore(ctx, hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "everything", &junctionv1.Route{
		Filter:  "loadgen.>",
		Targets: []*junctionv1.Target{{Destination: "webhook", Config: map[string]string{"url": rcv.URL}}},
	}); err != nil {
		t.Fatal(err)
	}

	adapter, err := webhook.New(webhook.Config{Outbound: webhook.OutboundConfig{SecretRef: webhook.SecretRef{Secret: secret}, Allow: []string{"127.0.0.1/32"}}})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := platform.NewRunner(webhook.Spec, adapter, hub.NC, platform.RunnerOptions{
		Config: sdk.Config{Instance: "test", Concurrency: 32},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- runner.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	// A short ack wait: the killed router's unacked events go to the new
	// one after it, not after the default 30s.
	routerArgs := []string{"router", "--nats-url", hub.URL, "--log-level", "warn", "--ack-wait", "3s"}
	first := start(t, routerArgs...)

	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	pubDone := make(chan error, 1)
	pubStart := time.Now()
	go func() {
		// As inbound adapters do: several publishers at once.
		const workers = 8
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					_, err := pub.Publish(ctx, &junctionv1.Event{Id: fmt.Sprintf("evt-%05d", i), Source: "loadgen", Type: "item.created",
						DataContentType: "application/json", Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		pubDone <- <-errs
	}()

	deadline := time.Now().Add(60 * time.Second)
	for d, _ := counts(); d < n/5 && time.Now().Before(deadline); d, _ = counts() {
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.wait(t)
	atKill, _ := counts()
	start(t, routerArgs...)

	if err := <-pubDone; err != nil {
		t.Fatalf("publish: %v", err)
	}
	published := time.Since(pubStart)
	drainStart := time.Now()
	deadline = time.Now().Add(120 * time.Second)
	for d, _ := counts(); d < n && time.Now().Before(deadline); d, _ = counts() {
		time.Sleep(20 * time.Millisecond)
	}
	distinct, all := counts()
	t.Logf("router kill -9 after %d deliveries; events sent %d (in %v), delivered distinct %d, lost %d, deliveries received %d, duplicates before dedupe %d, drain after the last publish %v",
		atKill, n, published.Round(time.Millisecond), distinct, n-distinct, all, all-distinct, time.Since(drainStart).Round(time.Millisecond))
	if distinct != n {
		t.Fatalf("delivered %d distinct events of %d: %d lost", distinct, n, n-distinct)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		id := router.DeliveryID("loadgen", fmt.Sprintf("evt-%05d", i), "everything", "0")
		if received[id] == 0 {
			t.Fatalf("event evt-%05d never arrived under its delivery id %s", i, id)
		}
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestComponentHealth: `junction router --health-addr` and `junction
// gateway` answer /healthz and /readyz, so orchestrators can probe them.
func TestComponentHealth(t *testing.T) {
	hub := sdktest.NewHub(t)
	routerHealth := freeAddr(t)
	start(t, "router", "--nats-url", hub.URL, "--health-addr", routerHealth, "--log-level", "warn")
	gwHTTP, gwGRPC := freeAddr(t), freeAddr(t)
	keyFile := filepath.Join(t.TempDir(), "admin.key")
	start(t, "gateway", "--nats-url", hub.URL, "--http-addr", gwHTTP, "--grpc-addr", gwGRPC, "--log-level", "warn", "--admin-key-file", keyFile)
	for name, addr := range map[string]string{"router": routerHealth, "gateway": gwHTTP} {
		deadline := time.Now().Add(30 * time.Second)
		var code int
		var body map[string]any
		for time.Now().Before(deadline) {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				code = resp.StatusCode
				body = nil
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if code == http.StatusOK {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code != http.StatusOK || body["status"] != "ready" {
			t.Errorf("%s /readyz = %d %v, want 200 ready", name, code, body)
		}
		if c, b := getJSON(t, "http://"+addr+"/healthz"); c != http.StatusOK || b["status"] != "ok" {
			t.Errorf("%s /healthz = %d %v, want 200 ok", name, c, b)
		}
	}
	// With an external NATS the gateway made the first admin key where
	// --admin-key-file said, and the CLI can use it.
	if out, err := exec.Command(binary, "keys", "list", "--server", gwGRPC, "--api-key-file", keyFile).CombinedOutput(); err != nil || !strings.Contains(string(out), "admin") {
		t.Errorf("keys list with the gateway's admin key: %v\n%s", err, out)
	}
}
