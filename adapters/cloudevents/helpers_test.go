package cloudevents_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	ce "github.com/junctionhq/junction/adapters/cloudevents"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Test secrets: whsec_ + base64 of 32 bytes.
const (
	secret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="
	oldSecret = "whsec_c2lnbmluZy1zZWNyZXQtZm9yLW91dGJvdW5kLXRlc3Q="
	hmacKey   = "ce-shared-hmac-secret"
)

// stdConfig is a standard-webhooks adapter with a secret being rotated.
func stdConfig(t *testing.T) ce.Config {
	t.Setenv("CE_SECRET", secret)
	t.Setenv("CE_OLD_SECRET", oldSecret)
	return ce.Config{Signature: ce.Signature{Scheme: ce.SchemeStandardWebhooks, SecretEnv: "CE_SECRET", PreviousSecretEnv: "CE_OLD_SECRET"}}
}

func newAdapter(t *testing.T, cfg ce.Config) *ce.Adapter {
	t.Helper()
	a, err := ce.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// env is the adapter's webhook handler on a real HTTP server, storing
// into an embedded hub.
type env struct {
	hub *sdktest.Hub
	url string // .../webhooks/cloudevents
}

func newEnv(t *testing.T, cfg ce.Config) *env {
	t.Helper()
	hub := sdktest.NewHub(t)
	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	srv := httptest.NewServer(newAdapter(t, cfg).Webhook(pub.Publish))
	t.Cleanup(srv.Close)
	return &env{hub: hub, url: srv.URL + "/webhooks/cloudevents"}
}

// events returns every event stored so far.
func (e *env) events(t *testing.T) []*junctionv1.Event {
	t.Helper()
	n := e.hub.StreamMsgs(t, "EVENTS")
	if n == 0 {
		return nil
	}
	return e.hub.WaitEvents(t, int(n), 10*time.Second)
}

// signer is an http.RoundTripper that signs each request's body with the
// Standard Webhooks library, as a sender's webhook middleware does; with
// svix set it sends the headers under Svix's names.
type signer struct {
	wh   *standardwebhooks.Webhook
	svix bool
	at   func() time.Time
	n    int
}

func newSigner(t *testing.T, secret string) *signer {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{wh: wh, at: time.Now}
}

func (s *signer) RoundTrip(r *http.Request) (*http.Response, error) {
	body := []byte{}
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	s.n++
	id, at := "msg_"+strconv.Itoa(s.n), s.at()
	sig, err := s.wh.Sign(id, at, body)
	if err != nil {
		return nil, err
	}
	out := r.Clone(r.Context())
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	names := [3]string{standardwebhooks.HeaderWebhookID, standardwebhooks.HeaderWebhookTimestamp, standardwebhooks.HeaderWebhookSignature}
	if s.svix {
		names = [3]string{"svix-id", "svix-timestamp", "svix-signature"}
	}
	out.Header.Set(names[0], id)
	out.Header.Set(names[1], strconv.FormatInt(at.Unix(), 10))
	out.Header.Set(names[2], sig)
	return http.DefaultTransport.RoundTrip(out)
}

// sdkClient is a CloudEvents SDK client posting to url through rt.
func sdkClient(t *testing.T, url string, rt http.RoundTripper) cloudevents.Client {
	t.Helper()
	p, err := cehttp.New(cehttp.WithTarget(url), cehttp.WithRoundTripper(rt))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cloudevents.NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sendBatch posts events as one batch, built by the SDK, through rt.
func sendBatch(t *testing.T, url string, rt http.RoundTripper, events ...cloudevents.Event) (int, []byte) {
	t.Helper()
	req, err := cehttp.NewHTTPRequestFromEvents(context.Background(), url, events)
	if err != nil {
		t.Fatalf("NewHTTPRequestFromEvents: %v", err)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatalf("post batch: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// errorMessage is the message of an error answer.
func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	e, err := rpcstatus.Parse(body)
	if err != nil {
		t.Fatalf("answer %s is not the JSON error body: %v", body, err)
	}
	return e.Message
}
