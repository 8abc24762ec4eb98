package hubspot

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// typeRe is what the hub accepts as an event type (topology.ValidType).
var typeRe = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// reference decodes HubSpot's listed encodings with a strings.Replacer
// holding every case variant: one pass, leftmost first, as appendDecoded
// must.
var reference = func() *strings.Replacer {
	var pairs []string
	for code, c := range decoded {
		for _, v := range []string{strings.ToUpper(code), strings.ToLower(code), code[:1] + strings.ToLower(code[1:]), strings.ToLower(code[:1]) + code[1:]} {
			pairs = append(pairs, "%"+v, string(c))
		}
	}
	return strings.NewReplacer(pairs...)
}()

// FuzzDecodeURI feeds arbitrary URIs to the decoding of the signed URI
// (seeds in testdata/fuzz/FuzzDecodeURI). Properties: it never panics,
// and it equals a one-pass replacement of the twelve encodings HubSpot
// lists, in either case, leaving everything else as sent.
func FuzzDecodeURI(f *testing.F) {
	f.Add("https://hooks.example.com/webhooks/hubspot?to=a%40b.com&p=%2Fx%3Ay")
	f.Fuzz(func(t *testing.T, uri string) {
		got := string(appendDecoded(nil, uri))
		if want := reference.Replace(uri); got != want {
			t.Fatalf("appendDecoded(%q) = %q, want %q", uri, got, want)
		}
	})
}

// FuzzSignatureHeaders feeds arbitrary X-HubSpot-Signature-v3 and
// X-HubSpot-Request-Timestamp values (seeds in
// testdata/fuzz/FuzzSignatureHeaders). Properties: it never panics; a
// failure is one of verify's classes; a success means the header is the
// base64 HMAC-SHA256 of method + URI + body + timestamp.
func FuzzSignatureHeaders(f *testing.F) {
	const (
		secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
		uri    = "https://hooks.example.com/webhooks/hubspot"
		body   = `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`
	)
	now := time.UnixMilli(1564113600000)
	v := newVerifier([]string{secret}, "https://hooks.example.com", 0, func() time.Time { return now })
	expected := func(ts string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(http.MethodPost + uri + body + ts))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	f.Add(expected("1564113600000"), "1564113600000")
	f.Fuzz(func(t *testing.T, sig, ts string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/hubspot", strings.NewReader(body))
		r.Header[HeaderSignature] = []string{sig}
		r.Header[HeaderTimestamp] = []string{ts}
		err := v.Verify(r, []byte(body))
		if err != nil {
			if !errors.Is(err, verify.ErrMissingHeader) && !errors.Is(err, verify.ErrMalformedHeader) &&
				!errors.Is(err, verify.ErrBadSignature) && !errors.Is(err, verify.ErrTimestamp) {
				t.Fatalf("Verify(%q, %q) = %v: not a verify error class", sig, ts, err)
			}
			return
		}
		if want := expected(strings.TrimSpace(ts)); strings.TrimSpace(sig) != want {
			t.Fatalf("Verify accepted %q at %q, want %q", sig, ts, want)
		}
	})
}

// FuzzNormalize feeds arbitrary request bodies (seeds, HubSpot's sample
// notifications, in testdata/fuzz/FuzzNormalize). Properties: it never
// panics; a batch becomes one event per element, each with a non-empty
// id, source hubspot, a type the hub accepts, its element's bytes
// (found in the body, valid JSON) as data, and mapping errors that name
// a field and a reason.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(`[{"eventId":1,"subscriptionType":"contact.creation","objectId":123,"occurredAt":1564113600000}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := normalize(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		var list []json.RawMessage
		if err := json.Unmarshal(body, &list); err != nil || len(list) != len(events) {
			t.Fatalf("%d events from a body that is not an array of %d (%v)", len(events), len(list), err)
		}
		for i, e := range events {
			if e.GetId() == "" || e.GetSource() != Spec.App {
				t.Fatalf("event %d: id %q source %q", i, e.GetId(), e.GetSource())
			}
			if len(e.GetType()) > 200 || !typeRe.MatchString(e.GetType()) {
				t.Fatalf("event %d: type %q is not one the hub accepts", i, e.GetType())
			}
			if !json.Valid(e.GetData()) || !bytes.Contains(body, e.GetData()) {
				t.Fatalf("event %d: data %q is not its element of the body", i, e.GetData())
			}
			for _, m := range e.GetMappingErrors() {
				if m.GetField() == "" || m.GetReason() == "" {
					t.Fatalf("event %d: mapping error %v lacks a field or a reason", i, m)
				}
			}
		}
	})
}
