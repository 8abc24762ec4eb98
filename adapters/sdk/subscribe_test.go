package sdk_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// recorder is a Handler that records the ids it saw and answers with fn.
type recorder struct {
	mu  sync.Mutex
	ids []string
	fn  func(e *junctionv1.Event, seen int) error
}

func (r *recorder) handle(_ context.Context, e *junctionv1.Event) error {
	r.mu.Lock()
	r.ids = append(r.ids, e.GetId())
	seen := 0
	for _, id := range r.ids {
		if id == e.GetId() {
			seen++
		}
	}
	r.mu.Unlock()
	if r.fn == nil {
		return nil
	}
	return r.fn(e, seen)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// subscribe runs Subscribe until the test ends; stop cancels it and waits.
func subscribe(t *testing.T, hub *sdktest.Hub, durable, pattern string, h sdk.Handler, opts ...sdk.SubscribeOption) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts = append([]sdk.SubscribeOption{sdk.WithLogger(testLogger(t)), sdk.WithBackoff(10*time.Millisecond, 50*time.Millisecond)}, opts...)
	go func() { done <- sdk.Subscribe(ctx, hub.JS, durable, pattern, h, opts...) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Subscribe returned %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func consumerIdle(t *testing.T, hub *sdktest.Hub, durable string) bool {
	t.Helper()
	return hub.Idle(t.Context(), topology.EventsStream, durable) == nil
}

func publishAll(t *testing.T, hub *sdktest.Hub, events ...*junctionv1.Event) {
	t.Helper()
	p := newPublisher(t, hub)
	for _, e := range events {
		if _, err := p.Publish(t.Context(), e); err != nil {
			t.Fatalf("Publish %v: %v", e, err)
		}
	}
}

func TestSubscribe(t *testing.T) {
	errFlaky := errors.New("database busy")
	tests := []struct {
		name     string
		pattern  string
		fn       func(e *junctionv1.Event, seen int) error
		opts     []sdk.SubscribeOption
		wantSeen []string
	}{
		{name: "ack on nil", pattern: "acme.user.*", wantSeen: []string{"u1", "u2"}},
		{name: "full subject pattern", pattern: "junction.events.acme.>", wantSeen: []string{"u1", "o1", "u2"}},
		{
			name: "redelivery on error", pattern: "acme.user.*", wantSeen: []string{"u1", "u1", "u2"},
			fn: func(e *junctionv1.Event, seen int) error {
				if e.GetId() == "u1" && seen == 1 {
					return errFlaky
				}
				return nil
			},
		},
		{
			name: "term on permanent", pattern: "acme.user.*", wantSeen: []string{"u1", "u2"},
			fn: func(e *junctionv1.Event, _ int) error {
				if e.GetId() == "u1" {
					return sdk.Permanent(errors.New("cannot parse"))
				}
				return nil
			},
		},
		{
			// An event the handler always fails is given up after max
			// attempts (terminated), not retried forever.
			name: "given up after max attempts", pattern: "acme.user.*", wantSeen: []string{"u1", "u1", "u1", "u2"},
			opts: []sdk.SubscribeOption{sdk.WithMaxAttempts(3)},
			fn: func(e *junctionv1.Event, _ int) error {
				if e.GetId() == "u1" {
					return errFlaky
				}
				return nil
			},
		},
		{
			name: "panic is retried", pattern: "acme.user.created", wantSeen: []string{"u1", "u1"},
			fn: func(_ *junctionv1.Event, seen int) error {
				if seen == 1 {
					panic("handler bug")
				}
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := sdktest.NewHub(t)
			publishAll(t, hub,
				&junctionv1.Event{Id: "u1", Source: "acme", Type: "user.created"},
				&junctionv1.Event{Id: "o1", Source: "acme", Type: "order.created"},
				&junctionv1.Event{Id: "u2", Source: "acme", Type: "user.deleted"},
				&junctionv1.Event{Id: "x1", Source: "other", Type: "user.created"},
			)
			rec := &recorder{fn: tt.fn}
			subscribe(t, hub, "svc", tt.pattern, rec.handle, tt.opts...)
			waitFor(t, "every event handled", func() bool { return len(rec.seen()) >= len(tt.wantSeen) })
			waitFor(t, "the consumer to settle", func() bool { return consumerIdle(t, hub, "svc") })
			// A retried event comes back after its backoff, so compare
			// without order.
			got, want := rec.seen(), slices.Clone(tt.wantSeen)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("handled %v, want %v in any order", got, want)
			}
		})
	}
}

// Two replicas sharing a durable name split the events between them.
func TestSubscribeSharedDurable(t *testing.T) {
	hub := sdktest.NewHub(t)
	a, b := &recorder{}, &recorder{}
	subscribe(t, hub, "shared", "acme.>", a.handle)
	subscribe(t, hub, "shared", "acme.>", b.handle)
	var events []*junctionv1.Event
	for _, id := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		events = append(events, &junctionv1.Event{Id: id, Source: "acme", Type: "x"})
	}
	publishAll(t, hub, events...)
	waitFor(t, "every event handled", func() bool { return len(a.seen())+len(b.seen()) >= len(events) })
	waitFor(t, "the consumer to settle", func() bool { return consumerIdle(t, hub, "shared") })
	if got := len(a.seen()) + len(b.seen()); got != len(events) {
		t.Errorf("replicas handled %d events in all, want %d once each", got, len(events))
	}
}

// A durable consumer resumes where it stopped.
func TestSubscribeResumes(t *testing.T) {
	hub := sdktest.NewHub(t)
	first := &recorder{}
	stop := subscribe(t, hub, "svc", "acme.>", first.handle)
	publishAll(t, hub, &junctionv1.Event{Id: "a", Source: "acme", Type: "x"})
	waitFor(t, "the first event", func() bool { return len(first.seen()) == 1 })
	waitFor(t, "the consumer to settle", func() bool { return consumerIdle(t, hub, "svc") })
	stop()

	publishAll(t, hub, &junctionv1.Event{Id: "b", Source: "acme", Type: "x"})
	second := &recorder{}
	subscribe(t, hub, "svc", "acme.>", second.handle)
	waitFor(t, "the second event", func() bool { return len(second.seen()) == 1 })
	waitFor(t, "the consumer to settle", func() bool { return consumerIdle(t, hub, "svc") })
	if got := strings.Join(second.seen(), ","); got != "b" {
		t.Errorf("after restart handled %s, want b only", got)
	}
}

func TestSubscribeInvalid(t *testing.T) {
	hub := sdktest.NewHub(t)
	h := func(context.Context, *junctionv1.Event) error { return nil }
	tests := []struct {
		name    string
		durable string
		pattern string
		h       sdk.Handler
		opts    []sdk.SubscribeOption
		want    string
	}{
		{"empty pattern", "svc", " ", h, nil, "pattern is empty"},
		{"gt in the middle", "svc", "acme.>.x", h, nil, "'>'"},
		{"empty token", "svc", "acme..x", h, nil, "empty token"},
		{"partial wildcard", "svc", "acme.us*", h, nil, "wildcard inside a word"},
		{"bare prefix", "svc", "junction.events.", h, nil, "empty token"},
		{"bad durable", "my.svc", "acme.>", h, nil, "durable name"},
		{"nil handler", "svc", "acme.>", nil, nil, "handler is nil"},
		{"zero concurrency", "svc", "acme.>", h, []sdk.SubscribeOption{sdk.WithConcurrency(0)}, "concurrency"},
		{"zero max attempts", "svc", "acme.>", h, []sdk.SubscribeOption{sdk.WithMaxAttempts(0)}, "max attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sdk.Subscribe(t.Context(), hub.JS, tt.durable, tt.pattern, tt.h, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Subscribe(%q, %q) error = %v, want one containing %q", tt.durable, tt.pattern, err, tt.want)
			}
		})
	}
	stream, err := hub.JS.Stream(t.Context(), topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	names := stream.ConsumerNames(t.Context())
	for name := range names.Name() {
		t.Errorf("consumer %s created by an invalid Subscribe", name)
	}
	if err := names.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		t.Fatal(err)
	}
}
