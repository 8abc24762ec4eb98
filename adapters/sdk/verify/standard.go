package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// Svix's header names. Svix signs exactly as Standard Webhooks does (the
// scheme grew out of it) but sends the id, timestamp and signature under
// these names; [StandardWebhooks] accepts either set.
const (
	HeaderSvixID        = "svix-id"
	HeaderSvixTimestamp = "svix-timestamp"
	HeaderSvixSignature = "svix-signature"
)

// headerSet is the names of one set of Standard Webhooks headers.
type headerSet struct{ id, timestamp, signature string }

var (
	standardNames = headerSet{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature}
	svixNames     = headerSet{HeaderSvixID, HeaderSvixTimestamp, HeaderSvixSignature}
)

// namesOf picks the header set h is signed with: the webhook-* names when
// any of them is present, else Svix's svix-* names when any of those is,
// else the webhook-* names (and the missing-header error names them). A
// request never mixes the two: with one webhook-* header present, the
// svix-* headers are not read.
func namesOf(h http.Header) headerSet {
	for _, n := range []string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature} {
		if h.Get(n) != "" {
			return standardNames
		}
	}
	for _, n := range []string{HeaderSvixID, HeaderSvixTimestamp, HeaderSvixSignature} {
		if h.Get(n) != "" {
			return svixNames
		}
	}
	return standardNames
}

// StandardID returns the message id of a Standard Webhooks request: its
// webhook-id, or its svix-id when it is signed under Svix's header names
// (the set [StandardWebhooks] verifies). "" when there is none.
func StandardID(h http.Header) string { return h.Get(namesOf(h).id) }

// minSecretBytes is the shortest Standard Webhooks key accepted.
const minSecretBytes = 16

// StandardWebhooks verifies the Standard Webhooks scheme: the
// webhook-signature header holds space-separated "v1,<base64>" entries,
// each an HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>" keyed
// with the decoded "whsec_" secret; webhook-timestamp is Unix seconds.
// Senders using Svix's header names (svix-id, svix-timestamp,
// svix-signature) are verified the same way; [StandardID] gives the id of
// either. Build it with [NewStandardWebhooks].
type StandardWebhooks struct {
	keys [][]byte
	// Tolerance is how far webhook-timestamp may be from now, either way;
	// zero means DefaultTolerance.
	Tolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewStandardWebhooks returns a verifier accepting a signature by any of
// secrets ("whsec_" + standard base64 of at least 16 bytes): list the old
// and the new secret while rotating.
func NewStandardWebhooks(secrets ...string) (*StandardWebhooks, error) {
	if len(secrets) == 0 {
		return nil, errors.New("standard webhooks: no secret given: pass the whsec_ secret the sender signs with")
	}
	v := &StandardWebhooks{}
	for i, s := range secrets {
		key, err := DecodeStandardSecret(s)
		if err != nil {
			return nil, fmt.Errorf("standard webhooks: secret %d: %w", i+1, err)
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// DecodeStandardSecret decodes a Standard Webhooks secret: "whsec_"
// followed by standard base64 of at least 16 bytes. The error never
// contains the secret.
func DecodeStandardSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, errors.New("secret must be whsec_ followed by standard base64 (e.g. whsec_ + `openssl rand -base64 32`)")
	}
	if len(key) < minSecretBytes {
		return nil, fmt.Errorf("secret decodes to %d bytes; use at least %d (e.g. whsec_ + `openssl rand -base64 32`)", len(key), minSecretBytes)
	}
	return key, nil
}

// SignStandard returns the webhook-signature value ("v1,<base64>") of body
// sent as id at t under key, the decoded secret. Senders and tests use it.
func SignStandard(key []byte, id string, t time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(t.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks r's Standard Webhooks headers against body.
func (v *StandardWebhooks) Verify(r *http.Request, body []byte) error {
	return v.VerifyHeader(r.Header, body)
}

// VerifyHeader is Verify for the headers alone.
func (v *StandardWebhooks) VerifyHeader(h http.Header, body []byte) error {
	names := namesOf(h)
	for _, name := range []string{names.id, names.timestamp, names.signature} {
		if h.Get(name) == "" {
			return fail(ErrMissingHeader, "header "+name+" is missing: sign requests with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature, or Svix's svix-id, svix-timestamp, svix-signature)")
		}
	}
	id, rawTS := h.Get(names.id), h.Get(names.timestamp)
	ts, err := strconv.ParseInt(rawTS, 10, 64)
	if err != nil {
		return fail(ErrMalformedHeader, fmt.Sprintf("header %s %q must be Unix seconds", names.timestamp, clip(rawTS)))
	}
	sigs, err := parseSignatures(h.Get(names.signature), names.signature)
	if err != nil {
		return err
	}
	prefix := []byte(id + "." + rawTS + ".")
	matched := false
	for _, key := range v.keys {
		m := hmac.New(sha256.New, key)
		m.Write(prefix)
		m.Write(body)
		want := m.Sum(nil)
		for _, s := range sigs {
			if hmac.Equal(s, want) {
				matched = true
			}
		}
	}
	if !matched {
		return fail(ErrBadSignature, names.signature+` does not match: sign "<`+names.id+`>.<`+names.timestamp+`>.<body>" with this source's secret`)
	}
	return checkTime(time.Unix(ts, 0), nowOr(v.Now), v.Tolerance, names.timestamp)
}

// ParseStandardSignatures parses a webhook-signature value: space-separated
// "<version>,<base64>" entries. It returns the decoded v1 signatures;
// entries of other versions (a future v1a) or not base64 are skipped. An error (class
// ErrMalformedHeader) means no v1 entry could be read.
func ParseStandardSignatures(value string) ([][]byte, error) {
	return parseSignatures(value, HeaderWebhookSignature)
}

// parseSignatures is ParseStandardSignatures for the header named header.
func parseSignatures(value, header string) ([][]byte, error) {
	var sigs [][]byte
	for _, entry := range strings.Fields(value) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		// A signature of the wrong length is read, and does not match.
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(b) == 0 {
			continue
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 {
		return nil, fail(ErrMalformedHeader, "header "+header+` holds no "v1,<base64 HMAC-SHA256>" entry: sign with Standard Webhooks`)
	}
	return sigs, nil
}

// clip shortens a header value quoted in an error message.
func clip(s string) string {
	const n = 40
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
