package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Encoding is how a signature is written in its header.
type Encoding int

// Encodings.
const (
	// Hex is lowercase or uppercase hexadecimal (GitHub, Stripe, Slack).
	Hex Encoding = iota
	// Base64 is standard base64 with padding (Shopify, HubSpot).
	Base64
)

// String returns "hex" or "base64".
func (e Encoding) String() string {
	if e == Base64 {
		return "base64"
	}
	return "hex"
}

func (e Encoding) decode(s string) ([]byte, error) {
	if e == Base64 {
		return base64.StdEncoding.DecodeString(s)
	}
	return hex.DecodeString(s)
}

// Message is what a [Part] reads to build the signed content.
type Message struct {
	// Request is the request being verified (its Body is not read).
	Request *http.Request
	// Body is the request body as received.
	Body []byte
	// Timestamp is the raw timestamp from the signature or timestamp
	// header, "" when the scheme has none.
	Timestamp string
}

// Part appends one piece of the signed content to dst.
type Part func(dst []byte, m *Message) []byte

// Parts of the signed content.
var (
	// Body is the request body.
	Body Part = func(dst []byte, m *Message) []byte { return append(dst, m.Body...) }
	// Timestamp is the raw timestamp as sent.
	Timestamp Part = func(dst []byte, m *Message) []byte { return append(dst, m.Timestamp...) }
	// Method is the request method, e.g. POST.
	Method Part = func(dst []byte, m *Message) []byte { return append(dst, m.Request.Method...) }
	// URL is the URL the sender posted to: scheme (https when the request
	// came over TLS), host and request URI. Behind a proxy that ends TLS,
	// use [PublicURL].
	URL Part = func(dst []byte, m *Message) []byte {
		r := m.Request
		if r.URL.IsAbs() {
			return append(dst, r.URL.String()...)
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return append(append(append(dst, scheme+"://"...), r.Host...), r.URL.RequestURI()...)
	}
)

// Literal is a fixed string, e.g. "." or "v0:".
func Literal(s string) Part {
	return func(dst []byte, _ *Message) []byte { return append(dst, s...) }
}

// HeaderValue is the value of request header name ("" if absent).
func HeaderValue(name string) Part {
	return func(dst []byte, m *Message) []byte { return append(dst, m.Request.Header.Get(name)...) }
}

// PublicURL is base (the public scheme and host the provider posts to,
// e.g. "https://hooks.example.com") followed by the request URI: the URL
// the provider signed when a proxy in front of the adapter ends TLS or
// rewrites the host.
func PublicURL(base string) Part {
	base = strings.TrimSuffix(base, "/")
	return func(dst []byte, m *Message) []byte {
		return append(append(dst, base...), m.Request.URL.RequestURI()...)
	}
}

// HeaderParser splits a signature header value into the timestamp it
// carries ("" if none) and its signatures, still encoded. It returns an
// error (an [*Error] of class ErrMalformedHeader) when the value cannot
// be read.
type HeaderParser func(value string) (timestamp string, signatures []string, err error)

// Fields returns a parser for headers of comma-separated key=value pairs
// such as Stripe's "t=1700000000,v1=5257a8...,v1=...,v0=...": the value of
// tsKey is the timestamp and every value of sigKey a signature; other keys
// are ignored.
func Fields(tsKey, sigKey string) HeaderParser {
	return func(value string) (string, []string, error) {
		var ts string
		var sigs []string
		for _, item := range strings.Split(value, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				continue
			}
			switch k {
			case tsKey:
				if ts != "" {
					return "", nil, fail(ErrMalformedHeader, "signature header holds "+tsKey+"= twice: send one timestamp")
				}
				ts = v
			case sigKey:
				sigs = append(sigs, v)
			}
		}
		if tsKey != "" && ts == "" {
			return "", nil, fail(ErrMalformedHeader, "signature header has no "+tsKey+"=<timestamp>: send \""+tsKey+"=<unix seconds>,"+sigKey+"=<signature>\"")
		}
		if len(sigs) == 0 {
			return "", nil, fail(ErrMalformedHeader, "signature header has no "+sigKey+"=<signature>: send \""+tsKey+"=<unix seconds>,"+sigKey+"=<signature>\"")
		}
		return ts, sigs, nil
	}
}

// HMAC verifies a keyed hash of parts of the request carried in one
// header. Set Header and Secrets; the zero value of every other field is
// the common case: SHA-256 of the body, hex, no prefix, no timestamp.
type HMAC struct {
	// Header carries the signature, e.g. "X-Hub-Signature-256".
	Header string
	// Secrets are the keys, as the provider shows them (the bytes of the
	// string are the key). Any one matching passes: list the old and the
	// new one while rotating.
	Secrets []string
	// Hash is the hash function; nil means SHA-256.
	Hash func() hash.Hash
	// Encoding of the signature: Hex (default) or Base64.
	Encoding Encoding
	// Prefix the signature starts with, e.g. "sha256=" or "v0=";
	// required when set.
	Prefix string
	// Parse splits a header carrying a timestamp and several signatures
	// (e.g. [Fields]("t", "v1") for Stripe). Nil means the whole value
	// (after Prefix) is one signature.
	Parse HeaderParser
	// TimestampHeader carries the signing time when the signature header
	// does not, e.g. "X-Slack-Request-Timestamp".
	TimestampHeader string
	// TimestampMillis says the timestamp is in Unix milliseconds
	// (HubSpot); else it is Unix seconds.
	TimestampMillis bool
	// Signed lists the parts of the signed content, concatenated; nil
	// means the body alone.
	Signed []Part
	// SignedAs describes Signed in error messages, e.g.
	// "<timestamp>.<body>"; default "the body" or "the signed content".
	SignedAs string
	// Tolerance is how far the timestamp may be from now, either way,
	// when there is one; zero means DefaultTolerance.
	Tolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verify checks r's signature against body.
func (v *HMAC) Verify(r *http.Request, body []byte) error {
	if v.Header == "" || len(v.Secrets) == 0 {
		return errors.New("verify: HMAC verifier needs a Header and at least one secret")
	}
	raw := strings.TrimSpace(r.Header.Get(v.Header))
	if raw == "" {
		return fail(ErrMissingHeader, "header "+v.Header+" is missing: send the "+v.describe())
	}
	var ts string
	var encoded []string
	if v.Parse != nil {
		var err error
		if ts, encoded, err = v.Parse(raw); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return fail(e.Kind, "header "+v.Header+": "+e.Message)
			}
			return fail(ErrMalformedHeader, "header "+v.Header+": "+err.Error())
		}
	} else {
		encoded = []string{raw}
	}
	tsHeader := v.Header
	if v.TimestampHeader != "" {
		tsHeader = v.TimestampHeader
		if ts = strings.TrimSpace(r.Header.Get(v.TimestampHeader)); ts == "" {
			return fail(ErrMissingHeader, "header "+v.TimestampHeader+" is missing: send the Unix time the request was signed at")
		}
	}
	var signed time.Time
	if ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			unit := "seconds"
			if v.TimestampMillis {
				unit = "milliseconds"
			}
			return fail(ErrMalformedHeader, fmt.Sprintf("header %s timestamp %q must be Unix %s", tsHeader, clip(ts), unit))
		}
		if v.TimestampMillis {
			signed = time.UnixMilli(n)
		} else {
			signed = time.Unix(n, 0)
		}
	}
	sigs := make([][]byte, 0, len(encoded))
	for _, s := range encoded {
		if v.Prefix != "" {
			rest, ok := strings.CutPrefix(s, v.Prefix)
			if !ok {
				continue
			}
			s = rest
		}
		if b, err := v.Encoding.decode(s); err == nil {
			sigs = append(sigs, b)
		}
	}
	if len(sigs) == 0 {
		return fail(ErrMalformedHeader, "header "+v.Header+" must be the "+v.describe())
	}
	msg := &Message{Request: r, Body: body, Timestamp: ts}
	content := v.content(msg)
	newHash := v.Hash
	if newHash == nil {
		newHash = sha256.New
	}
	matched := false
	for _, secret := range v.Secrets {
		m := hmac.New(newHash, []byte(secret))
		m.Write(content)
		want := m.Sum(nil)
		for _, s := range sigs {
			if hmac.Equal(s, want) {
				matched = true
			}
		}
	}
	if !matched {
		return fail(ErrBadSignature, "header "+v.Header+" does not match: send the "+v.describe()+" with this source's secret")
	}
	if ts != "" {
		return checkTime(signed, nowOr(v.Now), v.Tolerance, tsHeader)
	}
	return nil
}

// content builds the signed bytes.
func (v *HMAC) content(m *Message) []byte {
	if len(v.Signed) == 0 {
		return m.Body
	}
	b := make([]byte, 0, len(m.Body)+64)
	for _, p := range v.Signed {
		b = p(b, m)
	}
	return b
}

// describe says what the header must hold, for error messages.
func (v *HMAC) describe() string {
	s := v.Encoding.String() + " HMAC"
	if v.Hash == nil {
		s += "-SHA256"
	}
	if v.Prefix != "" {
		s = `"` + v.Prefix + `" and the ` + s
	}
	what := "the body"
	switch {
	case v.SignedAs != "":
		what = v.SignedAs
	case len(v.Signed) > 0:
		what = "the signed content"
	}
	return s + " of " + what
}
