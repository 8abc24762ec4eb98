// Package jira is Junction's Jira Cloud source: admin webhooks registered
// with a secret become hub events, with issue and comment events mapped
// onto the canonical Ticket and project events kept as project.created and
// project.updated.
//
// Jira signs each request of a webhook that has a secret the WebSub way:
// header X-Hub-Signature is "sha256=" and the hex HMAC-SHA256 of the body.
// The event's id is X-Atlassian-Webhook-Identifier, which Jira keeps on
// its retries, joined with the payload's timestamp (see [EventID]); its
// type comes from the payload's webhookEvent, and its data is the body
// byte for byte. docs/adapters/jira.md has the configuration, the setup in
// Jira and the mapping table.
package jira

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Spec describes the adapter: its webhooks are at /webhooks/jira and its
// events have source "jira".
// Its Targets are the destination's (issues and comments out, sink.go).
var Spec = sdk.Spec{App: "jira", Version: "0.1.0", Description: "Jira Cloud webhooks in: issues, comments and projects, normalized; issues and comments out through REST API v3.", Targets: Targets}

// The headers Jira sends with each request.
const (
	// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" when
	// the webhook has a secret.
	SignatureHeader = "X-Hub-Signature"
	// IdentifierHeader identifies the webhook request; a retry of it
	// carries the same value.
	IdentifierHeader = "X-Atlassian-Webhook-Identifier"
	// RetryHeader counts the retries of a request (absent on the first).
	RetryHeader = "X-Atlassian-Webhook-Retry"
)

// DefaultSecretEnv is the environment variable read for the secret when
// the config names none (no secret_env, no secret_file).
const DefaultSecretEnv = "JIRA_WEBHOOK_SECRET"

// maxIdentifierLen bounds X-Atlassian-Webhook-Identifier; with the
// timestamp the id stays well inside the hub's limit.
const maxIdentifierLen = 128

// Config is the `adapter:` section of the adapter's configuration file
// (or the `config:` of a `sources:` entry with app jira in junction
// serve's). Secrets are named, never written, here.
type Config struct {
	// SecretRef names where the webhook secret comes from: secret_env (an
	// environment variable) or secret_file. Default: secret_env
	// JIRA_WEBHOOK_SECRET.
	apphook.SecretRef `yaml:",inline"`
	// Previous are the secrets accepted beside it while it is rotated,
	// each a secret_env or secret_file.
	Previous []apphook.SecretRef `yaml:"previous"`
	// MaxBodyBytes is the largest body accepted. Default 1 MiB (1048576),
	// which is what one hub event holds with NATS's default limits.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DestinationConfig is the destination half: the site, its
	// credentials and the outbound guard (sink.go).
	DestinationConfig `yaml:",inline"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("adapter.max_body_bytes %d must be positive, e.g. 1048576", c.MaxBodyBytes)
	}
	return errors.Join(apphook.ValidateSecrets(c.SecretRef, c.Previous), c.DestinationConfig.validate())
}

// sourceOff reports whether the config runs only the destination: a
// base_url and no webhook secret named (nor in JIRA_WEBHOOK_SECRET).
func (c *Config) sourceOff() bool {
	return c.on() && c.SecretEnv == "" && c.SecretFile == "" && len(c.Previous) == 0 && os.Getenv(DefaultSecretEnv) == ""
}

// Adapter is the Jira Cloud source.
type Adapter struct {
	verifier *verify.HMAC // nil when only the destination runs
	maxBody  int64
	sink     *sink // nil without a base_url
}

// New builds the adapter, reading its secrets.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = apphook.DefaultMaxBodyBytes
	}
	s, err := newSink(cfg.DestinationConfig)
	if err != nil {
		return nil, fmt.Errorf("jira destination: %w", err)
	}
	if cfg.sourceOff() {
		return &Adapter{maxBody: cfg.MaxBodyBytes, sink: s}, nil
	}
	secrets, err := apphook.ResolveSecrets(cfg.SecretRef, cfg.Previous, DefaultSecretEnv)
	if err != nil {
		return nil, err
	}
	return &Adapter{verifier: NewVerifier(secrets...), maxBody: cfg.MaxBodyBytes, sink: s}, nil
}

// NewVerifier returns the verifier of Jira's X-Hub-Signature for secrets,
// any one of which may have signed.
func NewVerifier(secrets ...string) *verify.HMAC {
	return &verify.HMAC{Header: SignatureHeader, Secrets: secrets, Prefix: "sha256="}
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// Webhook handles POST /webhooks/jira: verify, map, store, and answer once
// the hub has the event.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sourceOn := func(*http.Request) *apphook.Rejection {
			if a.verifier == nil {
				return apphook.Reject(http.StatusNotFound, "the jira source is off (the adapter runs as a destination only): set secret_env or secret_file (default %s) to receive webhooks", DefaultSecretEnv)
			}
			return nil
		}
		body, ok := apphook.Receive(w, r, Spec.App, a.maxBody, a.verifier, apphook.CheckMethod, sourceOn, apphook.CheckJSON)
		if !ok {
			return
		}
		reject := func(code int, msg string) { apphook.Reject(code, "%s", msg).Answer(w, r, Spec.App) }
		ident := strings.TrimSpace(r.Header.Get(IdentifierHeader))
		if ident == "" || len(ident) > maxIdentifierLen || !utf8.ValidString(ident) || strings.ContainsFunc(ident, func(c rune) bool { return c < 0x21 || c == 0x7f }) {
			reject(http.StatusBadRequest, fmt.Sprintf("header %s must identify the webhook request (Jira Cloud sends it with every request), at most %d printable characters", IdentifierHeader, maxIdentifierLen))
			return
		}
		e, err := Normalize(ident, body)
		if err != nil {
			reject(http.StatusBadRequest, err.Error())
			return
		}
		apphook.Store(w, r, emit, e)
	})
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
)
