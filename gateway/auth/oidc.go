package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// DefaultScopesClaim is the claim scopes are read from when none is
// configured (RFC 9068 and RFC 8693 use "scope", a space-separated string).
const DefaultScopesClaim = "scope"

// ErrInvalidToken is returned for a bearer token that is not a valid JWT of
// the configured issuer and audience.
var ErrInvalidToken = errors.New("invalid bearer token")

// OIDCConfig configures JWT bearer tokens from an OpenID Connect issuer.
type OIDCConfig struct {
	// Issuer is the issuer URL; its /.well-known/openid-configuration names
	// the JWKS. Tokens must carry exactly this "iss".
	Issuer string `yaml:"issuer"`
	// Audience must be one of the token's "aud" values. Required.
	Audience string `yaml:"audience"`
	// ScopesClaim names the claim holding the scopes: a space-separated
	// string or an array of strings. Default "scope".
	ScopesClaim string `yaml:"scopes_claim"`
}

// Validate says what is missing.
func (c OIDCConfig) Validate() error {
	if c.Issuer == "" {
		return nil
	}
	if !strings.HasPrefix(c.Issuer, "https://") && !strings.HasPrefix(c.Issuer, "http://") {
		return fmt.Errorf("auth.oidc.issuer: %q must be an http(s) URL", c.Issuer)
	}
	if c.Audience == "" {
		return errors.New("auth.oidc.audience: required with an issuer: the audience (client id or API identifier) tokens must be issued for")
	}
	return nil
}

// OIDC validates JWT bearer tokens against an issuer's JWKS. Discovery
// happens on the first token, and again after a failed attempt, so the hub
// starts while the issuer is down. Keys are fetched by go-oidc and
// refreshed when a token names an unknown key id.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

// Claims is what a validated token says about its caller.
type Claims struct {
	Subject string
	Scopes  []string
	Expiry  time.Time
}

// NewOIDC returns a validator for cfg. client may be nil (http.DefaultClient).
func NewOIDC(cfg OIDCConfig, client *http.Client) (*OIDC, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Issuer == "" {
		return nil, errors.New("auth.oidc.issuer: required")
	}
	if cfg.ScopesClaim == "" {
		cfg.ScopesClaim = DefaultScopesClaim
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &OIDC{cfg: cfg, client: client, now: time.Now}, nil
}

func (o *OIDC) verifierFor(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	// The key set outlives this request: its fetches use a context
	// without the request's cancellation.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), o.client)
	p, err := oidc.NewProvider(pctx, o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery at %s: %w", o.cfg.Issuer, err)
	}
	o.verifier = p.VerifierContext(pctx, &oidc.Config{ClientID: o.cfg.Audience, Now: o.now})
	return o.verifier, nil
}

// Verify checks the token's signature against the issuer's JWKS, its
// issuer, audience and expiry, and reads its subject and scopes.
func (o *OIDC) Verify(ctx context.Context, raw string) (Claims, error) {
	v, err := o.verifierFor(ctx)
	if err != nil {
		return Claims{}, err
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if tok.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}
	scopes, err := scopesOf(all[o.cfg.ScopesClaim])
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claim %q: %w", ErrInvalidToken, o.cfg.ScopesClaim, err)
	}
	return Claims{Subject: tok.Subject, Scopes: scopes, Expiry: tok.Expiry}, nil
}

// scopesOf reads a scopes claim: a space-separated string, an array of
// strings, or absent (no scopes).
func scopesOf(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return strings.Fields(v), nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("array holds a %T, want strings", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("is a %T, want a space-separated string or an array of strings", v)
}

// LooksLikeJWT reports whether s has the compact JWS form: three non-empty
// base64url parts separated by dots. It decides nothing about validity.
func LooksLikeJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.TrimLeft(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}
