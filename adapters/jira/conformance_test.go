package jira_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/jira"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// conformanceRequest is what Jira sends for the request identified by
// id, spoiled as bad says. Jira's signature carries no timestamp, so
// there is no stale or future case: a replay is the same identifier and
// timestamp again, which the hub dedupes.
func conformanceRequest(t *testing.T, id string, bad conformance.Bad) *http.Request {
	body := issuePayload(t, "jira:issue_created")
	key := secret
	switch bad {
	case conformance.StaleTimestamp, conformance.FutureTimestamp:
		return nil
	case conformance.WrongSecret:
		key = "not-the-secret"
	case conformance.Oversized:
		body = append(body[:len(body)-1], []byte(`,"pad":"`+strings.Repeat("x", 1100<<10)+`"}`)...)
	case conformance.MalformedJSON:
		body = []byte(`{"webhookEvent":`)
	}
	sig := sign(body, key)
	switch bad {
	case conformance.BadSignature:
		sig = "sha256=" + strings.Repeat("0", 64)
	case conformance.ByteChanged:
		body = bytes.Replace(body, []byte("Checkout"), []byte("Checkoux"), 1)
	case conformance.MalformedHeader:
		sig = "sha256=not-hex"
	case conformance.MissingHeader:
		sig = ""
	}
	return request(id, body, sig)
}

func TestSourceConformance(t *testing.T) {
	conformance.RunSource(t, conformance.SourceCase{
		App:     jira.Spec.App,
		New:     func(t *testing.T) any { return newAdapter(t) },
		Request: conformanceRequest,
		EventID: func(id string) string { return jira.EventID(id, at.UnixMilli()) },
	})
}
