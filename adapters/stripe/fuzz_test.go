package stripe

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v86/webhook"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// fuzzNow is the clock of the verifier fuzz target, so that the signed
// seeds in testdata/fuzz stay valid.
var fuzzNow = time.Unix(1767225600, 0)

const fuzzSecret = "whsec_fuzz"

// FuzzParseSignature: ParseSignature never panics, and what it accepts is
// a timestamp and v1 signatures that are in the header as sent.
func FuzzParseSignature(f *testing.F) {
	f.Add("t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
	f.Add("t=1767225600,v1=aa,v1=bb,v0=cc")
	f.Add("v1=aa")
	f.Add("t=1,t=2,v1=aa")
	f.Add("t=1,v1=a=b")
	f.Fuzz(func(t *testing.T, header string) {
		ts, sigs, err := ParseSignature(header)
		if err != nil {
			var ve *verify.Error
			if !errors.As(err, &ve) || !errors.Is(err, verify.ErrMalformedHeader) {
				t.Fatalf("ParseSignature(%q) error %v is not a malformed-header verify.Error", header, err)
			}
			return
		}
		if ts == "" || len(sigs) == 0 {
			t.Fatalf("ParseSignature(%q) = %q, %q: want a timestamp and a signature", header, ts, sigs)
		}
		if !strings.Contains(","+header+",", ",t="+ts+",") {
			t.Errorf("timestamp %q is not the header's t= item", ts)
		}
		for _, s := range sigs {
			if !strings.Contains(","+header+",", ",v1="+s+",") {
				t.Errorf("signature %q is not one of the header's v1= items", s)
			}
		}
	})
}

// FuzzVerifyAgreesWithStripeGo: whatever the header and body, the
// adapter accepts only what stripe-go's ValidatePayload accepts, and
// accepts what stripe-go accepts when the header is as Stripe sends it
// (one t=) and its timestamp within the tolerance of the clock.
func FuzzVerifyAgreesWithStripeGo(f *testing.F) {
	body := []byte(`{"id":"evt_1","object":"event","type":"customer.created"}`)
	valid := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: fuzzSecret, Timestamp: fuzzNow}).Header
	f.Add(valid, body)
	f.Add(valid+",v1=00", body)
	f.Add(strings.Replace(valid, "t=", "t=0", 1), body)
	f.Add(valid, append(body, ' '))
	v := newVerifier([]string{fuzzSecret}, DefaultTolerance, func() time.Time { return fuzzNow })
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		r := httptest.NewRequest("POST", "/webhooks/stripe", nil)
		r.Header["Stripe-Signature"] = []string{header}
		adapterOK := v.Verify(r, body) == nil
		stripeOK := webhook.ValidatePayloadIgnoringTolerance(body, header, fuzzSecret) == nil
		if adapterOK && !stripeOK {
			t.Fatalf("adapter accepts header %q that stripe-go refuses", header)
		}
		if stripeOK && !adapterOK && header == strings.TrimSpace(header) {
			ts, _, err := ParseSignature(header)
			if err != nil {
				return // a header Stripe never sends (t= twice, or none)
			}
			n, err := strconv.ParseInt(ts, 10, 64)
			if err == nil && time.Unix(n, 0).Sub(fuzzNow).Abs() <= DefaultTolerance {
				t.Fatalf("adapter refuses header %q that stripe-go accepts, signed within the tolerance", header)
			}
		}
	})
}

// FuzzNormalize: Normalize never panics; what it accepts keeps the body
// byte for byte, has the id and a type, and carries a model for every
// mapped type it kept.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":1999,"currency":"eur"}}}`))
	f.Add([]byte(`{"id":"evt_2","type":"customer.created","data":{"object":{"id":"cus_1","name":"A B","created":"x"}}}`))
	f.Add([]byte(`{"id":"evt_3","type":"checkout.session.completed","data":{"object":{"mode":"setup"}}}`))
	f.Add([]byte(`{"id":"evt_4","type":"charge.refunded","data":{"object":[]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Normalize(body)
		if err != nil {
			return
		}
		if e.GetId() == "" || e.GetType() == "" || e.GetSource() != Spec.App {
			t.Fatalf("Normalize(%q) = id %q type %q source %q", body, e.GetId(), e.GetType(), e.GetSource())
		}
		if !bytes.Equal(e.GetData(), body) {
			t.Fatal("data is not the body")
		}
		for _, m := range mappings {
			if e.GetType() == m.typ && e.GetModel() == nil {
				t.Fatalf("type %q has no model", e.GetType())
			}
		}
		for _, me := range e.GetMappingErrors() {
			if me.GetField() == "" || me.GetReason() == "" {
				t.Fatalf("mapping error %v lacks a field or reason", me)
			}
		}
	})
}
