package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startRunner runs r until the test ends; the returned stop cancels it and
// waits for Run to return, failing the test if it returned an error.
func startRunner(t *testing.T, r *platform.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newRunner(t *testing.T, hub *sdktest.Hub, app string, adapter any, cfg sdk.Config) *platform.Runner {
	t.Helper()
	r, err := platform.NewRunner(sdk.Spec{App: app, Version: "1.2.3"}, adapter, hub.Connect(t), platform.RunnerOptions{Config: cfg, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	return r
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// echoSource is a WebhookSource that emits one event per POST, with the
// source taken from the path.
type echoSource struct{}

func (echoSource) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := emit(r.Context(), &junctionv1.Event{
			Id:     r.Header.Get("X-Event-Id"),
			Source: strings.TrimPrefix(r.URL.Path, "/webhooks/"),
			Type:   "thing.happened",
			Data:   body,
		})
		switch {
		case errors.Is(err, sdk.ErrInvalidEvent):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
			_ = json.NewEncoder(w).Encode(map[string]any{"sequence": res.Sequence, "duplicate": res.Duplicate})
		}
	})
}

func (echoSource) Sources() []string { return []string{"acme"} }

func TestRunnerHandler(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := httptest.NewServer(newRunner(t, hub, "echo", echoSource{}, sdk.Config{}).Handler())
	t.Cleanup(srv.Close)
	sinkOnly := httptest.NewServer(newRunner(t, hub, "quiet", &testSink{}, sdk.Config{}).Handler())
	t.Cleanup(sinkOnly.Close)

	tests := []struct {
		name       string
		base       string
		method     string
		path       string
		eventID    string
		wantStatus int
		wantBody   string
	}{
		{"webhook accepted", srv.URL, http.MethodPost, "/webhooks/acme", "e1", http.StatusAccepted, `"duplicate":false`},
		{"webhook duplicate", srv.URL, http.MethodPost, "/webhooks/acme", "e1", http.StatusAccepted, `"duplicate":true`},
		{"webhook other source", srv.URL, http.MethodPost, "/webhooks/shop", "e1", http.StatusAccepted, `"duplicate":false`},
		{"webhook invalid source", srv.URL, http.MethodPost, "/webhooks/Bad.Source", "e2", http.StatusBadRequest, "invalid event"},
		{"healthz", srv.URL, http.MethodGet, "/healthz", "", http.StatusOK, `"ok"`},
		{"readyz", srv.URL, http.MethodGet, "/readyz", "", http.StatusOK, `"ready"`},
		{"unknown path", srv.URL, http.MethodGet, "/nope", "", http.StatusNotFound, `"code":5,`},
		{"no webhooks on a sink", sinkOnly.URL, http.MethodPost, "/webhooks/acme", "e3", http.StatusNotFound, "receives no webhooks"},
		{"sink not ready before Run", sinkOnly.URL, http.MethodGet, "/readyz", "", http.StatusServiceUnavailable, "consumer is not up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.base+tt.path, strings.NewReader(`{"x":1}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Event-Id", tt.eventID)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 2 {
		t.Errorf("EVENTS holds %d events, want 2", got)
	}
}

func TestNewRunnerErrors(t *testing.T) {
	hub := sdktest.NewHub(t)
	nc := hub.Connect(t)
	tests := []struct {
		name    string
		spec    sdk.Spec
		adapter any
		cfg     sdk.Config
		want    string
	}{
		{"no role", sdk.Spec{App: "x"}, struct{}{}, sdk.Config{}, "plays no role"},
		{"bad app", sdk.Spec{App: "Web Hook"}, echoSource{}, sdk.Config{}, "spec app"},
		{"bad config", sdk.Spec{App: "x"}, echoSource{}, sdk.Config{Concurrency: -1}, "hub.concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := platform.NewRunner(tt.spec, tt.adapter, nc, platform.RunnerOptions{Config: tt.cfg})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRunner error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := platform.NewRunner(sdk.Spec{App: "x"}, struct{}{}, nc, platform.RunnerOptions{}); !errors.Is(err, sdk.ErrNoRole) {
		t.Errorf("NewRunner(no role) error = %v, want ErrNoRole", err)
	}
}

// testSink records Deliver calls and answers with fn(call number).
type testSink struct {
	mu    sync.Mutex
	calls []time.Time
	fn    func(ctx context.Context, d *junctionv1.Delivery, call int) error
}

func (s *testSink) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	s.mu.Lock()
	s.calls = append(s.calls, time.Now())
	n := len(s.calls)
	s.mu.Unlock()
	if s.fn == nil {
		return nil
	}
	return s.fn(ctx, d, n)
}

func (s *testSink) callTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls...)
}

func fastPolicy(maxAttempts int32) *junctionv1.DeliveryPolicy {
	return &junctionv1.DeliveryPolicy{
		MaxAttempts:    maxAttempts,
		InitialBackoff: durationpb.New(10 * time.Millisecond),
		MaxBackoff:     durationpb.New(50 * time.Millisecond),
		AttemptTimeout: durationpb.New(5 * time.Second),
	}
}

func testDelivery(id string, p *junctionv1.DeliveryPolicy) *junctionv1.Delivery {
	return &junctionv1.Delivery{
		Id: id, EventId: "evt_" + id, EventSource: "acme", EventType: "user.created",
		RouteId: "r1", Target: "t1", Destination: "testapp", Action: "post",
		Payload: []byte(`{"hello":"world"}`), ContentType: "application/json",
		CreateTime: timestamppb.Now(), Policy: p,
	}
}

// settled reports whether the sink consumer has acknowledged everything
// stored for it (a Nak'd message stays unacknowledged until redelivered).
func settled(t *testing.T, hub *sdktest.Hub) bool {
	t.Helper()
	if hub.Idle(t.Context(), topology.DeliveriesStream, topology.DeliveryConsumer("testapp")) != nil {
		return false
	}
	// Retries wait on the RETRIES work queue until acknowledged; the
	// stream's state is current as soon as a publish is acknowledged.
	return hub.StreamMsgs(t, topology.RetriesStream) == 0
}

func TestSink(t *testing.T) {
	errBoom := errors.New("boom: 503 from upstream")
	tests := []struct {
		name      string
		delivery  *junctionv1.Delivery
		fn        func(ctx context.Context, d *junctionv1.Delivery, call int) error
		wantCalls int
		wantDLQ   string // reason, "" for no dead letter
		wantTries string // Junction-Dlq-Attempts
		wantErr   string // in Junction-Dlq-Last-Error
	}{
		{name: "success acks", delivery: testDelivery("d-ok", fastPolicy(3)), wantCalls: 1},
		{name: "default policy success", delivery: testDelivery("d-default", nil), wantCalls: 1},
		{
			name: "retryable then success", delivery: testDelivery("d-retry", fastPolicy(5)), wantCalls: 3,
			fn: func(_ context.Context, _ *junctionv1.Delivery, call int) error {
				if call < 3 {
					return errBoom
				}
				return nil
			},
		},
		{
			name: "explicit retryable over permanent then success", delivery: testDelivery("d-explicit", fastPolicy(5)), wantCalls: 2,
			fn: func(_ context.Context, _ *junctionv1.Delivery, call int) error {
				if call == 1 {
					return sdk.Retryable(sdk.Permanent(errBoom))
				}
				return nil
			},
		},
		{
			name: "permanent dead-letters", delivery: testDelivery("d-perm", fastPolicy(5)), wantCalls: 1,
			fn: func(context.Context, *junctionv1.Delivery, int) error {
				return sdk.Permanent(fmt.Errorf("400 bad request:\n%s", strings.Repeat("x", 3000)))
			},
			wantDLQ: topology.DLQReasonPermanent, wantTries: "1", wantErr: "400 bad request: xxx",
		},
		{
			name: "max attempts dead-letters", delivery: testDelivery("d-max", fastPolicy(3)), wantCalls: 3,
			fn:      func(context.Context, *junctionv1.Delivery, int) error { return errBoom },
			wantDLQ: topology.DLQReasonMaxAttempts, wantTries: "3", wantErr: errBoom.Error(),
		},
		{
			name: "panic is retryable", delivery: testDelivery("d-panic", fastPolicy(2)), wantCalls: 2,
			fn:      func(context.Context, *junctionv1.Delivery, int) error { panic("adapter bug") },
			wantDLQ: topology.DLQReasonMaxAttempts, wantTries: "2", wantErr: "adapter bug",
		},
		{
			name: "attempt timeout is retryable", wantCalls: 2,
			delivery: func() *junctionv1.Delivery {
				p := fastPolicy(2)
				p.AttemptTimeout = durationpb.New(20 * time.Millisecond)
				return testDelivery("d-timeout", p)
			}(),
			fn: func(ctx context.Context, _ *junctionv1.Delivery, _ int) error {
				<-ctx.Done()
				return ctx.Err()
			},
			wantDLQ: topology.DLQReasonMaxAttempts, wantTries: "2", wantErr: "deadline exceeded",
		},
		{
			name: "too old before first attempt", wantCalls: 0,
			delivery: func() *junctionv1.Delivery {
				d := testDelivery("d-old", fastPolicy(3))
				d.Policy.MaxAge = durationpb.New(time.Hour)
				d.CreateTime = timestamppb.New(time.Now().Add(-2 * time.Hour))
				return d
			}(),
			wantDLQ: topology.DLQReasonMaxAge, wantTries: "0", wantErr: "past its max age",
		},
		{
			name: "dead letter off by policy", wantCalls: 1,
			delivery: func() *junctionv1.Delivery {
				d := testDelivery("d-nodlq", fastPolicy(3))
				d.Policy.DeadLetter = proto.Bool(false)
				return d
			}(),
			fn: func(context.Context, *junctionv1.Delivery, int) error { return sdk.Permanent(errBoom) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := sdktest.NewHub(t)
			s := &testSink{fn: tt.fn}
			startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{Concurrency: 2}))
			hub.PublishDelivery(t, tt.delivery)

			waitFor(t, "the delivery to settle", func() bool { return settled(t, hub) })
			if got := len(s.callTimes()); got != tt.wantCalls {
				t.Errorf("Deliver called %d times, want %d", got, tt.wantCalls)
			}
			dlq := hub.StreamMsgs(t, topology.DLQStream)
			if tt.wantDLQ == "" {
				if dlq != 0 {
					t.Errorf("DLQ holds %d messages, want 0", dlq)
				}
				return
			}
			msgs := hub.WaitMsgs(t, topology.DLQStream, 1, 5*time.Second)
			if len(msgs) != 1 {
				t.Fatalf("DLQ holds %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if got, want := m.Subject(), "junction.dlq.testapp.r1"; got != want {
				t.Errorf("dead letter subject = %q, want %q", got, want)
			}
			for h, want := range map[string]string{
				topology.HeaderDeliveryID:  tt.delivery.GetId(),
				topology.HeaderContentType: topology.ContentTypeDelivery,
				topology.HeaderDLQReason:   tt.wantDLQ,
				topology.HeaderDLQAttempts: tt.wantTries,
				topology.HeaderEventID:     tt.delivery.GetEventId(),
			} {
				if got := m.Headers().Get(h); got != want {
					t.Errorf("dead letter header %s = %q, want %q", h, got, want)
				}
			}
			if got, want := m.Headers().Get(jetstream.MsgIDHeader), "dlq:"+tt.delivery.GetId()+":"; !strings.HasPrefix(got, want) {
				t.Errorf("dead letter Nats-Msg-Id = %q, want it to start with %q", got, want)
			}
			lastErr := m.Headers().Get(topology.HeaderDLQLastError)
			if !strings.Contains(lastErr, tt.wantErr) || len(lastErr) > topology.MaxDLQErrorLen || strings.ContainsAny(lastErr, "\r\n") {
				t.Errorf("dead letter last error = %q (%d bytes), want one line of at most %d bytes containing %q", lastErr, len(lastErr), topology.MaxDLQErrorLen, tt.wantErr)
			}
			got, err := topology.ParseDelivery(m.Subject(), m.Headers(), m.Data())
			if err != nil {
				t.Fatalf("DecodeDelivery: %v", err)
			}
			if !proto.Equal(got, tt.delivery) {
				t.Errorf("dead letter = %v, want the delivery %v", got, tt.delivery)
			}
		})
	}
}

func TestSinkRetryAfter(t *testing.T) {
	hub := sdktest.NewHub(t)
	const after = 300 * time.Millisecond
	s := &testSink{fn: func(_ context.Context, _ *junctionv1.Delivery, call int) error {
		if call == 1 {
			return sdk.RetryAfter(errors.New("429 too many requests"), after)
		}
		return nil
	}}
	startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{}))
	hub.PublishDelivery(t, testDelivery("d-429", fastPolicy(5)))
	waitFor(t, "two attempts", func() bool { return len(s.callTimes()) == 2 })
	calls := s.callTimes()
	if gap := calls[1].Sub(calls[0]); gap < after {
		t.Errorf("second attempt came %v after the first, want at least the Retry-After %v", gap, after)
	}
	waitFor(t, "the delivery to settle", func() bool { return settled(t, hub) })
}

func TestSinkUndecodable(t *testing.T) {
	hub := sdktest.NewHub(t)
	s := &testSink{}
	startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{}))
	if _, err := hub.JS.Publish(t.Context(), topology.DeliverySubject("testapp", "r1"), []byte{0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bad message to be terminated", func() bool { return settled(t, hub) })
	if got := len(s.callTimes()); got != 0 {
		t.Errorf("Deliver called %d times for undecodable bytes, want 0", got)
	}
}

// Deliveries for other destinations are not this sink's.
func TestSinkOnlyOwnDestination(t *testing.T) {
	hub := sdktest.NewHub(t)
	s := &testSink{}
	startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{}))
	other := testDelivery("d-other", nil)
	other.Destination = "testapp2"
	hub.PublishDelivery(t, other)
	hub.PublishDelivery(t, testDelivery("d-mine", nil))
	waitFor(t, "the delivery to settle", func() bool { return settled(t, hub) })
	if got := len(s.callTimes()); got != 1 {
		t.Errorf("Deliver called %d times, want 1 (only its own destination)", got)
	}
}

func TestSinkGracefulStop(t *testing.T) {
	hub := sdktest.NewHub(t)
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	var ctxErr atomic.Value
	s := &testSink{fn: func(ctx context.Context, _ *junctionv1.Delivery, _ int) error {
		close(started)
		<-release
		ctxErr.Store(fmt.Sprint(ctx.Err()))
		finished.Store(true)
		return nil
	}}
	r := newRunner(t, hub, "testapp", s, sdk.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	hub.PublishDelivery(t, testDelivery("d-slow", nil))
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond) // give a wrong Run the chance to return early
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while Deliver was still running", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if !finished.Load() {
		t.Error("Run returned before the in-flight Deliver finished")
	}
	if got := ctxErr.Load(); got != "<nil>" {
		t.Errorf("in-flight Deliver saw ctx error %v, want none within the shutdown grace", got)
	}
	if !settled(t, hub) {
		t.Error("the in-flight delivery was not acknowledged")
	}
}

func TestSinkShutdownTimeout(t *testing.T) {
	hub := sdktest.NewHub(t)
	started := make(chan struct{}, 1)
	s := &testSink{fn: func(ctx context.Context, _ *junctionv1.Delivery, _ int) error {
		started <- struct{}{}
		<-ctx.Done() // a Deliver that only stops when told to
		return ctx.Err()
	}}
	r := newRunner(t, hub, "testapp", s, sdk.Config{ShutdownTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	hub.PublishDelivery(t, testDelivery("d-stuck", nil))
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got := hub.StreamMsgs(t, topology.DLQStream); got != 0 {
		t.Errorf("DLQ holds %d after a shutdown, want 0: the delivery must be retried, not dead-lettered", got)
	}

	// The delivery is handed back and a new runner gets it.
	s2 := &testSink{}
	startRunner(t, newRunner(t, hub, "testapp", s2, sdk.Config{}))
	waitFor(t, "the delivery to reach the new runner", func() bool { return len(s2.callTimes()) == 1 })
	waitFor(t, "the delivery to settle", func() bool { return settled(t, hub) })
}

func TestHeartbeat(t *testing.T) {
	hub := sdktest.NewHub(t)
	adapter := struct {
		echoSource
		*testSink
	}{echoSource{}, &testSink{}}
	r := newRunner(t, hub, "testapp", adapter, sdk.Config{Instance: "i-1", HeartbeatEvery: 50 * time.Millisecond})
	stop := startRunner(t, r)

	kv, err := hub.JS.KeyValue(t.Context(), topology.AdaptersBucket)
	if err != nil {
		t.Fatal(err)
	}
	key := topology.AdapterKey("testapp", "i-1")
	var first *junctionv1.Adapter
	var firstRev uint64
	waitFor(t, "a serving heartbeat", func() bool {
		e, err := kv.Get(t.Context(), key)
		if err != nil {
			return false
		}
		a := &junctionv1.Adapter{}
		if err := protojson.Unmarshal(e.Value(), a); err != nil {
			t.Fatalf("heartbeat is not an Adapter in protojson: %v: %s", err, e.Value())
		}
		first, firstRev = a, e.Revision()
		return a.GetHealth() == junctionv1.Adapter_HEALTH_SERVING
	})
	want := &junctionv1.Adapter{
		Name: "adapters/testapp.i-1", App: "testapp", Instance: "i-1", Version: "1.2.3",
		Roles: []string{"webhook-source", "sink"}, Sources: []string{"acme"},
		Health: junctionv1.Adapter_HEALTH_SERVING,
	}
	got := proto.CloneOf(first)
	got.StartTime, got.LastSeenTime = nil, nil
	if !proto.Equal(got, want) {
		t.Errorf("heartbeat = %v, want %v", got, want)
	}
	if first.GetStartTime() == nil || first.GetLastSeenTime() == nil || first.GetLastSeenTime().AsTime().Before(first.GetStartTime().AsTime()) {
		t.Errorf("heartbeat times start %v, last seen %v", first.GetStartTime(), first.GetLastSeenTime())
	}
	waitFor(t, "a later heartbeat", func() bool {
		e, err := kv.Get(t.Context(), key)
		return err == nil && e.Revision() > firstRev
	})

	stop()
	if _, err := kv.Get(t.Context(), key); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("registration after a clean stop: err = %v, want ErrKeyNotFound", err)
	}
}

// countingPoller emits one event per poll and fails its first poll.
type countingPoller struct{ n atomic.Int32 }

func (p *countingPoller) Poll(ctx context.Context, emit sdk.EmitFunc) error {
	n := p.n.Add(1)
	if n == 1 {
		return errors.New("app unreachable")
	}
	_, err := emit(ctx, &junctionv1.Event{Id: fmt.Sprintf("poll-%d", n), Source: "poller", Type: "tick"})
	return err
}

func TestPollingSource(t *testing.T) {
	hub := sdktest.NewHub(t)
	p := &countingPoller{}
	startRunner(t, newRunner(t, hub, "poller", p, sdk.Config{PollInterval: 100 * time.Millisecond}))
	events := hub.WaitEvents(t, 2, 10*time.Second)
	for i, e := range events[:2] {
		if want := fmt.Sprintf("poll-%d", i+2); e.GetId() != want || e.GetSource() != "poller" {
			t.Errorf("event %d = %s/%s, want poller/%s", i, e.GetSource(), e.GetId(), want)
		}
	}
}

func TestRunTwice(t *testing.T) {
	hub := sdktest.NewHub(t)
	r := newRunner(t, hub, "testapp", &testSink{}, sdk.Config{})
	startRunner(t, r)
	waitFor(t, "ready", func() bool { return r.Ready() == nil })
	if err := r.Run(t.Context()); err == nil {
		t.Error("second Run = nil, want an error")
	}
}
