package shopify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	"github.com/junctionhq/junction/adapters/shopify"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const (
	secret    = "shpss_2026_0c1c7b3d9e5f4a6b8c2d"
	oldSecret = "shpss_2025_9f8e7d6c5b4a39281706"
)

func newAdapter(t *testing.T) *shopify.Adapter {
	t.Helper()
	t.Setenv("SHOPIFY_WEBHOOK_SECRET", secret)
	t.Setenv("SHOPIFY_OLD_WEBHOOK_SECRET", oldSecret)
	a, err := shopify.New(shopify.Config{Previous: []apphook.SecretRef{{SecretEnv: "SHOPIFY_OLD_WEBHOOK_SECRET"}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// hmacOf is X-Shopify-Hmac-Sha256 as Shopify computes it.
func hmacOf(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// goShopifyAccepts reports whether go-shopify's VerifyWebhookRequest
// accepts r under any of the adapter's secrets; r's body stays readable.
func goShopifyAccepts(r *http.Request) bool {
	for _, s := range []string{secret, oldSecret} {
		if (goshopify.App{ApiSecret: s}).VerifyWebhookRequest(r) {
			return true
		}
	}
	return false
}

// webhookRequest is the request Shopify sends for topic with body.
func webhookRequest(body []byte, topic, sig string, h map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(shopify.HeaderTopic, topic)
	r.Header.Set(shopify.HeaderWebhookID, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
	r.Header.Set(shopify.HeaderAPIVersion, "2026-04")
	r.Header.Set(shopify.HeaderShopDomain, "junction-test.myshopify.com")
	r.Header.Set(shopify.HeaderTriggeredAt, "2026-12-06T23:09:05.123Z")
	if sig != "" {
		r.Header.Set(shopify.HeaderHMAC, sig)
	}
	for k, v := range h {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	return r
}

func orderBody(pad string) []byte {
	return []byte(`{"id":450789469,"name":"#1001","email":"bob@example.com","currency":"EUR","subtotal_price":"10.00","total_price":"11.90","note":"` + pad +
		`","line_items":[{"id":466157049,"title":"Mug","quantity":1,"price":"10.00","sku":"MUG-1"}]}`)
}

// request is what Shopify sends for event id, spoiled as bad says.
func request(_ *testing.T, id string, bad conformance.Bad) *http.Request {
	body := orderBody("")
	key := secret
	switch bad {
	case conformance.StaleTimestamp, conformance.FutureTimestamp:
		return nil // Shopify signs no timestamp
	case conformance.WrongSecret:
		key = "shpss_not_the_secret"
	case conformance.Oversized:
		body = orderBody(strings.Repeat("x", shopify.DefaultMaxBodyBytes))
	case conformance.MalformedJSON:
		body = []byte(`{"id":450789469,`)
	}
	sig := hmacOf(body, key)
	switch bad {
	case conformance.BadSignature:
		sig = base64.StdEncoding.EncodeToString(make([]byte, 32))
	case conformance.ByteChanged:
		body = bytes.Replace(body, []byte("11.90"), []byte("01.90"), 1)
	case conformance.MalformedHeader:
		sig = hex.EncodeToString(make([]byte, 32)) // hex, not base64
	case conformance.MissingHeader:
		sig = ""
	}
	return webhookRequest(body, "orders/create", sig, map[string]string{shopify.HeaderEventID: id})
}

func TestSourceConformance(t *testing.T) {
	conformance.RunSource(t, conformance.SourceCase{
		App:     shopify.Spec.App,
		New:     func(t *testing.T) any { return newAdapter(t) },
		Request: request,
		EventID: func(id string) string { return id + ":orders.create" },
	})
}

type recorder struct{ events []*junctionv1.Event }

func (r *recorder) emit(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
	r.events = append(r.events, e)
	return sdk.PublishResult{Event: e}, nil
}

func serve(t *testing.T, r *http.Request) (*httptest.ResponseRecorder, []*junctionv1.Event) {
	t.Helper()
	var rec recorder
	w := httptest.NewRecorder()
	newAdapter(t).Webhook(rec.emit).ServeHTTP(w, r)
	return w, rec.events
}

func readWebhook(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func usd(units int64, nanos int32) *modelv1.Money {
	return &modelv1.Money{CurrencyCode: "USD", Units: units, Nanos: nanos}
}

// vendorOrder is an order built with go-shopify's own types and
// marshalled as go-shopify writes it (decimal prices as strings without
// trailing zeros, uint64 ids).
func vendorOrder(t *testing.T) []byte {
	t.Helper()
	d := func(s string) *decimal.Decimal { v := decimal.RequireFromString(s); return &v }
	created := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	b, err := json.Marshal(goshopify.Order{
		Id: 18446744073709551615, Name: "#2001", Email: "ana@example.com", Currency: "EUR", CreatedAt: &created,
		SubtotalPrice: d("29.90"), TotalTax: d("5.68"), TotalDiscounts: d("0"), TotalPrice: d("35.58"),
		FinancialStatus: goshopify.OrderFinancialStatusPaid,
		Customer:        &goshopify.Customer{Id: 9007199254740993, Email: "ana@example.com", FirstName: "Ana", LastName: "Lima"},
		LineItems: []goshopify.LineItem{
			{Id: 9007199254740995, ProductId: 7, VariantId: 8, Quantity: 3, Price: d("9.966666667"), Title: "Tea", SKU: "TEA"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMapping: Shopify's documented sample payloads (and one written by
// go-shopify's own types), signed as Shopify signs and accepted by
// go-shopify's VerifyWebhookRequest, are stored with the id, the mapped
// type, the canonical model and the raw body.
func TestMapping(t *testing.T) {
	for _, tt := range []struct {
		name, topic, wantType, wantSubject string
		body                               func(t *testing.T) []byte
		want                               any
	}{
		{
			name: "orders/create sample", topic: "orders/create", wantType: "order.created", wantSubject: "820982911946154508",
			body: func(t *testing.T) []byte { return readWebhook(t, "orders_create") },
			want: &modelv1.Order{
				Id: "820982911946154508", Number: "#9999", Email: "jon@example.com",
				Customer: &modelv1.Contact{Id: "115310627314723954", Email: "john@example.com", FirstName: "John", LastName: "Smith",
					Attributes: map[string]string{"state": "disabled", "currency": "USD", "email_marketing_consent": "not_subscribed"}},
				LineItems: []*modelv1.LineItem{
					{Id: "866550311766439020", Sku: "IPOD2008PINK", Title: "IPod Nano - 8GB", Quantity: 1, UnitPrice: usd(199, 0), ProductId: "632910392", VariantId: "808950810"},
					{Id: "141249953214522974", Sku: "IPOD2008PINK", Title: "IPod Nano - 8GB", Quantity: 2, UnitPrice: usd(99, 500_000_000), ProductId: "632910392", VariantId: "808950810"},
				},
				Subtotal: usd(388, 0), Tax: usd(5, 0), Shipping: usd(10, 0), Discounts: usd(20, 0), Total: usd(403, 0),
				FinancialStatus: "voided", FulfillmentStatus: "pending",
				ShippingAddress: &modelv1.Address{Name: "Steve Shipper", Lines: []string{"123 Shipping Street", "Unit 4"}, City: "Shippington", Region: "Kentucky", PostalCode: "40003", CountryCode: "US", Phone: "555-555-SHIP"},
				BillingAddress:  &modelv1.Address{Name: "Steve Shipper", Lines: []string{"123 Shipping Street"}, City: "Shippington", Region: "Kentucky", PostalCode: "40003", CountryCode: "US", Phone: "555-555-SHIP"},
				CreateTime:      at("2026-12-06T18:09:04-05:00"),
				Attributes:      map[string]string{"order_number": "1234", "tags": "tag1, tag2", "presentment_currency": "USD", "source_name": "web"},
			},
		},
		{
			name: "orders/paid written by go-shopify's types", topic: "orders/paid", wantType: "order.paid", wantSubject: "18446744073709551615",
			body: vendorOrder,
			want: &modelv1.Order{
				Id: "18446744073709551615", Number: "#2001", Email: "ana@example.com",
				Customer: &modelv1.Contact{Id: "9007199254740993", Email: "ana@example.com", FirstName: "Ana", LastName: "Lima", Attributes: map[string]string{}},
				LineItems: []*modelv1.LineItem{
					{Id: "9007199254740995", Sku: "TEA", Title: "Tea", Quantity: 3, UnitPrice: &modelv1.Money{CurrencyCode: "EUR", Units: 9, Nanos: 966_666_667}, ProductId: "7", VariantId: "8"},
				},
				Subtotal: &modelv1.Money{CurrencyCode: "EUR", Units: 29, Nanos: 900_000_000}, Tax: &modelv1.Money{CurrencyCode: "EUR", Units: 5, Nanos: 680_000_000},
				Discounts: &modelv1.Money{CurrencyCode: "EUR"}, Total: &modelv1.Money{CurrencyCode: "EUR", Units: 35, Nanos: 580_000_000},
				FinancialStatus: "paid", CreateTime: at("2026-12-06T10:00:00Z"), Attributes: map[string]string{},
			},
		},
		{
			name: "customers/create sample", topic: "customers/create", wantType: "contact.created", wantSubject: "706405506930370084",
			body: func(t *testing.T) []byte { return readWebhook(t, "customers_create") },
			want: &modelv1.Contact{
				Id: "706405506930370084", Email: "bob@biller.com", FirstName: "Bob", LastName: "Biller", Company: "Biller Ice Cream",
				CreateTime: at("2026-12-06T18:09:04-05:00"),
				Attributes: map[string]string{"state": "disabled", "note": "This customer loves ice cream", "currency": "USD"},
			},
		},
		{
			name: "orders/delete sample", topic: "orders/delete", wantType: "order.deleted", wantSubject: "450789469",
			body: func(t *testing.T) []byte { return readWebhook(t, "orders_delete") },
			want: &modelv1.Order{Id: "450789469"},
		},
		{
			name: "products/update keeps its topic", topic: "products/update", wantType: "products.update", wantSubject: "788032119674292922",
			body: func(t *testing.T) []byte { return readWebhook(t, "products_update") },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body(t)
			r := webhookRequest(body, tt.topic, hmacOf(body, secret), map[string]string{shopify.HeaderEventID: "7b8c9d0a-1234-5678-90ab-cdef12345678"})
			if !goShopifyAccepts(r) {
				t.Fatal("go-shopify's VerifyWebhookRequest refuses the request as signed")
			}
			w, events := serve(t, r)
			if w.Code != http.StatusAccepted || len(events) != 1 {
				t.Fatalf("answered %d %s and emitted %d events, want 202 and 1", w.Code, w.Body, len(events))
			}
			e := events[0]
			if want := "7b8c9d0a-1234-5678-90ab-cdef12345678:" + strings.ReplaceAll(tt.topic, "/", "."); e.GetId() != want {
				t.Errorf("id %q, want %q", e.GetId(), want)
			}
			if e.GetType() != tt.wantType || e.GetSubject() != tt.wantSubject {
				t.Errorf("type %q subject %q, want %q %q", e.GetType(), e.GetSubject(), tt.wantType, tt.wantSubject)
			}
			if e.GetSource() != "shopify" || e.GetProviderVersion() != "2026-04" || e.GetDataContentType() != "application/json" {
				t.Errorf("source %q provider version %q content type %q, want shopify, 2026-04, application/json", e.GetSource(), e.GetProviderVersion(), e.GetDataContentType())
			}
			if !bytes.Equal(e.GetData(), body) {
				t.Error("data is not the request body byte for byte")
			}
			if !e.GetTime().AsTime().Equal(time.Date(2026, 12, 6, 23, 9, 5, 123e6, time.UTC)) {
				t.Errorf("time %v, want X-Shopify-Triggered-At", e.GetTime().AsTime())
			}
			wantExt := map[string]string{"shopdomain": "junction-test.myshopify.com", "shopifyeventid": "7b8c9d0a-1234-5678-90ab-cdef12345678", "shopifywebhookid": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}
			if diff := cmp.Diff(wantExt, e.GetExtensions()); diff != "" {
				t.Errorf("extensions (-want +got):\n%s", diff)
			}
			if len(e.GetMappingErrors()) != 0 {
				t.Errorf("mapping errors %v, want none", e.GetMappingErrors())
			}
			var got any
			switch m := e.GetModel().(type) {
			case *junctionv1.Event_Order:
				got = m.Order
			case *junctionv1.Event_Contact:
				got = m.Contact
			case nil:
			default:
				t.Fatalf("model %T", m)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("model (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIDs: one merchant action sends several topics with one
// X-Shopify-Event-Id, each its own event; the same topic again is the
// same event; without the event id, the webhook id is the id.
func TestIDs(t *testing.T) {
	body := orderBody("")
	for _, tt := range []struct {
		name     string
		topic    string
		headers  map[string]string
		wantID   string
		wantCode int
	}{
		{"orders/updated of one action", "orders/updated", map[string]string{shopify.HeaderEventID: "evt-1"}, "evt-1:orders.updated", http.StatusAccepted},
		{"orders/paid of the same action", "orders/paid", map[string]string{shopify.HeaderEventID: "evt-1"}, "evt-1:orders.paid", http.StatusAccepted},
		{"no event id", "orders/paid", map[string]string{shopify.HeaderWebhookID: "wh-9"}, "wh-9", http.StatusAccepted},
		{"neither id", "orders/paid", map[string]string{shopify.HeaderWebhookID: ""}, "", http.StatusBadRequest},
		{"no topic", "", map[string]string{shopify.HeaderEventID: "evt-1"}, "", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, events := serve(t, webhookRequest(body, tt.topic, hmacOf(body, secret), tt.headers))
			if w.Code != tt.wantCode {
				t.Fatalf("answered %d %s, want %d", w.Code, w.Body, tt.wantCode)
			}
			if tt.wantID == "" {
				if len(events) != 0 {
					t.Errorf("emitted %d events, want none", len(events))
				}
				return
			}
			if len(events) != 1 || events[0].GetId() != tt.wantID {
				t.Errorf("emitted %d events (first id %q), want one with id %q", len(events), firstID(events), tt.wantID)
			}
		})
	}
}

func firstID(events []*junctionv1.Event) string {
	if len(events) == 0 {
		return ""
	}
	return events[0].GetId()
}

// TestMappingErrors: a payload that no longer maps is still stored with
// its raw body and says which fields failed.
func TestMappingErrors(t *testing.T) {
	for _, tt := range []struct {
		name, from, to string
		want           []*junctionv1.MappingError
	}{
		{"price became a number", `"price": "99.50"`, `"price": 99.5`,
			[]*junctionv1.MappingError{{Field: "line_items.1.price", Reason: "is a number, want a decimal string"}}},
		{"price with a comma", `"price": "199.00"`, `"price": "199,00"`,
			[]*junctionv1.MappingError{{Field: "line_items.0.price", Reason: `is "199,00", want a decimal string such as "19.99" (only digits and one point)`}}},
		{"total renamed", `"total_price": "403.00"`, `"total": "403.00"`,
			[]*junctionv1.MappingError{{Field: "total_price", Reason: "missing"}}},
		{"quantity a string", `"quantity": 2,`, `"quantity": "2",`,
			[]*junctionv1.MappingError{{Field: "line_items.1.quantity", Reason: "is a string, want an integer"}}},
		{"id a string", `"id": 820982911946154508,`, `"id": "gid://shopify/Order/820982911946154508",`, nil},
		{"currency gone", `"currency": "USD",`, ``,
			[]*junctionv1.MappingError{{Field: "currency", Reason: "missing"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			orig := string(readWebhook(t, "orders_create"))
			if !strings.Contains(orig, tt.from) {
				t.Fatalf("sample has no %q", tt.from)
			}
			body := []byte(strings.Replace(orig, tt.from, tt.to, 1))
			w, events := serve(t, webhookRequest(body, "orders/create", hmacOf(body, secret), nil))
			if w.Code != http.StatusAccepted || len(events) != 1 {
				t.Fatalf("answered %d %s and emitted %d events, want 202 and 1", w.Code, w.Body, len(events))
			}
			e := events[0]
			if e.GetType() != "order.created" || !bytes.Equal(e.GetData(), body) || e.GetOrder() == nil {
				t.Errorf("type %q, data kept %v, order %v: want order.created with the body and an order", e.GetType(), bytes.Equal(e.GetData(), body), e.GetOrder() != nil)
			}
			if diff := cmp.Diff(tt.want, e.GetMappingErrors(), protocmp.Transform()); diff != "" {
				t.Errorf("mapping errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAgreesWithGoShopify: the adapter and go-shopify's
// VerifyWebhookRequest agree on every request, both ways. The one listed
// exception is where the adapter is stricter.
func TestAgreesWithGoShopify(t *testing.T) {
	body := orderBody("")
	good := hmacOf(body, secret)
	raw := func() []byte { m := hmac.New(sha256.New, []byte(secret)); m.Write(body); return m.Sum(nil) }()
	// A body whose signature has a '+' or '/', where base64url differs.
	urlBody := body
	for i := 0; !strings.ContainsAny(hmacOf(urlBody, secret), "+/"); i++ {
		urlBody = orderBody(strings.Repeat("n", i))
	}
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(hmacOf(urlBody, secret))
	otherPadding := good[:42] + string(base64Alphabet[strings.IndexByte(base64Alphabet, good[42])^1]) + "="
	for _, tt := range []struct {
		name        string
		sig         string
		body        []byte
		wantAdapter bool
		wantVendor  bool
	}{
		{name: "signed", sig: good, wantAdapter: true, wantVendor: true},
		{name: "old secret while rotating", sig: hmacOf(body, oldSecret), wantAdapter: true, wantVendor: true},
		{name: "wrong secret", sig: hmacOf(body, "other"), wantAdapter: false, wantVendor: false},
		{name: "one byte changed", sig: good, body: bytes.Replace(body, []byte("Mug"), []byte("Mog"), 1), wantAdapter: false, wantVendor: false},
		{name: "trailing newline added", sig: good, body: append(append([]byte{}, body...), '\n'), wantAdapter: false, wantVendor: false},
		{name: "missing header", sig: "", wantAdapter: false, wantVendor: false},
		{name: "hex instead of base64", sig: hex.EncodeToString(raw), wantAdapter: false, wantVendor: false},
		{name: "base64url", sig: urlSafe, body: urlBody, wantAdapter: false, wantVendor: false},
		{name: "no padding", sig: strings.TrimRight(good, "="), wantAdapter: false, wantVendor: false},
		{name: "other padding bits", sig: otherPadding, wantAdapter: false, wantVendor: false},
		{name: "truncated", sig: good[:40], wantAdapter: false, wantVendor: false},
		{name: "sha1 length", sig: base64.StdEncoding.EncodeToString(raw[:20]), wantAdapter: false, wantVendor: false},
		// go-shopify checks only the HMAC; the adapter has nothing to
		// store from an empty body.
		{name: "EXCEPTION empty body", sig: hmacOf(nil, secret), body: []byte{}, wantAdapter: false, wantVendor: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := body
			if tt.body != nil {
				b = tt.body
			}
			r := webhookRequest(b, "orders/create", tt.sig, nil)
			if got := goShopifyAccepts(r); got != tt.wantVendor {
				t.Errorf("go-shopify VerifyWebhookRequest accepted=%v, want %v", got, tt.wantVendor)
			}
			w, events := serve(t, r)
			if got := w.Code == http.StatusAccepted; got != tt.wantAdapter {
				t.Errorf("adapter answered %d %s, want accepted=%v", w.Code, w.Body, tt.wantAdapter)
			}
			if !tt.wantAdapter && (w.Code < 400 || w.Code > 499 || len(events) != 0) {
				t.Errorf("rejected with %d and %d events emitted, want a 4xx and none", w.Code, len(events))
			}
			if strings.Contains(w.Body.String(), secret) || strings.Contains(w.Body.String(), good) && tt.sig != good {
				t.Error("the answer contains the secret or the right signature")
			}
		})
	}
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// TestConfig: bad configuration is refused with what to fix.
func TestConfig(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    shopify.Config
		wantIn string
	}{
		{"negative size", shopify.Config{MaxBodyBytes: -1}, "adapter.max_body_bytes"},
		{"both env and file", shopify.Config{SecretRef: apphook.SecretRef{SecretEnv: "A", SecretFile: "/b"}}, "adapter: set only one"},
		{"previous both", shopify.Config{Previous: []apphook.SecretRef{{SecretEnv: "A", SecretFile: "/b"}}}, "adapter.previous[0]: set only one"},
		{"unset variable", shopify.Config{SecretRef: apphook.SecretRef{SecretEnv: "SHOPIFY_UNSET_FOR_TEST"}}, "adapter: environment variable SHOPIFY_UNSET_FOR_TEST (secret_env) is not set or empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := shopify.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("New error %v, want one containing %q", err, tt.wantIn)
			}
		})
	}
}
