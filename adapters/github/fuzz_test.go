package github_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	gh "github.com/google/go-github/v90/github"

	"github.com/junctionhq/junction/adapters/github"
	"github.com/junctionhq/junction/adapters/sdk"
)

// FuzzSignatureHeader feeds X-Hub-Signature-256 values to the adapter's
// verifier: it never panics, and it accepts only what go-github's
// ValidateSignature accepts for the same body and secret.
func FuzzSignatureHeader(f *testing.F) {
	body := []byte(`{"action":"opened"}`)
	f.Add(sign(body, secret), body)
	f.Add(sign(body, oldSecret), body)
	f.Add("sha256=", body)
	f.Add("sha1=0123", body)
	f.Add("sha256="+strings.Repeat("0", 64), []byte{})
	v := github.NewVerifier(secret, oldSecret)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		r := httptest.NewRequest("POST", "/webhooks/github", nil)
		r.Header.Set(github.SignatureHeader, header)
		if err := v.Verify(r, body); err == nil {
			value := strings.TrimSpace(header)
			if gh.ValidateSignature(value, body, []byte(secret)) != nil && gh.ValidateSignature(value, body, []byte(oldSecret)) != nil {
				t.Fatalf("verifier accepted %q for body %q, which go-github rejects under both secrets", header, body)
			}
		}
	})
}

// FuzzNormalize maps arbitrary payloads: it never panics, and what it
// returns is an event the hub accepts, with the body kept byte for byte.
func FuzzNormalize(f *testing.F) {
	f.Add("issues", []byte(`{"action":"opened","issue":{"number":1}}`))
	f.Add("push", []byte(`{"ref":"refs/heads/main","head_commit":null}`))
	f.Add("pull_request", []byte(`{"action":"closed","pull_request":{"merged":"yes"}}`))
	f.Add("issue_comment", []byte(`{"action":"created","comment":[]}`))
	f.Add("star", []byte(`{"action":"Bad Action"}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		e, err := github.Normalize(event, "72d3162e-cc78-11e3-81ab-4c9367dc0958", "", body)
		if err != nil {
			return
		}
		if err := sdk.ValidateEvent(e); err != nil {
			t.Fatalf("Normalize(%q, %q) made an event the hub refuses: %v", event, body, err)
		}
		if string(e.Data) != string(body) {
			t.Fatalf("Normalize(%q) changed the body", event)
		}
		for _, m := range e.MappingErrors {
			if m.Field == "" || m.Reason == "" || !utf8.ValidString(m.Reason) {
				t.Fatalf("Normalize(%q, %q): mapping error %v has no field or reason", event, body, m)
			}
		}
	})
}
