package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/deliverypolicy"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// runRouter starts a Router and waits until it is ready. The returned
// stop cancels it and returns Run's result.
func runRouter(t *testing.T, js jetstream.JetStream, opts Options) (*Router, func() error) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	r, err := New(js, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := r.Ready(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Ready before Run = %v, want ErrNotReady", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = errors.New("Run did not return within 30s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	waitFor(t, "router ready", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		return r.Ready() == nil
	})
	return r, stop
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publishEvent stores e on EVENTS the way the SDK does. msgID overrides
// the Nats-Msg-Id, to store the same event twice.
func publishEvent(t testing.TB, js jetstream.JetStream, e *junctionv1.Event, msgID string) {
	t.Helper()
	data, err := proto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(topology.EventSubject(e.Source, e.Type))
	m.Data = data
	if msgID == "" {
		msgID = topology.EventMsgID(e.Source, e.Id)
	}
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	m.Header.Set(topology.HeaderContentType, topology.ContentTypeEvent)
	m.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatalf("publish event: %v", err)
	}
}

func event(id, source, typ, data string) *junctionv1.Event {
	return &junctionv1.Event{Id: id, Source: source, Type: typ, DataContentType: "application/json", Data: []byte(data)}
}

// stored is one message read back from a stream.
type stored struct {
	subject  string
	header   nats.Header
	delivery *junctionv1.Delivery
}

// readStream returns every message on stream, in order.
func readStream(t testing.TB, js jetstream.JetStream, name string) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	if info.State.Msgs == 0 {
		return out
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		raw, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("get %s message %d: %v", name, seq, err)
		}
		d := &junctionv1.Delivery{}
		if err := proto.Unmarshal(raw.Data, d); err != nil {
			t.Fatalf("%s message %d is not a Delivery: %v", name, seq, err)
		}
		out = append(out, stored{subject: raw.Subject, header: raw.Header, delivery: d})
	}
	return out
}

// waitIdle waits until the router consumer has processed everything on
// EVENTS: acked up to the stream's last message, nothing awaiting an ack.
// NumPending alone is not enough: the server updates it asynchronously, so
// right after a publish it can still read 0.
func waitIdle(t testing.TB, js jetstream.JetStream, consumer string) {
	t.Helper()
	waitFor(t, "events processed", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, topology.EventsStream)
		if err != nil {
			return false
		}
		sinfo, err := s.Info(ctx)
		if err != nil {
			return false
		}
		c, err := js.Consumer(ctx, topology.EventsStream, consumer)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		if err != nil {
			return false
		}
		return info.AckFloor.Stream >= sinfo.State.LastSeq && info.NumAckPending == 0 && info.NumPending == 0
	})
}

func subjects(ms []stored) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.subject+" "+m.delivery.GetEventId())
	}
	sort.Strings(out)
	return out
}

func TestRouterEndToEnd(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate := func(id string, r *junctionv1.Route) *junctionv1.Route {
		t.Helper()
		out, err := store.Create(ctx, id, r)
		if err != nil {
			t.Fatalf("create route %s: %v", id, err)
		}
		return out
	}
	mustCreate("users", &junctionv1.Route{
		Filter:    "acme.user.*",
		Condition: `data.plan == "pro"`,
		Targets: []*junctionv1.Target{
			{Destination: "webhook", Config: map[string]string{"url": "https://example.com/hook"}},
			{Name: "chat", Destination: "slack", Action: "chat.postMessage", Transform: `{"text": "pro user " + data.name}`},
		},
	})
	orders := mustCreate("orders", &junctionv1.Route{Filter: "shop.order.created", Targets: []*junctionv1.Target{{Destination: "webhook"}}})
	mustCreate("off", &junctionv1.Route{Filter: "acme.>", Enabled: proto.Bool(false), Targets: []*junctionv1.Target{{Destination: "webhook"}}})
	mustCreate("broken", &junctionv1.Route{Filter: "acme.user.deleted", Targets: []*junctionv1.Target{{Destination: "crm", Transform: `{"id": data.nope}`}}})

	r, stop := runRouter(t, js, Options{Concurrency: 4})

	publishEvent(t, js, event("e1", "acme", "user.created", `{"plan":"pro","name":"ada"}`), "")
	publishEvent(t, js, event("e2", "acme", "user.created", `{"plan":"free","name":"bob"}`), "")
	publishEvent(t, js, event("e3", "shop", "order.created", `{"total":10}`), "")
	publishEvent(t, js, event("e4", "other", "thing.happened", `{}`), "")
	publishEvent(t, js, event("e5", "acme", "user.deleted", `{"plan":"free"}`), "")
	// Undecodable: terminated, nothing delivered.
	if _, err := js.Publish(ctx, "junction.events.acme.garbage", []byte{0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	// The same event stored twice on EVENTS (as after a lost ack): its
	// deliveries dedupe.
	publishEvent(t, js, event("e1", "acme", "user.created", `{"plan":"pro","name":"ada"}`), "second-copy")
	waitIdle(t, js, topology.RouterConsumer)

	got := readStream(t, js, topology.DeliveriesStream)
	want := []string{
		"junction.deliveries.slack.users e1",
		"junction.deliveries.webhook.orders e3",
		"junction.deliveries.webhook.users e1",
	}
	if !slices.Equal(subjects(got), want) {
		t.Fatalf("deliveries = %v, want %v", subjects(got), want)
	}
	for _, m := range got {
		d := m.delivery
		if got, want := m.header.Get(jetstream.MsgIDHeader), DeliveryID(d.EventSource, d.EventId, d.RouteId, d.Target); got != want || d.Id != want {
			t.Errorf("%s: Nats-Msg-Id %q, id %q; want %q", m.subject, got, d.Id, want)
		}
		if got := m.header.Get(topology.HeaderContentType); got != topology.ContentTypeDelivery {
			t.Errorf("%s: Content-Type %q, want %q", m.subject, got, topology.ContentTypeDelivery)
		}
		if m.header.Get(topology.HeaderDeliveryID) != d.Id || m.header.Get(topology.HeaderEventID) != d.EventId {
			t.Errorf("%s: headers %v, want delivery and event ids", m.subject, m.header)
		}
		if m.header.Get("traceparent") == "" {
			t.Errorf("%s: traceparent not carried over from the event", m.subject)
		}
		if d.Policy.GetMaxAttempts() != deliverypolicy.DefaultMaxAttempts {
			t.Errorf("%s: policy %v, want defaults filled", m.subject, d.Policy)
		}
		if d.Target == "chat" && string(d.Payload) != `{"text":"pro user ada"}` {
			t.Errorf("chat payload = %s, want the transform's output", d.Payload)
		}
		if d.RouteId == "orders" && (d.RouteRevision != orders.Revision || string(d.Payload) != `{"total":10}`) {
			t.Errorf("orders delivery revision %d payload %s, want %d and the event data", d.RouteRevision, d.Payload, orders.Revision)
		}
	}

	dlq := readStream(t, js, topology.DLQStream)
	if len(dlq) != 1 || dlq[0].subject != "junction.dlq.crm.broken" || dlq[0].delivery.EventId != "e5" {
		t.Fatalf("dead letters = %v, want one for e5 on junction.dlq.crm.broken", subjects(dlq))
	}
	if got := dlq[0].header.Get(topology.HeaderDLQReason); got != topology.DLQReasonTransformError {
		t.Errorf("dead letter reason = %q, want %q", got, topology.DLQReasonTransformError)
	}
	if dlq[0].header.Get(topology.HeaderDLQLastError) == "" {
		t.Errorf("dead letter has no %s header", topology.HeaderDLQLastError)
	}

	t.Run("route change applied without restart", func(t *testing.T) {
		upd := proto.Clone(orders).(*junctionv1.Route)
		upd.Condition = `data.total > 100`
		upd, err := store.Update(ctx, upd, orders.Revision)
		if err != nil {
			t.Fatal(err)
		}
		added := mustCreate("big", &junctionv1.Route{Filter: "shop.>", Condition: `data.total > 100`, Targets: []*junctionv1.Target{{Destination: "erp"}}})
		if err := store.Delete(ctx, "users", 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "route changes applied", func() bool {
			ix := r.routes.Load()
			o, b := ix.routes["orders"], ix.routes["big"]
			return o != nil && o.Route.Revision == upd.Revision && b != nil && b.Route.Revision == added.Revision && ix.routes["users"] == nil
		})
		before := len(readStream(t, js, topology.DeliveriesStream))
		publishEvent(t, js, event("e6", "shop", "order.created", `{"total":10}`), "")
		publishEvent(t, js, event("e7", "shop", "order.created", `{"total":500}`), "")
		publishEvent(t, js, event("e8", "acme", "user.created", `{"plan":"pro","name":"cy"}`), "")
		waitIdle(t, js, topology.RouterConsumer)
		all := readStream(t, js, topology.DeliveriesStream)
		want := []string{"junction.deliveries.erp.big e7", "junction.deliveries.webhook.orders e7"}
		if got := subjects(all[before:]); !slices.Equal(got, want) {
			t.Errorf("deliveries after the change = %v, want %v", got, want)
		}
	})

	if err := stop(); err != nil {
		t.Errorf("Run returned %v after cancel, want nil", err)
	}
	if err := r.Ready(); !errors.Is(err, ErrNotReady) {
		t.Errorf("Ready after stop = %v, want ErrNotReady", err)
	}
}

// TestRouterRestart stops a router while events are in flight and starts
// a new one on the same consumer: every event must end up delivered, and
// none twice.
func TestRouterRestart(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "all", &junctionv1.Route{
		Filter:    "load.>",
		Targets:   []*junctionv1.Target{{Destination: "webhook", Transform: `{"n": data.n}`}},
		Condition: `data.n >= 0`,
	}); err != nil {
		t.Fatal(err)
	}

	const n = 300
	for i := range n {
		publishEvent(t, js, event(fmt.Sprintf("evt-%03d", i), "load", "tick", fmt.Sprintf(`{"n":%d}`, i)), "")
	}

	_, stop := runRouter(t, js, Options{Concurrency: 8})
	waitFor(t, "some deliveries", func() bool { return len(readStream(t, js, topology.DeliveriesStream)) > 0 })
	if err := stop(); err != nil {
		t.Fatalf("first router: Run = %v, want nil", err)
	}
	first := len(readStream(t, js, topology.DeliveriesStream))
	t.Logf("first router delivered %d of %d before it stopped", first, n)

	runRouter(t, js, Options{Concurrency: 8})
	waitIdle(t, js, topology.RouterConsumer)

	seen := map[string]int{}
	for _, m := range readStream(t, js, topology.DeliveriesStream) {
		seen[m.delivery.EventId]++
	}
	for i := range n {
		id := fmt.Sprintf("evt-%03d", i)
		if seen[id] != 1 {
			t.Errorf("event %s delivered %d times, want 1", id, seen[id])
		}
	}
}

func TestNewOptions(t *testing.T) {
	js := startHub(t)
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"custom", Options{Consumer: "router-b", Concurrency: 2, AckWait: time.Second}, true},
		{"bad consumer", Options{Consumer: "a.b"}, false},
		{"negative concurrency", Options{Concurrency: -1}, false},
		{"negative ack wait", Options{AckWait: -time.Second}, false},
		{"negative max publish attempts", Options{MaxPublishAttempts: -1}, false},
		{"budget max over above its window", Options{Budget: Budget{Window: 4, MaxOver: 5}}, false},
		{"custom budget", Options{MaxPublishAttempts: 2, Budget: Budget{Cost: 10, Time: -1, Window: 4, MaxOver: 2, Cooldown: time.Second}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(js, tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%+v) error = %v, want ok=%v", tt.opts, err, tt.ok)
			}
		})
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Errorf("New(nil) = nil error, want one")
	}
}

// TestRouterRetriesFailedPublish removes the DELIVERIES stream so that
// publishing fails, and checks the event is not acked but retried until
// the stream is back.
func TestRouterRetriesFailedPublish(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "r", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}}); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, topology.DeliveriesStream); err != nil {
		t.Fatal(err)
	}
	runRouter(t, js, Options{Concurrency: 2, AckWait: 5 * time.Second})
	publishEvent(t, js, event("e1", "acme", "user.created", `{}`), "")

	cons, err := js.Consumer(ctx, topology.EventsStream, topology.RouterConsumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event to be redelivered", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && (info.NumRedelivered > 0 || info.Delivered.Consumer >= 2)
	})
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 0 {
		t.Fatalf("event acked (ack floor %d) although its delivery could not be published", info.AckFloor.Stream)
	}

	if err := topology.Ensure(ctx, js, topology.Options{}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, js, topology.RouterConsumer)
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, []string{"junction.deliveries.webhook.r e1"}) {
		t.Errorf("deliveries = %v, want the one delivery once the stream is back", got)
	}
}

// TestRouterSkipsInvalidStoredRoute puts routes that do not decode or
// compile straight into the bucket: the router logs and skips them and
// applies the others.
func TestRouterSkipsInvalidStoredRoute(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, topology.RoutesBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "garbage", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "badcel", []byte(`{"filter":"acme.>","condition":"nope ==","targets":[{"destination":"webhook"}]}`)); err != nil {
		t.Fatal(err)
	}
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "good", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}}); err != nil {
		t.Fatal(err)
	}
	r, _ := runRouter(t, js, Options{Concurrency: 2})
	if got := r.routes.Load().len(); got != 1 {
		t.Errorf("router loaded %d routes, want 1 (the valid one)", got)
	}
	publishEvent(t, js, event("e1", "acme", "user.created", `{}`), "")
	waitIdle(t, js, topology.RouterConsumer)
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, []string{"junction.deliveries.webhook.good e1"}) {
		t.Errorf("deliveries = %v, want only the valid route's", got)
	}
}

// TestRouterNoRoutes starts a router on an empty bucket: it becomes ready,
// acks events without delivering anything, and picks up a route created
// later.
func TestRouterNoRoutes(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, _ := runRouter(t, js, Options{})
	publishEvent(t, js, event("e1", "acme", "user.created", `{}`), "")
	waitIdle(t, js, topology.RouterConsumer)
	if got := readStream(t, js, topology.DeliveriesStream); len(got) != 0 {
		t.Fatalf("deliveries = %v, want none without routes", subjects(got))
	}
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "late", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new route", func() bool { return r.routes.Load().len() == 1 })
	publishEvent(t, js, event("e2", "acme", "user.created", `{}`), "")
	waitIdle(t, js, topology.RouterConsumer)
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, []string{"junction.deliveries.webhook.late e2"}) {
		t.Errorf("deliveries = %v, want only e2's", got)
	}
}

// TestRouterAppliedRevision: AppliedRevision reaches a saved route's
// revision once the change is in effect, and follows later changes.
func TestRouterAppliedRevision(t *testing.T) {
	js := startHub(t)
	ctx := context.Background()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	first, err := store.Create(ctx, "before", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := runRouter(t, js, Options{})
	if got := r.AppliedRevision(); got < first.GetRevision() {
		t.Fatalf("AppliedRevision after start = %d, want >= %d (the route stored before start)", got, first.GetRevision())
	}
	second, err := store.Create(ctx, "after", &junctionv1.Route{Filter: "beta.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new revision", func() bool { return r.AppliedRevision() >= second.GetRevision() })
	if n := r.routes.Load().len(); n != 2 {
		t.Errorf("index holds %d routes at revision %d, want 2", n, r.AppliedRevision())
	}
}
