package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const shopifyE2ESecret = "shpss_e2e_4f1d2c3b4a5968778695a4b3"

// withShopify adds a `sources:` entry for the Shopify adapter, the secret
// read from a file.
func withShopify(t *testing.T, cfg Config, secretFile string) Config {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(fmt.Sprintf("secret_file: %q\n", secretFile)), &node); err != nil {
		t.Fatal(err)
	}
	cfg.Sources = append(cfg.Sources, SourceApp{App: "shopify", Config: *node.Content[0]})
	return cfg
}

// shopifyOrder is an order webhook body as Shopify sends it: ids above
// 2^53, prices as decimal strings.
func shopifyOrder(id, total string) []byte {
	return fmt.Appendf(nil, `{"id":%s,"name":"#1001","email":"bob@example.com","currency":"EUR","created_at":"2026-12-06T18:09:04-05:00",`+
		`"subtotal_price":"%s","total_tax":"0.00","total_price":"%s","financial_status":"paid","fulfillment_status":null,`+
		`"customer":{"id":115310627314723954,"email":"bob@example.com","first_name":"Bob","last_name":"Norman"},`+
		`"line_items":[{"id":866550311766439020,"sku":"MUG-1","title":"Mug","quantity":2,"price":"%s","product_id":632910392,"variant_id":808950810}]}`,
		id, total, total, total)
}

// postShopify posts body as Shopify sends a topic's webhook to serve's
// /webhooks/shopify, after go-shopify's VerifyWebhookRequest accepted
// the signature.
func postShopify(t *testing.T, h *running, topic, eventID, webhookID string, body []byte) (int, string) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(shopifyE2ESecret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addrs().HTTP+"/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Event-Id", eventID)
	req.Header.Set("X-Shopify-Webhook-Id", webhookID)
	req.Header.Set("X-Shopify-API-Version", "2026-04")
	req.Header.Set("X-Shopify-Shop-Domain", "junction-e2e.myshopify.com")
	if !(goshopify.App{ApiSecret: shopifyE2ESecret}).VerifyWebhookRequest(req) {
		t.Fatal("go-shopify's VerifyWebhookRequest refuses the request as signed")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post to /webhooks/shopify: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestShopifyEndToEnd: inside `junction serve`, Shopify order webhooks
// verified by go-shopify are stored once per topic of a merchant action,
// as order.created / order.paid with an Order and its line items, and a
// route whose condition reads the model (event.order.total) delivers the
// large order to a real HTTP receiver; a small order is delivered
// nowhere.
func TestShopifyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	secretFile := dir + "/shopify-secret"
	if err := os.WriteFile(secretFile, []byte(shopifyE2ESecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, withShopify(t, testConfig(dir), secretFile))
	rc := newReceiver(t)
	ctx := context.Background()

	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "large-orders",
		Route: &junctionv1.Route{
			Filter:    "shopify.order.created",
			Condition: `event.order.total.currency_code == "EUR" && event.order.total.units >= 100 && event.order.line_items[0].quantity >= 2`,
			Targets:   []*junctionv1.Target{{Name: "ops", Destination: "webhook", Config: map[string]string{"url": rc.URL + "/orders"}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	id, route := docRoute(t, "shopify.md")
	if _, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: id, Route: route}); err != nil {
		t.Fatalf("the example route of docs/adapters/shopify.md is refused: %v", err)
	}
	if _, err := h.routes(t).DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/" + id}); err != nil {
		t.Fatalf("DeleteRoute: %v", err)
	}

	large := shopifyOrder("820982911946154508", "149.90")
	for i, send := range []struct{ topic, webhookID string }{
		{"orders/create", "wh-create-1"},
		{"orders/create", "wh-create-1"}, // Shopify's retry
		{"orders/paid", "wh-paid-1"},     // the same merchant action, another topic
	} {
		if code, b := postShopify(t, h, send.topic, "evt-e2e-1", send.webhookID, large); code != http.StatusAccepted {
			t.Fatalf("send %d (%s) answered %d %s, want 202", i+1, send.topic, code, b)
		}
	}
	if code, b := postShopify(t, h, "orders/create", "evt-e2e-2", "wh-create-2", shopifyOrder("450789469", "9.99")); code != http.StatusAccepted {
		t.Fatalf("the small order answered %d %s, want 202", code, b)
	}

	got, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt-e2e-1:orders.create", Source: "shopify"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	e := got.GetEvent()
	if e.GetType() != "order.created" || e.GetSubject() != "820982911946154508" || e.GetProviderVersion() != "2026-04" || e.GetExtensions()["shopdomain"] != "junction-e2e.myshopify.com" {
		t.Errorf("stored type %q subject %q provider version %q extensions %v, want order.created, 820982911946154508, 2026-04, the shop domain",
			e.GetType(), e.GetSubject(), e.GetProviderVersion(), e.GetExtensions())
	}
	o := e.GetOrder()
	if o.GetId() != "820982911946154508" || o.GetTotal().GetUnits() != 149 || o.GetTotal().GetNanos() != 900_000_000 || len(o.GetLineItems()) != 1 ||
		o.GetLineItems()[0].GetId() != "866550311766439020" || o.GetCustomer().GetId() != "115310627314723954" {
		t.Errorf("stored order %v, want id 820982911946154508, total 149.90 EUR, one line item 866550311766439020, customer 115310627314723954", o)
	}
	if !bytes.Equal(e.GetData(), large) {
		t.Error("stored data is not the body Shopify sent")
	}
	paid, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt-e2e-1:orders.paid", Source: "shopify"})
	if err != nil || paid.GetEvent().GetType() != "order.paid" {
		t.Errorf("orders/paid of the same merchant action: %v, %v; want it stored as order.paid", paid.GetEvent().GetType(), err)
	}

	waitFor(t, 30*time.Second, "the large order's delivery", func() error {
		if len(rc.deliveries()) == 0 {
			return fmt.Errorf("nothing delivered yet")
		}
		return nil
	})
	h.settled(t)
	if n := h.streamMsgs(t, topology.EventsStream); n != 3 {
		t.Errorf("EVENTS holds %d events, want 3 (order.created once despite the retry, order.paid, the small order)", n)
	}
	ds := rc.deliveries()
	if len(ds) != 1 || !bytes.Equal(ds[0].body, large) {
		t.Errorf("receiver got %d deliveries, want 1: the large order's body as Shopify sent it", len(ds))
	}
}
