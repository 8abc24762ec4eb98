package router

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestRouterDeadLettersOversizedDelivery: a transform whose output is over
// the server's maximum payload can never be published. The router
// dead-letters that one delivery on the first try (reason
// payload_too_large, no payload), acks the event, and the event's other
// route is delivered as usual. Before, the event was naked and retried
// every 10 s forever, holding one of the router's in-flight slots.
func TestRouterDeadLettersOversizedDelivery(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	// Four copies of a 300 KB string: 1.2 MB, over the 1 MB default.
	if _, err := store.Create(ctx, "big", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{
		Destination: "webhook", Transform: `{"a": data.s, "b": data.s, "c": data.s, "d": data.s}`,
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "small", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{
		Destination: "webhook", Transform: `{"n": size(data.s)}`,
	}}}); err != nil {
		t.Fatal(err)
	}
	runRouter(t, js, Options{Concurrency: 2, AckWait: 5 * time.Second})
	publishEvent(t, js, event("e1", "acme", "user.created", `{"s":"`+strings.Repeat("x", 300_000)+`"}`), "")
	waitIdle(t, js, topology.RouterConsumer)

	cons, err := js.Consumer(ctx, topology.EventsStream, topology.RouterConsumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 {
		t.Errorf("the event was redelivered %d times, want it acked on the first try", info.NumRedelivered)
	}
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, []string{"junction.deliveries.webhook.small e1"}) {
		t.Errorf("deliveries = %v, want only the small route's", got)
	}
	dlq := readStream(t, js, topology.DLQStream)
	if len(dlq) != 1 {
		t.Fatalf("DLQ holds %d messages, want 1", len(dlq))
	}
	dl := dlq[0]
	if dl.subject != topology.DLQSubject("webhook", "big") {
		t.Errorf("dead letter subject %s, want %s", dl.subject, topology.DLQSubject("webhook", "big"))
	}
	if got := dl.header.Get(topology.HeaderDLQReason); got != topology.DLQReasonPayloadTooLarge {
		t.Errorf("reason %q, want %q", got, topology.DLQReasonPayloadTooLarge)
	}
	if msg := dl.header.Get(topology.HeaderDLQLastError); !strings.Contains(msg, "over the hub's limit") || !strings.Contains(msg, "rerender") {
		t.Errorf("last error %q should say the limit and how to redrive", msg)
	}
	if len(dl.delivery.GetPayload()) != 0 || dl.delivery.GetEventId() != "e1" || dl.delivery.GetRouteId() != "big" {
		t.Errorf("dead letter delivery = event %q route %q with %d payload bytes, want e1/big without payload",
			dl.delivery.GetEventId(), dl.delivery.GetRouteId(), len(dl.delivery.GetPayload()))
	}
}

// TestRouterDeadLettersFailedCondition: a condition that fails at run time
// (here a missing key) is not counted as "not matched": each of the
// route's targets is dead-lettered with reason condition_error and the
// error, so the operator sees it and can redrive once the route is fixed.
// Events the condition handles are delivered as usual.
func TestRouterDeadLettersFailedCondition(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "plan", &junctionv1.Route{Filter: "acme.>", Condition: `data.account.plan == "pro"`,
		Targets: []*junctionv1.Target{{Destination: "webhook"}, {Destination: "crm"}}}); err != nil {
		t.Fatal(err)
	}
	runRouter(t, js, Options{Concurrency: 2, AckWait: 5 * time.Second})
	publishEvent(t, js, event("ok", "acme", "user.created", `{"account":{"plan":"pro"}}`), "")
	publishEvent(t, js, event("bad", "acme", "user.created", `{"plan":"pro"}`), "")
	waitIdle(t, js, topology.RouterConsumer)

	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, []string{"junction.deliveries.crm.plan ok", "junction.deliveries.webhook.plan ok"}) {
		t.Errorf("deliveries = %v, want both targets for event ok", got)
	}
	dlq := readStream(t, js, topology.DLQStream)
	if got := subjects(dlq); !slices.Equal(got, []string{"junction.dlq.crm.plan bad", "junction.dlq.webhook.plan bad"}) {
		t.Fatalf("dead letters = %v, want both targets for event bad", got)
	}
	for _, dl := range dlq {
		if got := dl.header.Get(topology.HeaderDLQReason); got != topology.DLQReasonConditionError {
			t.Errorf("%s: reason %q, want %q", dl.subject, got, topology.DLQReasonConditionError)
		}
		if msg := dl.header.Get(topology.HeaderDLQLastError); !strings.Contains(msg, "condition failed") || !strings.Contains(msg, "account") {
			t.Errorf("%s: last error %q should say the condition failed and on what", dl.subject, msg)
		}
		if string(dl.delivery.GetPayload()) != `{"plan":"pro"}` {
			t.Errorf("%s: payload %q, want the event's own", dl.subject, dl.delivery.GetPayload())
		}
	}
}
