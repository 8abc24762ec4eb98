package hubspot_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/hubspot"
	"github.com/junctionhq/junction/adapters/internal/apphttp"
	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const (
	secret    = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	oldSecret = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
	publicURL = "https://hooks.example.com"
)

// sign is X-HubSpot-Signature-v3 as HubSpot's request validation guide
// describes it: the base64 HMAC-SHA256, keyed with the client secret, of
// method + URI (already decoded as HubSpot decodes it) + body + the
// timestamp in Unix milliseconds.
func sign(method, uri, body, ts, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method + uri + body + ts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// millis is t as X-HubSpot-Request-Timestamp.
func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// post is HubSpot's request for body to target (a path and query on
// publicURL), signed at at with secret.
func post(body, target string, at time.Time, secret string) *http.Request {
	ts := millis(at)
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(hubspot.HeaderSignature, sign(http.MethodPost, publicURL+target, body, ts, secret))
	r.Header.Set(hubspot.HeaderTimestamp, ts)
	return r
}

// newAdapter is the adapter with both secrets (a rotation) and
// publicURL, as configured.
func newAdapter(t *testing.T, cfg hubspot.Config) *hubspot.Adapter {
	t.Helper()
	t.Setenv("TEST_HUBSPOT_SECRET", secret)
	t.Setenv("TEST_HUBSPOT_OLD_SECRET", oldSecret)
	if cfg.Secrets == nil {
		cfg.Secrets = []apphttp.SecretRef{{SecretEnv: "TEST_HUBSPOT_SECRET"}, {SecretEnv: "TEST_HUBSPOT_OLD_SECRET"}}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = publicURL
	}
	a, err := hubspot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// capture is an EmitFunc that keeps what it is given.
type capture struct {
	events []*junctionv1.Event
}

func (c *capture) emit(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
	c.events = append(c.events, e)
	return sdk.PublishResult{Sequence: uint64(len(c.events)), Event: e}, nil
}
