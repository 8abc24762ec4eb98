package shopify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	goshopify "github.com/bold-commerce/go-shopify/v4"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

const fuzzSecret = "shpss_fuzz"

func fuzzHMAC(body []byte) string {
	m := hmac.New(sha256.New, []byte(fuzzSecret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// FuzzParseHMAC: ParseHMAC never panics, and accepts exactly the
// canonical base64 of 32 bytes.
func FuzzParseHMAC(f *testing.F) {
	f.Add(fuzzHMAC([]byte(`{"id":1}`)))
	f.Add("SG52NRNZ3Z0LZRjhO2hb6wmHz5vpWY2ICfCNcOk39Od=")
	f.Add("486e76351359dd9d0b6518e13b685beb0987cf9be9598d8809f08d70e937f4e7")
	f.Add("")
	f.Fuzz(func(t *testing.T, value string) {
		ts, sigs, err := ParseHMAC(value)
		if err != nil {
			if !errors.Is(err, verify.ErrMalformedHeader) {
				t.Fatalf("ParseHMAC(%q) error %v is not malformed-header", value, err)
			}
			return
		}
		b, derr := base64.StdEncoding.DecodeString(value)
		if ts != "" || len(sigs) != 1 || sigs[0] != value || derr != nil || len(b) != 32 || base64.StdEncoding.EncodeToString(b) != value {
			t.Fatalf("ParseHMAC(%q) = %q, %q: accepted a value that is not canonical base64 of 32 bytes", value, ts, sigs)
		}
	})
}

// FuzzVerifyAgreesWithGoShopify: for any header and body, the adapter's
// verifier accepts exactly what go-shopify's VerifyWebhookRequest
// accepts (a header value as it arrives over HTTP, without surrounding
// white space).
func FuzzVerifyAgreesWithGoShopify(f *testing.F) {
	body := []byte(`{"id":820982911946154508,"name":"#9999","total_price":"403.00"}`)
	f.Add(fuzzHMAC(body), body)
	f.Add(fuzzHMAC(body)+" ", body)
	f.Add(strings.TrimSuffix(fuzzHMAC(body), "="), body)
	f.Add(fuzzHMAC(nil), []byte{})
	v := newVerifier([]string{fuzzSecret})
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if header != strings.TrimSpace(header) || strings.ContainsAny(header, "\r\n\x00") {
			return // not a header value net/http delivers
		}
		r := httptest.NewRequest("POST", "/webhooks/shopify", bytes.NewReader(body))
		r.Header[HeaderHMAC] = []string{header}
		vendorOK := (goshopify.App{ApiSecret: fuzzSecret}).VerifyWebhookRequest(r)
		adapterOK := v.Verify(r, body) == nil
		if vendorOK != adapterOK {
			t.Fatalf("header %q body %q: adapter accepts=%v, go-shopify accepts=%v", header, body, adapterOK, vendorOK)
		}
	})
}

// FuzzNormalize: Normalize never panics; what it accepts keeps the body
// byte for byte, has an id and a type, and carries a model for every
// mapped topic.
func FuzzNormalize(f *testing.F) {
	f.Add("orders/create", []byte(`{"id":820982911946154508,"name":"#1","currency":"USD","subtotal_price":"1.00","total_price":"1.10","line_items":[{"id":1,"quantity":1,"price":"1.00"}]}`))
	f.Add("orders/paid", []byte(`{"id":"x","currency":7,"line_items":[1,{"price":1.5}]}`))
	f.Add("customers/create", []byte(`{"id":1.5,"created_at":"yesterday"}`))
	f.Add("products/update", []byte(`{"id":1}`))
	f.Add("", []byte(`{}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		e, err := Normalize(Meta{Topic: topic, WebhookID: "wh-1"}, body)
		if err != nil {
			return
		}
		if e.GetId() == "" || e.GetType() == "" || e.GetSource() != Spec.App {
			t.Fatalf("Normalize(%q, %q) = id %q type %q source %q", topic, body, e.GetId(), e.GetType(), e.GetSource())
		}
		if !bytes.Equal(e.GetData(), body) {
			t.Fatal("data is not the body")
		}
		if _, mapped := topics[topic]; mapped && e.GetModel() == nil {
			t.Fatalf("topic %q has no model", topic)
		}
		for _, me := range e.GetMappingErrors() {
			if me.GetField() == "" || me.GetReason() == "" {
				t.Fatalf("mapping error %v lacks a field or reason", me)
			}
		}
	})
}
