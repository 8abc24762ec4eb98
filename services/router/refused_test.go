package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestRouterDeadLettersRefusedDelivery: the DELIVERIES stream refuses
// messages over 2,000 bytes (a limit below the server's maximum payload,
// so the router's size check lets the delivery through). Publishing that
// delivery fails with the same JetStream error every time. Before, the
// router naked the event forever; now, after MaxPublishAttempts it
// dead-letters the refused delivery (reason publish_error, the refusal as
// last error, the payload kept) and acks the event, whose other route was
// delivered.
func TestRouterDeadLettersRefusedDelivery(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, topology.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgSize = 2000
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	for id, tr := range map[string]string{"wide": `{"a": data.s, "b": data.s}`, "narrow": `{"n": size(data.s)}`} {
		if _, err := store.Create(ctx, id, &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook", Transform: tr}}}); err != nil {
			t.Fatal(err)
		}
	}
	const attempts = 3
	runRouter(t, js, Options{Concurrency: 2, AckWait: 5 * time.Second, MaxPublishAttempts: attempts})
	publishEvent(t, js, event("e1", "acme", "user.created", `{"s":"`+strings.Repeat("x", 1500)+`"}`), "")
	waitIdle(t, js, topology.RouterConsumer)

	cons, err := js.Consumer(ctx, topology.EventsStream, topology.RouterConsumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Delivered.Consumer; got != attempts {
		t.Errorf("the event was processed %d times, want %d (MaxPublishAttempts)", got, attempts)
	}
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, []string{"junction.deliveries.webhook.narrow e1"}) {
		t.Errorf("deliveries = %v, want only the narrow route's", got)
	}
	dlq := readStream(t, js, topology.DLQStream)
	if got := subjects(dlq); !slices.Equal(got, []string{"junction.dlq.webhook.wide e1"}) {
		t.Fatalf("dead letters = %v, want the wide route's", got)
	}
	dl := dlq[0]
	if got := dl.header.Get(topology.HeaderDLQReason); got != topology.DLQReasonPublishError {
		t.Errorf("reason %q, want %q", got, topology.DLQReasonPublishError)
	}
	if got := dl.header.Get(topology.HeaderDLQAttempts); got != fmt.Sprint(attempts) {
		t.Errorf("attempts header %q, want %d", got, attempts)
	}
	if msg := dl.header.Get(topology.HeaderDLQLastError); !strings.Contains(msg, "maximum") {
		t.Errorf("last error %q should carry the stream's refusal", msg)
	}
	if len(dl.delivery.GetPayload()) < 3000 {
		t.Errorf("dead letter payload is %d bytes, want the rendered delivery kept", len(dl.delivery.GetPayload()))
	}
}

// TestIsUnavailable: which publish errors make the router retry an event
// without limit (the hub cannot store anything now) and which count as a
// refusal of this message, dead-lettered after MaxPublishAttempts.
func TestIsUnavailable(t *testing.T) {
	api := func(code int, errCode jetstream.ErrorCode) error {
		return fmt.Errorf("publish x: nats: %w", &jetstream.APIError{Code: code, ErrorCode: errCode, Description: "d"})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"timeout", fmt.Errorf("publish x: %w", nats.ErrTimeout), true},
		{"no responders (no stream)", fmt.Errorf("publish x: %w", nats.ErrNoResponders), true},
		{"connection closed", nats.ErrConnectionClosed, true},
		{"context deadline", context.DeadlineExceeded, true},
		{"store failed (stream full, disk)", api(503, 10077), true},
		{"store failed with code 500", api(500, 10077), true},
		{"insufficient resources", api(500, 10023), true},
		{"cluster not available", api(503, 10008), true},
		{"stream offline", api(500, 10118), true},
		{"message over the stream's max size", api(400, 10054), false},
		{"wrong expected stream", api(400, 10060), false},
		{"bad request", api(400, 10003), false},
		{"plain error", errors.New("boom"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isUnavailable(tt.err); got != tt.want {
				t.Errorf("isUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
