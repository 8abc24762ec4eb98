package auth

import (
	"errors"
	"strings"
	"testing"
)

const sampleKey = "jnk_kabcdefghijklmnop_0123456789abcdefghijklmnopqrstuvwxyzABCDEFE"

func TestParseAPIKey(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"valid", sampleKey, true},
		{"secret with _ and -", "jnk_kabcdefghijklmnop_0123456789_bcdefghijklmnopqrstuvwxyz-BCDEFE", true},
		{"empty", "", false},
		{"no prefix", strings.TrimPrefix(sampleKey, KeyPrefix), false},
		{"other prefix", "jnx_" + strings.TrimPrefix(sampleKey, KeyPrefix), false},
		{"no secret", "jnk_kabcdefghijklmnop", false},
		{"short secret", sampleKey[:len(sampleKey)-1], false},
		{"long secret", sampleKey + "A", false},
		{"bad id character", "jnk_kabcdefghijklmn1_0123456789abcdefghijklmnopqrstuvwxyzABCDEFE", false},
		{"upper-case id", "jnk_KABCDEFGHIJKLMNOP_0123456789abcdefghijklmnopqrstuvwxyzABCDEFE", false},
		{"secret not base64url", "jnk_kabcdefghijklmnop_0123456789abcdefghijklmnopqrstuvwxyzABCDE+", false},
		{"trailing newline", sampleKey + "\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseAPIKey(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseAPIKey(%q): got %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && k.String() != tc.in {
				t.Errorf("round trip: got %q, want %q", k.String(), tc.in)
			}
			if !tc.ok && !errors.Is(err, ErrMalformedKey) {
				t.Errorf("got %v, want ErrMalformedKey", err)
			}
		})
	}
}

func TestParseBearer(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"bearer", "Bearer abc", "abc", nil},
		{"lower-case scheme", "bearer abc", "abc", nil},
		{"spaces around", "  Bearer   abc  ", "abc", nil},
		{"empty", "", "", ErrNoCredentials},
		{"basic", "Basic dXNlcjpwYXNz", "", ErrMalformedHeader},
		{"no token", "Bearer", "", ErrMalformedHeader},
		{"two tokens", "Bearer a b", "", ErrMalformedHeader},
		{"too long", "Bearer " + strings.Repeat("a", maxTokenLen), "", ErrMalformedHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBearer(tc.in)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) || got != tc.want {
				t.Fatalf("ParseBearer(%q): got %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// apiKeyErrors are every error text of ParseAPIKey, with the key id (the
// only part of the input an error may hold) written <id>.
var apiKeyErrors = map[string]bool{
	`malformed API key: it must start with "jnk_"`:                               true,
	`malformed API key: want jnk_<id>_<secret>`:                                  true,
	`malformed API key: the key id must be "k" and 16 characters of a-z and 2-7`: true,
	`malformed API key: key <id>: the secret must be 43 characters`:              true,
	`malformed API key: key <id>: the secret is not base64url`:                   true,
}

// FuzzParseAPIKey checks that any string either parses into a key that
// prints back as the same string, or fails with ErrMalformedKey and one of
// the fixed messages, which hold no part of the input but a valid key id.
func FuzzParseAPIKey(f *testing.F) {
	f.Add(sampleKey)
	f.Add("jnk_")
	f.Add("jnk_k_")
	f.Add("Bearer " + sampleKey)
	f.Add("jnk_kabcdefghijklmnop_characters")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseAPIKey(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedKey) {
				t.Fatalf("ParseAPIKey(%q): error %v is not ErrMalformedKey", s, err)
			}
			msg := err.Error()
			if id := IDOf(s); id != "" {
				msg = strings.Replace(msg, id, "<id>", 1)
			}
			if !apiKeyErrors[msg] {
				t.Fatalf("ParseAPIKey(%q): error %q is not one of the fixed messages", s, err)
			}
			return
		}
		if k.String() != s {
			t.Fatalf("ParseAPIKey(%q) round trip: got %q", s, k.String())
		}
		if IDOf(s) != k.ID {
			t.Fatalf("IDOf(%q): got %q, want %q", s, IDOf(s), k.ID)
		}
	})
}

// bearerErrors are every error text of ParseBearer: fixed, so none can
// hold the token.
var bearerErrors = map[string]bool{
	"no credentials": true,
	"malformed authorization header: longer than 8192 bytes":             true,
	`malformed authorization header: want "Bearer <key>"`:                true,
	`malformed authorization header: want "Bearer <key>" with one token`: true,
}

// FuzzParseBearer checks that a parsed token is non-empty, has no white
// space and appears in the header, and that every error is one of the
// fixed messages.
func FuzzParseBearer(f *testing.F) {
	f.Add("Bearer " + sampleKey)
	f.Add("bearer x.y.z")
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Bearer")
	f.Add("Bearer \t a")
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := ParseBearer(h)
		if err != nil {
			if tok != "" || !bearerErrors[err.Error()] {
				t.Fatalf("ParseBearer(%q): got token %q and error %q, want no token and a fixed message", h, tok, err)
			}
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") || !strings.Contains(h, tok) {
			t.Fatalf("ParseBearer(%q): got token %q", h, tok)
		}
		// Classifying the token never panics.
		_ = LooksLikeJWT(tok)
		_ = IDOf(tok)
	})
}
