package webhook

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// conformanceConfig has one source of each scheme with a small body
// limit, and outbound deliveries allowed to loopback receivers.
func conformanceConfig() Config {
	cfg := testConfig()
	cfg.Sources = []SourceConfig{
		{Name: "std", Scheme: SchemeStandardWebhooks, SecretRef: SecretRef{Secret: acmeSecret}, MaxBodyBytes: 1024},
		{
			Name: "hmac", Scheme: SchemeHMACSHA256, SecretRef: SecretRef{Secret: betaSecret}, MaxBodyBytes: 1024,
			SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", IDHeader: "X-Id",
		},
	}
	return cfg
}

func conformanceAdapter(t *testing.T) any { return newTestAdapter(t, conformanceConfig()) }

// conformanceBody is the body of event id, spoiled for the body classes.
func conformanceBody(id string, bad conformance.Bad) string {
	switch bad {
	case conformance.Oversized:
		return `{"type":"item.created","id":"` + id + `","pad":"` + strings.Repeat("x", 2048) + `"}`
	case conformance.MalformedJSON:
		return `{"type":"item.created","id":`
	}
	return `{"type":"item.created","id":"` + id + `"}`
}

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

func conformanceRequest(path, body string, h http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header = h
	r.Header.Set("Content-Type", "application/json")
	return r
}

// standardRequest signs as a Standard Webhooks sender does.
func standardRequest(t *testing.T, id string, bad conformance.Bad) *http.Request {
	body := conformanceBody(id, bad)
	secret := acmeSecret
	if bad == conformance.WrongSecret {
		secret = outboundSecret
	}
	h := standardHeaders(t, secret, id, signedAt(bad), body)
	switch bad {
	case conformance.BadSignature:
		h.Set(verify.HeaderWebhookSignature, "v1,"+"c2lnbmF0dXJlLXRoYXQtaXMtbm90LXRoZS1yaWdodC0=")
	case conformance.ByteChanged:
		body = strings.Replace(body, "item", "itex", 1)
	case conformance.MissingHeader:
		h.Del(verify.HeaderWebhookSignature)
	case conformance.MalformedHeader:
		h.Set(verify.HeaderWebhookSignature, "v1,***not base64***")
	}
	return conformanceRequest("/webhooks/std", body, h)
}

// hmacRequest signs as source hmac expects: hex HMAC-SHA256 of
// "<X-Ts>.<body>" in X-Sig, the event id in X-Id.
func hmacRequest(_ *testing.T, id string, bad conformance.Bad) *http.Request {
	body := conformanceBody(id, bad)
	secret := betaSecret
	if bad == conformance.WrongSecret {
		secret = "another-secret"
	}
	ts := strconv.FormatInt(signedAt(bad).Unix(), 10)
	h := http.Header{}
	h.Set("X-Id", id)
	h.Set("X-Ts", ts)
	h.Set("X-Sig", "sha256="+hmacHex(secret, ts, ".", body))
	switch bad {
	case conformance.BadSignature:
		h.Set("X-Sig", "sha256="+strings.Repeat("ab", 32))
	case conformance.ByteChanged:
		body = strings.Replace(body, "item", "itex", 1)
	case conformance.MissingHeader:
		h.Del("X-Sig")
	case conformance.MalformedHeader:
		h.Set("X-Sig", "sha256=not-hex")
	}
	return conformanceRequest("/webhooks/hmac", body, h)
}

// TestSourceConformance runs the SDK's source suite on both schemes.
func TestSourceConformance(t *testing.T) {
	t.Run("standard-webhooks", func(t *testing.T) {
		conformance.RunSource(t, conformance.SourceCase{App: "webhook", New: conformanceAdapter, Request: standardRequest})
	})
	t.Run("hmac-sha256", func(t *testing.T) {
		conformance.RunSource(t, conformance.SourceCase{App: "webhook", New: conformanceAdapter, Request: hmacRequest})
	})
}

// TestSinkConformance runs the SDK's sink suite on outbound deliveries to
// a loopback receiver; the delivery id arrives as webhook-id.
func TestSinkConformance(t *testing.T) {
	conformance.RunSink(t, conformance.SinkCase{
		App: "webhook",
		New: func(t *testing.T) (any, conformance.App) {
			return conformanceAdapter(t), conformance.NewHTTPApp(t, verify.HeaderWebhookID)
		},
		Config: func(app conformance.App) map[string]string {
			return map[string]string{"url": app.(*conformance.HTTPApp).URL + "/hook"}
		},
	})
}
