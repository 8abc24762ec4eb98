package github_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/github"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// request is what GitHub sends for delivery id, spoiled as bad says.
// GitHub's signature carries no timestamp, so there is no stale or future
// case: a replay of a delivery is its id again, which the hub dedupes.
func request(t *testing.T, id string, bad conformance.Bad) *http.Request {
	body := issuesPayload(t, "opened")
	key := secret
	switch bad {
	case conformance.StaleTimestamp, conformance.FutureTimestamp:
		return nil
	case conformance.WrongSecret:
		key = "not-the-secret"
	case conformance.Oversized:
		body = append(body[:len(body)-1], []byte(`,"pad":"`+strings.Repeat("x", 1100<<10)+`"}`)...)
	case conformance.MalformedJSON:
		body = []byte(`{"action":`)
	}
	sig := sign(body, key)
	switch bad {
	case conformance.BadSignature:
		sig = "sha256=" + strings.Repeat("0", 64)
	case conformance.ByteChanged:
		body = bytes.Replace(body, []byte("Found a bug"), []byte("Found a bog"), 1)
	case conformance.MalformedHeader:
		sig = "sha256=not-hex"
	case conformance.MissingHeader:
		sig = ""
	}
	return delivery("issues", id, body, sig)
}

func TestSourceConformance(t *testing.T) {
	conformance.RunSource(t, conformance.SourceCase{
		App:     github.Spec.App,
		New:     func(t *testing.T) any { return newAdapter(t) },
		Request: request,
	})
}
