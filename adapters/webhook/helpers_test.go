package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Test secrets. The whsec_ ones are base64 of 32 bytes.
const (
	acmeSecret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="
	outboundSecret = "whsec_c2lnbmluZy1zZWNyZXQtZm9yLW91dGJvdW5kLXRlc3Q="
	betaSecret     = "beta-shared-secret"
)

// seedPayload is the user.created example from the issue.
const seedPayload = `{"event":"user.created","timestamp":"2026-06-20T19:08:41Z","data":{"user_id":"usr_987654321","email":"alex@example.com","first_name":"Alex","last_name":"Rivera","company":"Acme Corp","plan":"enterprise"}}`

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig has three sources: acme (standard-webhooks), beta (hmac with
// timestamp and id headers) and gamma (hmac over the body, id from a field,
// small body limit, custom models).
func testConfig() Config {
	return Config{
		Sources: []SourceConfig{
			{Name: "acme", Scheme: SchemeStandardWebhooks, SecretRef: SecretRef{Secret: acmeSecret}},
			{
				Name: "beta", Scheme: SchemeHMACSHA256, SecretRef: SecretRef{Secret: betaSecret},
				SignatureHeader: "X-Beta-Signature", TimestampHeader: "X-Beta-Timestamp", IDHeader: "X-Beta-Id", TimeField: "at",
			},
			{
				Name: "gamma", Scheme: SchemeHMACSHA256, SecretRef: SecretRef{Secret: betaSecret},
				IDField: "meta.id", TypeField: "kind", MaxBodyBytes: 256,
				Models: map[string]string{"lead.*": ModelContact, "user.*": ModelNone},
			},
			{Name: "slow", Scheme: SchemeStandardWebhooks, SecretRef: SecretRef{Secret: acmeSecret}, Tolerance: time.Hour},
		},
		// Test receivers are httptest servers on 127.0.0.1, which the
		// outbound guard refuses unless allowed.
		Outbound: OutboundConfig{SecretRef: SecretRef{Secret: outboundSecret}, Allow: []string{"127.0.0.1/32"}},
	}
}

func newTestAdapter(t *testing.T, cfg Config) *Adapter {
	t.Helper()
	a, err := NewWithOptions(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// standardHeaders signs body for Standard Webhooks with the library.
func standardHeaders(t *testing.T, secret, id string, at time.Time, body string) http.Header {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	sig, err := wh.Sign(id, at, []byte(body))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return h
}

// hmacHex is the hex HMAC-SHA256 of the parts joined.
func hmacHex(secret string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(m.Sum(nil))
}

// betaHeaders signs body the way source beta expects.
func betaHeaders(id string, at time.Time, body string) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set("X-Beta-Timestamp", ts)
	h.Set("X-Beta-Signature", "sha256="+hmacHex(betaSecret, ts, ".", body))
	h.Set("X-Beta-Id", id)
	return h
}

// gammaHeaders signs body the way source gamma expects.
func gammaHeaders(body string) http.Header {
	h := http.Header{}
	h.Set(DefaultSignatureHeader, hmacHex(betaSecret, body))
	return h
}

// decodeError reads the error body of a response (google.rpc.Status, the
// one shape of every Junction error answer).
func decodeError(t *testing.T, body []byte) errorStatus {
	t.Helper()
	eb, err := rpcstatus.Parse(body)
	if err != nil {
		t.Fatalf("error body: %v", err)
	}
	return errorStatus{Code: int(eb.Code), Status: code.Code(eb.Code).String(), Message: eb.Message}
}

// errorStatus is an error answer as the tests read it: the gRPC code, its
// google.rpc.Code name and the message.
type errorStatus struct {
	Code    int
	Status  string
	Message string
}
