package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/webhook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

const testSecret = "whsec_dGVzdC1vdXRib3VuZC1zZWNyZXQtMDEyMzQ1Njc4OWE="

// receiver is an HTTP destination that records, per webhook-id, when each
// request came and answers what answer says.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	times  map[string][]time.Time
	ok     map[string]int
	answer func(id string, n int) (int, string) // status and Retry-After
}

func newReceiver(t *testing.T, answer func(id string, n int) (int, string)) *receiver {
	r := &receiver{times: map[string][]time.Time{}, ok: map[string]int{}, answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		r.times[id] = append(r.times[id], time.Now())
		n := len(r.times[id])
		r.mu.Unlock()
		code, after := r.answer(id, n)
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		if code < 300 {
			r.mu.Lock()
			r.ok[id]++
			r.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) delivered() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.ok) }
func (r *receiver) requests(id string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times[id]...)
}

// startSink runs a webhook adapter's sink for destination app in-process.
func startSink(t *testing.T, hub *sdktest.Hub, app string) {
	t.Helper()
	a, err := webhook.New(webhook.Config{Outbound: webhook.OutboundConfig{SecretRef: webhook.SecretRef{Secret: testSecret}, Allow: []string{"127.0.0.1/32"}}})
	if err != nil {
		t.Fatal(err)
	}
	spec := webhook.Spec
	spec.App = app
	r, err := platform.NewRunner(spec, a, hub.NC, platform.RunnerOptions{Config: sdk.Config{Instance: app, Concurrency: 16},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "sink "+app+" ready", func() bool { return r.Ready() == nil })
}

// startRouter runs a router on hub in-process and waits until it applies
// the routes in store's first revisions (want of them).
func startRouter(t *testing.T, ctx context.Context, hub *sdktest.Hub, want uint64) {
	t.Helper()
	rt, err := router.New(hub.JS, router.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan struct{})
	go func() { defer close(rdone); _ = rt.Run(rctx) }()
	t.Cleanup(func() { rcancel(); <-rdone })
	eventually(t, "router ready", func() bool { return rt.Ready() == nil && rt.AppliedRevision() >= want })
}

// publishOrders publishes n shop order.paid events o-000, o-001, ...
func publishOrders(t *testing.T, ctx context.Context, hub *sdktest.Hub, n int) {
	t.Helper()
	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := pub.Publish(ctx, &junctionv1.Event{Id: fmt.Sprintf("o-%03d", i), Source: "shop", Type: "order.paid",
			DataContentType: "application/json", Data: []byte(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRetryAfterAndOutage: a destination answers 429 with Retry-After, then
// 503 for a while: its deliveries are not retried before Retry-After, are
// retried on their policy's schedule (never early, per the attempt log),
// and all arrive once it recovers; a second destination receives every
// event while the first is down.
func TestRetryAfterAndOutage(t *testing.T) {
	const events = 40
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	var down atomic.Bool
	down.Store(true)
	flaky := newReceiver(t, func(id string, n int) (int, string) {
		switch {
		case n == 1:
			return http.StatusTooManyRequests, "1"
		case down.Load():
			return http.StatusServiceUnavailable, ""
		}
		return http.StatusOK, ""
	})
	healthy := newReceiver(t, func(string, int) (int, string) { return http.StatusNoContent, "" })

	store, err := router.NewStore(ctx, hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	policy := &junctionv1.DeliveryPolicy{MaxAttempts: 1000, InitialBackoff: durationpb.New(100 * time.Millisecond), MaxBackoff: durationpb.New(400 * time.Millisecond), Multiplier: 2}
	for _, r := range []struct{ id, dest, url string }{{"to-flaky", "flaky", flaky.srv.URL}, {"to-healthy", "healthy", healthy.srv.URL}} {
		if _, err := store.Create(ctx, r.id, &junctionv1.Route{
			Filter: "shop.>", Policy: proto.Clone(policy).(*junctionv1.DeliveryPolicy),
			Targets: []*junctionv1.Target{{Name: "t", Destination: r.dest, Config: map[string]string{"url": r.url}}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	startSink(t, hub, "flaky")
	startSink(t, hub, "healthy")
	startRouter(t, ctx, hub, 2)
	publishOrders(t, ctx, hub, events)
	// The healthy destination gets everything while the other is down.
	eventually(t, "the healthy destination to receive every event", func() bool { return healthy.delivered() == events })
	eventually(t, "the flaky destination to see retries", func() bool {
		return len(flaky.requests(router.DeliveryID("shop", "o-000", "to-flaky", "t"))) >= 3
	})
	if got := flaky.delivered(); got != 0 {
		t.Fatalf("flaky destination accepted %d deliveries while down, want 0", got)
	}
	down.Store(false)
	eventually(t, "the flaky destination to receive every event after recovery", func() bool { return flaky.delivered() == events })

	// Retry-After: the second request of every delivery came at least 1s
	// after the first.
	var minGap time.Duration = time.Hour
	for i := range events {
		id := router.DeliveryID("shop", fmt.Sprintf("o-%03d", i), "to-flaky", "t")
		reqs := flaky.requests(id)
		if gap := reqs[1].Sub(reqs[0]); gap < time.Second {
			t.Errorf("delivery %s retried %v after a 429 with Retry-After: 1", id, gap)
		} else {
			minGap = min(minGap, gap)
		}
		flaky.mu.Lock()
		accepted := flaky.ok[id]
		flaky.mu.Unlock()
		if accepted != 1 {
			t.Errorf("delivery %s accepted %d times, want 1", id, accepted)
		}
	}
	// On schedule: per the attempt log, no attempt came before the time
	// the previous one set for it.
	attempts, err := hub.JS.Stream(ctx, topology.AttemptsStream)
	if err != nil {
		t.Fatal(err)
	}
	// The sink records an attempt after the receiver answered, so the
	// receiver can count a delivery a moment before its record is stored:
	// wait until every delivery's last record says delivered.
	attemptsOf := func(i int) []*junctionv1.DeliveryAttempt {
		var out []*junctionv1.DeliveryAttempt
		for seq := uint64(1); ; {
			m, err := attempts.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(topology.AttemptSubject("shop", fmt.Sprintf("o-%03d", i), router.DeliveryID("shop", fmt.Sprintf("o-%03d", i), "to-flaky", "t"))))
			if err != nil {
				return out
			}
			seq = m.Sequence + 1
			a := &junctionv1.DeliveryAttempt{}
			if err := proto.Unmarshal(m.Data, a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
	}
	eventually(t, "every delivery's last attempt recorded as delivered", func() bool {
		for i := range events {
			as := attemptsOf(i)
			if len(as) == 0 || as[len(as)-1].GetOutcome() != junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED {
				return false
			}
		}
		return true
	})
	early, checked := 0, 0
	for i := range events {
		var prev *junctionv1.DeliveryAttempt
		for _, a := range attemptsOf(i) {
			if prev != nil && prev.GetNextAttemptTime() != nil {
				checked++
				if a.GetTime().AsTime().Before(prev.GetNextAttemptTime().AsTime()) {
					early++
				}
			}
			prev = a
		}
	}
	if early > 0 || checked == 0 {
		t.Errorf("%d of %d retries came before their scheduled time", early, checked)
	}
	t.Logf("events %d; healthy destination got all while the other was down; flaky: %d retries checked against schedule, 0 early, shortest gap after Retry-After: 1 was %v", events, checked, minGap.Round(time.Millisecond))
}
