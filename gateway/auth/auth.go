package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoCredentials is returned when a call carries no key or token.
var ErrNoCredentials = errors.New("no credentials")

// ErrMalformedHeader is returned by ParseBearer for an authorization header
// that is not "Bearer <token>".
var ErrMalformedHeader = errors.New("malformed authorization header")

// maxTokenLen bounds what is parsed or sent to a verifier.
const maxTokenLen = 8192

// ParseBearer returns the token of an authorization header value,
// "Bearer <token>" (the scheme is case-insensitive, RFC 9110). An empty
// value is ErrNoCredentials. The error never holds the token.
func ParseBearer(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", ErrNoCredentials
	}
	if len(header) > maxTokenLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrMalformedHeader, maxTokenLen)
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", fmt.Errorf("%w: want \"Bearer <key>\"", ErrMalformedHeader)
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("%w: want \"Bearer <key>\" with one token", ErrMalformedHeader)
	}
	return token, nil
}

// Principal is an authenticated caller.
type Principal struct {
	// Kind is "key" or "oidc".
	Kind string
	// ID is the key id or the token's subject.
	ID string
	// Scopes the caller holds.
	Scopes []string
}

// String names the caller for messages: "key kabc..." or "token subject x".
func (p Principal) String() string {
	if p.Kind == "oidc" {
		return "token subject " + p.ID
	}
	return "key " + p.ID
}

// RateKey is the caller's rate-limit bucket name.
func (p Principal) RateKey() string { return p.Kind + ":" + p.ID }

// Authenticator checks API keys (always) and OIDC tokens (when configured).
type Authenticator struct {
	keys *Store
	oidc *OIDC
}

// NewAuthenticator returns an authenticator over keys and, when not nil,
// OIDC tokens.
func NewAuthenticator(keys *Store, o *OIDC) *Authenticator {
	return &Authenticator{keys: keys, oidc: o}
}

// Keys returns the key store.
func (a *Authenticator) Keys() *Store { return a.keys }

// Authenticate checks a bearer token: an API key ("jnk_...") against the
// store, anything else as a JWT when OIDC is configured.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	if strings.HasPrefix(token, KeyPrefix) {
		k, err := ParseAPIKey(token)
		if err != nil {
			return Principal{}, err
		}
		r, err := a.keys.Verify(ctx, k)
		if err != nil {
			return Principal{}, err
		}
		a.keys.Touch(ctx, r)
		return Principal{Kind: "key", ID: r.ID, Scopes: r.Scopes}, nil
	}
	if a.oidc != nil && LooksLikeJWT(token) {
		c, err := a.oidc.Verify(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		return Principal{Kind: "oidc", ID: c.Subject, Scopes: c.Scopes}, nil
	}
	if a.oidc == nil && LooksLikeJWT(token) {
		return Principal{}, fmt.Errorf("%w: this hub takes no JWTs (auth.oidc is not configured); send an API key (%s...)", ErrInvalidToken, KeyPrefix)
	}
	return Principal{}, fmt.Errorf("%w: it must start with %q", ErrMalformedKey, KeyPrefix)
}
