package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestSecretRotation: with previous set, a request signed with the new
// or the old secret is stored; one signed with neither is refused; and
// without previous the old secret no longer passes.
func TestSecretRotation(t *testing.T) {
	const newBeta = "beta-secret-rotated"
	cfg := Config{Sources: []SourceConfig{
		{Name: "acme", Scheme: SchemeStandardWebhooks, SecretRef: SecretRef{Secret: outboundSecret}, Previous: SecretRef{Secret: acmeSecret}},
		{Name: "beta", Scheme: SchemeHMACSHA256, SecretRef: SecretRef{Secret: newBeta}, Previous: SecretRef{Secret: betaSecret}, SignatureHeader: "X-Beta-Signature"},
	}}
	hub := sdktest.NewHub(t)
	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newTestAdapter(t, cfg).Webhook(pub.Publish))
	t.Cleanup(srv.Close)
	env := &inboundEnv{hub: hub, url: srv.URL}
	body := `{"type":"user.created"}`
	beta := func(secret string) http.Header {
		h := http.Header{}
		h.Set("X-Beta-Signature", hmacHex(secret, body))
		return h
	}
	tests := []struct {
		name   string
		path   string
		header http.Header
		want   int
	}{
		{"standard, new secret", "/webhooks/acme", standardHeaders(t, outboundSecret, "msg_new", time.Now(), body), http.StatusAccepted},
		{"standard, previous secret", "/webhooks/acme", standardHeaders(t, acmeSecret, "msg_old", time.Now(), body), http.StatusAccepted},
		{"standard, neither", "/webhooks/acme", standardHeaders(t, "whsec_"+strings.Repeat("QUFB", 8), "msg_x", time.Now(), body), http.StatusUnauthorized},
		{"hmac, new secret", "/webhooks/beta", beta(newBeta), http.StatusAccepted},
		{"hmac, previous secret", "/webhooks/beta", beta(betaSecret), http.StatusAccepted},
		{"hmac, neither", "/webhooks/beta", beta("nope"), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := env.do(t, request{path: tt.path, body: body, header: tt.header}); got.code != tt.want {
				t.Errorf("status %d %s, want %d", got.code, got.body, tt.want)
			}
		})
	}

	cfg.Sources[1].Previous = SecretRef{}
	srv2 := httptest.NewServer(newTestAdapter(t, cfg).Webhook(pub.Publish))
	t.Cleanup(srv2.Close)
	env2 := &inboundEnv{hub: hub, url: srv2.URL}
	if got := env2.do(t, request{path: "/webhooks/beta", body: body, header: beta(betaSecret)}); got.code != http.StatusUnauthorized {
		t.Errorf("old secret after the rotation ended: status %d, want 401", got.code)
	}
	cfg.Sources[0].Previous = SecretRef{Secret: "whsec_short"}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "previous") {
		t.Errorf("New with a bad previous secret = %v, want an error naming previous", err)
	}
}
