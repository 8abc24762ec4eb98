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
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/junctionhq/junction/adapters/internal/hookhttp"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Spec describes the adapter: its webhooks are at /webhooks/jira and its
// events have source "jira".
var Spec = sdk.Spec{App: "jira", Version: "0.1.0", Description: "Jira Cloud webhooks in: issues, comments and projects, normalized."}

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
// the config lists none.
const DefaultSecretEnv = "JIRA_WEBHOOK_SECRET"

// maxIdentifierLen bounds X-Atlassian-Webhook-Identifier; with the
// timestamp the id stays well inside the hub's limit.
const maxIdentifierLen = 128

// Config is the `adapter:` section of the adapter's configuration file
// (or the `config:` of a `sources:` entry with app jira in junction
// serve's). Secrets are named, never written, here.
type Config struct {
	// Secrets are where the webhook secrets are: each an env (variable
	// name) or a file. A request signed with any one of them is accepted:
	// list the new and the old one while rotating. Default one secret in
	// $JIRA_WEBHOOK_SECRET.
	Secrets []hookhttp.SecretRef `yaml:"secrets"`
	// MaxBodyBytes is the largest body accepted. Default 1 MiB (1048576),
	// which is what one hub event holds with NATS's default limits.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("adapter.max_body_bytes %d must be positive, e.g. 1048576", c.MaxBodyBytes)
	}
	if len(c.Secrets) == 0 {
		return nil // the default
	}
	return hookhttp.ValidateSecrets(c.Secrets)
}

// Adapter is the Jira Cloud source.
type Adapter struct {
	verifier *verify.HMAC
	maxBody  int64
	log      *slog.Logger
}

// New builds the adapter, reading its secrets.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Secrets) == 0 {
		cfg.Secrets = []hookhttp.SecretRef{{Env: DefaultSecretEnv}}
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = hookhttp.DefaultMaxBodyBytes
	}
	secrets, err := hookhttp.ResolveSecrets(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	return &Adapter{verifier: NewVerifier(secrets...), maxBody: cfg.MaxBodyBytes, log: slog.Default()}, nil
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
		body, ok := hookhttp.ReadBody(w, r, a.maxBody)
		if !ok {
			return
		}
		reject := func(code int, msg string) { hookhttp.Reject(w, r, a.log, Spec.App, code, msg) }
		if err := a.verifier.Verify(r, body); err != nil {
			reject(verify.Status(err), err.Error())
			return
		}
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
		hookhttp.Store(w, r, a.log, emit, e)
	})
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
)
