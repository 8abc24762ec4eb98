package cloudevents_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	ce "github.com/junctionhq/junction/adapters/cloudevents"
)

func event(id, source string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"` + source + `","type":"order.created","data":{"n":1}}`
}

// TestHandler: the answers outside the event format itself: the method,
// unsigned requests, the configured sources, the batch and body limits,
// and scheme none.
func TestHandler(t *testing.T) {
	cfg := stdConfig(t)
	cfg.Sources = []string{"https://shop.example.com/*", "/desk"}
	cfg.MaxBatch = 2
	cfg.MaxBodyBytes = 2048
	cfg.AllowedOrigins = []string{"eventgrid.azure.net"}
	signedEnv := newEnv(t, cfg)
	unsignedEnv := newEnv(t, ce.Config{Signature: ce.Signature{Scheme: ce.SchemeNone}})
	tests := []struct {
		name     string
		env      *env
		method   string
		header   http.Header
		body     string
		sign     bool
		wantCode int
		wantMsg  string
		stored   int
	}{
		{name: "GET", env: signedEnv, method: http.MethodGet, wantCode: 405, wantMsg: "POST"},
		{name: "handshake, allowed origin", env: signedEnv, method: http.MethodOptions, header: http.Header{"Webhook-Request-Origin": {"eventgrid.azure.net"}}, wantCode: 200},
		{name: "handshake, other origin", env: signedEnv, method: http.MethodOptions, header: http.Header{"Webhook-Request-Origin": {"evil.example.com"}}, wantCode: 403, wantMsg: "adapter.allowed_origins"},
		{name: "handshake, no origins configured", env: unsignedEnv, method: http.MethodOptions, header: http.Header{"Webhook-Request-Origin": {"eventgrid.azure.net"}}, wantCode: 403, wantMsg: "adapter.allowed_origins"},
		{name: "OPTIONS without an origin", env: signedEnv, method: http.MethodOptions, wantCode: 405, wantMsg: "POST"},
		{name: "unsigned", env: signedEnv, header: structured(), body: event("h-1", "/desk"), wantCode: 400, wantMsg: "header webhook-id is missing"},
		{name: "source by prefix", env: signedEnv, header: structured(), body: event("h-2", "https://shop.example.com/orders"), sign: true, wantCode: 202, stored: 1},
		{name: "source exact", env: signedEnv, header: structured(), body: event("h-3", "/desk"), sign: true, wantCode: 202, stored: 1},
		{name: "source not configured", env: signedEnv, header: structured(), body: event("h-4", "/other"), sign: true, wantCode: 403, wantMsg: "adapter.sources"},
		{name: "batch with a source not configured", env: signedEnv, header: batched(), body: "[" + event("h-5", "/desk") + "," + event("h-6", "/x") + "]", sign: true, wantCode: 403, wantMsg: "batch event 1"},
		{name: "batch over max_batch", env: signedEnv, header: batched(), body: "[" + event("h-7", "/desk") + "," + event("h-8", "/desk") + "," + event("h-9", "/desk") + "]", sign: true, wantCode: 400, wantMsg: "max_batch"},
		{name: "empty batch", env: signedEnv, header: batched(), body: "[]", sign: true, wantCode: 202},
		{name: "body over max_body_bytes", env: signedEnv, header: structured(), body: event("h-10", "/desk") + strings.Repeat(" ", 2048), sign: true, wantCode: 413, wantMsg: "max_body_bytes"},
		{name: "scheme none takes unsigned", env: unsignedEnv, header: structured(), body: event("h-11", "/any"), wantCode: 202, stored: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.env.events(t))
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, tt.env.url, strings.NewReader(tt.body))
			if tt.header != nil {
				req.Header = tt.header.Clone()
			}
			if tt.sign {
				req.Header = signed(t, tt.header, tt.body)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("answered %d %s, want %d", resp.StatusCode, b, tt.wantCode)
			}
			if tt.wantCode == http.StatusOK {
				if got := resp.Header.Get("WebHook-Allowed-Origin"); got != "eventgrid.azure.net" {
					t.Errorf("WebHook-Allowed-Origin = %q, want the requesting origin", got)
				}
				return
			}
			if tt.wantMsg != "" && !strings.Contains(errorMessage(t, b), tt.wantMsg) {
				t.Errorf("answer %s, want a message containing %q", b, tt.wantMsg)
			}
			if n := len(tt.env.events(t)) - before; n != tt.stored {
				t.Errorf("stored %d events, want %d", n, tt.stored)
			}
		})
	}
}
