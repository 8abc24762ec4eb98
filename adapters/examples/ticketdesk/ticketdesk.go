// Package ticketdesk is the example adapter of docs/adapters.md: a made-up
// helpdesk, "Ticket Desk", that POSTs signed webhooks when tickets change
// and takes comments on its REST API. It shows each part an adapter is
// made of: a Spec, a config with Validate, a WebhookSource that verifies
// signatures with sdk/verify, a Sink that classifies its app's answers
// into the SDK's error classes, and tests that run the conformance
// suites.
//
// Ticket Desk signs like Stripe: header X-Desk-Signature is
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">", with one v1
// per active secret while a secret is being rotated.
package ticketdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/adapters/sdk/verify"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Spec describes the adapter. App is the event source of its webhooks and
// the destination its sink consumes; Targets declares the one key of the
// target config its sink reads, so the hub refuses a route without it
// when the route is saved.
var Spec = sdk.Spec{
	App: "ticketdesk", Version: "0.1.0", Description: "Ticket Desk: ticket webhooks in, comments out.",
	Targets: &sdk.TargetSchema{Keys: []sdk.TargetKey{{
		Name: "api_url", Type: sdk.KeyURL, Required: true,
		Description: "the Ticket Desk API's base URL, e.g. https://desk.example.com/api",
	}}},
}

// maxBody is the largest webhook accepted.
const maxBody = 64 << 10

// Config is the `adapter:` section of the adapter's configuration file.
// Secrets come from the environment, never from the file.
type Config struct {
	// SecretEnv names the environment variable holding the webhook
	// signing secret. Default TICKETDESK_WEBHOOK_SECRET.
	SecretEnv string `yaml:"secret_env"`
	// PreviousSecretEnv, while a secret is rotated, names the variable
	// holding the old one; both are accepted.
	PreviousSecretEnv string `yaml:"previous_secret_env"`
	// Tolerance is how far a signature's timestamp may be from now.
	// Default 5m.
	Tolerance time.Duration `yaml:"tolerance"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	if c.Tolerance < 0 {
		return fmt.Errorf("adapter.tolerance %s must be positive, e.g. 5m", c.Tolerance)
	}
	return nil
}

// Adapter is the Ticket Desk adapter.
type Adapter struct {
	verifier verify.Verifier
	client   *http.Client
}

// New builds the adapter from its config, reading the secrets.
func New(cfg Config) (*Adapter, error) {
	if cfg.SecretEnv == "" {
		cfg.SecretEnv = "TICKETDESK_WEBHOOK_SECRET"
	}
	var secrets []string
	for _, env := range []string{cfg.SecretEnv, cfg.PreviousSecretEnv} {
		if env == "" {
			continue
		}
		s := strings.TrimSpace(os.Getenv(env))
		if s == "" {
			return nil, fmt.Errorf("environment variable %s is empty: set it to Ticket Desk's webhook signing secret", env)
		}
		secrets = append(secrets, s)
	}
	return &Adapter{
		verifier: &verify.HMAC{
			Header:    "X-Desk-Signature",
			Secrets:   secrets,
			Parse:     verify.Fields("t", "v1"),
			Signed:    []verify.Part{verify.Timestamp, verify.Literal("."), verify.Body},
			SignedAs:  `"<t>.<body>"`,
			Tolerance: cfg.Tolerance,
		},
		client: &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// Webhook handles POST /webhooks/ticketdesk: verify, parse, emit, and
// answer only once the hub has stored the event.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rpcstatus.Write(w, http.StatusMethodNotAllowed, "send webhooks with POST")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			rpcstatus.Write(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", maxBody))
			return
		}
		if err := a.verifier.Verify(r, body); err != nil {
			rpcstatus.Write(w, verify.Status(err), err.Error())
			return
		}
		var t struct {
			ID    string `json:"id"`
			Event string `json:"event"`
		}
		if err := json.Unmarshal(body, &t); err != nil || t.ID == "" || t.Event == "" {
			rpcstatus.Write(w, http.StatusBadRequest, `body must be a JSON object with "id" and "event", e.g. {"id":"tkt_1","event":"ticket.opened"}`)
			return
		}
		res, err := emit(r.Context(), &junctionv1.Event{
			Id: t.ID, Source: Spec.App, Type: t.Event,
			DataContentType: "application/json", Data: body,
		})
		switch {
		case errors.Is(err, sdk.ErrInvalidEvent):
			rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		case err != nil: // sdk.ErrUnavailable: Ticket Desk retries later
			rpcstatus.Write(w, http.StatusServiceUnavailable, "the hub cannot store events right now: retry later")
		default: // what every Junction webhook endpoint answers
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_ = json.NewEncoder(w).Encode(accepted{t.ID, res.Duplicate, res.Sequence})
		}
	})
}

// accepted is the answer once the hub has the event: its id, whether it
// was stored before (a retry), and its EVENTS sequence.
type accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Sequence  uint64 `json:"sequence"`
}

// Deliver posts a delivery's payload as a comment to the Ticket Desk API
// at the target config's "api_url", with the delivery id as the
// Idempotency-Key so a retried delivery is one comment. It returns a
// Permanent error for what retrying cannot fix and RetryAfter for a 429.
func (a *Adapter) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	u, err := url.Parse(d.GetConfig()["api_url"])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sdk.Permanent(errors.New(`target config "api_url" must be the Ticket Desk API's http(s) URL`))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.JoinPath("comments").String(), bytes.NewReader(d.GetPayload()))
	if err != nil {
		return sdk.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", d.GetId())
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("post comment: %w", err) // network: retried
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return sdk.RetryAfter(fmt.Errorf("ticket desk answered %d", code), time.Duration(secs)*time.Second)
	case code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("ticket desk answered %d", code)
	default:
		return sdk.Permanent(fmt.Errorf("ticket desk answered %d", code))
	}
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sink          = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
)
