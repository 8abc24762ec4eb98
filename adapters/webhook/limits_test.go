package webhook

import (
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// newLimitEnv serves an adapter with cfg on a real HTTP server publishing
// into an embedded hub.
func newLimitEnv(t *testing.T, cfg Config) *inboundEnv {
	t.Helper()
	hub := sdktest.NewHub(t)
	pub, err := sdk.NewPublisher(hub.JS)
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	srv := httptest.NewServer(newTestAdapter(t, cfg).Webhook(pub.Publish))
	t.Cleanup(srv.Close)
	return &inboundEnv{hub: hub, url: srv.URL}
}

func TestInboundContentTypes(t *testing.T) {
	cfg := testConfig()
	cfg.Sources[3].ContentTypes = []string{"application/json", "text/plain"} // "slow"
	env := newLimitEnv(t, cfg)
	body := `{"type":"user.created","data":{"id":"u1"}}`
	var mp strings.Builder
	mw := multipart.NewWriter(&mp)
	tests := []struct {
		name, source, contentType string
		want                      int
	}{
		{"json", "acme", "application/json", 202},
		{"json with charset", "acme", "application/json; charset=utf-8", 202},
		{"JSON in capitals", "acme", "Application/JSON", 202},
		{"text/plain refused by default", "acme", "text/plain", 415},
		{"form refused", "acme", "application/x-www-form-urlencoded", 415},
		{"multipart refused", "acme", mw.FormDataContentType(), 415},
		{"none refused", "acme", "", 415},
		{"malformed refused", "acme", "application/json; =", 415},
		{"vendor json not listed refused", "acme", "application/vnd.acme+json", 415},
		{"text/plain listed for slow", "slow", "text/plain; charset=utf-8", 202},
		{"form still refused for slow", "slow", "application/x-www-form-urlencoded", 415},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := env.hub.StreamMsgs(t, topology.EventsStream)
			h := standardHeaders(t, acmeSecret, "msg_ct_"+strconv.Itoa(i), time.Now(), body)
			h["Content-Type"] = []string{tt.contentType}
			resp := env.do(t, request{path: "/webhooks/" + tt.source, body: body, header: h})
			if resp.code != tt.want {
				t.Fatalf("Content-Type %q: status %d (%s), want %d", tt.contentType, resp.code, resp.body, tt.want)
			}
			after := env.hub.StreamMsgs(t, topology.EventsStream)
			if tt.want == 415 {
				if got := decodeError(t, resp.body); !strings.Contains(got.Message, "is not accepted from source "+tt.source) {
					t.Errorf("message = %q, want it to name the source", got.Message)
				}
				if after != before {
					t.Errorf("EVENTS went from %d to %d after a 415, want nothing published", before, after)
				}
			} else if after != before+1 {
				t.Errorf("EVENTS went from %d to %d, want one event stored", before, after)
			}
		})
	}
}

func TestInboundRateLimit(t *testing.T) {
	cfg := testConfig()
	// One token per 1000 s: the third request cannot be refilled in time
	// however slow the machine.
	cfg.Sources[0].RateLimit = RateLimit{PerSecond: 0.001, Burst: 2} // acme
	env := newLimitEnv(t, cfg)
	body := `{"type":"user.created","data":{"id":"u1"}}`
	send := func(source, id string) response {
		return env.do(t, request{path: "/webhooks/" + source, body: body, header: standardHeaders(t, acmeSecret, id, time.Now(), body)})
	}
	for i := range 2 {
		if r := send("acme", "msg_rl_"+strconv.Itoa(i)); r.code != 202 {
			t.Fatalf("request %d: status %d (%s), want 202 within the burst", i+1, r.code, r.body)
		}
	}
	before := env.hub.StreamMsgs(t, topology.EventsStream)
	r := send("acme", "msg_rl_3")
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d (%s), want 429", r.code, r.body)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 1000 {
		t.Errorf("Retry-After = %q, want whole seconds in 1..1000", r.header.Get("Retry-After"))
	}
	if got := decodeError(t, r.body); got.Status != "RESOURCE_EXHAUSTED" || !strings.Contains(got.Message, "rate limit") {
		t.Errorf("error = %+v, want RESOURCE_EXHAUSTED naming the rate limit", got)
	}
	if after := env.hub.StreamMsgs(t, topology.EventsStream); after != before {
		t.Errorf("EVENTS went from %d to %d after a 429, want nothing published", before, after)
	}
	// Another source has its own bucket (default 200/s, burst 400).
	if r := send("slow", "msg_rl_other"); r.code != 202 {
		t.Errorf("source slow: status %d (%s), want 202: limits are per source", r.code, r.body)
	}
	// An unknown source is refused before any limiter: 404, not 429.
	if r := send("nobody", "msg_rl_unknown"); r.code != 404 {
		t.Errorf("unknown source: status %d, want 404", r.code)
	}
}

func TestRateLimitDefaults(t *testing.T) {
	tests := []struct {
		in, want RateLimit
	}{
		{RateLimit{}, RateLimit{PerSecond: DefaultRatePerSecond, Burst: DefaultRateBurst}},
		{RateLimit{PerSecond: 10}, RateLimit{PerSecond: 10, Burst: 20}},
		{RateLimit{PerSecond: 0.1}, RateLimit{PerSecond: 0.1, Burst: 1}},
		{RateLimit{Burst: 5}, RateLimit{PerSecond: DefaultRatePerSecond, Burst: 5}},
	}
	for _, tt := range tests {
		got := SourceConfig{RateLimit: tt.in}.withDefaults().RateLimit
		if got != tt.want {
			t.Errorf("withDefaults(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
