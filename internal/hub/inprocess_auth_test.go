package hub

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// TestInProcessUsersKeepTheirPermissions: serve's own components reach the
// embedded NATS in process (nats.InProcessServer, no loopback TCP), and
// each still authenticates with its own nkey and gets only its role's
// permissions: a forbidden publish on an in-process connection is refused
// with a permissions violation, an allowed one is not. (The in-process
// users' keys are refused over TCP: TestNATSRefusesUnauthenticated.)
func TestInProcessUsersKeepTheirPermissions(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	api := "$JS.API."
	tests := []struct {
		user, name, subject string
		allowed             bool
	}{
		{adapterUser, "publish its own source's event", topology.EventSubject("acme", "user.created"), true},
		{adapterUser, "publish another source's event", topology.EventSubject("other", "user.created"), false},
		{adapterUser, "write the routes bucket", "$KV." + topology.RoutesBucket + ".evil", false},
		{adapterUser, "delete EVENTS", api + "STREAM.DELETE." + topology.EventsStream, false},
		{adapterUser, "forge a delivery", topology.DeliverySubject("webhook", "r1"), false},
		{routerUser, "publish an event", topology.EventSubject("acme", "user.created"), false},
		{routerUser, "write an idempotency key", "$KV." + topology.IdempotencyBucket + "." + topology.IdempotencyKey("acme", "evt_1"), false},
		{routerUser, "delete DELIVERIES", api + "STREAM.DELETE." + topology.DeliveriesStream, false},
		{gatewayUser, "publish an event", topology.EventSubject("acme", "user.created"), true},
		{gatewayUser, "delete EVENTS", api + "STREAM.DELETE." + topology.EventsStream, false},
		{gatewayUser, "delete an event message", api + "STREAM.MSG.DELETE." + topology.EventsStream, false},
	}
	for _, tc := range tests {
		t.Run(tc.user+"/"+tc.name, func(t *testing.T) {
			opts, err := h.keys.InProcess(h.ns, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			nc, err := nats.Connect("", opts...)
			if err != nil {
				t.Fatalf("connect in process as %s: %v", tc.user, err)
			}
			defer nc.Close()
			if err := nc.Publish(tc.subject, []byte("x")); err != nil && !isViolation(err) {
				t.Fatalf("publish %s: %v", tc.subject, err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatalf("flush: %v", err)
			}
			// The server answers a forbidden publish with -ERR before the
			// PONG of the flush, so it is recorded by now.
			refused := isViolation(nc.LastError())
			if refused == tc.allowed {
				t.Errorf("%s as %s in process: refused %v (last error %v), want refused %v", tc.name, tc.user, refused, nc.LastError(), !tc.allowed)
			}
		})
	}
}
