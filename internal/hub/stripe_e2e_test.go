package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v86"
	"github.com/stripe/stripe-go/v86/webhook"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const stripeE2ESecret = "whsec_e2e_c3RyaXBlLWUyZS1zZWNyZXQ"

// withStripe adds a `sources:` entry for the Stripe adapter, configured
// as a user would write it.
func withStripe(t *testing.T, cfg Config) Config {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("secret_env: STRIPE_WEBHOOK_SECRET\nprevious:\n  - secret_env: STRIPE_PREVIOUS_WEBHOOK_SECRET\ntolerance: 300s\n"), &node); err != nil {
		t.Fatal(err)
	}
	cfg.Sources = append(cfg.Sources, SourceApp{App: "stripe", Config: *node.Content[0]})
	return cfg
}

// stripePaymentSucceeded is a payment_intent.succeeded event as Stripe
// sends it.
func stripePaymentSucceeded(id, pi string, cents int64) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":%q,"created":1767225600,"livemode":false,"pending_webhooks":1,`+
		`"type":"payment_intent.succeeded","data":{"object":{"id":%q,"object":"payment_intent","amount":%d,"amount_received":%d,`+
		`"currency":"usd","customer":"cus_E2E","created":1767225590,"payment_method_types":["card"],"receipt_email":"jenny@example.com","status":"succeeded"}}}`,
		id, stripego.APIVersion, pi, cents, cents)
}

// postStripe posts body to serve's /webhooks/stripe, signed now by
// stripe-go's test helper.
func postStripe(t *testing.T, h *running, body []byte) (int, string) {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeE2ESecret})
	if _, err := webhook.ConstructEvent(body, signed.Header, stripeE2ESecret); err != nil {
		t.Fatalf("stripe-go refuses its own signed request: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addrs().HTTP+"/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", signed.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post to /webhooks/stripe: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// docRoute reads the route of the "## Example route" section of an
// adapter's page under docs/adapters, as `junction routes apply` reads a
// route file (YAML of the Route message, with an id).
func docRoute(t *testing.T, page string) (string, *junctionv1.Route) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "adapters", page))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Example route")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("%s has no yaml block under \"## Example route\"", page)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(block), &m); err != nil {
		t.Fatalf("%s example route: %v", page, err)
	}
	id, _ := m["id"].(string)
	delete(m, "id")
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	r := &junctionv1.Route{}
	if err := protojson.Unmarshal(j, r); err != nil {
		t.Fatalf("%s example route is not a Route: %v", page, err)
	}
	return id, r
}

// TestStripeEndToEnd: inside `junction serve`, a Stripe event signed by
// stripe-go is stored once with its evt_ id, as payment.succeeded with a
// Payment, and a route whose condition reads the model
// (event.payment.amount) delivers it to a real HTTP receiver; a payment
// below the route's amount is stored and delivered nowhere.
func TestStripeEndToEnd(t *testing.T) {
	t.Setenv("STRIPE_WEBHOOK_SECRET", stripeE2ESecret)
	t.Setenv("STRIPE_PREVIOUS_WEBHOOK_SECRET", "whsec_e2e_previous")
	h := startHub(t, withStripe(t, testConfig(t.TempDir())))
	rc := newReceiver(t)
	ctx := context.Background()

	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "large-payments",
		Route: &junctionv1.Route{
			Filter:    "stripe.payment.succeeded",
			Condition: `event.payment.amount.currency_code == "USD" && event.payment.amount.units >= 100`,
			Targets: []*junctionv1.Target{{
				Name: "finance", Destination: "webhook", Config: map[string]string{"url": rc.URL + "/payments"},
				Transform: `{"payment": event.payment.id, "units": event.payment.amount.units, "nanos": event.payment.amount.nanos, "customer": event.payment.customer_id}`,
			}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	// The docs' example route is accepted (its CEL checked against the
	// model); it delivers nowhere reachable, so it is deleted again.
	id, route := docRoute(t, "stripe.md")
	if _, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: id, Route: route}); err != nil {
		t.Fatalf("the example route of docs/adapters/stripe.md is refused: %v", err)
	}
	if _, err := h.routes(t).DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/" + id}); err != nil {
		t.Fatalf("DeleteRoute: %v", err)
	}

	large := stripePaymentSucceeded("evt_e2e_large", "pi_e2e_large", 12550)
	for i := range 2 { // the second is Stripe's retry
		if code, b := postStripe(t, h, large); code != http.StatusAccepted {
			t.Fatalf("send %d answered %d %s, want 202", i+1, code, b)
		}
	}
	small := stripePaymentSucceeded("evt_e2e_small", "pi_e2e_small", 999)
	if code, b := postStripe(t, h, small); code != http.StatusAccepted {
		t.Fatalf("the small payment answered %d %s, want 202", code, b)
	}

	got, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt_e2e_large", Source: "stripe"})
	if err != nil {
		t.Fatalf("GetEvent evt_e2e_large: %v", err)
	}
	e := got.GetEvent()
	if e.GetType() != "payment.succeeded" || e.GetSource() != "stripe" || e.GetSubject() != "pi_e2e_large" || e.GetProviderVersion() != stripego.APIVersion {
		t.Errorf("stored type %q source %q subject %q provider version %q, want payment.succeeded, stripe, pi_e2e_large, %s",
			e.GetType(), e.GetSource(), e.GetSubject(), e.GetProviderVersion(), stripego.APIVersion)
	}
	if p := e.GetPayment(); p.GetId() != "pi_e2e_large" || p.GetAmount().GetUnits() != 125 || p.GetAmount().GetNanos() != 500_000_000 ||
		p.GetAmount().GetCurrencyCode() != "USD" || p.GetCustomerId() != "cus_E2E" || p.GetPaymentMethod() != "card" {
		t.Errorf("stored payment %v, want pi_e2e_large, 125.50 USD, cus_E2E, card", p)
	}
	if !bytes.Equal(e.GetData(), large) {
		t.Errorf("stored data is not the body Stripe sent")
	}

	waitFor(t, 30*time.Second, "the large payment's delivery", func() error {
		if len(rc.deliveries()) == 0 {
			return fmt.Errorf("nothing delivered yet")
		}
		return nil
	})
	h.settled(t)
	if n := h.streamMsgs(t, topology.EventsStream); n != 2 {
		t.Errorf("EVENTS holds %d events, want 2 (the large payment once despite its retry, and the small one)", n)
	}
	ds := rc.deliveries()
	if len(ds) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1 (the small payment is below the route's amount)", len(ds))
	}
	var msg map[string]any
	if err := json.Unmarshal(ds[0].body, &msg); err != nil {
		t.Fatalf("delivery is not JSON: %v: %s", err, ds[0].body)
	}
	if msg["payment"] != "pi_e2e_large" || fmt.Sprint(msg["units"]) != "125" || fmt.Sprint(msg["nanos"]) != "5e+08" || msg["customer"] != "cus_E2E" {
		t.Errorf("delivered %v, want the transform of the Payment (pi_e2e_large, 125 units, 5e8 nanos, cus_E2E)", msg)
	}
}
