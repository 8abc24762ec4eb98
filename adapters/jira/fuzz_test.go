package jira_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/junctionhq/junction/adapters/jira"
	"github.com/junctionhq/junction/adapters/sdk"
)

// FuzzSignatureHeader feeds X-Hub-Signature values to the adapter's
// verifier: it never panics, and it accepts only what the check Atlassian
// documents accepts for the same body and secret.
func FuzzSignatureHeader(f *testing.F) {
	body := []byte(`{"webhookEvent":"jira:issue_created"}`)
	f.Add(sign(body, secret), body)
	f.Add(sign(body, oldSecret), body)
	f.Add("sha256=", body)
	f.Add("sha1=0123", body)
	v := jira.NewVerifier(secret, oldSecret)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		r := httptest.NewRequest("POST", "/webhooks/jira", nil)
		r.Header.Set(jira.SignatureHeader, header)
		if err := v.Verify(r, body); err == nil {
			value := strings.TrimSpace(header)
			if !atlassianVerify(value, body, secret) && !atlassianVerify(value, body, oldSecret) {
				t.Fatalf("verifier accepted %q for body %q, which the documented check rejects under both secrets", header, body)
			}
		}
	})
}

// FuzzNormalize maps arbitrary payloads: it never panics, and what it
// returns is an event the hub accepts, with the body kept byte for byte.
func FuzzNormalize(f *testing.F) {
	f.Add("wh-1", []byte(`{"timestamp":1,"webhookEvent":"jira:issue_created","issue":{"fields":null}}`))
	f.Add("wh-2", []byte(`{"webhookEvent":"comment_created","comment":{"body":{"type":"doc","content":[{"text":"x"}]}}}`))
	f.Add("wh-3", []byte(`{"webhookEvent":"project_created","project":{"key":7}}`))
	f.Fuzz(func(t *testing.T, ident string, body []byte) {
		if ident == "" || !utf8.ValidString(ident) || strings.ContainsFunc(ident, func(c rune) bool { return c < 0x21 || c == 0x7f }) || len(ident) > 128 {
			return // the handler refuses these before Normalize
		}
		e, err := jira.Normalize(ident, body)
		if err != nil {
			return
		}
		if err := sdk.ValidateEvent(e); err != nil {
			t.Fatalf("Normalize(%q, %q) made an event the hub refuses: %v", ident, body, err)
		}
		if e.Time != nil && e.Time.CheckValid() != nil {
			t.Fatalf("Normalize(%q): time %v out of range", body, e.Time)
		}
		if string(e.Data) != string(body) {
			t.Fatal("Normalize changed the body")
		}
		for _, m := range e.MappingErrors {
			if m.Field == "" || m.Reason == "" {
				t.Fatalf("Normalize(%q): mapping error %v has no field or reason", body, m)
			}
		}
	})
}
