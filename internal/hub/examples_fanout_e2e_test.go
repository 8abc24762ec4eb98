package hub

import (
	"net/http"
	"testing"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestExampleUserCreatedFanOut runs examples/user-created-fan-out: the
// seed document's user.created webhook (user.json), signed with the
// Standard Webhooks library and posted to /webhooks/acme, reaches the CRM
// (a HubSpot contact upserted at the stand-in), fulfilment and accounting
// (two signed webhooks), each with the fields the route's transforms
// build from the canonical User.
func TestExampleUserCreatedFanOut(t *testing.T) {
	const flow = "user-created-fan-out"
	t.Setenv("ACME_WEBHOOK_SECRET", inboundSecret)
	t.Setenv("JUNCTION_WEBHOOK_SIGNING_SECRET", outboundSecret)
	api := exampleHubSpot(t)
	hooks := newHookServer(t, outboundSecret)
	h := startHub(t, loadExample(t, flow, func(c *Config) { useHubSpot(t, c, api) }))
	applyExampleRoutes(t, h, flow, "http://127.0.0.1:9999", hooks.URL)

	if resp := h.sendWebhook(t, "msg_seed_1", exampleFile(t, flow, "user.json")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the signed user.created answered %d, want 202", resp.StatusCode)
	}
	delivered := junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED
	h.eventDeliveries(t, "msg_seed_1", map[string]junctionv1.DeliveryState{"crm": delivered, "fulfilment": delivered, "accounting": delivered})

	checkContact(t, api, "alex@example.com", map[string]string{
		"email": "alex@example.com", "firstname": "Alex", "lastname": "Rivera", "company": "Acme Corp", "lifecyclestage": "customer",
	})
	f, a := hooks.delivered("/fulfilment"), hooks.delivered("/accounting")
	if len(f) != 1 || len(a) != 1 {
		t.Fatalf("fulfilment got %d deliveries and accounting %d, want 1 each", len(f), len(a))
	}
	checkJSON(t, "fulfilment", f[0].body, `{"action":"provision","user_id":"usr_987654321","email":"alex@example.com","plan":"enterprise","event_id":"msg_seed_1"}`)
	checkJSON(t, "accounting", a[0].body, `{"customer_ref":"usr_987654321","name":"Alex Rivera","company":"Acme Corp","email":"alex@example.com","plan":"enterprise","since":"2026-06-20T19:08:41Z"}`)
	if f[0].id == a[0].id {
		t.Errorf("fulfilment and accounting got the same delivery id %s, want one delivery per target", f[0].id)
	}
	if n := hooks.unsigned(); n > 0 {
		t.Errorf("%d requests without a valid Standard Webhooks signature", n)
	}
}
