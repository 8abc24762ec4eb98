// Package auth authenticates callers of the gateway and keeps its API keys.
//
// An API key is written "jnk_<id>_<secret>": the prefix makes a leaked key
// easy to recognise (secret scanners, logs), the id names the stored record
// so a key is looked up, not searched for, and the secret is 32 random
// bytes in unpadded base64url (43 characters). The hub stores, per key, a
// random 16-byte salt and HMAC-SHA256(salt, secret), and compares in
// constant time.
//
// Why a keyed hash and not a slow KDF such as argon2id: a slow KDF protects
// low-entropy secrets (passwords) from offline guessing. These secrets are
// 256 random bits, which no amount of hashing speed makes guessable, while
// argon2id would cost milliseconds of CPU and megabytes of memory on every
// API call. The per-key salt makes equal secrets hash differently and rules
// out precomputed tables; the hash alone, read from the bucket, gives no way
// to call the API.
//
// Besides keys, the package validates OIDC/JWT bearer tokens against an
// issuer's JWKS (OIDC), keeps per-caller token buckets (Limiter), and maps
// scopes (Scopes, Has).
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// KeyPrefix starts every API key.
const KeyPrefix = "jnk_"

// Sizes of the parts of a key.
const (
	secretBytes = 32
	// secretLen is the length of the secret in unpadded base64url.
	secretLen = 43
	saltBytes = 16
	// idRandomLen is how many base32 characters follow "k" in a key id.
	idRandomLen = 16
)

// ErrMalformedKey is returned by ParseAPIKey for a string that is not an
// API key of this hub.
var ErrMalformedKey = errors.New("malformed API key")

var idRe = regexp.MustCompile(`^k[a-z2-7]{16}$`)

// APIKey is a parsed API key.
type APIKey struct {
	// ID names the key's record, e.g. "kabc...".
	ID string
	// Secret is the random part, still encoded.
	Secret string
}

// String returns the key as "jnk_<id>_<secret>". Print it only to its owner.
func (k APIKey) String() string {
	return KeyPrefix + k.ID + "_" + k.Secret
}

// ValidKeyID reports whether id has the form of a key id.
func ValidKeyID(id string) bool { return idRe.MatchString(id) }

// ParseAPIKey splits s, "jnk_<id>_<secret>", into its id and secret. It
// checks the form only; the store checks the secret. The error never holds
// the secret.
func ParseAPIKey(s string) (APIKey, error) {
	rest, ok := strings.CutPrefix(s, KeyPrefix)
	if !ok {
		return APIKey{}, fmt.Errorf("%w: it must start with %q", ErrMalformedKey, KeyPrefix)
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok {
		return APIKey{}, fmt.Errorf("%w: want %s<id>_<secret>", ErrMalformedKey, KeyPrefix)
	}
	if !ValidKeyID(id) {
		return APIKey{}, fmt.Errorf("%w: the key id must be \"k\" and 16 characters of a-z and 2-7", ErrMalformedKey)
	}
	if len(secret) != secretLen {
		return APIKey{}, fmt.Errorf("%w: key %s: the secret must be %d characters", ErrMalformedKey, id, secretLen)
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil {
		return APIKey{}, fmt.Errorf("%w: key %s: the secret is not base64url", ErrMalformedKey, id)
	}
	return APIKey{ID: id, Secret: secret}, nil
}

// IDOf returns the key id of s when s has the form of an API key, for
// logging a failed attempt; it never returns any part of the secret.
func IDOf(s string) string {
	rest, ok := strings.CutPrefix(s, KeyPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "_")
	if !ValidKeyID(id) {
		return ""
	}
	return id
}

// newKeyID returns a random key id.
func newKeyID() (string, error) {
	b := make([]byte, 10) // 80 bits: 16 base32 characters
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random key id: %w", err)
	}
	return "k" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:idRandomLen], nil
}

// newSecret returns a new key secret and a fresh salt.
func newSecret() (secret string, salt []byte, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random key secret: %w", err)
	}
	salt = make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", nil, fmt.Errorf("random salt: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), salt, nil
}

// hashSecret is the stored form of a secret: HMAC-SHA256 keyed by salt.
func hashSecret(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// secretMatches compares secret with a stored hash in constant time.
func secretMatches(salt, hash []byte, secret string) bool {
	return subtle.ConstantTimeCompare(hashSecret(salt, secret), hash) == 1
}
