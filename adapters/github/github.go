// Package github is Junction's GitHub source: repository and organisation
// webhooks become hub events, with issues, issue comments, pull requests
// and pushes mapped onto the canonical model (Ticket, Repository).
//
// GitHub signs each delivery with the webhook's secret: header
// X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body.
// The event's id is the delivery's GUID (X-GitHub-Delivery, the same on a
// redelivery), its type comes from X-GitHub-Event and the payload's
// action, and its data is the body byte for byte. GitHub's ping, sent when
// a webhook is created, is verified and answered 200 but not stored.
// docs/adapters/github.md has the configuration, the setup on GitHub and
// the mapping table.
package github

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Spec describes the adapter: its webhooks are at /webhooks/github and its
// events have source "github".
var Spec = sdk.Spec{App: "github", Version: "0.1.0", Description: "GitHub webhooks in: issues, comments, pull requests and pushes, normalized."}

// The headers GitHub sends with each delivery.
const (
	// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>".
	SignatureHeader = "X-Hub-Signature-256"
	// EventHeader names the event, e.g. "issues".
	EventHeader = "X-GitHub-Event"
	// DeliveryHeader is the delivery's GUID, kept on a redelivery.
	DeliveryHeader = "X-GitHub-Delivery"
	// APIVersionHeader is the REST API version the payload follows, when
	// GitHub sends it; it becomes the event's provider_version.
	APIVersionHeader = "X-GitHub-Api-Version"
)

// DefaultSecretEnv is the environment variable read for the secret when
// the config names none (no secret_env, no secret_file).
const DefaultSecretEnv = "GITHUB_WEBHOOK_SECRET"

// maxIDLen bounds X-GitHub-Delivery (a GUID is 36 characters); the hub
// accepts longer ids, but nothing GitHub sends is.
const maxIDLen = 128

// Config is the `adapter:` section of the adapter's configuration file
// (or the `config:` of a `sources:` entry with app github in junction
// serve's). Secrets are named, never written, here.
type Config struct {
	// SecretRef names where the webhook secret comes from: secret_env (an
	// environment variable) or secret_file. Default: secret_env
	// GITHUB_WEBHOOK_SECRET.
	apphook.SecretRef `yaml:",inline"`
	// Previous are the secrets accepted beside it while it is rotated,
	// each a secret_env or secret_file.
	Previous []apphook.SecretRef `yaml:"previous"`
	// MaxBodyBytes is the largest body accepted. Default 1 MiB (1048576),
	// which is what one hub event holds with NATS's default limits.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("adapter.max_body_bytes %d must be positive, e.g. 1048576", c.MaxBodyBytes)
	}
	return apphook.ValidateSecrets(c.SecretRef, c.Previous)
}

// Adapter is the GitHub source.
type Adapter struct {
	verifier *verify.HMAC
	maxBody  int64
}

// New builds the adapter, reading its secrets.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = apphook.DefaultMaxBodyBytes
	}
	secrets, err := apphook.ResolveSecrets(cfg.SecretRef, cfg.Previous, DefaultSecretEnv)
	if err != nil {
		return nil, err
	}
	return &Adapter{
		verifier: NewVerifier(secrets...),
		maxBody:  cfg.MaxBodyBytes,
	}, nil
}

// NewVerifier returns the verifier of GitHub's X-Hub-Signature-256 for
// secrets, any one of which may have signed.
func NewVerifier(secrets ...string) *verify.HMAC {
	return &verify.HMAC{Header: SignatureHeader, Secrets: secrets, Prefix: "sha256="}
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// eventName is what X-GitHub-Event holds: GitHub's event names are lower
// case words joined by '_'.
var eventName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Webhook handles POST /webhooks/github: verify, answer a ping, map,
// store, and answer once the hub has the event.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := apphook.Receive(w, r, Spec.App, a.maxBody, a.verifier, apphook.CheckMethod, apphook.CheckJSON)
		if !ok {
			return
		}
		reject := func(code int, msg string) { apphook.Reject(code, "%s", msg).Answer(w, r, Spec.App) }
		event := r.Header.Get(EventHeader)
		if !eventName.MatchString(event) {
			reject(http.StatusBadRequest, fmt.Sprintf("header %s %q must name a GitHub event, e.g. issues", EventHeader, clip.N(event, 64)))
			return
		}
		delivery := strings.TrimSpace(r.Header.Get(DeliveryHeader))
		if delivery == "" || len(delivery) > maxIDLen || !utf8.ValidString(delivery) || strings.ContainsFunc(delivery, func(c rune) bool { return c < 0x21 || c == 0x7f }) {
			reject(http.StatusBadRequest, fmt.Sprintf("header %s must be the delivery's GUID, e.g. 72d3162e-cc78-11e3-81ab-4c9367dc0958", DeliveryHeader))
			return
		}
		if event == "ping" {
			apphook.WriteJSON(w, http.StatusOK, map[string]string{"message": "pong: the signature matches; events of this webhook will be stored"})
			return
		}
		e, err := Normalize(event, delivery, r.Header.Get(APIVersionHeader), body)
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
