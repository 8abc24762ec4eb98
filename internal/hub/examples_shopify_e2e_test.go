package hub

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestExampleShopifyOrderFanOut runs examples/shopify-order-fan-out: the
// order of order.json, signed as Shopify signs it (checked with
// go-shopify), fans out to fulfilment, HubSpot and accounting. Accounting
// answers 500 at first: fulfilment and the CRM are delivered all the
// same, while accounting's delivery is retried (the same delivery id on
// every attempt) and lands once it recovers. A second order that
// accounting refuses with a 400 is dead-lettered at once, the others
// again delivered; `junction dlq list` shows it and `dlq redrive` delivers
// it once accounting takes it.
func TestExampleShopifyOrderFanOut(t *testing.T) {
	const flow = "shopify-order-fan-out"
	t.Setenv("SHOPIFY_WEBHOOK_SECRET", shopifyE2ESecret)
	t.Setenv("JUNCTION_WEBHOOK_SIGNING_SECRET", outboundSecret)
	api := exampleHubSpot(t)
	hooks := newHookServer(t, outboundSecret)
	h := startHub(t, loadExample(t, flow, func(c *Config) { useHubSpot(t, c, api) }))
	applyExampleRoutes(t, h, flow, "http://127.0.0.1:9999", hooks.URL)
	const (
		delivered = junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED
		dead      = junctionv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED
	)

	// Accounting is down.
	hooks.failPath("/accounting", http.StatusInternalServerError)
	order := exampleFile(t, flow, "order.json")
	if code, b := postShopify(t, h, "orders/create", "evt-flow-1", "wh-flow-1", order); code != http.StatusAccepted {
		t.Fatalf("the signed order answered %d %s, want 202", code, b)
	}
	const id1 = "evt-flow-1:orders.create"
	h.eventDeliveries(t, id1, map[string]junctionv1.DeliveryState{"fulfilment": delivered, "crm": delivered})
	waitFor(t, 60*time.Second, "accounting's delivery retried", func() error {
		if n := len(hooks.at("/accounting")); n < 2 {
			return fmt.Errorf("%d attempts at accounting", n)
		}
		return nil
	})
	if got := len(hooks.delivered("/accounting")); got != 0 {
		t.Fatalf("accounting took %d deliveries while answering 500", got)
	}
	// Accounting recovers: the retry lands.
	hooks.recoverPath("/accounting")
	st := h.eventDeliveries(t, id1, map[string]junctionv1.DeliveryState{"accounting": delivered})["accounting"]
	calls := hooks.at("/accounting")
	if n := len(calls); n < 3 || calls[n-1].status != http.StatusNoContent {
		t.Fatalf("accounting saw %d attempts, want at least two 500s, then the 204", n)
	}
	for _, c := range calls {
		if c.id != calls[0].id {
			t.Errorf("accounting attempts carry delivery ids %q and %q, want one delivery retried", calls[0].id, c.id)
		}
	}
	if st.GetAttemptCount() != int32(len(calls)) {
		t.Errorf("hub counts %d attempts for accounting, the server saw %d", st.GetAttemptCount(), len(calls))
	}

	f, a := hooks.delivered("/fulfilment"), hooks.delivered("/accounting")
	if len(f) != 1 || len(a) != 1 {
		t.Fatalf("fulfilment took %d deliveries and accounting %d, want 1 each", len(f), len(a))
	}
	checkJSON(t, "fulfilment", f[0].body, `{"order":"#1001","order_id":"820982911946154508",
		"ship_to":{"name":"Bob Norman","lines":["Chestnut Street 92"],"city":"Louisville","region":"Kentucky","postal_code":"40202","country":"US"},
		"items":[{"sku":"MUG-1","quantity":2},{"sku":"TEE-M","quantity":1}]}`)
	checkJSON(t, "accounting", a[0].body, `{"order_id":"820982911946154508","order":"#1001","currency":"EUR","total":"149.90","tax":"23.93","customer_email":"bob@example.com"}`)
	checkContact(t, api, "bob@example.com", map[string]string{"email": "bob@example.com", "firstname": "Bob", "lastname": "Norman", "lifecyclestage": "customer"})

	// Accounting refuses the next order outright: dead-lettered at once,
	// the other targets delivered; redriven once accounting takes it.
	hooks.failPath("/accounting", http.StatusBadRequest)
	order2 := []byte(strings.NewReplacer(`"id": 820982911946154508`, `"id": 820982911946154509`, `"#1001"`, `"#1002"`).Replace(string(order)))
	if code, b := postShopify(t, h, "orders/create", "evt-flow-2", "wh-flow-2", order2); code != http.StatusAccepted {
		t.Fatalf("the second order answered %d %s, want 202", code, b)
	}
	const id2 = "evt-flow-2:orders.create"
	h.eventDeliveries(t, id2, map[string]junctionv1.DeliveryState{"fulfilment": delivered, "crm": delivered, "accounting": dead})
	out, err := runCLI(t, h, "dlq", "list", "-o", "json")
	if err != nil || !strings.Contains(out, "evt-flow-2:orders.create") || !strings.Contains(out, "accounting") {
		t.Fatalf("dlq list = %v\n%s\nwant the accounting delivery of the second order", err, out)
	}
	hooks.recoverPath("/accounting")
	if out, err := runCLI(t, h, "dlq", "redrive", "--all"); err != nil {
		t.Fatalf("dlq redrive --all: %v\n%s", err, out)
	}
	waitFor(t, 60*time.Second, "the redriven order at accounting", func() error {
		if n := len(hooks.delivered("/accounting")); n < 2 {
			return fmt.Errorf("%d deliveries taken", n)
		}
		return nil
	})
	a = hooks.delivered("/accounting")
	checkJSON(t, "accounting, redriven", a[1].body, `{"order_id":"820982911946154509","order":"#1002","currency":"EUR","total":"149.90","tax":"23.93","customer_email":"bob@example.com"}`)
	if n := len(hooks.delivered("/fulfilment")); n != 2 {
		t.Errorf("fulfilment took %d deliveries, want 2 (one per order)", n)
	}
	if n := hooks.unsigned(); n > 0 {
		t.Errorf("%d requests without a valid Standard Webhooks signature", n)
	}
}
