package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"

	"github.com/junctionhq/junction/adapters/sdk"
)

// Version is the adapter's version, sent in the outbound User-Agent.
const Version = "0.1.0"

// Spec describes the webhook adapter. Its sink consumes the "webhook"
// destination, whose target config is "url", required: the absolute
// https:// or http:// URL deliveries are POSTed to, with no user or
// password; "headers", extra "Name: value" lines; "auth", the name of an
// outbound.credentials entry; and "body", json (default),
// cloudevent-structured or cloudevent-binary. The hub refuses routes that
// break it (and CheckTarget), also before any webhook adapter registered.
var Spec = sdk.Spec{
	App:         "webhook",
	Version:     Version,
	Description: "Generic webhooks: verified inbound POSTs become events; deliveries are POSTed signed with Standard Webhooks.",
	Targets: &sdk.TargetSchema{Keys: []sdk.TargetKey{{
		Name:        "url",
		Type:        sdk.KeyURL,
		Required:    true,
		Schemes:     []string{"https", "http"},
		Description: "the absolute https:// or http:// URL to POST each delivery to, e.g. https://example.com/hook",
	}, {
		Name:        "headers",
		Description: `extra request headers, one "Name: value" per line; never credentials (use auth)`,
	}, {
		Name:        "auth",
		Description: "the name of a credential in the webhook adapter's outbound.credentials (bearer, basic or API key header)",
	}, {
		Name:        "body",
		Values:      []string{BodyJSON, BodyCloudEventStructured, BodyCloudEventBinary},
		Description: "json (the transform's JSON, default), cloudevent-structured or cloudevent-binary",
	}}},
}

// Adapter receives webhooks from the configured sources and delivers to
// HTTP receivers. It implements sdk.WebhookSource, sdk.Sourcer and
// sdk.Sink. It is safe for concurrent use.
type Adapter struct {
	sources  map[string]*source
	names    []string
	out      *outbound
	log      *slog.Logger
	own      func() []string
	resolver *net.Resolver
}

// Option configures New beyond what the YAML config holds.
type Option func(*Adapter)

// WithLogger sets the logger for rejected webhooks and delivery problems;
// the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(a *Adapter) {
		if l != nil {
			a.log = l
		}
	}
}

// WithOwnAddrs tells the adapter where the hub it runs in listens
// (host:port of its HTTP, gRPC and NATS listeners): deliveries there are
// refused even when outbound.allow lets loopback or private addresses
// through. own is called at each connection, so it may return addresses
// bound after New.
func WithOwnAddrs(own func() []string) Option {
	return func(a *Adapter) { a.own = own }
}

// withResolver sets the resolver deliveries use (tests point names at
// chosen addresses with it).
func withResolver(r *net.Resolver) Option {
	return func(a *Adapter) { a.resolver = r }
}

// AllowsLoopback reports whether outbound.allow lets deliveries reach
// loopback addresses, which `junction serve` warns about.
func (a *Adapter) AllowsLoopback() bool { return a.out.guard.AllowsLoopback() }

// New validates cfg, reads its secrets and returns the adapter. Errors wrap
// ErrConfig and say what to fix; they never contain a secret.
func New(cfg Config) (*Adapter, error) {
	return NewWithOptions(cfg)
}

// NewWithOptions is New with options, for embedding the adapter in another
// process (`junction serve`).
func NewWithOptions(cfg Config, opts ...Option) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Adapter{sources: map[string]*source{}, log: slog.Default()}
	for _, opt := range opts {
		opt(a)
	}
	for _, sc := range cfg.Sources {
		s, err := newSource(sc.withDefaults())
		if err != nil {
			return nil, fmt.Errorf("%w: sources (%s): %w", ErrConfig, sc.Name, err)
		}
		a.sources[sc.Name] = s
		a.names = append(a.names, sc.Name)
	}
	sort.Strings(a.names)
	out, err := newOutbound(cfg.Outbound, a.own, a.resolver)
	if err != nil {
		return nil, fmt.Errorf("%w: outbound: %w", ErrConfig, err)
	}
	a.out = out
	return a, nil
}

// Sources returns the configured source names, sorted: the event sources
// the adapter publishes as.
func (a *Adapter) Sources() []string {
	return append([]string(nil), a.names...)
}

// Webhook returns the handler for POST /webhooks/<source>.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return &inbound{a: a, emit: emit}
}

// GenerateSecret returns a new random Standard Webhooks secret,
// "whsec_" + base64 of 32 random bytes.
func GenerateSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), nil
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
	_ sdk.Sink          = (*Adapter)(nil)
)
