package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Signature schemes an inbound source can use.
const (
	// SchemeStandardWebhooks verifies the Standard Webhooks headers
	// (webhook-id, webhook-timestamp, webhook-signature) with a "whsec_"
	// secret.
	SchemeStandardWebhooks = "standard-webhooks"
	// SchemeHMACSHA256 verifies a hex HMAC-SHA256 of the body (or of
	// "<timestamp>.<body>") carried in one header.
	SchemeHMACSHA256 = "hmac-sha256"
)

// Canonical models an event type can be mapped onto.
const (
	// ModelUser maps the payload onto junction.model.v1.User.
	ModelUser = "user"
	// ModelContact maps the payload onto junction.model.v1.Contact.
	ModelContact = "contact"
	// ModelNone keeps the payload unmapped; use it to turn a default off.
	ModelNone = "none"
)

// Defaults for fields left empty.
const (
	DefaultSignatureHeader = "X-Signature"
	DefaultTolerance       = 5 * time.Minute
	DefaultMaxBodyBytes    = 1 << 20
	DefaultOutboundTimeout = 30 * time.Second
	// DefaultRatePerSecond and DefaultRateBurst limit each source's
	// requests when it sets no rate_limit.
	DefaultRatePerSecond = 200
	DefaultRateBurst     = 400
)

// DefaultContentTypes are the media types a source accepts when it sets no
// content_types.
var DefaultContentTypes = []string{"application/json"}

// DefaultModels maps event types onto canonical models for a source that
// sets no models of its own.
var DefaultModels = map[string]string{
	"user.>":    ModelUser,
	"contact.>": ModelContact,
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid webhook adapter config")

// Config is the adapter's own configuration, the `adapter:` section of the
// adapter's YAML file.
type Config struct {
	// Sources are the senders allowed to POST to /webhooks/<name>.
	Sources []SourceConfig `yaml:"sources"`
	// Outbound configures deliveries to HTTP receivers.
	Outbound OutboundConfig `yaml:"outbound"`
}

// SourceConfig is one inbound sender.
type SourceConfig struct {
	// Name is the URL path segment and the event source; a
	// topology.ValidToken.
	Name string `yaml:"name"`
	// Scheme is SchemeStandardWebhooks or SchemeHMACSHA256.
	Scheme string `yaml:"scheme"`
	// SecretRef holds the verification secret: "whsec_<base64>" for
	// standard-webhooks, any string for hmac-sha256.
	SecretRef `yaml:",inline"`
	// Previous, while the secret is rotated, holds the old one (secret,
	// secret_env or secret_file): requests signed with either pass.
	// Remove it once the sender signs with the new secret only.
	Previous SecretRef `yaml:"previous"`
	// SignatureHeader carries the hex HMAC (hmac-sha256 only), optionally
	// prefixed "sha256=". Default X-Signature.
	SignatureHeader string `yaml:"signature_header"`
	// TimestampHeader (hmac-sha256 only, optional) carries the Unix time the
	// sender signed at; when set the signed content is "<ts>.<body>" and
	// Tolerance applies.
	TimestampHeader string `yaml:"timestamp_header"`
	// IDHeader (hmac-sha256 only) carries the sender's event id. Without
	// IDHeader and IDField every request gets a random id: no dedupe.
	IDHeader string `yaml:"id_header"`
	// IDField (hmac-sha256 only) is a dot path into the JSON body holding
	// the sender's event id, used when IDHeader is not set.
	IDField string `yaml:"id_field"`
	// TypeField is a dot path to the event type; default "type", then
	// "event".
	TypeField string `yaml:"type_field"`
	// TimeField is a dot path to the event time (RFC 3339 or Unix
	// seconds); default "timestamp", then "time", then "created_at".
	TimeField string `yaml:"time_field"`
	// Tolerance is how far the signed timestamp may be from now. Default 5m.
	Tolerance time.Duration `yaml:"tolerance"`
	// MaxBodyBytes is the largest body accepted. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ContentTypes are the media types this sender's requests may carry
	// (parameters such as charset are ignored); others are answered 415
	// and nothing is stored. Default ["application/json"].
	ContentTypes []string `yaml:"content_types"`
	// RateLimit caps the requests this source is taken at; above it the
	// sender gets 429 with Retry-After and nothing is stored. Default
	// DefaultRatePerSecond, burst DefaultRateBurst.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Models maps event type patterns (NATS style: "*" one word, ">" the
	// rest) to ModelUser, ModelContact or ModelNone. The most specific
	// pattern wins. Nil means DefaultModels.
	Models map[string]string `yaml:"models"`
}

// RateLimit is a token bucket: PerSecond requests a second on average,
// Burst at once.
type RateLimit struct {
	// PerSecond is the sustained rate. Default DefaultRatePerSecond.
	PerSecond float64 `yaml:"per_second"`
	// Burst is how many requests may come at once. Default
	// DefaultRateBurst, or twice PerSecond when only that is set.
	Burst int `yaml:"burst"`
}

// OutboundConfig configures deliveries.
type OutboundConfig struct {
	// SecretRef holds the "whsec_<base64>" secret that signs every
	// delivery (Standard Webhooks). Without one the adapter still receives
	// webhooks, but every delivery fails permanently (ErrNoSigningSecret):
	// nothing is ever sent unsigned.
	SecretRef `yaml:",inline"`
	// Allow lists the internal targets deliveries may reach on purpose:
	// CIDRs ("10.1.2.0/24"), addresses ("10.1.2.3") or host:port
	// ("receiver.internal:8443"). Every other loopback, private,
	// link-local, CGNAT, multicast, reserved or cloud metadata address is
	// refused when connecting, after DNS (see package egress), and such a
	// delivery fails permanently. Default: none (closed). The hub's own
	// listeners are refused whatever Allow says.
	Allow []string `yaml:"allow"`
	// AllowPrivate is deprecated and only accepted as false (the default
	// now): true is a config error saying to list targets in Allow.
	AllowPrivate *bool `yaml:"allow_private"`
	// Timeout bounds one HTTP attempt. Default 30s; the route's attempt
	// timeout applies too, whichever is shorter.
	Timeout time.Duration `yaml:"timeout"`
	// Credentials are the credentials targets name with `auth: <name>`
	// (see Credential); their secrets are read at start.
	Credentials map[string]Credential `yaml:"credentials"`
}

// SecretRef names where a secret comes from: exactly one of Secret,
// SecretEnv (an environment variable's name) or SecretFile (a path whose
// contents, trimmed of surrounding white space, are the secret).
type SecretRef struct {
	Secret     Secret `yaml:"secret"`
	SecretEnv  string `yaml:"secret_env"`
	SecretFile string `yaml:"secret_file"`
}

// Secret is a secret string that never prints: fmt, slog and text
// marshalling show "REDACTED".
type Secret string

// String returns "REDACTED" unless the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// LogValue keeps the secret out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps the secret out of JSON and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// count returns how many of the three ways to give a secret are set.
func (r SecretRef) count() int {
	n := 0
	for _, v := range []string{string(r.Secret), r.SecretEnv, r.SecretFile} {
		if v != "" {
			n++
		}
	}
	return n
}

// validate checks that exactly one way to find the secret is given.
func (r SecretRef) validate(where string) error {
	switch r.count() {
	case 0:
		return fmt.Errorf("%s: set one of secret, secret_env (an environment variable name) or secret_file", where)
	case 1:
		return nil
	default:
		return fmt.Errorf("%s: set only one of secret, secret_env and secret_file", where)
	}
}

// Resolve returns the secret from wherever r says it is.
func (r SecretRef) Resolve() (string, error) {
	switch {
	case r.Secret != "":
		return string(r.Secret), nil
	case r.SecretEnv != "", r.SecretFile != "":
		return apphook.SecretRef{SecretEnv: r.SecretEnv, SecretFile: r.SecretFile}.Resolve()
	}
	return "", errors.New("no secret, secret_env or secret_file set")
}

// Validate reports every problem in c, each saying what to fix. It does
// not read secrets; New does.
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		where := fmt.Sprintf("sources[%d]", i)
		if s.Name != "" {
			where = fmt.Sprintf("sources[%d] (%s)", i, s.Name)
		}
		if err := s.validate(where); err != nil {
			errs = append(errs, err)
		}
		if s.Name != "" {
			if seen[s.Name] {
				errs = append(errs, fmt.Errorf("%s: name %q is used twice; give each source its own name", where, s.Name))
			}
			seen[s.Name] = true
		}
	}
	// No outbound secret is allowed, so that a hub that only receives
	// webhooks needs none; deliveries then fail with ErrNoSigningSecret.
	if c.Outbound.SecretRef.count() > 1 {
		errs = append(errs, errors.New("outbound: set only one of secret, secret_env and secret_file"))
	}
	if c.Outbound.AllowPrivate != nil && *c.Outbound.AllowPrivate {
		errs = append(errs, errors.New(`outbound: allow_private was removed (deliveries to internal addresses are now refused by default): list the internal targets deliveries may reach in outbound.allow, e.g. allow: ["10.1.2.0/24", "receiver.internal:8443"], or ["127.0.0.1/32"] for receivers on this machine`))
	}
	if err := validateCredentials(c.Outbound.Credentials); err != nil {
		errs = append(errs, err)
	}
	if err := egress.ValidateAllow("outbound.allow", c.Outbound.Allow); err != nil {
		errs = append(errs, err)
	}
	if c.Outbound.Timeout < 0 {
		errs = append(errs, fmt.Errorf("outbound: timeout %s must be positive, e.g. 30s", c.Outbound.Timeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

func (s *SourceConfig) validate(where string) error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, fmt.Errorf("%s: name is required (it is the URL path /webhooks/<name> and the event source)", where))
	} else if err := topology.ValidToken(s.Name); err != nil {
		errs = append(errs, fmt.Errorf("%s: name: %w", where, err))
	}
	switch s.Scheme {
	case SchemeStandardWebhooks:
		for _, f := range []struct{ name, value string }{{"signature_header", s.SignatureHeader}, {"timestamp_header", s.TimestampHeader}, {"id_header", s.IDHeader}, {"id_field", s.IDField}} {
			if f.value != "" {
				errs = append(errs, fmt.Errorf("%s: %s applies to scheme hmac-sha256 only; standard-webhooks signs with the webhook-* headers and its webhook-id is the event id", where, f.name))
			}
		}
	case SchemeHMACSHA256:
	case "":
		errs = append(errs, fmt.Errorf("%s: scheme is required: %s or %s", where, SchemeStandardWebhooks, SchemeHMACSHA256))
	default:
		errs = append(errs, fmt.Errorf("%s: scheme %q is unknown: use %s or %s", where, s.Scheme, SchemeStandardWebhooks, SchemeHMACSHA256))
	}
	if err := s.SecretRef.validate(where); err != nil {
		errs = append(errs, err)
	}
	if s.Previous.count() > 1 {
		errs = append(errs, fmt.Errorf("%s: previous: set only one of secret, secret_env and secret_file", where))
	}
	if s.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("%s: tolerance %s must be positive, e.g. 5m", where, s.Tolerance))
	}
	if s.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("%s: max_body_bytes %d must be positive, e.g. 1048576", where, s.MaxBodyBytes))
	}
	for i, ct := range s.ContentTypes {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(mt, "/") {
			errs = append(errs, fmt.Errorf("%s: content_types[%d] %q must be a media type, e.g. application/json", where, i, ct))
		}
	}
	if s.RateLimit.PerSecond < 0 || s.RateLimit.Burst < 0 {
		errs = append(errs, fmt.Errorf("%s: rate_limit: per_second %v and burst %d must be positive, e.g. per_second: 200, burst: 400", where, s.RateLimit.PerSecond, s.RateLimit.Burst))
	}
	for _, f := range []struct{ name, value string }{{"id_field", s.IDField}, {"type_field", s.TypeField}, {"time_field", s.TimeField}} {
		if f.value != "" && !validPath(f.value) {
			errs = append(errs, fmt.Errorf("%s: %s %q must be a dot path of JSON object keys, e.g. data.id", where, f.name, f.value))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(s.Models)) {
		if !validPattern(p) {
			errs = append(errs, fmt.Errorf("%s: models: pattern %q must be dot-separated words, '*' for one word or a final '>' for the rest, e.g. \"user.*\"", where, p))
		}
		switch m := s.Models[p]; m {
		case ModelUser, ModelContact, ModelNone:
		default:
			errs = append(errs, fmt.Errorf("%s: models[%q]: model %q is unknown: use %s, %s or %s", where, p, m, ModelUser, ModelContact, ModelNone))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns s with empty fields set to their defaults.
func (s SourceConfig) withDefaults() SourceConfig {
	if s.Scheme == SchemeHMACSHA256 && s.SignatureHeader == "" {
		s.SignatureHeader = DefaultSignatureHeader
	}
	if s.Tolerance == 0 {
		s.Tolerance = DefaultTolerance
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.Models == nil {
		s.Models = DefaultModels
	}
	if len(s.ContentTypes) == 0 {
		s.ContentTypes = DefaultContentTypes
	}
	switch {
	case s.RateLimit.PerSecond == 0 && s.RateLimit.Burst == 0:
		s.RateLimit = RateLimit{PerSecond: DefaultRatePerSecond, Burst: DefaultRateBurst}
	case s.RateLimit.PerSecond == 0:
		s.RateLimit.PerSecond = DefaultRatePerSecond
	case s.RateLimit.Burst == 0:
		s.RateLimit.Burst = max(1, int(2*s.RateLimit.PerSecond))
	}
	return s
}

// validateURL checks a delivery target URL.
func validateURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New(`target config "url" is required: the absolute http or https URL to POST to`)
	}
	// The URL itself stays out of the messages: it may hold a token.
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("target config url cannot be parsed: give an absolute http:// or https:// URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target config url (scheme %q, host %q) must be an absolute http:// or https:// URL", u.Scheme, u.Host)
	}
	return u, nil
}

func validPath(p string) bool {
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return false
		}
	}
	return true
}
