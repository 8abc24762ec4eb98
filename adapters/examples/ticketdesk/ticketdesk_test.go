package ticketdesk_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/examples/ticketdesk"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const (
	secret    = "desk-secret-2026"
	oldSecret = "desk-secret-2025"
)

// sign returns X-Desk-Signature for body signed at t, the way Ticket Desk
// documents it.
func sign(body string, t time.Time, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	h := "t=" + ts
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(ts + "." + body))
		h += ",v1=" + hex.EncodeToString(m.Sum(nil))
	}
	return h
}

func newAdapter(t *testing.T) any {
	t.Setenv("TICKETDESK_WEBHOOK_SECRET", secret)
	t.Setenv("TICKETDESK_OLD_SECRET", oldSecret)
	a, err := ticketdesk.New(ticketdesk.Config{PreviousSecretEnv: "TICKETDESK_OLD_SECRET"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// request is what Ticket Desk sends for ticket id, spoiled as bad says.
func request(_ *testing.T, id string, bad conformance.Bad) *http.Request {
	body := `{"id":"` + id + `","event":"ticket.opened","subject":"Printer on fire"}`
	at := time.Now()
	secrets := []string{secret}
	switch bad {
	case conformance.StaleTimestamp:
		at = at.Add(-time.Hour)
	case conformance.FutureTimestamp:
		at = at.Add(time.Hour)
	case conformance.WrongSecret:
		secrets = []string{"not-the-secret"}
	case conformance.Oversized:
		body = `{"id":"` + id + `","event":"ticket.opened","pad":"` + strings.Repeat("x", 70<<10) + `"}`
	case conformance.MalformedJSON:
		body = `{"id":`
	}
	sig := sign(body, at, secrets...)
	switch bad {
	case conformance.BadSignature:
		sig = "t=" + strconv.FormatInt(at.Unix(), 10) + ",v1=" + strings.Repeat("0", 64)
	case conformance.ByteChanged:
		body = strings.Replace(body, "fire", "fir3", 1)
	case conformance.MalformedHeader:
		sig = "v1=abc" // no t=
	}
	r := httptest.NewRequest(http.MethodPost, "/webhooks/ticketdesk", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if bad != conformance.MissingHeader {
		r.Header.Set("X-Desk-Signature", sig)
	}
	return r
}

func TestSourceConformance(t *testing.T) {
	conformance.RunSource(t, conformance.SourceCase{App: ticketdesk.Spec.App, New: newAdapter, Request: request})
}

func TestSinkConformance(t *testing.T) {
	conformance.RunSink(t, conformance.SinkCase{
		App: ticketdesk.Spec.App,
		New: func(t *testing.T) (any, conformance.App) {
			return newAdapter(t), conformance.NewHTTPApp(t, "Idempotency-Key")
		},
		Config: func(app conformance.App) map[string]string {
			return map[string]string{"api_url": app.(*conformance.HTTPApp).URL + "/api"}
		},
	})
}

// TestRotation: while a secret is rotated, a request signed with the new
// one, the old one, or both (one v1 each) is accepted; with neither, not.
func TestRotation(t *testing.T) {
	var emitted int
	emit := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
		emitted++
		return sdk.PublishResult{}, nil
	}
	h := newAdapter(t).(*ticketdesk.Adapter).Webhook(emit)
	for _, tt := range []struct {
		name    string
		secrets []string
		want    int
	}{
		{"new", []string{secret}, http.StatusAccepted},
		{"old", []string{oldSecret}, http.StatusAccepted},
		{"both", []string{secret, oldSecret}, http.StatusAccepted},
		{"neither", []string{"x"}, http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id":"tkt_1","event":"ticket.opened"}`
			r := httptest.NewRequest(http.MethodPost, "/webhooks/ticketdesk", strings.NewReader(body))
			r.Header.Set("X-Desk-Signature", sign(body, time.Now(), tt.secrets...))
			w := httptest.NewRecorder()
			before := emitted
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("signed with %s: %d %s, want %d", tt.name, w.Code, w.Body, tt.want)
			}
			if got := emitted - before; (got == 1) != (tt.want == http.StatusAccepted) {
				t.Errorf("signed with %s: emitted %d events", tt.name, got)
			}
		})
	}
}
