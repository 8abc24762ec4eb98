package cloudevents_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	ce "github.com/junctionhq/junction/adapters/cloudevents"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// signedAt is when a request of class bad is signed.
func signedAt(bad conformance.Bad) time.Time {
	switch bad {
	case conformance.StaleTimestamp:
		return time.Now().Add(-10 * time.Minute)
	case conformance.FutureTimestamp:
		return time.Now().Add(10 * time.Minute)
	}
	return time.Now()
}

// conformanceEvent is a request for event id in mode, before signing:
// its headers and body, spoiled for the body classes.
func conformanceEvent(mode ce.Mode, id string, bad conformance.Bad) (http.Header, string) {
	data := `{"ticket":"T-1","priority":"high"}`
	switch bad {
	case conformance.Oversized:
		data = `{"pad":"` + strings.Repeat("x", 5000) + `"}`
	case conformance.MalformedJSON:
		data = `{"ticket":`
	}
	h := http.Header{}
	switch mode {
	case ce.Binary:
		h = binaryHeaders("Ce-Id", id, "Ce-Type", "ticket.created", "Ce-Subject", "T-1")
		return h, data
	case ce.Structured:
		h.Set("Content-Type", ce.MediaStructured)
		body := `{"specversion":"1.0","id":"` + id + `","source":"/desk","type":"ticket.created","data":` + data + `}`
		if bad == conformance.MalformedJSON {
			body = `{"specversion":"1.0","id":"` + id + `",`
		}
		return h, body
	default:
		h.Set("Content-Type", ce.MediaBatch)
		body := `[{"specversion":"1.0","id":"` + id + `","source":"/desk","type":"ticket.created","data":` + data + `}]`
		if bad == conformance.MalformedJSON {
			body = `[{"specversion":"1.0","id":"` + id + `",`
		}
		return h, body
	}
}

// standardRequest signs with the Standard Webhooks library, under the
// webhook-* names or Svix's.
func standardRequest(mode ce.Mode, svix bool) func(t *testing.T, id string, bad conformance.Bad) *http.Request {
	return func(t *testing.T, id string, bad conformance.Bad) *http.Request {
		h, body := conformanceEvent(mode, id, bad)
		key := secret
		if bad == conformance.WrongSecret {
			key = "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-long!"))
		}
		wh, err := standardwebhooks.NewWebhook(key)
		if err != nil {
			t.Fatal(err)
		}
		at := signedAt(bad)
		sig, err := wh.Sign("msg_"+id, at, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		names := [3]string{"webhook-id", "webhook-timestamp", "webhook-signature"}
		if svix {
			names = [3]string{"svix-id", "svix-timestamp", "svix-signature"}
		}
		h.Set(names[0], "msg_"+id)
		h.Set(names[1], strconv.FormatInt(at.Unix(), 10))
		h.Set(names[2], sig)
		switch bad {
		case conformance.BadSignature:
			h.Set(names[2], "v1,"+base64.StdEncoding.EncodeToString([]byte("not-the-signature-but-32-bytes!!")))
		case conformance.ByteChanged:
			body = strings.Replace(body, "T-1", "T-2", 1)
		case conformance.MissingHeader:
			h.Del(names[2])
		case conformance.MalformedHeader:
			h.Set(names[2], "v1,***not base64***")
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/cloudevents", strings.NewReader(body))
		r.Header = h
		return r
	}
}

// hmacRequest signs as the hmac scheme below expects: "sha256=" and the
// base64 HMAC-SHA256 of "<X-Timestamp>.<body>" in X-CE-Signature.
func hmacRequest(mode ce.Mode) func(t *testing.T, id string, bad conformance.Bad) *http.Request {
	return func(t *testing.T, id string, bad conformance.Bad) *http.Request {
		h, body := conformanceEvent(mode, id, bad)
		key := hmacKey
		if bad == conformance.WrongSecret {
			key = "not-the-key"
		}
		ts := strconv.FormatInt(signedAt(bad).Unix(), 10)
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(ts + "." + body))
		h.Set("X-Timestamp", ts)
		h.Set("X-CE-Signature", "sha256="+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		switch bad {
		case conformance.BadSignature:
			h.Set("X-CE-Signature", "sha256="+base64.StdEncoding.EncodeToString(make([]byte, 32)))
		case conformance.ByteChanged:
			body = strings.Replace(body, "T-1", "T-2", 1)
		case conformance.MissingHeader:
			h.Del("X-CE-Signature")
		case conformance.MalformedHeader:
			h.Set("X-CE-Signature", "sha256=!!not base64!!")
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/cloudevents", strings.NewReader(body))
		r.Header = h
		return r
	}
}

// TestSourceConformance runs the SDK's source suite in each mode, with
// each signature scheme.
func TestSourceConformance(t *testing.T) {
	std := func(t *testing.T) any {
		cfg := stdConfig(t)
		cfg.MaxBodyBytes = 4096
		return newAdapter(t, cfg)
	}
	hmacAdapter := func(t *testing.T) any {
		t.Setenv("CE_HMAC", hmacKey)
		return newAdapter(t, ce.Config{MaxBodyBytes: 4096, Signature: ce.Signature{
			Scheme: ce.SchemeHMAC, SecretEnv: "CE_HMAC", Header: "X-CE-Signature", Encoding: "base64", Prefix: "sha256=", TimestampHeader: "X-Timestamp",
		}})
	}
	for _, tt := range []struct {
		name    string
		new     func(t *testing.T) any
		request func(t *testing.T, id string, bad conformance.Bad) *http.Request
	}{
		{"binary, standard webhooks", std, standardRequest(ce.Binary, false)},
		{"structured, svix header names", std, standardRequest(ce.Structured, true)},
		{"batched, hmac", hmacAdapter, hmacRequest(ce.Batched)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conformance.RunSource(t, conformance.SourceCase{App: ce.Spec.App, New: tt.new, Request: tt.request})
		})
	}
}
