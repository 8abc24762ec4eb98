// Package stripe is Junction's Stripe source: Stripe's webhook events
// become hub events, verified as Stripe signs them and mapped onto the
// canonical model where one fits (payment_intent.succeeded becomes
// payment.succeeded with a Payment, customer.created contact.created with
// a Contact, checkout.session.completed order.created with an Order).
//
// Stripe signs each request with header Stripe-Signature,
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">", with one v1
// per endpoint secret while a secret is being rolled. The adapter takes
// several secrets for that time and refuses a timestamp more than
// Tolerance (Stripe's 300 s) from its clock, either way.
//
// The stored event's id is Stripe's evt_ id, so Stripe's retries of one
// event are stored once; its data is the request body byte for byte. See
// docs/adapters/stripe.md for the configuration and the mapping table.
package stripe

import (
	"fmt"
	"net/http"
	"time"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Spec describes the adapter: its webhooks are the "stripe" source.
var Spec = sdk.Spec{App: "stripe", Version: "0.1.0", Description: "Stripe: webhook events in, mapped onto payments, contacts and orders."}

// Defaults.
const (
	// DefaultTolerance is Stripe's own replay window.
	DefaultTolerance = 300 * time.Second
	// DefaultMaxBodyBytes is the largest event body accepted.
	DefaultMaxBodyBytes = 512 << 10
	// DefaultSecretEnv is the environment variable read when no secret is
	// configured.
	DefaultSecretEnv = "STRIPE_WEBHOOK_SECRET"
)

// SignatureHeader is the header Stripe signs requests with.
const SignatureHeader = "Stripe-Signature"

// Config is the `adapter:` section of the adapter's configuration.
type Config struct {
	// SecretRef names where the webhook endpoint's signing secret
	// (whsec_...) comes from: secret_env (an environment variable) or
	// secret_file. Default: secret_env STRIPE_WEBHOOK_SECRET.
	apphook.SecretRef `yaml:",inline"`
	// Previous are the secrets accepted beside it while it is rotated,
	// each a secret_env or secret_file.
	Previous []apphook.SecretRef `yaml:"previous"`
	// Tolerance is how far the signature's timestamp may be from now,
	// either way. Default 300s, Stripe's.
	Tolerance time.Duration `yaml:"tolerance"`
	// MaxBodyBytes is the largest body accepted. Default 512 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	if c.Tolerance < 0 {
		return fmt.Errorf("adapter.tolerance %s must be positive, e.g. 300s", c.Tolerance)
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("adapter.max_body_bytes %d must be positive, e.g. 524288", c.MaxBodyBytes)
	}
	return apphook.ValidateSecrets(c.SecretRef, c.Previous)
}

// Adapter is the Stripe source.
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
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &Adapter{verifier: newVerifier(secrets, cfg.Tolerance, nil), maxBody: cfg.MaxBodyBytes}, nil
}

// newVerifier returns the Stripe-Signature verifier; now is the clock
// (nil for time.Now).
func newVerifier(secrets []string, tolerance time.Duration, now func() time.Time) *verify.HMAC {
	return &verify.HMAC{
		Header:    SignatureHeader,
		Secrets:   secrets,
		Parse:     ParseSignature,
		Signed:    []verify.Part{verify.Timestamp, verify.Literal("."), verify.Body},
		SignedAs:  `"<t>.<body>"`,
		Tolerance: tolerance,
		Now:       now,
	}
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// Webhook handles POST /webhooks/stripe: verify, map, emit, and answer
// once the hub has stored the event (202), so Stripe retries what was not
// stored.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := apphook.Receive(w, r, Spec.App, a.maxBody, a.verifier, apphook.PathIs(Spec.App), apphook.CheckMethod)
		if !ok {
			return
		}
		e, err := Normalize(body)
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
