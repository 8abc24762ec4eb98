package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

type mainConfig struct {
	Greeting string `yaml:"greeting"`
}

func (c *mainConfig) Validate() error {
	if c.Greeting == "" {
		return errors.New("adapter.greeting is required")
	}
	return nil
}

// mainAdapter answers every webhook by emitting an event.
type mainAdapter struct{ greeting string }

func (a *mainAdapter) Webhook(emit EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := emit(r.Context(), &junctionv1.Event{Source: "acme", Type: "hello", Data: []byte(a.greeting)}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

func newMainAdapter(c mainConfig) (*mainAdapter, error) {
	return &mainAdapter{greeting: c.Greeting}, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMainRuns(t *testing.T) {
	for _, k := range []string{EnvNATSURL, EnvHTTPAddr, EnvInstance, EnvLogLevel, EnvConfig} {
		t.Setenv(k, "")
	}
	hub := sdktest.NewHub(t)
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "c.yaml")
	cfg := fmt.Sprintf("hub:\n  nats_url: %s\n  http_addr: %s\n  instance: main-1\nadapter:\n  greeting: hi\n", hub.URL, addr)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	spec := Spec{App: "mainapp", Version: "9.9.9", Description: "test adapter"}
	go func() { done <- runMain(ctx, spec, newMainAdapter, []string{"--config", path}, io.Discard, &stderr) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 10s (last err %v); log:\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Post("http://"+addr+"/webhooks/acme", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST /webhooks/acme = %d, want 202", resp.StatusCode)
	}
	events := hub.WaitEvents(t, 1, 5*time.Second)
	if got := string(events[0].GetData()); got != "hi" {
		t.Errorf("event data = %q, want the configured greeting %q", got, "hi")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runMain = %v, want nil after cancel", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("HTTP server still answering after runMain returned")
	}
	log := stderr.String()
	for _, want := range []string{`"msg":"adapter started"`, `"instance":"main-1"`, `"msg":"adapter stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if n := hub.StreamMsgs(t, topology.EventsStream); n != 1 {
		t.Errorf("EVENTS holds %d, want 1", n)
	}
}

func TestMainErrors(t *testing.T) {
	for _, k := range []string{EnvNATSURL, EnvHTTPAddr, EnvInstance, EnvLogLevel, EnvConfig} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noHub := "nats://127.0.0.1:" + strings.Split(freeAddr(t), ":")[1]
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"adapter config invalid", []string{"--config", write("a.yaml", "adapter: {}\n")}, "adapter.greeting is required"},
		{"unknown field", []string{"--config", write("b.yaml", "adapter:\n  greting: hi\n")}, "greting"},
		{"hub unreachable", []string{"--config", write("c.yaml", "hub:\n  nats_url: "+noHub+"\nadapter:\n  greeting: hi\n")}, "connect to the hub"},
		{"stray argument", []string{"serve"}, "unexpected arguments"},
		{"unknown flag", []string{"--nope"}, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runMain(t.Context(), Spec{App: "mainapp"}, newMainAdapter, tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("runMain(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}

	var out bytes.Buffer
	if err := runMain(t.Context(), Spec{App: "mainapp", Version: "1.0.0"}, newMainAdapter, []string{"--version"}, &out, io.Discard); err != nil {
		t.Fatalf("--version: %v", err)
	}
	if got := strings.TrimSpace(out.String()); got != "mainapp-adapter 1.0.0" {
		t.Errorf("--version printed %q, want %q", got, "mainapp-adapter 1.0.0")
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, 1200 * time.Millisecond},
		{2, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{4, 6400 * time.Millisecond, 9600 * time.Millisecond},
		{30, 4 * time.Minute, 6 * time.Minute}, // capped at 5m, then jitter
		{1000, 4 * time.Minute, 6 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			for range 100 {
				got := backoff(tt.attempt, time.Second, 5*time.Minute, 2, 0.2)
				if got < tt.min || got > tt.max {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, got, tt.min, tt.max)
				}
			}
		})
	}
}

func TestPolicyRetryDelay(t *testing.T) {
	p := resolvePolicy(nil)
	if p.maxAttempts != 185 || p.initialBackoff != time.Second || p.maxBackoff != 10*time.Minute || p.multiplier != 2 ||
		p.jitter != 0.2 || p.maxAge != 24*time.Hour || p.attemptTimeout != 30*time.Second || !p.deadLetter {
		t.Errorf("default policy = %+v", p)
	}
	tests := []struct {
		name string
		err  error
		min  time.Duration
		max  time.Duration
	}{
		{"plain error", errors.New("x"), 800 * time.Millisecond, 1200 * time.Millisecond},
		{"retry after longer", RetryAfter(errors.New("429"), time.Minute), time.Minute, time.Minute},
		{"retry after shorter", RetryAfter(errors.New("429"), time.Millisecond), 800 * time.Millisecond, 1200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.retryDelay(1, tt.err); got < tt.min || got > tt.max {
				t.Errorf("retryDelay(1, %v) = %v, want within [%v, %v]", tt.err, got, tt.min, tt.max)
			}
		})
	}
}

func TestEdgeErrors(t *testing.T) {
	base := errors.New("base")
	tests := []struct {
		name      string
		err       error
		permanent bool
		delay     time.Duration
	}{
		{"plain", base, false, 0},
		{"permanent", Permanent(base), true, 0},
		{"wrapped permanent", fmt.Errorf("deliver: %w", Permanent(base)), true, 0},
		{"retryable", Retryable(base), false, 0},
		{"retryable over permanent", Retryable(Permanent(base)), false, 0},
		{"permanent over retry after", Permanent(RetryAfter(base, time.Second)), true, 0},
		{"retry after", RetryAfter(base, 3*time.Second), false, 3 * time.Second},
		{"wrapped retry after", fmt.Errorf("x: %w", RetryAfter(base, time.Second)), false, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.permanent)
			}
			d, ok := RetryDelay(tt.err)
			if d != tt.delay || ok != (tt.delay > 0) {
				t.Errorf("RetryDelay(%v) = %v, %v, want %v", tt.err, d, ok, tt.delay)
			}
			if !errors.Is(tt.err, base) || tt.err.Error() != "base" && !strings.HasSuffix(tt.err.Error(), ": base") {
				t.Errorf("%v does not wrap base transparently", tt.err)
			}
		})
	}
	if Permanent(nil) != nil || Retryable(nil) != nil || RetryAfter(nil, time.Second) != nil {
		t.Error("marking a nil error must give nil")
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs("nats://user:secret@a:4222, nats://token@b:4222,nats://c:4222")
	if strings.Contains(got, "secret") || strings.Contains(got, "token") || !strings.Contains(got, "c:4222") {
		t.Errorf("redactURLs = %q, want no credentials", got)
	}
}

// TestMainWaitsForTopology: an adapter started before the platform created
// the hub's streams and buckets waits for them, then serves; it does not
// exit.
func TestMainWaitsForTopology(t *testing.T) {
	for _, k := range []string{EnvNATSURL, EnvHTTPAddr, EnvInstance, EnvLogLevel, EnvConfig} {
		t.Setenv(k, "")
	}
	hub := sdktest.NewHub(t)
	ctx := t.Context()
	// A NATS with no topology yet.
	for _, s := range topology.Streams(topology.Options{}) {
		if err := hub.JS.DeleteStream(ctx, s.Name); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range topology.Buckets(topology.Options{}) {
		if err := hub.JS.DeleteKeyValue(ctx, b.Bucket); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "c.yaml")
	cfg := fmt.Sprintf("hub:\n  nats_url: %s\n  http_addr: %s\nadapter:\n  greeting: hi\n", hub.URL, addr)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runMain(runCtx, Spec{App: "mainapp"}, newMainAdapter, []string{"--config", path}, io.Discard, &stderr)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "waiting for the hub's streams and buckets") {
		select {
		case err := <-done:
			t.Fatalf("runMain returned %v before the topology existed, want it to wait; log:\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no waiting message within 10s; log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := topology.Ensure(ctx, hub.JS, topology.Options{}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 20s of the topology appearing; log:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runMain = %v, want nil after cancel", err)
	}
}
