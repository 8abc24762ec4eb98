package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// dedupeReceiver is a webhook receiver that verifies signatures and counts
// requests per webhook-id (the delivery id), as a receiver that dedupes
// would.
type dedupeReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	byID  map[string]int
	total int
}

func newDedupeReceiver(t *testing.T) *dedupeReceiver {
	verifier, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &dedupeReceiver{byID: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := verifier.Verify(body, req.Header); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.byID[req.Header.Get("webhook-id")]++
		r.total++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *dedupeReceiver) counts() (distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID), r.total
}

// missing counts the events snd had accepted that did not arrive under
// their delivery id (route "all", target "t").
func (r *dedupeReceiver) missing(snd *sender) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	snd.mu.Lock()
	defer snd.mu.Unlock()
	lost := 0
	for id := range snd.accepted {
		if r.byID[router.DeliveryID("acme", id, "all", "t")] == 0 {
			lost++
		}
	}
	return lost
}

// sender posts signed webhooks to a hub's /webhooks/acme from several
// goroutines and remembers every event id answered 2xx.
type sender struct {
	mu       sync.Mutex
	accepted map[string]bool
	answers  map[int]int
	lastOK   time.Time
	gap      time.Duration // longest time between two 2xx answers
	next     atomic.Int64
	addr     atomic.Value // host:port
	stop     chan struct{}
	wg       sync.WaitGroup
}

const inboundSecret = "inbound-s3cret"

func newSender(addr string, workers int) *sender {
	s := &sender{accepted: map[string]bool{}, answers: map[int]int{}, stop: make(chan struct{})}
	s.addr.Store(addr)
	client := &http.Client{Timeout: 30 * time.Second}
	for range workers {
		s.wg.Go(func() {
			for {
				select {
				case <-s.stop:
					return
				default:
				}
				id := fmt.Sprintf("w-%06d", s.next.Add(1))
				body := []byte(fmt.Sprintf(`{"id":%q,"type":"item.created","n":1}`, id))
				mac := hmac.New(sha256.New, []byte(inboundSecret))
				mac.Write(body)
				req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr.Load().(string)+"/webhooks/acme", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
				resp, err := client.Do(req)
				code := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				s.mu.Lock()
				s.answers[code]++
				if code >= 200 && code < 300 {
					now := time.Now()
					if !s.lastOK.IsZero() {
						s.gap = max(s.gap, now.Sub(s.lastOK))
					}
					s.lastOK = now
					s.accepted[id] = true
				}
				s.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	return s
}

func (s *sender) halt() { close(s.stop); s.wg.Wait() }

func (s *sender) acceptedCount() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.accepted) }

func serveConfig(t *testing.T, sync string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "junction.yaml")
	cfg := fmt.Sprintf(`sync: %s
webhook:
  sources:
    - name: acme
      scheme: hmac-sha256
      secret: %s
      id_field: id
      rate_limit: {per_second: 1000000, burst: 1000000} # the senders flood on purpose
  outbound:
    secret: %s
    allow: ["127.0.0.1/32"]
`, sync, inboundSecret, testSecret)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func applyRoute(t *testing.T, grpcAddr, dataDir, url string) {
	t.Helper()
	routeFile := filepath.Join(t.TempDir(), "route.yaml")
	route := fmt.Sprintf("id: all\nfilter: acme.>\ntargets:\n  - name: t\n    destination: webhook\n    config:\n      url: %s\n", url)
	if err := os.WriteFile(routeFile, []byte(route), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "routes", "apply", "-f", routeFile, "--server", grpcAddr, "--api-key-file", filepath.Join(dataDir, "admin.key")).CombinedOutput(); err != nil {
		t.Fatalf("routes apply: %v\n%s", err, out)
	}
}

// TestServeKilledMidIngest kills `junction serve` (embedded NATS, router,
// webhook adapter in one process) with SIGKILL while webhooks pour in and
// starts it again on the same data dir: every webhook that was answered
// 2xx is delivered, once per delivery id after the receiver's dedupe.
func TestServeKilledMidIngest(t *testing.T) {
	serveKill(t, "default", 2000, 0)
}

// TestDurabilityFigures measures, for each sync setting, the webhook intake
// rate of `junction serve` over a few seconds and checks a kill -9 loses
// nothing answered 2xx. Opt in: JUNCTION_DURABILITY_FIGURES=1 (README,
// "Durability").
func TestDurabilityFigures(t *testing.T) {
	if os.Getenv("JUNCTION_DURABILITY_FIGURES") == "" {
		t.Skip("set JUNCTION_DURABILITY_FIGURES=1 to measure")
	}
	for _, sync := range []string{"default", "1s", "100ms", "always"} {
		t.Run(sync, func(t *testing.T) { serveKill(t, sync, 0, 5*time.Second) })
	}
}

// serveKill runs serve with the sync setting, sends webhooks until minOK
// were accepted or for d, kills it, restarts it and checks every accepted
// webhook is delivered.
func serveKill(t *testing.T, sync string, minOK int, d time.Duration) {
	dir := t.TempDir()
	cfg := serveConfig(t, sync)
	rcv := newDedupeReceiver(t)
	serveArgs := func() []string {
		return []string{"serve", "--config", cfg, "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--log-level", "error"}
	}
	p := start(t, serveArgs()...)
	httpAddr := p.waitLine(t, restLine)[1]
	grpcAddr := p.waitLine(t, grpcLine)[1]
	applyRoute(t, grpcAddr, dir, rcv.srv.URL)

	snd := newSender(httpAddr, 8)
	began := time.Now()
	if d > 0 {
		time.Sleep(d)
	} else {
		eventually(t, "some webhooks accepted", func() bool { return snd.acceptedCount() >= minOK })
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	_ = p.wait(t)
	snd.halt()
	accepted := snd.acceptedCount()
	deliveredAtKill, _ := rcv.counts()

	restart := time.Now()
	p2 := start(t, serveArgs()...)
	p2.waitLine(t, restLine)
	deadline := time.Now().Add(90 * time.Second)
	for rcv.missing(snd) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	drain := time.Since(restart)
	distinct, total := rcv.counts()
	snd.mu.Lock()
	answers := fmt.Sprint(snd.answers)
	snd.mu.Unlock()
	if lost := rcv.missing(snd); lost > 0 {
		t.Fatalf("%d of %d webhooks answered 2xx never delivered", lost, accepted)
	}
	t.Logf("serve sync=%s kill -9: webhooks answered 2xx %d in %v (%.0f/s, 8 senders; answers by status %s), delivered before kill %d, after restart distinct %d, lost 0, duplicates before dedupe %d, drain after restart %v",
		sync, accepted, elapsed.Round(time.Millisecond), float64(accepted)/elapsed.Seconds(), answers, deliveredAtKill, distinct, total-distinct, drain.Round(time.Millisecond))
	_ = p2.cmd.Process.Signal(os.Interrupt)
	_ = p2.wait(t)
}

var (
	adapterOnce sync.Once
	adapterBin  string
	adapterErr  error
)

// webhookAdapterBinary builds adapters/cmd/webhook-adapter once.
func webhookAdapterBinary(t *testing.T) string {
	t.Helper()
	adapterOnce.Do(func() {
		dir, err := os.MkdirTemp("", "webhook-adapter-bin-")
		if err != nil {
			adapterErr = err
			return
		}
		adapterBin = filepath.Join(dir, "webhook-adapter")
		out, err := exec.Command("go", "build", "-o", adapterBin, "github.com/junctionhq/junction/adapters/cmd/webhook-adapter").CombinedOutput()
		if err != nil {
			adapterErr = fmt.Errorf("build webhook-adapter: %v\n%s", err, out)
		}
	})
	if adapterErr != nil {
		t.Fatal(adapterErr)
	}
	return adapterBin
}

// TestOutboundAdapterKilledMidDelivery kills the webhook-adapter process
// with SIGKILL while it delivers and starts another: every event is
// delivered, the duplicates (deliveries in flight at the kill, redelivered
// after the ack wait) are at most what its workers can hold and carry the
// same webhook-id.
func TestOutboundAdapterKilledMidDelivery(t *testing.T) {
	const n, concurrency = 5000, 32
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rcv := newDedupeReceiver(t)
	// A little work per request, so deliveries are in flight at the kill.
	inner := rcv.srv.Config.Handler
	rcv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		inner.ServeHTTP(w, r)
	})

	store, err := router.NewStore(ctx, hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "all", &junctionv1.Route{
		Filter:  "acme.>",
		Targets: []*junctionv1.Target{{Name: "t", Destination: "webhook", Config: map[string]string{"url": rcv.srv.URL}}},
	}); err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(hub.JS, router.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rdone := make(chan struct{})
	go func() { defer close(rdone); _ = rt.Run(ctx) }()
	defer func() { cancel(); <-rdone }()

	cfg := filepath.Join(t.TempDir(), "webhook-adapter.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("hub:\n  nats_url: %s\n  http_addr: 127.0.0.1:0\n  concurrency: %d\n  log_level: error\nadapter:\n  outbound:\n    secret: %s\n    allow: [\"127.0.0.1/32\"]\n", hub.URL, concurrency, testSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := webhookAdapterBinary(t)
	startAdapter := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfg)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			if t.Failed() {
				t.Logf("webhook-adapter output:\n%s", out.String())
			}
		})
		return cmd
	}
	first := startAdapter()

	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	pubDone := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := pub.Publish(ctx, &junctionv1.Event{Id: fmt.Sprintf("a-%05d", i), Source: "acme", Type: "item.created",
				DataContentType: "application/json", Data: []byte(`{}`)}); err != nil {
				pubDone <- err
				return
			}
		}
		pubDone <- nil
	}()
	eventually(t, "deliveries under way", func() bool { d, _ := rcv.counts(); return d >= n/5 })
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill, _ := rcv.counts()
	restart := time.Now()
	startAdapter()
	if err := <-pubDone; err != nil {
		t.Fatalf("publish: %v", err)
	}
	deadline := time.Now().Add(150 * time.Second)
	for d, _ := rcv.counts(); d < n && time.Now().Before(deadline); d, _ = rcv.counts() {
		time.Sleep(20 * time.Millisecond)
	}
	distinct, total := rcv.counts()
	t.Logf("webhook-adapter kill -9 after %d deliveries; events sent %d, delivered distinct %d, lost %d, duplicates before dedupe %d (concurrency %d), drain after restart %v",
		atKill, n, distinct, n-distinct, total-distinct, concurrency, time.Since(restart).Round(time.Millisecond))
	if distinct != n {
		t.Fatalf("delivered %d distinct of %d", distinct, n)
	}
	// What can arrive twice is what was attempted but not acknowledged at
	// the kill: the live consumer's workers (concurrency), the retry
	// consumer's (concurrency again, for deliveries a slow receiver on a
	// busy machine made retry) and the route's lane workers
	// (route_concurrency, a quarter of concurrency) for deliveries parked
	// while the route had its share in flight.
	if inFlight := 2*concurrency + concurrency/4; total-distinct > inFlight {
		t.Errorf("%d duplicates, want at most the %d deliveries that can be in flight", total-distinct, inFlight)
	}
	for i := range n {
		if id := router.DeliveryID("acme", fmt.Sprintf("a-%05d", i), "all", "t"); rcv.byID[id] == 0 {
			t.Fatalf("event a-%05d never arrived under its delivery id %s", i, id)
		}
	}
}
