// Package hubspot is Junction's source adapter for HubSpot webhooks: a
// HubSpot app's webhook subscriptions POST batches of CRM notifications
// (contact.creation, deal.propertyChange, ...) to
// https://<hub>/webhooks/hubspot, and each notification of the batch
// becomes one hub event, mapped onto the canonical Contact, Company, Deal
// or Ticket. docs/adapters/hubspot.md has the set-up in HubSpot, the
// configuration and the mapping table.
//
// HubSpot signs with its v3 signature: X-HubSpot-Signature-v3 is the
// base64 HMAC-SHA256, keyed with the app's client secret, of the method,
// the URI HubSpot called (with %3A, %2F, %3F, %40, %21, %24, %27, %28,
// %29, %2A, %2C and %3B decoded), the body and X-HubSpot-Request-Timestamp
// (Unix milliseconds), which must be within 5 minutes of the receiver's
// clock. When the hub sits behind a proxy that ends TLS or rewrites the
// host, PublicURL says the scheme and host HubSpot called.
//
// A batch is answered all or nothing: 200 once every notification is
// stored, else an error, and HubSpot sends the whole batch again; each
// notification is stored once by its eventId, so the ones stored the
// first time are not stored twice.
//
// The adapter is the "hubspot" destination too (crm.go): each delivery
// upserts a contact by email through the CRM v3 API and associates it
// with a company and a deal where given.
package hubspot

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Spec describes the adapter: its webhooks are the event source
// "hubspot".
// Its sink is the "hubspot" destination: contacts upserted by email
// through the CRM API (crm.go), target config company_id and deal_id.
var Spec = sdk.Spec{App: "hubspot", Version: "0.1.0", Description: "HubSpot: v3-signed CRM notifications in, one event each; contacts upserted by email out.", Targets: targets}

// Header names HubSpot sends.
const (
	HeaderSignature = "X-HubSpot-Signature-v3"
	HeaderTimestamp = "X-HubSpot-Request-Timestamp"
)

// Defaults of Config.
const (
	// DefaultSecretEnv is the environment variable read when no secret is
	// configured.
	DefaultSecretEnv = "HUBSPOT_CLIENT_SECRET"
	// DefaultAckTimeout is how long a batch may wait for the hub.
	DefaultAckTimeout = 4 * time.Second
	// MaxAckTimeout is the longest AckTimeout allowed: HubSpot counts a
	// request not answered within 5 seconds as failed.
	MaxAckTimeout = 4900 * time.Millisecond
	// DefaultMaxBodyBytes is the largest request body accepted (HubSpot
	// sends at most 100 notifications a request).
	DefaultMaxBodyBytes = 1 << 20
)

// Config is the `adapter:` section of the adapter's configuration (or a
// `sources:` entry's `config:` inside `junction serve`). Secrets are read
// from the environment or files, never written here.
type Config struct {
	// SecretRef names where the app's client secret comes from: secret_env (an
	// environment variable) or secret_file. Default: secret_env
	// HUBSPOT_CLIENT_SECRET.
	apphook.SecretRef `yaml:",inline"`
	// Previous are the secrets accepted beside it while it is rotated,
	// each a secret_env or secret_file.
	Previous []apphook.SecretRef `yaml:"previous"`
	// PublicURL is the scheme and host (and any path prefix a proxy
	// strips) of the URL HubSpot calls, e.g. "https://hooks.example.com":
	// the signature covers the URL HubSpot called, which a proxy in front
	// of the hub may change. The request's path and query are appended.
	// Default: the request's own scheme (https when it came over TLS)
	// and Host.
	PublicURL string `yaml:"public_url"`
	// Tolerance is how far X-HubSpot-Request-Timestamp may be from the
	// receiver's clock, either way. Default 5m, HubSpot's window.
	Tolerance time.Duration `yaml:"tolerance"`
	// AckTimeout bounds how long a batch waits for the hub to store its
	// events before it is answered 503 (HubSpot then retries). Default
	// 4s; at most 4.9s, within HubSpot's 5 seconds.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// MaxBodyBytes is the largest body accepted. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// CRM is how the destination reaches HubSpot's CRM API.
	CRM CRMConfig `yaml:"crm"`
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	var errs []error
	if err := apphook.ValidateSecrets(c.SecretRef, c.Previous); err != nil {
		errs = append(errs, err)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("adapter.public_url %q must be the scheme and host HubSpot calls, e.g. https://hooks.example.com, with no query", clip.String(c.PublicURL)))
		}
	}
	if c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("adapter.tolerance %s must not be negative, e.g. 5m", c.Tolerance))
	}
	if c.AckTimeout < 0 || c.AckTimeout > MaxAckTimeout {
		errs = append(errs, fmt.Errorf("adapter.ack_timeout %s must be between 0 (default %s) and %s: HubSpot wants its answer within 5 seconds", c.AckTimeout, DefaultAckTimeout, MaxAckTimeout))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("adapter.max_body_bytes %d must not be negative", c.MaxBodyBytes))
	}
	if err := c.CRM.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// noSecret reports whether no client secret is named (nor in
// HUBSPOT_CLIENT_SECRET). With a CRM token the adapter then runs as a
// destination only: webhooks are refused, not verified against nothing.
func (c *Config) noSecret() bool {
	return c.SecretEnv == "" && c.SecretFile == "" && len(c.Previous) == 0 && os.Getenv(DefaultSecretEnv) == ""
}

// Adapter is the HubSpot webhooks source.
type Adapter struct {
	verifier   verify.Verifier
	ackTimeout time.Duration
	maxBody    int64
	now        func() time.Time
	crm        *crm
}

// New builds the adapter from its config, reading the client secrets.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Adapter{
		ackTimeout: cfg.AckTimeout,
		maxBody:    cfg.MaxBodyBytes,
		now:        time.Now,
	}
	var err error
	if a.crm, err = newCRM(cfg.CRM); err != nil {
		return nil, fmt.Errorf("hubspot crm: %w", err)
	}
	if a.crm.token == "" || !cfg.noSecret() { // else destination only: webhooks are refused
		secrets, err := apphook.ResolveSecrets(cfg.SecretRef, cfg.Previous, DefaultSecretEnv)
		if err != nil {
			return nil, fmt.Errorf("hubspot client secret: %w", err)
		}
		a.verifier = newVerifier(secrets, cfg.PublicURL, cfg.Tolerance, nil)
	}
	if a.ackTimeout == 0 {
		a.ackTimeout = DefaultAckTimeout
	}
	if a.maxBody == 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	return a, nil
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// Batch is what a stored batch is answered, with 200: each
// notification's event, in the order sent.
type Batch struct {
	Events []apphook.Accepted `json:"events"`
}

// Webhook handles POST /webhooks/hubspot: verify, split the batch into
// one event per notification, store them in order and answer 200 once
// all are stored; 503 when the hub cannot store one by the ack deadline
// (HubSpot resends the batch; what was stored is not stored again).
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
		return apphook.Reject(http.StatusNotFound, "the hubspot source is off (the adapter runs as a destination only): set secret_env or secret_file (default %s) to receive events", DefaultSecretEnv)
	}
	body, rej := apphook.ReadBody(w, r, a.maxBody)
	if rej != nil {
		return rej
	}
	if rej := apphook.Verify(a.verifier, r, body); rej != nil {
		return rej
	}
	events, err := normalize(body)
	if err != nil {
		return apphook.Reject(http.StatusBadRequest, "%s", err)
	}
	ctx, cancel := apphook.Detached(r, deadline)
	defer cancel()
	out := Batch{Events: make([]apphook.Accepted, 0, len(events))}
	var refused []string
	for i, e := range events {
		res, err := emit(ctx, e)
		switch {
		case err == nil:
			out.Events = append(out.Events, apphook.AcceptedOf(e, res))
		case errors.Is(err, sdk.ErrInvalidEvent):
			// The others are still stored: the answer is an error all
			// the same, and HubSpot's resend stores nothing twice.
			refused = append(refused, fmt.Sprintf("event [%d] (eventId %s): %s", i, e.GetId(), clip.N(err.Error(), 256)))
		default:
			rej := apphook.EmitRejection(e.GetId(), err)
			rej.Message += fmt.Sprintf(" (%d of the batch's %d events stored; the rest are stored when HubSpot resends it)", len(out.Events), len(events))
			return rej
		}
	}
	if len(refused) > 0 {
		return apphook.Reject(http.StatusBadRequest, "the hub refused %d of the batch's %d events (the others are stored): %s",
			len(refused), len(events), strings.Join(refused, "; "))
	}
	apphook.WriteJSON(w, http.StatusOK, out)
	return nil
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
	_ sdk.Sink          = (*Adapter)(nil)
)
