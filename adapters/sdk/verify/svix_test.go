package verify_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

const (
	libSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="
	libOther  = "whsec_c2lnbmluZy1zZWNyZXQtZm9yLW91dGJvdW5kLXRlc3Q="
)

// libHeaders signs body with the Standard Webhooks library and returns
// the three headers under the given names (webhook-* or Svix's svix-*).
func libHeaders(t *testing.T, secret, id string, at time.Time, body []byte, names [3]string) http.Header {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, at, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(names[0], id)
	h.Set(names[1], strconv.FormatInt(at.Unix(), 10))
	h.Set(names[2], sig)
	return h
}

var (
	webhookNames = [3]string{standardwebhooks.HeaderWebhookID, standardwebhooks.HeaderWebhookTimestamp, standardwebhooks.HeaderWebhookSignature}
	svixNames    = [3]string{verify.HeaderSvixID, verify.HeaderSvixTimestamp, verify.HeaderSvixSignature}
)

// asStandard renames svix-* headers to webhook-*, so the Standard
// Webhooks library (which reads only webhook-*) can judge a Svix request.
// A request with any webhook-* header is left as it is.
func asStandard(h http.Header) http.Header {
	out := h.Clone()
	for _, n := range webhookNames {
		if h.Get(n) != "" {
			return out
		}
	}
	for i := range svixNames {
		if v := h.Get(svixNames[i]); v != "" {
			out.Del(svixNames[i])
			out.Set(webhookNames[i], v)
		}
	}
	return out
}

// TestStandardWebhooksSvixHeaders: a request the Standard Webhooks library
// signs is accepted under either header set; every request the verifier
// rejects, the library rejects too once its headers carry the webhook-*
// names; and the id is read from the set that was verified.
func TestStandardWebhooksSvixHeaders(t *testing.T) {
	v, err := verify.NewStandardWebhooks(libSecret)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := standardwebhooks.NewWebhook(libSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid","data":{"id":"in_1"}}`)
	now := time.Now()
	tests := []struct {
		name   string
		header func() http.Header
		body   []byte
		want   error // nil: accepted
		id     string
	}{
		{name: "webhook names", header: func() http.Header { return libHeaders(t, libSecret, "msg_1", now, body, webhookNames) }, id: "msg_1"},
		{name: "svix names", header: func() http.Header { return libHeaders(t, libSecret, "msg_2", now, body, svixNames) }, id: "msg_2"},
		{name: "svix names, other secret", header: func() http.Header { return libHeaders(t, libOther, "msg_3", now, body, svixNames) }, want: verify.ErrBadSignature, id: "msg_3"},
		{name: "svix names, body changed", header: func() http.Header { return libHeaders(t, libSecret, "msg_4", now, body, svixNames) },
			body: []byte(`{"type":"invoice.paid","data":{"id":"in_2"}}`), want: verify.ErrBadSignature, id: "msg_4"},
		{name: "svix names, stale", header: func() http.Header {
			return libHeaders(t, libSecret, "msg_5", now.Add(-10*time.Minute), body, svixNames)
		}, want: verify.ErrTimestamp, id: "msg_5"},
		{name: "svix names, future", header: func() http.Header { return libHeaders(t, libSecret, "msg_6", now.Add(10*time.Minute), body, svixNames) }, want: verify.ErrTimestamp, id: "msg_6"},
		{name: "svix names, signature missing", header: func() http.Header {
			h := libHeaders(t, libSecret, "msg_7", now, body, svixNames)
			h.Del(verify.HeaderSvixSignature)
			return h
		}, want: verify.ErrMissingHeader, id: "msg_7"},
		{name: "svix names, timestamp not a number", header: func() http.Header {
			h := libHeaders(t, libSecret, "msg_8", now, body, svixNames)
			h.Set(verify.HeaderSvixTimestamp, "now")
			return h
		}, want: verify.ErrMalformedHeader, id: "msg_8"},
		{name: "svix id changed", header: func() http.Header {
			h := libHeaders(t, libSecret, "msg_9", now, body, svixNames)
			h.Set(verify.HeaderSvixID, "msg_other")
			return h
		}, want: verify.ErrBadSignature, id: "msg_other"},
		{name: "mixed sets: the webhook-* set is the one read", header: func() http.Header {
			h := libHeaders(t, libSecret, "msg_10", now, body, svixNames)
			h.Set(standardwebhooks.HeaderWebhookID, "msg_10")
			return h
		}, want: verify.ErrMissingHeader, id: "msg_10"},
		{name: "no headers", header: func() http.Header { return http.Header{} }, want: verify.ErrMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header()
			b := body
			if tt.body != nil {
				b = tt.body
			}
			err := v.VerifyHeader(h, b)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify = %v, want accepted", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want class %v", err, tt.want)
			}
			libErr := lib.Verify(b, asStandard(h))
			if tt.want == nil && libErr != nil {
				t.Errorf("the library rejects what the verifier accepted: %v", libErr)
			}
			if tt.want != nil && libErr == nil {
				t.Errorf("the library accepts what the verifier rejected (%v)", err)
			}
			if got := verify.StandardID(h); got != tt.id {
				t.Errorf("StandardID = %q, want %q", got, tt.id)
			}
		})
	}
}

// TestSvixMissingHeaderNamesSvix: a Svix sender missing a header is told
// the svix-* name it left out, not a webhook-* name it never used.
func TestSvixMissingHeaderNamesSvix(t *testing.T) {
	v, err := verify.NewStandardWebhooks(libSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := libHeaders(t, libSecret, "msg_1", time.Now(), []byte(`{}`), svixNames)
	h.Del(verify.HeaderSvixTimestamp)
	err = v.VerifyHeader(h, []byte(`{}`))
	if got, want := err.Error(), "header svix-timestamp is missing"; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("Verify = %q, want it to start %q", got, want)
	}
}

// FuzzStandardHeaderSets sends arbitrary webhook-* and svix-* headers.
// Properties: nothing panics; a request is accepted only when the
// Standard Webhooks library verifies the set that was read (webhook-*
// when any of them is present, else svix-*); StandardID is that set's id.
func FuzzStandardHeaderSets(f *testing.F) {
	f.Add("msg_1", "1700000000", "v1,AAAA", "", "", "", []byte(`{}`))
	f.Add("", "", "", "msg_2", "1700000000", "v1,AAAA", []byte(`{}`))
	f.Add("msg_3", "", "", "msg_3", "1700000000", "v1,AAAA", []byte(`{}`))
	v, err := verify.NewStandardWebhooks(libSecret)
	if err != nil {
		f.Fatal(err)
	}
	v.Tolerance = 100 * 365 * 24 * time.Hour
	lib, err := standardwebhooks.NewWebhook(libSecret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wid, wts, wsig, sid, sts, ssig string, body []byte) {
		h := http.Header{}
		for i, v := range []string{wid, wts, wsig, sid, sts, ssig} {
			if v != "" {
				h[http.CanonicalHeaderKey(append(webhookNames[:], svixNames[:]...)[i])] = []string{v}
			}
		}
		read := webhookNames
		if h.Get(webhookNames[0]) == "" && h.Get(webhookNames[1]) == "" && h.Get(webhookNames[2]) == "" &&
			(h.Get(svixNames[0]) != "" || h.Get(svixNames[1]) != "" || h.Get(svixNames[2]) != "") {
			read = svixNames
		}
		if got, want := verify.StandardID(h), h.Get(read[0]); got != want {
			t.Fatalf("StandardID = %q, want %q (from %s)", got, want, read[0])
		}
		if v.VerifyHeader(h, body) != nil {
			return
		}
		std := http.Header{}
		for i := range read {
			std.Set(webhookNames[i], h.Get(read[i]))
		}
		if err := lib.VerifyIgnoringTimestamp(body, std); err != nil {
			t.Fatalf("accepted headers %v the library refuses: %v", h, err)
		}
	})
}
