package stripe_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	stripego "github.com/stripe/stripe-go/v86"
	"github.com/stripe/stripe-go/v86/webhook"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	"github.com/junctionhq/junction/adapters/stripe"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const (
	secret    = "whsec_test_2026_c2VjcmV0LW5ldw"
	oldSecret = "whsec_test_2025_c2VjcmV0LW9sZA"
)

// newAdapter returns the adapter with the current and the previous
// endpoint secret, as while Stripe rolls a secret.
func newAdapter(t *testing.T) *stripe.Adapter {
	t.Helper()
	t.Setenv("STRIPE_WEBHOOK_SECRET", secret)
	dir := t.TempDir()
	old := filepath.Join(dir, "old-secret")
	if err := os.WriteFile(old, []byte(oldSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := stripe.New(stripe.Config{SecretRef: apphook.SecretRef{SecretEnv: "STRIPE_WEBHOOK_SECRET"}, Previous: []apphook.SecretRef{{SecretFile: old}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// sign returns the Stripe-Signature stripe-go's test helper makes for
// body signed at at with secret.
func sign(body []byte, at time.Time, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
}

// eventBody is a payment_intent.succeeded event with id.
func eventBody(id, pad string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":%q,"created":%d,"type":"payment_intent.succeeded",`+
		`"data":{"object":{"id":"pi_1","object":"payment_intent","amount":1000,"currency":"usd","status":"succeeded","description":%q}}}`,
		id, stripego.APIVersion, time.Now().Unix(), pad)
}

// request is what Stripe sends for event id, spoiled as bad says.
func request(_ *testing.T, id string, bad conformance.Bad) *http.Request {
	body := eventBody(id, "")
	at := time.Now()
	key := secret
	switch bad {
	case conformance.StaleTimestamp:
		at = at.Add(-stripe.DefaultTolerance - time.Minute)
	case conformance.FutureTimestamp:
		at = at.Add(stripe.DefaultTolerance + time.Minute)
	case conformance.WrongSecret:
		key = "whsec_not_the_secret"
	case conformance.Oversized:
		body = eventBody(id, strings.Repeat("x", stripe.DefaultMaxBodyBytes))
	case conformance.MalformedJSON:
		body = []byte(`{"id":"` + id + `","object":`)
	}
	sig := sign(body, at, key)
	switch bad {
	case conformance.BadSignature:
		sig = "t=" + strconv.FormatInt(at.Unix(), 10) + ",v1=" + strings.Repeat("0", 64)
	case conformance.ByteChanged:
		body = bytes.Replace(body, []byte(`"amount":1000`), []byte(`"amount":9000`), 1)
	case conformance.MalformedHeader:
		sig = strings.Split(sig, ",")[1] // v1=... with no t=
	}
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	if bad != conformance.MissingHeader {
		r.Header.Set("Stripe-Signature", sig)
	}
	return r
}

func TestSourceConformance(t *testing.T) {
	conformance.RunSource(t, conformance.SourceCase{
		App:     stripe.Spec.App,
		New:     func(t *testing.T) any { return newAdapter(t) },
		Request: request,
	})
}

// recorder is an EmitFunc that keeps what it is given.
type recorder struct{ events []*junctionv1.Event }

func (r *recorder) emit(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
	r.events = append(r.events, e)
	return sdk.PublishResult{Event: e}, nil
}

func post(h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set("Stripe-Signature", sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(sec int64) *timestamppb.Timestamp { return timestamppb.New(time.Unix(sec, 0)) }

// TestMapping: each of Stripe's documented sample events, signed by
// stripe-go, is accepted and stored with the evt_ id, the mapped type,
// the canonical model and the raw body; stripe-go's ConstructEvent reads
// the same request as the same event.
func TestMapping(t *testing.T) {
	for _, tt := range []struct {
		name, wantType, wantSubject, wantVersion string
		wantTime                                 int64
		wantExt                                  map[string]string
		want                                     any // the model message, or nil
	}{
		{
			name: "payment_intent.succeeded", wantType: "payment.succeeded", wantSubject: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
			wantVersion: "2026-06-24.dahlia", wantTime: 1680064028,
			want: &modelv1.Payment{
				Id: "pi_3MtwBwLkdIwHu7ix28a3tqPa", Amount: &modelv1.Money{CurrencyCode: "USD", Units: 20}, Status: "succeeded",
				CustomerId: "cus_NffrFeUfNV2Hib", Email: "jenny.rosen@example.com", Description: "Order #1001", PaymentMethod: "card",
				CreateTime: ts(1680064021), Attributes: map[string]string{"metadata.order_id": "1001", "latest_charge": "ch_3MtwBwLkdIwHu7ix28a3tqPb"},
			},
		},
		{
			name: "payment_intent.payment_failed", wantType: "payment.failed", wantSubject: "pi_1NG8Dt2eZvKYlo2CJQ4xRfYp",
			wantVersion: "2026-06-24.dahlia", wantTime: 1686089970,
			want: &modelv1.Payment{
				Id: "pi_1NG8Dt2eZvKYlo2CJQ4xRfYp", Amount: &modelv1.Money{CurrencyCode: "JPY", Units: 500}, Status: "requires_payment_method",
				FailureCode: "card_declined", FailureMessage: "Your card has insufficient funds.",
				CreateTime: ts(1686089969), Attributes: map[string]string{"decline_code": "insufficient_funds"},
			},
		},
		{
			name: "charge.refunded", wantType: "payment.refunded", wantSubject: "ch_3OjKqT2eZvKYlo2C0ijH6Ybc",
			wantVersion: "2026-06-24.dahlia", wantTime: 1707220000,
			want: &modelv1.Payment{
				Id: "ch_3OjKqT2eZvKYlo2C0ijH6Ybc", Amount: &modelv1.Money{CurrencyCode: "EUR", Units: 5}, Status: "partially_refunded",
				CustomerId: "cus_PYtsK7Xy1qWe9z", Email: "jenny.rosen@example.com", PaymentMethod: "card", CreateTime: ts(1707219000),
				Attributes: map[string]string{"metadata.shop": "berlin", "payment_intent": "pi_3OjKqT2eZvKYlo2C0C2f4ZkD", "amount_charged": "19.99 EUR"},
			},
		},
		{
			name: "customer.created", wantType: "contact.created", wantSubject: "cus_OR6ZmHqi0ZxUsl",
			wantVersion: "2026-06-24.dahlia", wantTime: 1692041552,
			want: &modelv1.Contact{
				Id: "cus_OR6ZmHqi0ZxUsl", Email: "jenny.rosen@example.com", FirstName: "Jenny", LastName: "Rosen", Phone: "+4930123456",
				CreateTime: ts(1692041552),
				Attributes: map[string]string{"metadata.crm_id": "4711", "metadata.tier": "gold", "name": "Jenny Rosen", "description": "Wholesale buyer"},
			},
		},
		{
			name: "checkout.session.completed", wantType: "order.created", wantSubject: "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY",
			wantVersion: "2026-06-24.dahlia", wantTime: 1726000100,
			want: &modelv1.Order{
				Id: "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY", Email: "jenny.rosen@example.com",
				Customer: &modelv1.Contact{Id: "cus_QpS3lmn0pQrStu", Email: "jenny.rosen@example.com", FirstName: "Jenny", LastName: "Rosen"},
				Subtotal: &modelv1.Money{CurrencyCode: "EUR", Units: 30}, Total: &modelv1.Money{CurrencyCode: "EUR", Units: 33, Nanos: 570_000_000},
				Tax: &modelv1.Money{CurrencyCode: "EUR", Nanos: 570_000_000}, Shipping: &modelv1.Money{CurrencyCode: "EUR", Units: 5},
				Discounts: &modelv1.Money{CurrencyCode: "EUR", Units: 2}, FinancialStatus: "paid",
				BillingAddress:  &modelv1.Address{Name: "Jenny Rosen", Lines: []string{"Friedrichstr. 10", "3. OG"}, City: "Berlin", PostalCode: "10117", CountryCode: "DE"},
				ShippingAddress: &modelv1.Address{Name: "Jenny Rosen", Lines: []string{"Unter den Linden 1"}, City: "Berlin", PostalCode: "10117", CountryCode: "DE"},
				CreateTime:      ts(1726000000),
				Attributes:      map[string]string{"mode": "payment", "client_reference_id": "cart_8812", "payment_intent": "pi_3PxQ7c2eZvKYlo2C1xYzAbCd"},
			},
		},
		{
			name: "customer.subscription.updated", wantType: "customer.subscription.updated", wantSubject: "sub_1OtY3m2eZvKYlo2Cl1Xe9Fh1",
			wantVersion: "2024-06-20", wantTime: 1710000000, wantExt: map[string]string{"stripeaccount": "acct_1Nv0FGQ9RKHgCVdK"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := readEvent(t, tt.name)
			sig := sign(body, time.Now(), secret)
			var rec recorder
			w := post(newAdapter(t).Webhook(rec.emit), body, sig)
			if w.Code != http.StatusAccepted || len(rec.events) != 1 {
				t.Fatalf("answered %d %s and emitted %d events, want 202 and 1", w.Code, w.Body, len(rec.events))
			}
			e := rec.events[0]

			// stripe-go reads the same request as the same event.
			se, err := webhook.ConstructEventWithOptions(body, sig, secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
			if err != nil {
				t.Fatalf("stripe-go ConstructEvent: %v", err)
			}
			if e.GetId() != se.ID || se.ID == "" {
				t.Errorf("id %q, stripe-go reads %q", e.GetId(), se.ID)
			}
			if string(se.Type) != tt.name {
				t.Errorf("stripe-go reads type %q, want %q", se.Type, tt.name)
			}
			if e.GetProviderVersion() != se.APIVersion || e.GetProviderVersion() != tt.wantVersion {
				t.Errorf("provider version %q, stripe-go reads %q, want %q", e.GetProviderVersion(), se.APIVersion, tt.wantVersion)
			}
			if tt.wantVersion == stripego.APIVersion {
				if _, err := webhook.ConstructEvent(body, sig, secret); err != nil {
					t.Errorf("stripe-go ConstructEvent (strict API version) refuses the sample: %v", err)
				}
			}

			if e.GetType() != tt.wantType {
				t.Errorf("type %q, want %q", e.GetType(), tt.wantType)
			}
			if e.GetSource() != "stripe" || e.GetDataContentType() != "application/json" {
				t.Errorf("source %q content type %q, want stripe and application/json", e.GetSource(), e.GetDataContentType())
			}
			if !bytes.Equal(e.GetData(), body) {
				t.Error("data is not the request body byte for byte")
			}
			if e.GetSubject() != tt.wantSubject {
				t.Errorf("subject %q, want %q", e.GetSubject(), tt.wantSubject)
			}
			if got := e.GetTime().AsTime().Unix(); got != tt.wantTime {
				t.Errorf("time %d, want %d (the event's created)", got, tt.wantTime)
			}
			if diff := cmp.Diff(tt.wantExt, e.GetExtensions(), cmp.Comparer(func(a, b map[string]string) bool { return fmt.Sprint(a) == fmt.Sprint(b) })); diff != "" {
				t.Errorf("extensions (-want +got):\n%s", diff)
			}
			if len(e.GetMappingErrors()) != 0 {
				t.Errorf("mapping errors %v, want none", e.GetMappingErrors())
			}
			var got any
			switch m := e.GetModel().(type) {
			case *junctionv1.Event_Payment:
				got = m.Payment
			case *junctionv1.Event_Contact:
				got = m.Contact
			case *junctionv1.Event_Order:
				got = m.Order
			case nil:
			default:
				t.Fatalf("model %T, want %T", m, tt.want)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("model (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMappingErrors: a payload that no longer maps (a field the mapping
// needs missing or of another type) is still stored, with its raw body,
// and says which fields failed.
func TestMappingErrors(t *testing.T) {
	for _, tt := range []struct {
		name, event, from, to, wantType string
		want                            []*junctionv1.MappingError
	}{
		{"amount became a string", "payment_intent.succeeded", `"amount": 2000`, `"amount": "20.00"`, "payment.succeeded",
			[]*junctionv1.MappingError{{Field: "data.object.amount", Reason: "is a string, want an integer"}}},
		{"currency gone", "payment_intent.succeeded", `"currency": "usd",`, ``, "payment.succeeded",
			[]*junctionv1.MappingError{{Field: "data.object.currency", Reason: "missing"}}},
		{"no failure details", "payment_intent.payment_failed", `"last_payment_error": {`, `"last_payment_error": null, "x": {`, "payment.failed",
			[]*junctionv1.MappingError{{Field: "data.object.last_payment_error", Reason: "is null"}}},
		{"refunded not a boolean", "charge.refunded", `"refunded": false`, `"refunded": "partially"`, "payment.refunded",
			[]*junctionv1.MappingError{{Field: "data.object.refunded", Reason: "is a string, want a boolean"}}},
		{"customer id a number", "customer.created", `"id": "cus_OR6ZmHqi0ZxUsl"`, `"id": 12.5`, "contact.created",
			[]*junctionv1.MappingError{{Field: "data.object.id", Reason: "is a number that is not a whole number, want an integer or string id"}}},
		{"session totals renamed", "checkout.session.completed", `"amount_total": 3357`, `"total": 3357`, "order.created",
			[]*junctionv1.MappingError{{Field: "data.object.amount_total", Reason: "missing"}}},
		{"data object gone", "customer.created", `"object": {`, `"obj": {`, "contact.created",
			[]*junctionv1.MappingError{{Field: "data.object", Reason: "missing"}, {Field: "data.object.id", Reason: "missing"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			orig := string(readEvent(t, tt.event))
			if !strings.Contains(orig, tt.from) {
				t.Fatalf("sample %s has no %q", tt.event, tt.from)
			}
			body := []byte(strings.Replace(orig, tt.from, tt.to, 1))
			var rec recorder
			w := post(newAdapter(t).Webhook(rec.emit), body, sign(body, time.Now(), secret))
			if w.Code != http.StatusAccepted || len(rec.events) != 1 {
				t.Fatalf("answered %d %s and emitted %d events, want 202 and 1", w.Code, w.Body, len(rec.events))
			}
			e := rec.events[0]
			if e.GetType() != tt.wantType || !bytes.Equal(e.GetData(), body) {
				t.Errorf("type %q (want %q), data kept: %v", e.GetType(), tt.wantType, bytes.Equal(e.GetData(), body))
			}
			if diff := cmp.Diff(tt.want, e.GetMappingErrors(), protocmp.Transform()); diff != "" {
				t.Errorf("mapping errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAgreesWithStripeGo: the adapter and stripe-go's ValidatePayload
// (tried with each of the adapter's secrets) agree on every request,
// both ways: what stripe-go accepts the adapter accepts, what the adapter
// rejects stripe-go rejects. The two listed exceptions are where the
// adapter is deliberately stricter than stripe-go.
func TestAgreesWithStripeGo(t *testing.T) {
	body := eventBody("evt_agree_1", "")
	now := time.Now()
	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	v1 := func(d time.Duration, key string) string { return strings.Split(sign(body, now.Add(d), key), ",")[1] }
	for _, tt := range []struct {
		name        string
		header      string
		body        []byte
		wantAdapter bool
		wantStripe  bool
	}{
		{name: "stripe-go signed", header: sign(body, now, secret), wantAdapter: true, wantStripe: true},
		{name: "old secret while rolling", header: sign(body, now, oldSecret), wantAdapter: true, wantStripe: true},
		{name: "one v1 per secret", header: "t=" + at(0) + "," + v1(0, secret) + "," + v1(0, oldSecret), wantAdapter: true, wantStripe: true},
		{name: "second v1 right", header: "t=" + at(0) + ",v1=" + strings.Repeat("ab", 32) + "," + v1(0, secret), wantAdapter: true, wantStripe: true},
		{name: "upper-case hex", header: "t=" + at(0) + ",v1=" + strings.ToUpper(strings.TrimPrefix(v1(0, secret), "v1=")), wantAdapter: true, wantStripe: true},
		{name: "v0 beside v1", header: sign(body, now, secret) + ",v0=" + strings.Repeat("0", 64), wantAdapter: true, wantStripe: true},
		{name: "4 min old", header: sign(body, now.Add(-4*time.Minute), secret), wantAdapter: true, wantStripe: true},
		{name: "6 min old", header: sign(body, now.Add(-6*time.Minute), secret), wantAdapter: false, wantStripe: false},
		{name: "wrong secret", header: sign(body, now, "whsec_other"), wantAdapter: false, wantStripe: false},
		{name: "one byte changed", header: sign(body, now, secret), body: bytes.Replace(body, []byte("1000"), []byte("1001"), 1), wantAdapter: false, wantStripe: false},
		{name: "timestamp changed", header: "t=" + at(time.Second) + "," + v1(0, secret), wantAdapter: false, wantStripe: false},
		{name: "missing header", header: "", wantAdapter: false, wantStripe: false},
		{name: "no t", header: v1(0, secret), wantAdapter: false, wantStripe: false},
		{name: "no v1", header: "t=" + at(0), wantAdapter: false, wantStripe: false},
		{name: "v0 scheme only", header: webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: now, Scheme: "v0"}).Header, wantAdapter: false, wantStripe: false},
		{name: "item without =", header: sign(body, now, secret) + ",junk", wantAdapter: false, wantStripe: false},
		{name: "item with two =", header: sign(body, now, secret) + ",a=b=c", wantAdapter: false, wantStripe: false},
		{name: "space after comma", header: "t=" + at(0) + ", " + v1(0, secret), wantAdapter: false, wantStripe: false},
		{name: "t not a number", header: "t=now," + v1(0, secret), wantAdapter: false, wantStripe: false},
		{name: "v1 not hex", header: "t=" + at(0) + ",v1=zz", wantAdapter: false, wantStripe: false},
		// Stricter than stripe-go, which checks only a signature's age:
		// a timestamp ahead of the clock by more than the tolerance is a
		// signature replayable for that long.
		{name: "EXCEPTION 10 min ahead", header: sign(body, now.Add(10*time.Minute), secret), wantAdapter: false, wantStripe: true},
		// stripe-go keeps the last t=; the adapter refuses an ambiguous
		// header. Stripe sends one t=.
		// stripe-go signs the number it parsed, so it accepts a t= with a
		// leading zero or plus; the adapter wants t= as Stripe writes it.
		{name: "EXCEPTION t with a leading zero", header: "t=0" + at(0) + "," + v1(0, secret), wantAdapter: false, wantStripe: true},
		{name: "EXCEPTION t twice", header: "t=" + at(-time.Hour) + "," + sign(body, now, secret), wantAdapter: false, wantStripe: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := body
			if tt.body != nil {
				b = tt.body
			}
			var rec recorder
			w := post(newAdapter(t).Webhook(rec.emit), b, tt.header)
			gotAdapter := w.Code == http.StatusAccepted
			if gotAdapter != tt.wantAdapter {
				t.Errorf("adapter answered %d %s, want accepted=%v", w.Code, w.Body, tt.wantAdapter)
			}
			if !gotAdapter && (w.Code < 400 || w.Code > 499 || len(rec.events) != 0) {
				t.Errorf("rejected with %d and %d events emitted, want a 4xx and none", w.Code, len(rec.events))
			}
			gotStripe := webhook.ValidatePayload(b, tt.header, secret) == nil || webhook.ValidatePayload(b, tt.header, oldSecret) == nil
			if gotStripe != tt.wantStripe {
				t.Errorf("stripe-go ValidatePayload accepted=%v, want %v", gotStripe, tt.wantStripe)
			}
		})
	}
}

// TestRejectionAnswers: the JSON error body says what to fix.
func TestRejectionAnswers(t *testing.T) {
	body := eventBody("evt_answer_1", "")
	for _, tt := range []struct {
		name, method, sig string
		body              []byte
		wantCode          int
		wantIn            string
	}{
		{"GET", http.MethodGet, "", body, http.StatusMethodNotAllowed, "send webhooks with POST"},
		{"no header", http.MethodPost, "", body, http.StatusBadRequest, "Stripe-Signature is missing"},
		{"stale", http.MethodPost, sign(body, time.Now().Add(-time.Hour), secret), body, http.StatusUnauthorized, "timestamp too old"},
		{"not an event", http.MethodPost, sign([]byte(`{"hello":1}`), time.Now(), secret), []byte(`{"hello":1}`), http.StatusBadRequest, `"id" (evt_...) and "type"`},
		{"array", http.MethodPost, sign([]byte(`[1]`), time.Now(), secret), []byte(`[1]`), http.StatusBadRequest, "want a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			r := httptest.NewRequest(tt.method, "/webhooks/stripe", bytes.NewReader(tt.body))
			if tt.sig != "" {
				r.Header.Set("Stripe-Signature", tt.sig)
			}
			w := httptest.NewRecorder()
			newAdapter(t).Webhook(rec.emit).ServeHTTP(w, r)
			got, err := rpcstatus.Parse(w.Body.Bytes())
			if err != nil {
				t.Fatalf("answer %q is not the JSON error body: %v", w.Body, err)
			}
			if w.Code != tt.wantCode || got.Code != int32(rpcstatus.CodeFor(tt.wantCode)) || !strings.Contains(got.Message, tt.wantIn) {
				t.Errorf("answered %d %s, want %d with a message containing %q", w.Code, w.Body, tt.wantCode, tt.wantIn)
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Error("the answer contains the secret")
			}
			if len(rec.events) != 0 {
				t.Errorf("emitted %d events, want none", len(rec.events))
			}
		})
	}
}

// TestConfig: bad configuration is refused with what to fix.
func TestConfig(t *testing.T) {
	t.Setenv("STRIPE_EMPTY", "")
	t.Setenv("STRIPE_WEBHOOK_SECRET", "")
	t.Setenv("STRIPE_OK", "whsec_ok")
	for _, tt := range []struct {
		name   string
		cfg    stripe.Config
		wantIn string
	}{
		{"negative tolerance", stripe.Config{Tolerance: -time.Second}, "adapter.tolerance"},
		{"both env and file", stripe.Config{SecretRef: apphook.SecretRef{SecretEnv: "A", SecretFile: "/b"}}, "adapter: set only one"},
		{"previous empty", stripe.Config{Previous: []apphook.SecretRef{{}}}, "adapter.previous[0]: set secret_env"},
		{"empty variable", stripe.Config{SecretRef: apphook.SecretRef{SecretEnv: "STRIPE_EMPTY"}}, "STRIPE_EMPTY (secret_env) is not set or empty"},
		{"default variable unset", stripe.Config{}, "STRIPE_WEBHOOK_SECRET (secret_env) is not set or empty"},
		{"missing file", stripe.Config{SecretRef: apphook.SecretRef{SecretEnv: "STRIPE_OK"}, Previous: []apphook.SecretRef{{SecretFile: "/nonexistent/stripe"}}}, "adapter.previous[0]: read secret_file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stripe.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("New error %v, want one containing %q", err, tt.wantIn)
			}
		})
	}
}
