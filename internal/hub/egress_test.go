package hub

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// TestBlockedDeliveriesDeadLettered runs a hub whose config allows
// loopback deliveries (as examples/junction.yaml does) and routes one
// webhook to its own HTTP, gRPC and NATS ports, a cloud metadata address
// and a private one: each delivery is dead-lettered after one attempt
// (permanent, never retried) with a reason naming the address class and
// the config key, and nothing reaches the hub's own ports (no second event
// is stored).
func TestBlockedDeliveriesDeadLettered(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	a := h.Addrs()
	natsHost := strings.TrimPrefix(a.NATS, "nats://")
	if u, err := url.Parse(a.NATS); err == nil {
		natsHost = u.Host
	}
	targets := []struct{ route, url, want string }{
		{"to-own-http", "http://" + a.HTTP + "/webhooks/acme", "hub's own listeners"},
		{"to-own-grpc", "http://" + a.GRPC + "/", "hub's own listeners"},
		{"to-own-nats", "http://" + natsHost + "/", "hub's own listeners"},
		{"to-metadata", "http://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"to-private", "http://10.20.30.40:8080/", "private 10.0.0.0/8"},
	}
	for _, tt := range targets {
		createRoute(t, h, tt.route, tt.url, nil)
	}
	postSigned(t, h, "msg_ssrf_1", userCreated("pro", "s@example.com"), nil)

	nc, err := platformConn(h.Hub)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	for _, tt := range targets {
		t.Run(tt.route, func(t *testing.T) {
			var msg *jetstream.RawStreamMsg
			waitFor(t, 30*time.Second, "dead letter of "+tt.route, func() error {
				s, err := js.Stream(ctx, topology.DLQStream)
				if err != nil {
					return err
				}
				msg, err = s.GetLastMsgForSubject(ctx, "junction.dlq.webhook."+tt.route)
				return err
			})
			if got := msg.Header.Get(topology.HeaderDLQReason); got != topology.DLQReasonPermanent {
				t.Errorf("reason = %q, want %q", got, topology.DLQReasonPermanent)
			}
			if got := msg.Header.Get(topology.HeaderDLQAttempts); got != "1" {
				t.Errorf("attempts = %q, want 1: a refused address is not retried", got)
			}
			last := msg.Header.Get(topology.HeaderDLQLastError)
			if !strings.Contains(last, tt.want) {
				t.Errorf("last error = %q, want it to name %q", last, tt.want)
			}
			if !strings.Contains(tt.want, "own") && !strings.Contains(last, "outbound.allow") {
				t.Errorf("last error = %q, want it to name the config key outbound.allow", last)
			}
		})
	}
	// Nothing was posted to the hub's own webhook endpoint: the EVENTS
	// stream holds only the one event sent.
	s, err := js.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("EVENTS holds %d messages, want 1 (the delivery to the hub's own port must not arrive)", info.State.Msgs)
	}
}
