package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

// FuzzSignatureHeaders feeds arbitrary X-Slack-Signature and
// X-Slack-Request-Timestamp values (seeds in
// testdata/fuzz/FuzzSignatureHeaders). Properties: it never panics; a
// failure is one of verify's classes; a success means the signature is
// "v0=" and the hex HMAC-SHA256 of "v0:<timestamp>:<body>" and the
// timestamp is within 5 minutes of the clock.
func FuzzSignatureHeaders(f *testing.F) {
	f.Add(vectorSignature, vectorTimestamp)
	now := time.Unix(1531431954, 0)
	v := newVerifier([]string{vectorSecret}, 0, func() time.Time { return now })
	f.Fuzz(func(t *testing.T, sig, ts string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/slack", strings.NewReader(vectorBody))
		r.Header[HeaderSignature] = []string{sig}
		r.Header[HeaderTimestamp] = []string{ts}
		err := v.Verify(r, []byte(vectorBody))
		if err != nil {
			if !errors.Is(err, verify.ErrMissingHeader) && !errors.Is(err, verify.ErrMalformedHeader) &&
				!errors.Is(err, verify.ErrBadSignature) && !errors.Is(err, verify.ErrTimestamp) {
				t.Fatalf("Verify(%q, %q) = %v: not a verify error class", sig, ts, err)
			}
			return
		}
		ts = strings.TrimSpace(ts)
		m := hmac.New(sha256.New, []byte(vectorSecret))
		m.Write([]byte("v0:" + ts + ":" + vectorBody))
		if want := "v0=" + hex.EncodeToString(m.Sum(nil)); !strings.EqualFold(strings.TrimSpace(sig), want) {
			t.Fatalf("Verify accepted signature %q for timestamp %q, want %q", sig, ts, want)
		}
	})
}

// FuzzNormalize feeds arbitrary request bodies (seeds, Slack's sample
// events, in testdata/fuzz/FuzzNormalize). Properties: it never panics;
// an event has the body's event_id, source slack, a type the hub
// accepts, the body byte for byte as data, and mapping errors that name
// a field and a reason; a challenge is not empty.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(vectorBody))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := normalize(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		switch p.kind {
		case kindChallenge:
			if p.challenge == "" {
				t.Fatal("empty challenge")
			}
		case kindEvent:
			e := p.event
			if e.GetId() == "" || e.GetSource() != Spec.App || string(e.GetData()) != string(body) {
				t.Fatalf("event id %q source %q, data kept %v", e.GetId(), e.GetSource(), string(e.GetData()) == string(body))
			}
			if len(e.GetType()) > 200 || !typeRe.MatchString(e.GetType()) {
				t.Fatalf("type %q is not one the hub accepts", e.GetType())
			}
			for _, m := range e.GetMappingErrors() {
				if m.GetField() == "" || m.GetReason() == "" {
					t.Fatalf("mapping error %v lacks a field or a reason", m)
				}
			}
		}
	})
}
