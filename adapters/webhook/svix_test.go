package webhook

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// svixHeaders signs body with the Standard Webhooks library and sends the
// headers under Svix's names, as a Svix-powered sender does.
func svixHeaders(t *testing.T, secret, id string, at time.Time, body string) http.Header {
	t.Helper()
	std := standardHeaders(t, secret, id, at, body)
	h := http.Header{}
	h.Set(verify.HeaderSvixID, std.Get(verify.HeaderWebhookID))
	h.Set(verify.HeaderSvixTimestamp, std.Get(verify.HeaderWebhookTimestamp))
	h.Set(verify.HeaderSvixSignature, std.Get(verify.HeaderWebhookSignature))
	return h
}

// TestInboundSvixHeaders: a standard-webhooks source takes a request
// signed under Svix's header names, stores it once with svix-id as its id
// (a retry is a duplicate), and rejects one signed with another secret.
func TestInboundSvixHeaders(t *testing.T) {
	env := newInboundEnv(t)
	body := `{"type":"user.created","data":{"id":"u1"}}`
	for _, tt := range []struct {
		name     string
		header   http.Header
		wantCode int
		wantDup  bool
	}{
		{name: "signed", header: svixHeaders(t, acmeSecret, "msg_svix_1", time.Now(), body), wantCode: http.StatusAccepted},
		{name: "retry", header: svixHeaders(t, acmeSecret, "msg_svix_1", time.Now(), body), wantCode: http.StatusAccepted, wantDup: true},
		{name: "other secret", header: svixHeaders(t, outboundSecret, "msg_svix_2", time.Now(), body), wantCode: http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.do(t, request{path: "/webhooks/acme", body: body, header: tt.header})
			if resp.code != tt.wantCode {
				t.Fatalf("answered %d %s, want %d", resp.code, resp.body, tt.wantCode)
			}
			if tt.wantCode != http.StatusAccepted {
				return
			}
			var got Accepted
			if err := json.Unmarshal(resp.body, &got); err != nil {
				t.Fatalf("answer %s: %v", resp.body, err)
			}
			if got.ID != "msg_svix_1" || got.Duplicate != tt.wantDup {
				t.Errorf("answer id %q duplicate %v, want msg_svix_1 (the svix-id) duplicate %v", got.ID, got.Duplicate, tt.wantDup)
			}
		})
	}
	if n := env.hub.StreamMsgs(t, "EVENTS"); n != 1 {
		t.Errorf("EVENTS holds %d events, want 1", n)
	}
}
