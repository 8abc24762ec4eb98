package sdktest_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// fatalTB records a Fatalf instead of ending the test, to check that a
// helper fails the test it is given.
type fatalTB struct {
	testing.TB
	failed string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(f)
}

func expectFatal(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	f := &fatalTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != f {
				panic(r)
			}
		}()
		fn(f)
	}()
	return f.failed
}

func TestHub(t *testing.T) {
	hub := sdktest.NewHub(t)
	if !strings.HasPrefix(hub.URL, "nats://127.0.0.1:") {
		t.Errorf("URL = %q, want a loopback nats:// URL", hub.URL)
	}
	for _, s := range []string{topology.EventsStream, topology.DeliveriesStream, topology.DLQStream} {
		if got := hub.StreamMsgs(t, s); got != 0 {
			t.Errorf("new hub stream %s holds %d, want 0", s, got)
		}
	}
	for _, b := range []string{topology.RoutesBucket, topology.IdempotencyBucket, topology.AdaptersBucket} {
		if _, err := hub.JS.KeyValue(t.Context(), b); err != nil {
			t.Errorf("bucket %s: %v", b, err)
		}
	}
	nc := hub.Connect(t)
	if nc == hub.NC || nc.Status() != nats.CONNECTED {
		t.Errorf("Connect gave %v (status %v), want a new connected connection", nc, nc.Status())
	}

	d := &junctionv1.Delivery{Id: "dlv_1", EventId: "evt_1", RouteId: "r1", Destination: "webhook", Payload: []byte("x")}
	hub.PublishDelivery(t, d)
	hub.PublishDelivery(t, d) // same id: deduplicated
	msgs := hub.WaitMsgs(t, topology.DeliveriesStream, 1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("DELIVERIES holds %d, want 1", len(msgs))
	}
	if got, want := msgs[0].Subject(), "junction.deliveries.webhook.r1"; got != want {
		t.Errorf("delivery subject = %q, want %q", got, want)
	}
	if got := msgs[0].Headers().Get(topology.HeaderDeliveryID); got != "dlv_1" {
		t.Errorf("delivery id header = %q, want dlv_1", got)
	}

	for i := range 3 {
		e := &junctionv1.Event{Id: fmt.Sprint(i), Source: "acme", Type: "x"}
		data, _ := proto.Marshal(e)
		if _, err := hub.JS.Publish(t.Context(), topology.EventSubject("acme", "x"), data); err != nil {
			t.Fatal(err)
		}
	}
	events := hub.WaitEvents(t, 2, 5*time.Second)
	if len(events) != 3 {
		t.Fatalf("WaitEvents(2) returned %d events, want all 3 stored", len(events))
	}
	for i, e := range events {
		if e.GetId() != fmt.Sprint(i) {
			t.Errorf("event %d id = %q, want %d (stream order)", i, e.GetId(), i)
		}
	}

	msg := expectFatal(t, func(tb testing.TB) { hub.WaitEvents(tb, 5, 50*time.Millisecond) })
	if !strings.Contains(msg, "holds 3 messages") {
		t.Errorf("WaitEvents for more than stored: fatal %q, want one saying 3 are held", msg)
	}
}

func TestStart(t *testing.T) {
	hub, stop, err := sdktest.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	dir := hub.Server.StoreDir()
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 0 {
		t.Errorf("EVENTS holds %d, want 0", got)
	}
	stop()
	if hub.Server.Running() {
		t.Error("server still running after stop")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("store dir %s still there after stop (stat err %v)", dir, err)
	}
}

// TestIdle: a consumer is idle only once it acknowledged every message its
// filter takes; messages for other filters do not count.
func TestIdle(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx := t.Context()
	c, err := hub.JS.CreateOrUpdateConsumer(ctx, topology.DeliveriesStream, jetstream.ConsumerConfig{
		Durable: "only-a", FilterSubject: "junction.deliveries.a.>", AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Idle(ctx, topology.DeliveriesStream, "only-a"); err != nil {
		t.Fatalf("Idle on an empty stream = %v, want nil", err)
	}
	for _, subj := range []string{"junction.deliveries.a.r", "junction.deliveries.b.r"} {
		if _, err := hub.JS.Publish(ctx, subj, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := hub.Idle(ctx, topology.DeliveriesStream, "only-a"); err == nil {
		t.Fatal("Idle with an unread message = nil, want an error")
	}
	msgs, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		if err := hub.Idle(ctx, topology.DeliveriesStream, "only-a"); err == nil {
			t.Fatal("Idle with an unacknowledged message = nil, want an error")
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hub.WaitIdle(t, topology.DeliveriesStream, "only-a", 10*time.Second)
}
