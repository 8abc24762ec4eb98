// Package slack is Junction's source adapter for the Slack Events API:
// Slack POSTs each event it is subscribed to, signed with the app's
// signing secret, to https://<hub>/webhooks/slack, and the adapter stores
// it as a hub event mapped onto the canonical model (junction.model.v1
// Message for messages and mentions). docs/adapters/slack.md has the
// set-up in Slack, the configuration and the mapping table.
//
// Slack signs "v0:<X-Slack-Request-Timestamp>:<body>" with HMAC-SHA256
// and sends "v0=<hex>" in X-Slack-Signature; requests more than the
// tolerance (5 minutes) from the receiver's clock are refused. Several
// signing secrets are accepted while one is rotated.
//
// Slack wants an answer within 3 seconds and retries (with
// X-Slack-Retry-Num 1, 2, 3) when it gets none. The adapter answers only
// once the hub has stored the event, but never later than AckTimeout
// (default 2s) after the request arrived: a hub that has not acknowledged
// by then gets Slack a 503, and Slack's retry of the same event_id is
// stored once (the event id is the payload's event_id, however many
// retries come). The url_verification handshake is answered with its
// challenge and stores nothing.
package slack

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Spec describes the adapter: its webhooks are the event source "slack".
// Its Targets are the destination's (chat.postMessage), see sink.go.
var Spec = sdk.Spec{App: "slack", Version: "0.1.0", Description: "Slack Events API: signed event callbacks in, as message and other events; messages out with chat.postMessage.", Targets: Targets}

// Header names Slack sends.
const (
	HeaderSignature   = "X-Slack-Signature"
	HeaderTimestamp   = "X-Slack-Request-Timestamp"
	HeaderRetryNum    = "X-Slack-Retry-Num"
	HeaderRetryReason = "X-Slack-Retry-Reason"
)

// Defaults of Config.
const (
	// DefaultSecretEnv is the environment variable read when no secret is
	// configured.
	DefaultSecretEnv = "SLACK_SIGNING_SECRET"
	// DefaultAckTimeout is how long a request may wait for the hub.
	DefaultAckTimeout = 2 * time.Second
	// MaxAckTimeout is the longest AckTimeout allowed: Slack gives up
	// after 3 seconds, counted on its side, network included.
	MaxAckTimeout = 2900 * time.Millisecond
	// DefaultMaxBodyBytes is the largest request body accepted.
	DefaultMaxBodyBytes = 1 << 20
)

// Config is the `adapter:` section of the adapter's configuration (or a
// `sources:` entry's `config:` inside `junction serve`). Secrets are read
// from the environment or files, never written here.
type Config struct {
	// SecretRef names where the signing secret (Slack app settings,
	// Basic Information, Signing Secret) comes from: secret_env (an
	// environment variable) or secret_file. Default: secret_env
	// SLACK_SIGNING_SECRET.
	apphook.SecretRef `yaml:",inline"`
	// Previous are the secrets accepted beside it while it is rotated,
	// each a secret_env or secret_file.
	Previous []apphook.SecretRef `yaml:"previous"`
	// Tolerance is how far X-Slack-Request-Timestamp may be from the
	// receiver's clock, either way. Default 5m, Slack's own window.
	Tolerance time.Duration `yaml:"tolerance"`
	// AckTimeout bounds how long a request waits for the hub to store its
	// event before it is answered 503 (Slack then retries). Default 2s;
	// at most 2.9s, so that Slack has its answer within its 3 seconds.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// MaxBodyBytes is the largest body accepted. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DestinationConfig is the destination half: the bot token and the
	// Web API's URL (sink.go).
	DestinationConfig `yaml:",inline"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	var errs []error
	if err := apphook.ValidateSecrets(c.SecretRef, c.Previous); err != nil {
		errs = append(errs, err)
	}
	if c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("adapter.tolerance %s must not be negative, e.g. 5m", c.Tolerance))
	}
	if c.AckTimeout < 0 || c.AckTimeout > MaxAckTimeout {
		errs = append(errs, fmt.Errorf("adapter.ack_timeout %s must be between 0 (default %s) and %s: Slack wants its answer within 3 seconds", c.AckTimeout, DefaultAckTimeout, MaxAckTimeout))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("adapter.max_body_bytes %d must not be negative", c.MaxBodyBytes))
	}
	if err := c.DestinationConfig.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sourceOff reports whether the config runs only the destination: a bot
// token and no signing secret named (nor in SLACK_SIGNING_SECRET).
func (c *Config) sourceOff() bool {
	return c.configured() && c.SecretEnv == "" && c.SecretFile == "" && len(c.Previous) == 0 && os.Getenv(DefaultSecretEnv) == ""
}

// Adapter is the Slack Events API source.
type Adapter struct {
	verifier   verify.Verifier
	ackTimeout time.Duration
	maxBody    int64
	now        func() time.Time
	sink       *sink // nil without a bot token
}

// New builds the adapter from its config, reading the signing secrets.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := newSink(cfg.DestinationConfig)
	if err != nil {
		return nil, fmt.Errorf("slack bot token: %w", err)
	}
	a := &Adapter{
		sink:       s,
		ackTimeout: cfg.AckTimeout,
		maxBody:    cfg.MaxBodyBytes,
		now:        time.Now,
	}
	if a.ackTimeout == 0 {
		a.ackTimeout = DefaultAckTimeout
	}
	if a.maxBody == 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	if cfg.sourceOff() {
		return a, nil // destination only: webhooks are refused
	}
	secrets, err := apphook.ResolveSecrets(cfg.SecretRef, cfg.Previous, DefaultSecretEnv)
	if err != nil {
		return nil, fmt.Errorf("slack signing secret: %w", err)
	}
	a.verifier = newVerifier(secrets, cfg.Tolerance, nil)
	return a, nil
}

// newVerifier checks Slack's v0 signature; now nil is the real clock.
func newVerifier(secrets []string, tolerance time.Duration, now func() time.Time) *verify.HMAC {
	return &verify.HMAC{
		Header:          HeaderSignature,
		Prefix:          "v0=",
		TimestampHeader: HeaderTimestamp,
		Secrets:         secrets,
		Signed:          []verify.Part{verify.Literal("v0:"), verify.Timestamp, verify.Literal(":"), verify.Body},
		SignedAs:        `"v0:<X-Slack-Request-Timestamp>:<body>"`,
		Tolerance:       tolerance,
		Now:             now,
	}
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// Webhook handles POST /webhooks/slack: verify, answer the
// url_verification challenge, or map the event callback and store it,
// answering 200 once the hub has it and 503 when it has not by the ack
// deadline.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline := a.now().Add(a.ackTimeout)
		if rej := a.serve(w, r, emit, deadline); rej != nil {
			rej.Answer(w, r, Spec.App)
		}
	})
}

func (a *Adapter) serve(w http.ResponseWriter, r *http.Request, emit sdk.EmitFunc, deadline time.Time) *apphook.Rejection {
	if rej := apphook.CheckMethod(r); rej != nil {
		return rej
	}
	if a.verifier == nil {
		return apphook.Reject(http.StatusNotFound, "the slack source is off (the adapter runs as a destination only): set secret_env or secret_file (default %s) to receive events", DefaultSecretEnv)
	}
	body, rej := apphook.ReadBody(w, r, a.maxBody)
	if rej != nil {
		return rej
	}
	if rej := apphook.Verify(a.verifier, r, body); rej != nil {
		return rej
	}
	p, err := normalize(body)
	if err != nil {
		return apphook.Reject(http.StatusBadRequest, "%s", err)
	}
	switch p.kind {
	case kindChallenge:
		apphook.WriteJSON(w, http.StatusOK, map[string]string{"challenge": p.challenge})
		return nil
	case kindRateLimited:
		// Slack tells the app it drops events for a minute: nothing to
		// store, but the operator must know.
		slog.Default().LogAttrs(r.Context(), slog.LevelWarn, "slack rate limits the app's events",
			slog.String("source", Spec.App), slog.String("team_id", clip.String(p.team)), slog.String("minute_rate_limited", p.minute))
		apphook.WriteJSON(w, http.StatusOK, map[string]string{"status": "noted"})
		return nil
	}
	e := p.event
	if n := r.Header.Get(HeaderRetryNum); n != "" {
		// Not signed: only logged. The event id makes the retry the
		// same event.
		retry, _ := strconv.Atoi(n)
		slog.Default().LogAttrs(r.Context(), slog.LevelInfo, "slack retry",
			slog.String("source", Spec.App), slog.String("event_id", clip.String(e.GetId())),
			slog.Int("retry_num", retry), slog.String("retry_reason", clip.String(r.Header.Get(HeaderRetryReason))))
	}
	ctx, cancel := apphook.Detached(r, deadline)
	defer cancel()
	res, err := emit(ctx, e)
	if err != nil {
		return apphook.EmitRejection(e.GetId(), err)
	}
	apphook.WriteJSON(w, http.StatusOK, apphook.AcceptedOf(e, res))
	return nil
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
)
