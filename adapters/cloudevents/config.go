package cloudevents

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Signature schemes a CloudEvents sender can sign with.
const (
	// SchemeStandardWebhooks: webhook-id, webhook-timestamp and
	// webhook-signature (or Svix's svix-* names) over the body, with a
	// "whsec_" secret.
	SchemeStandardWebhooks = "standard-webhooks"
	// SchemeHMAC: an HMAC-SHA256 of the body (or of "<timestamp>.<body>"
	// with TimestampHeader) in one header, hex or base64, with an
	// optional prefix such as "sha256=".
	SchemeHMAC = "hmac"
	// SchemeNone: no signature. Only for senders on a network where
	// nobody else can reach the adapter; it must be chosen explicitly.
	SchemeNone = "none"
)

// Defaults for fields left empty.
const (
	DefaultHeader       = "X-Signature"
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxBatch     = 100
	DefaultSecretEnv    = "CLOUDEVENTS_WEBHOOK_SECRET"
)

// Config is the `adapter:` section of the adapter's configuration file
// (and the `config:` of a `sources:` entry with app: cloudevents in
// `junction serve`). Secrets come from the environment or a file, never
// from the file itself.
type Config struct {
	// Signature is how senders sign their requests. Required: choose
	// scheme none explicitly to take unsigned requests.
	Signature Signature `yaml:"signature"`
	// Sources, when set, lists the CloudEvents sources accepted: an exact
	// source, or a prefix ending in "*" ("https://shop.example.com/*").
	// An event of another source is refused (400). Empty: any source.
	Sources []string `yaml:"sources"`
	// AllowedOrigins lists the senders whose CloudEvents webhook
	// validation handshake (an OPTIONS request with
	// WebHook-Request-Origin, as Azure Event Grid sends) is answered
	// with consent; "*" consents to any. Empty: OPTIONS is refused (405).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxBodyBytes is the largest request body taken. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatch is the most events a batch may hold. Default 100.
	MaxBatch int `yaml:"max_batch"`
}

// Signature configures how requests are verified.
type Signature struct {
	// Scheme is standard-webhooks, hmac or none.
	Scheme string `yaml:"scheme"`
	// SecretEnv names the environment variable holding the secret
	// (whsec_... for standard-webhooks). Default
	// CLOUDEVENTS_WEBHOOK_SECRET unless SecretFile is set.
	SecretEnv string `yaml:"secret_env"`
	// SecretFile is a file holding the secret (trimmed), instead of
	// SecretEnv.
	SecretFile string `yaml:"secret_file"`
	// PreviousSecretEnv or PreviousSecretFile, while the secret is
	// rotated, hold the old one: requests signed with either pass.
	PreviousSecretEnv  string `yaml:"previous_secret_env"`
	PreviousSecretFile string `yaml:"previous_secret_file"`
	// Header carries the signature (hmac only). Default X-Signature.
	Header string `yaml:"header"`
	// Encoding of the signature (hmac only): hex (default) or base64.
	Encoding string `yaml:"encoding"`
	// Prefix the signature starts with (hmac only), e.g. "sha256=".
	Prefix string `yaml:"prefix"`
	// TimestampHeader (hmac only, optional) carries the Unix seconds the
	// request was signed at; the signed content is then
	// "<timestamp>.<body>" and Tolerance applies.
	TimestampHeader string `yaml:"timestamp_header"`
	// Tolerance is how far a signed timestamp may be from now, either
	// way. Default 5m.
	Tolerance time.Duration `yaml:"tolerance"`
}

// Validate says what is wrong with c. It does not read secrets; New does.
func (c *Config) Validate() error {
	var errs []error
	s := c.Signature
	hmacOnly := []struct{ name, value string }{
		{"header", s.Header}, {"encoding", s.Encoding}, {"prefix", s.Prefix}, {"timestamp_header", s.TimestampHeader},
	}
	switch s.Scheme {
	case SchemeStandardWebhooks, SchemeNone:
		for _, f := range hmacOnly {
			if f.value != "" {
				errs = append(errs, fmt.Errorf("adapter.signature.%s applies to scheme hmac only", f.name))
			}
		}
	case SchemeHMAC:
		if s.Encoding != "" && s.Encoding != "hex" && s.Encoding != "base64" {
			errs = append(errs, fmt.Errorf("adapter.signature.encoding %q is unknown: use hex or base64", s.Encoding))
		}
	case "":
		errs = append(errs, fmt.Errorf("adapter.signature.scheme is required: %s, %s, or %s to take unsigned requests", SchemeStandardWebhooks, SchemeHMAC, SchemeNone))
	default:
		errs = append(errs, fmt.Errorf("adapter.signature.scheme %q is unknown: use %s, %s or %s", s.Scheme, SchemeStandardWebhooks, SchemeHMAC, SchemeNone))
	}
	if s.Scheme == SchemeNone {
		for _, f := range []struct{ name, value string }{{"secret_env", s.SecretEnv}, {"secret_file", s.SecretFile}, {"previous_secret_env", s.PreviousSecretEnv}, {"previous_secret_file", s.PreviousSecretFile}} {
			if f.value != "" {
				errs = append(errs, fmt.Errorf("adapter.signature.%s is set but scheme is none: choose a scheme that uses the secret, or remove it", f.name))
			}
		}
	}
	if s.SecretEnv != "" && s.SecretFile != "" {
		errs = append(errs, errors.New("adapter.signature: set only one of secret_env and secret_file"))
	}
	if s.PreviousSecretEnv != "" && s.PreviousSecretFile != "" {
		errs = append(errs, errors.New("adapter.signature: set only one of previous_secret_env and previous_secret_file"))
	}
	if s.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("adapter.signature.tolerance %s must be positive, e.g. 5m", s.Tolerance))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("adapter.max_body_bytes %d must be positive, e.g. 1048576", c.MaxBodyBytes))
	}
	if c.MaxBatch < 0 {
		errs = append(errs, fmt.Errorf("adapter.max_batch %d must be positive, e.g. 100", c.MaxBatch))
	}
	for i, o := range c.AllowedOrigins {
		if strings.TrimSpace(o) == "" || strings.ContainsAny(o, " ,") {
			errs = append(errs, fmt.Errorf("adapter.allowed_origins[%d] %q must be one host name, e.g. eventgrid.azure.net, or *", i, o))
		}
	}
	for i, src := range c.Sources {
		if strings.TrimSpace(src) == "" || strings.Contains(strings.TrimSuffix(src, "*"), "*") {
			errs = append(errs, fmt.Errorf("adapter.sources[%d] %q must be a CloudEvents source, or a prefix ending in one '*'", i, src))
		}
	}
	return errors.Join(errs...)
}

// secrets reads the current secret and, while rotating, the previous one.
func (s Signature) secrets() ([]string, error) {
	env, file := s.SecretEnv, s.SecretFile
	if env == "" && file == "" {
		env = DefaultSecretEnv
	}
	cur, err := readSecret("secret", env, file)
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if s.PreviousSecretEnv != "" || s.PreviousSecretFile != "" {
		old, err := readSecret("previous secret", s.PreviousSecretEnv, s.PreviousSecretFile)
		if err != nil {
			return nil, err
		}
		out = append(out, old)
	}
	return out, nil
}

func readSecret(what, env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the %s file: %w", what, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("the %s file %s is empty", what, file)
		}
		return v, nil
	}
	v := strings.TrimSpace(os.Getenv(env))
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set or empty: set it to the %s senders sign with", env, what)
	}
	return v, nil
}

// verifier builds the signature check; nil for scheme none.
func (s Signature) verifier() (verify.Verifier, error) {
	if s.Scheme == SchemeNone {
		return nil, nil
	}
	secrets, err := s.secrets()
	if err != nil {
		return nil, err
	}
	if s.Scheme == SchemeStandardWebhooks {
		v, err := verify.NewStandardWebhooks(secrets...)
		if err != nil {
			return nil, err
		}
		v.Tolerance = s.Tolerance
		return v, nil
	}
	v := &verify.HMAC{
		Header:    s.Header,
		Secrets:   secrets,
		Prefix:    s.Prefix,
		Tolerance: s.Tolerance,
	}
	if v.Header == "" {
		v.Header = DefaultHeader
	}
	if s.Encoding == "base64" {
		v.Encoding = verify.Base64
	}
	if s.TimestampHeader != "" {
		v.TimestampHeader = s.TimestampHeader
		v.Signed = []verify.Part{verify.Timestamp, verify.Literal("."), verify.Body}
		v.SignedAs = `"<` + s.TimestampHeader + `>.<body>"`
	}
	return v, nil
}
