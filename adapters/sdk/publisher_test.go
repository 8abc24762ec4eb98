package sdk_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func newPublisher(t *testing.T, hub *sdktest.Hub) *sdk.Publisher {
	t.Helper()
	p, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	return p
}

func TestPublishStoresEvent(t *testing.T) {
	hub := sdktest.NewHub(t)
	p := newPublisher(t, hub)
	ctx := t.Context()

	in := &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "user.created", Data: []byte(`{"a":1}`), DataContentType: "application/json"}
	res, err := p.Publish(ctx, in)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if res.Duplicate || res.Sequence != 1 {
		t.Errorf("Publish = {seq %d, dup %v}, want {seq 1, dup false}", res.Sequence, res.Duplicate)
	}
	if in.GetTime() != nil || in.GetSpecVersion() != "" {
		t.Errorf("Publish modified its input: %v", in)
	}
	if res.Event.GetTime() == nil || res.Event.GetReceiveTime() == nil || res.Event.GetSpecVersion() != "1.0" {
		t.Errorf("stored event lacks filled fields: %v", res.Event)
	}

	msgs := hub.WaitMsgs(t, topology.EventsStream, 1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if got, want := m.Subject(), "junction.events.acme.user.created"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	for h, want := range map[string]string{
		jetstream.MsgIDHeader:      "acme:evt_1",
		topology.HeaderContentType: topology.ContentTypeEvent,
		topology.HeaderEventID:     "evt_1",
		topology.HeaderEventSource: "acme",
		topology.HeaderEventType:   "user.created",
	} {
		if got := m.Headers().Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	got, err := topology.ParseEvent(m.Subject(), m.Headers(), m.Data())
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	if !proto.Equal(got, res.Event) {
		t.Errorf("stored event = %v, want %v", got, res.Event)
	}

	kv, err := hub.JS.KeyValue(ctx, topology.IdempotencyBucket)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(ctx, topology.IdempotencyKey("acme", "evt_1"))
	if err != nil {
		t.Fatalf("idempotency key: %v", err)
	}
	if got := string(entry.Value()); got != "1" {
		t.Errorf("idempotency value = %q, want %q", got, "1")
	}
}

func TestPublishFillsID(t *testing.T) {
	hub := sdktest.NewHub(t)
	p := newPublisher(t, hub)
	seen := map[string]bool{}
	for i := range 3 {
		res, err := p.Publish(t.Context(), &junctionv1.Event{Source: "acme", Type: "ping"})
		if err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
		id := res.Event.GetId()
		if !strings.HasPrefix(id, "evt_") || len(id) != 30 {
			t.Errorf("generated id %q, want evt_ and 26 characters", id)
		}
		if seen[id] {
			t.Errorf("generated id %q twice", id)
		}
		seen[id] = true
		if res.Duplicate {
			t.Errorf("event %d with generated id answered duplicate", i)
		}
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 3 {
		t.Errorf("EVENTS holds %d, want 3", got)
	}
}

func TestPublishDuplicate(t *testing.T) {
	hub := sdktest.NewHub(t)
	p := newPublisher(t, hub)
	ctx := t.Context()
	first := &junctionv1.Event{Id: "evt_dup", Source: "acme", Type: "user.created", Data: []byte("first"),
		Time: timestamppb.New(time.Date(2026, 6, 20, 19, 8, 41, 0, time.UTC))}
	r1, err := p.Publish(ctx, first)
	if err != nil {
		t.Fatalf("first Publish: %v", err)
	}
	// A provider retry, days later in real life: same source and id.
	retry := &junctionv1.Event{Id: "evt_dup", Source: "acme", Type: "user.created", Data: []byte("second")}
	r2, err := p.Publish(ctx, retry)
	if err != nil {
		t.Fatalf("second Publish: %v", err)
	}
	if !r2.Duplicate || r2.Sequence != r1.Sequence {
		t.Errorf("second Publish = {seq %d, dup %v}, want {seq %d, dup true}", r2.Sequence, r2.Duplicate, r1.Sequence)
	}
	if got := string(r2.Event.GetData()); got != "first" {
		t.Errorf("duplicate answered event data %q, want the stored %q", got, "first")
	}
	if !proto.Equal(r2.Event, r1.Event) {
		t.Errorf("duplicate event = %v, want stored %v", r2.Event, r1.Event)
	}
	// The same id from another source is another event.
	r3, err := p.Publish(ctx, &junctionv1.Event{Id: "evt_dup", Source: "other", Type: "user.created"})
	if err != nil {
		t.Fatalf("other source Publish: %v", err)
	}
	if r3.Duplicate {
		t.Errorf("same id from another source answered duplicate")
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 2 {
		t.Errorf("EVENTS holds %d, want 2", got)
	}
}

// A provider retry after JetStream's duplicate window is still caught, by
// the idempotency bucket.
func TestPublishDuplicateAfterWindow(t *testing.T) {
	hub := sdktest.NewHub(t)
	cfg := topology.Streams(topology.Options{})[0]
	cfg.Duplicates = 100 * time.Millisecond
	if _, err := hub.JS.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatalf("shorten duplicate window: %v", err)
	}
	p := newPublisher(t, hub)
	e := &junctionv1.Event{Id: "evt_late", Source: "acme", Type: "x"}
	if _, err := p.Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // past the window
	res, err := p.Publish(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate || res.Sequence != 1 {
		t.Errorf("late retry = {seq %d, dup %v}, want {seq 1, dup true}", res.Sequence, res.Duplicate)
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 1 {
		t.Errorf("EVENTS holds %d, want 1", got)
	}
}

// An idempotency key left over from a purged stream does not swallow the
// event.
func TestPublishStaleIdempotencyKey(t *testing.T) {
	hub := sdktest.NewHub(t)
	p := newPublisher(t, hub)
	kv, err := hub.JS.KeyValue(t.Context(), topology.IdempotencyBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(t.Context(), &junctionv1.Event{Id: "other", Source: "acme", Type: "x"}); err != nil {
		t.Fatal(err)
	}
	// evt_stale claims sequence 1 (another event's) and sequence 7 (none).
	for _, tt := range []struct{ id, seq string }{{"evt_stale", "1"}, {"evt_gone", "7"}} {
		if _, err := kv.Put(t.Context(), topology.IdempotencyKey("acme", tt.id), []byte(tt.seq)); err != nil {
			t.Fatal(err)
		}
		res, err := p.Publish(t.Context(), &junctionv1.Event{Id: tt.id, Source: "acme", Type: "x"})
		if err != nil {
			t.Fatalf("Publish %s: %v", tt.id, err)
		}
		if res.Duplicate || res.Event.GetId() != tt.id {
			t.Errorf("Publish %s with a stale key = {dup %v, id %q}, want a fresh store", tt.id, res.Duplicate, res.Event.GetId())
		}
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 3 {
		t.Errorf("EVENTS holds %d, want 3", got)
	}
}

func TestPublishConcurrentDuplicates(t *testing.T) {
	hub := sdktest.NewHub(t)
	p := newPublisher(t, hub)
	const n = 8
	var wg sync.WaitGroup
	results := make([]sdk.PublishResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = p.Publish(t.Context(), &junctionv1.Event{Id: "evt_race", Source: "acme", Type: "x"})
		})
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Publish %d: %v", i, errs[i])
		}
		if !results[i].Duplicate {
			fresh++
		}
		if results[i].Sequence != 1 {
			t.Errorf("Publish %d sequence = %d, want 1", i, results[i].Sequence)
		}
	}
	if fresh != 1 {
		t.Errorf("%d publishes answered not duplicate, want exactly 1", fresh)
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 1 {
		t.Errorf("EVENTS holds %d, want 1", got)
	}
}

func TestPublishInvalid(t *testing.T) {
	hub := sdktest.NewHub(t)
	p := newPublisher(t, hub)
	tests := []struct {
		name  string
		event *junctionv1.Event
		want  string // in the error message
	}{
		{"nil", nil, "event is nil"},
		{"no source", &junctionv1.Event{Type: "user.created"}, "source"},
		{"source with dot", &junctionv1.Event{Source: "ac.me", Type: "user.created"}, `"ac.me"`},
		{"source upper case", &junctionv1.Event{Source: "Acme", Type: "user.created"}, "source"},
		{"source wildcard", &junctionv1.Event{Source: "*", Type: "user.created"}, "source"},
		{"no type", &junctionv1.Event{Source: "acme"}, "type"},
		{"type with space", &junctionv1.Event{Source: "acme", Type: "user created"}, "type"},
		{"type wildcard", &junctionv1.Event{Source: "acme", Type: "user.>"}, "type"},
		{"type empty word", &junctionv1.Event{Source: "acme", Type: "user..created"}, "type"},
		{"id with newline", &junctionv1.Event{Id: "a\nb", Source: "acme", Type: "x"}, "control characters"},
		{"id too long", &junctionv1.Event{Id: strings.Repeat("a", 300), Source: "acme", Type: "x"}, "at most 256"},
		{"bad extension", &junctionv1.Event{Source: "acme", Type: "x", Extensions: map[string]string{"Bad_Name": "v"}}, "extension"},
		{"too large", &junctionv1.Event{Source: "acme", Type: "x", Data: make([]byte, 2<<20)}, "bytes encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Publish(t.Context(), tt.event)
			if !errors.Is(err, sdk.ErrInvalidEvent) {
				t.Fatalf("Publish(%v) error = %v, want ErrInvalidEvent", tt.event, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 0 {
		t.Errorf("EVENTS holds %d after invalid publishes, want 0", got)
	}
	kv, err := hub.JS.KeyValue(t.Context(), topology.IdempotencyBucket)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := kv.Status(t.Context()); err != nil || st.Values() != 0 {
		t.Errorf("idempotency bucket holds %v values (err %v), want 0", st.Values(), err)
	}
}

func TestPublishUnavailable(t *testing.T) {
	tests := []struct {
		name     string
		breakHub func(t *testing.T, hub *sdktest.Hub)
	}{
		{"stream full with discard new", func(t *testing.T, hub *sdktest.Hub) {
			cfg := topology.Streams(topology.Options{})[0]
			cfg.MaxMsgs = 1
			cfg.Discard = jetstream.DiscardNew
			if _, err := hub.JS.UpdateStream(t.Context(), cfg); err != nil {
				t.Fatalf("update stream: %v", err)
			}
			p := newPublisher(t, hub)
			if _, err := p.Publish(t.Context(), &junctionv1.Event{Id: "fill", Source: "acme", Type: "x"}); err != nil {
				t.Fatalf("first Publish: %v", err)
			}
		}},
		{"stream deleted", func(t *testing.T, hub *sdktest.Hub) {
			if err := hub.JS.DeleteStream(t.Context(), topology.EventsStream); err != nil {
				t.Fatalf("delete stream: %v", err)
			}
		}},
		{"jetstream disabled", func(t *testing.T, hub *sdktest.Hub) {
			hub.Server.DisableJetStream()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := sdktest.NewHub(t)
			p := newPublisher(t, hub)
			tt.breakHub(t, hub)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err := p.Publish(ctx, &junctionv1.Event{Id: "evt_lost", Source: "acme", Type: "x"})
			if !errors.Is(err, sdk.ErrUnavailable) {
				t.Fatalf("Publish error = %v, want ErrUnavailable", err)
			}
			if errors.Is(err, sdk.ErrInvalidEvent) {
				t.Errorf("Publish error %v also wraps ErrInvalidEvent", err)
			}
			if hub.Server.JetStreamEnabled() {
				kv, err := hub.JS.KeyValue(t.Context(), topology.IdempotencyBucket)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := kv.Get(t.Context(), topology.IdempotencyKey("acme", "evt_lost")); !errors.Is(err, jetstream.ErrKeyNotFound) {
					t.Errorf("idempotency key of the unstored event: err = %v, want ErrKeyNotFound", err)
				}
			}
		})
	}
}

func TestNewPublisherWithoutTopology(t *testing.T) {
	hub := sdktest.NewHub(t)
	if err := hub.JS.DeleteKeyValue(t.Context(), topology.IdempotencyBucket); err != nil {
		t.Fatal(err)
	}
	_, err := sdk.NewPublisher(hub.JS)
	if err == nil || !strings.Contains(err.Error(), topology.IdempotencyBucket) {
		t.Errorf("NewPublisher error = %v, want one naming %s", err, topology.IdempotencyBucket)
	}
}

func TestNewEventIDSorts(t *testing.T) {
	prev := sdk.NewEventID()
	for i := range 50 {
		time.Sleep(time.Millisecond)
		id := sdk.NewEventID()
		if id <= prev {
			t.Fatalf("id %d %q does not sort after %q", i, id, prev)
		}
		if strconv.Quote(id) != `"`+id+`"` {
			t.Fatalf("id %q is not plain ASCII", id)
		}
		prev = id
	}
}

// A scoped publisher (an adapter user that may not read EVENTS) answers a
// provider's retry from the idempotency record: a duplicate while the
// stream still holds the recorded sequence, a fresh store once the stream
// was purged past it or recreated.
func TestPublishScopedDuplicate(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx := t.Context()
	cfg := topology.Streams(topology.Options{})[0]
	cfg.Duplicates = 100 * time.Millisecond // so retries reach the record
	if _, err := hub.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("shorten duplicate window: %v", err)
	}
	p, err := sdk.NewPublisherWithOptions(hub.JS, sdk.PublisherOptions{Scoped: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &junctionv1.Event{Id: "evt_scoped", Source: "acme", Type: "x", Data: []byte("first")}
	publish := func(step string, wantDup bool) sdk.PublishResult {
		t.Helper()
		time.Sleep(200 * time.Millisecond) // past the window: the record decides
		res, err := p.Publish(ctx, e)
		if err != nil {
			t.Fatalf("%s: Publish: %v", step, err)
		}
		if res.Duplicate != wantDup || res.Event.GetId() != e.GetId() {
			t.Fatalf("%s: Publish = {seq %d, dup %v, id %q}, want dup %v", step, res.Sequence, res.Duplicate, res.Event.GetId(), wantDup)
		}
		return res
	}
	first := publish("first", false)
	if again := publish("retry", true); again.Sequence != first.Sequence {
		t.Errorf("retry answered sequence %d, want the first %d", again.Sequence, first.Sequence)
	}
	stream, err := hub.JS.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	publish("after a purge", false)
	if err := hub.JS.DeleteStream(ctx, topology.EventsStream); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the new stream's creation time follows the record's
	if _, err := hub.JS.CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if p, err = sdk.NewPublisherWithOptions(hub.JS, sdk.PublisherOptions{Scoped: true}); err != nil {
		t.Fatal(err)
	}
	publish("after the stream was recreated", false)
}
