package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/junctionhq/junction/adapters/internal/apphttp"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/slack"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const (
	secret    = "8f742231b10e8888abcd99yyyzzz85a5"
	oldSecret = "e6b19c573432dcc6b075501d51b51bb8"
)

// sign returns X-Slack-Signature and X-Slack-Request-Timestamp for body
// signed at at with secret, as Slack documents it: "v0=" and the hex
// HMAC-SHA256 of "v0:<timestamp>:<body>".
func sign(body string, at time.Time, secret string) (sig, ts string) {
	ts = strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":" + body))
	return "v0=" + hex.EncodeToString(m.Sum(nil)), ts
}

// slackAccepts is slack-go's verdict on a request: nil when its
// SecretsVerifier, given the headers, the body and secret, accepts it.
func slackAccepts(h http.Header, body, secret string) error {
	sv, err := slackgo.NewSecretsVerifier(h, secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write([]byte(body)); err != nil {
		return err
	}
	return sv.Ensure()
}

// post is Slack's request for body, signed at at with secret.
func post(t *testing.T, body string, at time.Time, secret string) *http.Request {
	t.Helper()
	sig, ts := sign(body, at, secret)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/slack", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(slack.HeaderSignature, sig)
	r.Header.Set(slack.HeaderTimestamp, ts)
	return r
}

// signedBySlackGo is post, checked first with slack-go's verifier: a
// test request the vendor's library would refuse is a broken test.
func signedBySlackGo(t *testing.T, body string) *http.Request {
	t.Helper()
	r := post(t, body, time.Now(), secret)
	if err := slackAccepts(r.Header, body, secret); err != nil {
		t.Fatalf("slack-go's SecretsVerifier refuses the test's signed request: %v", err)
	}
	return r
}

// newAdapter is the adapter with both secrets (a rotation), from the
// environment as configured.
func newAdapter(t *testing.T, cfg slack.Config) *slack.Adapter {
	t.Helper()
	t.Setenv("TEST_SLACK_SECRET", secret)
	t.Setenv("TEST_SLACK_OLD_SECRET", oldSecret)
	if cfg.Secrets == nil {
		cfg.Secrets = []apphttp.SecretRef{{SecretEnv: "TEST_SLACK_SECRET"}, {SecretEnv: "TEST_SLACK_OLD_SECRET"}}
	}
	a, err := slack.New(cfg)
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

// callback is an event_callback body for one inner event.
func callback(eventID, inner string) string {
	return `{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":` + inner +
		`,"type":"event_callback","event_id":"` + eventID + `","event_time":1355517523,"authed_users":["U123ABC456"]}`
}
