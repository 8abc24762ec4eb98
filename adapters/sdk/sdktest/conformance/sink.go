package conformance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Answer is how an app stand-in answers one delivery, in HTTP terms: an
// adapter whose app is no HTTP service maps it onto its protocol (an SMTP
// 421 for a 503, say).
type Answer struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// RetryAfter, when positive, is sent as Retry-After in seconds.
	RetryAfter time.Duration
	// Hold, when not nil, keeps the answer back until it is closed.
	Hold <-chan struct{}
}

// Received is one delivery an app stand-in got.
type Received struct {
	// IdempotencyKey is the key the adapter passed to the app (an
	// Idempotency-Key or webhook-id header, a Message-Id): the suite
	// expects the delivery id.
	IdempotencyKey string
	// At is when it arrived.
	At time.Time
}

// App is the stand-in for the adapter's app in [RunSink].
type App interface {
	// Script sets the answers to the next deliveries, in order; the last
	// repeats. No script means 200 to all.
	Script(answers ...Answer)
	// Received returns every delivery the app got, in order.
	Received() []Received
}

// SinkCase describes a sink adapter to [RunSink].
type SinkCase struct {
	// App is the adapter's Spec.App, the destination its sink consumes;
	// default "conformance".
	App string
	// New returns a new adapter value (an sdk.Sink) and the stand-in of
	// its app. It is called once per subtest.
	New func(t *testing.T) (adapter any, app App)
	// Config is the target config of the deliveries (e.g. {"url": ...}
	// for the webhook adapter), given the stand-in New returned.
	Config func(app App) map[string]string
	// PermanentStatus is the answer that must dead-letter at once;
	// default 400.
	PermanentStatus int
}

func (c SinkCase) app() string {
	if c.App == "" {
		return "conformance"
	}
	return c.App
}

// sinkEnv runs one sink adapter against an embedded hub.
type sinkEnv struct {
	c       SinkCase
	hub     *sdktest.Hub
	adapter any
	app     App
	seq     int
}

func newSinkEnv(t *testing.T, c SinkCase) *sinkEnv {
	t.Helper()
	adapter, app := c.New(t)
	return &sinkEnv{c: c, hub: sdktest.NewHub(t), adapter: adapter, app: app}
}

// start runs the adapter until stop is called (or the test ends).
func (e *sinkEnv) start(t *testing.T) (stop func()) {
	t.Helper()
	r, err := platform.NewRunner(sdk.Spec{App: e.c.app(), Version: "conformance"}, e.adapter, e.hub.Connect(t), platform.RunnerOptions{
		Config: sdk.Config{ShutdownTimeout: 10 * time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("conformance: NewRunner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("conformance: Run = %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	waitUntil(t, "the sink's consumer to be up", func() error { return r.Ready() })
	return stop
}

// deliver publishes one delivery to the adapter and returns its id.
func (e *sinkEnv) deliver(t *testing.T) string {
	t.Helper()
	e.seq++
	id := fmt.Sprintf("dlv_conformance_%d", e.seq)
	e.hub.PublishDelivery(t, &junctionv1.Delivery{
		Id: id, EventId: "evt_" + id, EventSource: "conformance", EventType: "item.created",
		RouteId: "r1", Target: "t1", Destination: e.c.app(), Action: "post",
		Config:  e.c.Config(e.app),
		Payload: []byte(`{"id":"` + id + `","type":"item.created"}`), ContentType: "application/json",
		CreateTime: timestamppb.Now(),
		Policy: &junctionv1.DeliveryPolicy{
			MaxAttempts:    5,
			InitialBackoff: durationpb.New(50 * time.Millisecond),
			MaxBackoff:     durationpb.New(200 * time.Millisecond),
			AttemptTimeout: durationpb.New(20 * time.Second),
		},
	})
	return id
}

// settled reports whether the sink has finished with everything: the
// live consumer acknowledged all, no retry waits.
func (e *sinkEnv) settled(ctx context.Context) error {
	if err := e.hub.Idle(ctx, topology.DeliveriesStream, topology.DeliveryConsumer(e.c.app())); err != nil {
		return err
	}
	s, err := e.hub.JS.Stream(ctx, topology.RetriesStream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.Msgs != 0 {
		return fmt.Errorf("%d retries waiting", info.State.Msgs)
	}
	return nil
}

// RunSink runs the sink suite:
//
//   - a delivery the app accepts is acknowledged, once, with the delivery
//     id as its idempotency key, and nothing is dead-lettered;
//   - an answer of 408, 429 (with Retry-After, not retried before it) or
//     a 5xx is retried, with the same idempotency key, until accepted;
//   - a permanent failure is dead-lettered at once, not retried;
//   - a stop while a delivery is in flight loses nothing: it is finished
//     within the shutdown grace, or delivered by the next instance.
func RunSink(t *testing.T, c SinkCase) {
	t.Helper()
	if c.New == nil || c.Config == nil {
		t.Fatal("conformance: SinkCase needs New and Config")
	}
	t.Run("ack on success", func(t *testing.T) {
		env := newSinkEnv(t, c)
		env.start(t)
		id := env.deliver(t)
		waitUntil(t, "the delivery to settle", func() error { return env.settled(context.Background()) })
		got := env.app.Received()
		if len(got) != 1 || got[0].IdempotencyKey != id {
			t.Fatalf("app received %+v, want one delivery with idempotency key %s", got, id)
		}
		if n := env.hub.StreamMsgs(t, topology.DLQStream); n != 0 {
			t.Errorf("DLQ holds %d, want 0", n)
		}
	})
	for _, a := range []Answer{
		{Status: http.StatusRequestTimeout},
		{Status: http.StatusTooManyRequests, RetryAfter: time.Second},
		{Status: http.StatusInternalServerError},
		{Status: http.StatusBadGateway},
		{Status: http.StatusServiceUnavailable},
	} {
		t.Run("retry on "+strconv.Itoa(a.Status), func(t *testing.T) {
			env := newSinkEnv(t, c)
			env.app.Script(a, Answer{})
			env.start(t)
			id := env.deliver(t)
			waitUntil(t, "the delivery to be retried and accepted", func() error {
				if env.hub.StreamMsgs(t, topology.DLQStream) > 0 {
					return nil // dead-lettered: reported below
				}
				if n := len(env.app.Received()); n < 2 {
					return fmt.Errorf("%d attempts", n)
				}
				return env.settled(context.Background())
			})
			if n := env.hub.StreamMsgs(t, topology.DLQStream); n != 0 {
				t.Fatalf("a %d was dead-lettered after %d attempt(s), want it retried", a.Status, len(env.app.Received()))
			}
			got := env.app.Received()
			if len(got) != 2 {
				t.Errorf("app received %d attempts, want 2 (the %d, then success)", len(got), a.Status)
			}
			for i, r := range got {
				if r.IdempotencyKey != id {
					t.Errorf("attempt %d idempotency key %q, want the delivery id %s", i+1, r.IdempotencyKey, id)
				}
			}
			if a.RetryAfter > 0 && len(got) >= 2 {
				if gap := got[1].At.Sub(got[0].At); gap < a.RetryAfter {
					t.Errorf("retried %v after a %d with Retry-After %v, want not before it", gap, a.Status, a.RetryAfter)
				}
			}
			if n := env.hub.StreamMsgs(t, topology.DLQStream); n != 0 {
				t.Errorf("DLQ holds %d, want 0", n)
			}
		})
	}
	t.Run("dead letter on permanent failure", func(t *testing.T) {
		env := newSinkEnv(t, c)
		status := c.PermanentStatus
		if status == 0 {
			status = http.StatusBadRequest
		}
		env.app.Script(Answer{Status: status})
		env.start(t)
		env.deliver(t)
		env.hub.WaitMsgs(t, topology.DLQStream, 1, 30*time.Second)
		waitUntil(t, "the delivery to settle", func() error { return env.settled(context.Background()) })
		if n := len(env.app.Received()); n != 1 {
			t.Errorf("app received %d attempts of a permanent %d, want 1", n, status)
		}
	})
	t.Run("graceful stop mid-delivery loses nothing", func(t *testing.T) {
		env := newSinkEnv(t, c)
		hold := make(chan struct{})
		env.app.Script(Answer{Hold: hold}, Answer{})
		stop := env.start(t)
		id := env.deliver(t)
		waitUntil(t, "the delivery to reach the app", func() error {
			if len(env.app.Received()) == 0 {
				return fmt.Errorf("nothing received")
			}
			return nil
		})
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		close(hold) // the app answers while the runner is stopping
		<-stopped
		env.start(t) // the next instance
		waitUntil(t, "the delivery to settle", func() error { return env.settled(context.Background()) })
		for i, r := range env.app.Received() {
			if r.IdempotencyKey != id {
				t.Errorf("attempt %d idempotency key %q, want %s", i+1, r.IdempotencyKey, id)
			}
		}
		if n := env.hub.StreamMsgs(t, topology.DLQStream); n != 0 {
			t.Errorf("DLQ holds %d, want 0", n)
		}
	})
}

// waitUntil polls cond until it returns nil, failing the test after a
// generous deadline (a busy machine) with cond's last error.
func waitUntil(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("conformance: waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// HTTPApp is an [App] for adapters that deliver over HTTP: a real server
// on a loopback port answering as scripted, recording each request's
// idempotency key from Header.
type HTTPApp struct {
	// URL is the server's base URL.
	URL string
	// Header names the request header carrying the idempotency key.
	Header string

	mu      sync.Mutex
	answers []Answer
	got     []Received
}

// NewHTTPApp starts an HTTPApp for t, closed by t.Cleanup.
func NewHTTPApp(t *testing.T, header string) *HTTPApp {
	t.Helper()
	a := &HTTPApp{Header: header}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

func (a *HTTPApp) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	n := len(a.got)
	a.got = append(a.got, Received{IdempotencyKey: r.Header.Get(a.Header), At: time.Now()})
	ans := Answer{}
	if len(a.answers) > 0 {
		ans = a.answers[min(n, len(a.answers)-1)]
	}
	a.mu.Unlock()
	if ans.Hold != nil {
		<-ans.Hold
	}
	if ans.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ans.RetryAfter+time.Second-1)/time.Second)))
	}
	if ans.Status == 0 {
		ans.Status = http.StatusOK
	}
	w.WriteHeader(ans.Status)
	_, _ = io.WriteString(w, http.StatusText(ans.Status))
}

// Script sets the answers to the next requests.
func (a *HTTPApp) Script(answers ...Answer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers = append([]Answer(nil), answers...)
}

// Received returns the requests received, in order.
func (a *HTTPApp) Received() []Received {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Received(nil), a.got...)
}
