// Package shopify is Junction's Shopify source: Shopify's webhooks become
// hub events, verified as Shopify signs them and mapped onto the
// canonical model where one fits (orders/create becomes order.created
// with an Order and its line items, customers/create contact.created with
// a Contact).
//
// Shopify signs each request with header X-Shopify-Hmac-Sha256, the
// base64 HMAC-SHA256 of the raw body under the app's client secret (or,
// for a webhook made in the shop admin, the shop's webhook signing key).
// Shopify signs no timestamp, so there is no replay window to check; a
// replayed request is the same event id and is stored once. The adapter
// takes several secrets while one is rotated.
//
// Prices are decimal strings ("19.99") and map onto model.Money exactly;
// ids are numbers above 2^53 and are read exactly too. See
// docs/adapters/shopify.md for the configuration and the mapping table.
package shopify

import (
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Spec describes the adapter: its webhooks are the "shopify" source.
var Spec = sdk.Spec{App: "shopify", Version: "0.1.0", Description: "Shopify: webhooks in, mapped onto orders and contacts."}

// Defaults.
const (
	// DefaultMaxBodyBytes is the largest webhook body accepted.
	DefaultMaxBodyBytes = 512 << 10
	// DefaultSecretEnv is the environment variable read when no secret is
	// configured.
	DefaultSecretEnv = "SHOPIFY_WEBHOOK_SECRET"
)

// The headers Shopify sends with every webhook.
const (
	HeaderHMAC        = "X-Shopify-Hmac-Sha256"
	HeaderTopic       = "X-Shopify-Topic"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderAPIVersion  = "X-Shopify-API-Version"
	HeaderShopDomain  = "X-Shopify-Shop-Domain"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
)

// Config is the `adapter:` section of the adapter's configuration.
type Config struct {
	// SecretRef names where the key Shopify signs with comes from (the
	// app's client secret, or the shop's webhook signing key for a
	// webhook made in the shop admin): secret_env (an environment
	// variable) or secret_file. Default: secret_env
	// SHOPIFY_WEBHOOK_SECRET.
	apphook.SecretRef `yaml:",inline"`
	// Previous are the secrets accepted beside it while it is rotated,
	// each a secret_env or secret_file.
	Previous []apphook.SecretRef `yaml:"previous"`
	// MaxBodyBytes is the largest body accepted. Default 512 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("adapter.max_body_bytes %d must be positive, e.g. 524288", c.MaxBodyBytes)
	}
	return apphook.ValidateSecrets(c.SecretRef, c.Previous)
}

// Adapter is the Shopify source.
type Adapter struct {
	verifier verify.Verifier
	maxBody  int64
}

// New builds the adapter from its config, reading the secrets.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	secrets, err := apphook.ResolveSecrets(cfg.SecretRef, cfg.Previous, DefaultSecretEnv)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &Adapter{verifier: newVerifier(secrets), maxBody: cfg.MaxBodyBytes}, nil
}

func newVerifier(secrets []string) *verify.HMAC {
	return &verify.HMAC{
		Header:   HeaderHMAC,
		Secrets:  secrets,
		Encoding: verify.Base64,
		Parse:    ParseHMAC,
		SignedAs: "the raw body",
	}
}

// ParseHMAC reads an X-Shopify-Hmac-Sha256 value: the standard base64 of
// a 32-byte HMAC-SHA256, written canonically (44 characters, one "=").
// Shopify's libraries compare the header as a string with the base64 they
// compute, so a value that decodes to the right bytes but is written
// otherwise (other padding bits) is refused here too.
func ParseHMAC(value string) (timestamp string, signatures []string, err error) {
	b, err := base64.StdEncoding.Strict().DecodeString(value)
	if err != nil || len(b) != 32 || base64.StdEncoding.EncodeToString(b) != value {
		return "", nil, &verify.Error{Kind: verify.ErrMalformedHeader, Message: fmt.Sprintf(
			"value %q is not the base64 of an HMAC-SHA256 (44 characters ending in \"=\"): Shopify sends base64(HMAC-SHA256(secret, body))", clip.N(value, 64))}
	}
	return "", []string{value}, nil
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// Webhook handles POST /webhooks/shopify: verify, map, emit, and answer
// once the hub has stored the event (202), so Shopify retries what was
// not stored.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := apphook.Receive(w, r, Spec.App, a.maxBody, a.verifier, apphook.PathIs(Spec.App), apphook.CheckMethod)
		if !ok {
			return
		}
		e, err := Normalize(MetaFrom(r.Header), body)
		if err != nil {
			apphook.Reject(http.StatusBadRequest, "%s", err.Error()).Answer(w, r, Spec.App)
			return
		}
		apphook.Store(w, r, emit, e)
	})
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
)
