package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// received is one request a test receiver saw, with the result of
// verifying it with the Standard Webhooks library.
type received struct {
	at       time.Time
	header   http.Header
	body     string
	verified error
}

// receiver is a real HTTP server that verifies every request with the
// Standard Webhooks library and answers with the next scripted reply.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	replies []func(w http.ResponseWriter)
}

func newReceiver(t *testing.T, replies ...func(w http.ResponseWriter)) *receiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(outboundSecret)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	rc := &receiver{replies: replies}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{at: time.Now(), header: r.Header.Clone(), body: string(body), verified: wh.Verify(body, r.Header)})
		rc.mu.Unlock()
		if len(rc.replies) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rc.replies[min(n, len(rc.replies)-1)](w)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func reply(code int, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func testDelivery(url string) *junctionv1.Delivery {
	return &junctionv1.Delivery{
		Id: "dlv_123", EventId: "evt_1", EventSource: "acme", EventType: "user.created",
		RouteId: "r1", Target: "hook", Destination: "webhook", Action: "post",
		Config: map[string]string{"url": url}, Payload: []byte(`{"hello":"world"}`),
	}
}

func TestDeliverSignsRequest(t *testing.T) {
	rc := newReceiver(t)
	a := newTestAdapter(t, testConfig())
	d := testDelivery(rc.srv.URL + "/hook?x=1")
	d.ContentType = "application/vnd.test+json"
	if err := a.Deliver(context.Background(), d); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.verified != nil {
		t.Errorf("Standard Webhooks verification failed: %v", got.verified)
	}
	if got.body != string(d.Payload) {
		t.Errorf("body = %q, want %q", got.body, d.Payload)
	}
	for k, want := range map[string]string{
		"webhook-id":        "dlv_123",
		"Content-Type":      "application/vnd.test+json",
		"User-Agent":        "Junction-Webhook/" + Version,
		"Junction-Event-Id": "evt_1",
		"Junction-Route":    "r1",
	} {
		if v := got.header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if v, ok := got.header[HeaderReplayID]; ok {
		t.Errorf("a delivery that is no replay has %s %q, want none", HeaderReplayID, v)
	}
}

// TestDeliverReplay: a replayed delivery carries the replay id beside the
// original event's id.
func TestDeliverReplay(t *testing.T) {
	rc := newReceiver(t)
	a := newTestAdapter(t, testConfig())
	d := testDelivery(rc.srv.URL + "/hook")
	d.ReplayId = "k2jz7rxq4mfa3bcd"
	if err := a.Deliver(context.Background(), d); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	if got := reqs[0].header; got.Get("Junction-Replay-Id") != "k2jz7rxq4mfa3bcd" || got.Get("Junction-Event-Id") != "evt_1" || reqs[0].verified != nil {
		t.Errorf("replayed delivery: Junction-Replay-Id %q, Junction-Event-Id %q, signature %v; want the replay id, evt_1 and a valid signature",
			got.Get("Junction-Replay-Id"), got.Get("Junction-Event-Id"), reqs[0].verified)
	}
}

func TestDeliverOutcomes(t *testing.T) {
	a := newTestAdapter(t, testConfig())
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name          string
		reply         func(w http.ResponseWriter)
		url           string // overrides the receiver's URL when set
		wantNil       bool
		wantPermanent bool
		wantDelay     time.Duration // exact, or a lower bound when wantDelayMin
		wantDelayMin  bool
		wantMsg       string
	}{
		{name: "200", reply: reply(200, "ok"), wantNil: true},
		{name: "204", reply: reply(204, ""), wantNil: true},
		{name: "400 is permanent with body excerpt", reply: reply(400, `{"error":"bad field"}`), wantPermanent: true, wantMsg: `receiver answered 400 Bad Request: {"error":"bad field"}`},
		{name: "404 is permanent", reply: reply(404, ""), wantPermanent: true, wantMsg: "404 Not Found"},
		{name: "410 is permanent", reply: reply(410, ""), wantPermanent: true, wantMsg: "410"},
		{name: "302 is permanent", reply: reply(302, "", "Location", "https://elsewhere.example/new"), wantPermanent: true, wantMsg: "redirects are not followed"},
		{name: "500 is retryable", reply: reply(500, "boom"), wantMsg: "500 Internal Server Error: boom"},
		{name: "502 is retryable", reply: reply(502, ""), wantMsg: "502"},
		{name: "408 is retryable", reply: reply(408, ""), wantMsg: "408"},
		{name: "429 without Retry-After", reply: reply(429, ""), wantMsg: "429"},
		{name: "429 Retry-After seconds", reply: reply(429, "", "Retry-After", "7"), wantDelay: 7 * time.Second, wantMsg: "429"},
		{name: "503 Retry-After HTTP date", reply: reply(503, "", "Retry-After", httpDate), wantDelay: 60 * time.Second, wantDelayMin: true, wantMsg: "503"},
		{name: "503 Retry-After garbage", reply: reply(503, "", "Retry-After", "soon"), wantMsg: "503"},
		{name: "long body is cut", reply: reply(400, strings.Repeat("e", 5000)), wantPermanent: true, wantMsg: strings.Repeat("e", excerptBytes) + "..."},
		{name: "missing url", url: "-", wantPermanent: true, wantMsg: `target config "url" is required`},
		{name: "relative url", url: "/hook", wantPermanent: true, wantMsg: "must be an absolute http:// or https:// URL"},
		{name: "ftp url", url: "ftp://example.com/x", wantPermanent: true, wantMsg: "must be an absolute http:// or https:// URL"},
		{name: "connection refused is retryable", url: closedURL(t), wantMsg: "connect"},
		{name: "unparsable url", url: "http://[::1", wantPermanent: true, wantMsg: "cannot be parsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url
			if url == "" {
				url = newReceiver(t, tt.reply).srv.URL + "/hook?token=tok3n"
			}
			if url == "-" {
				url = ""
			}
			err := a.Deliver(context.Background(), testDelivery(url))
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Deliver = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Deliver = nil, want an error containing %q", tt.wantMsg)
			}
			if got := sdk.IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v (err %v)", got, tt.wantPermanent, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "/hook") || strings.Contains(err.Error(), "tok3n") {
				t.Errorf("error = %q shows the target's path or query; only scheme and host may appear", err)
			}
			delay, ok := sdk.RetryDelay(err)
			switch {
			case tt.wantDelay == 0 && ok:
				t.Errorf("RetryDelay = %v, want none", delay)
			case tt.wantDelay != 0 && !ok:
				t.Errorf("RetryDelay: none, want %v", tt.wantDelay)
			case tt.wantDelayMin && delay < tt.wantDelay:
				t.Errorf("RetryDelay = %v, want at least %v", delay, tt.wantDelay)
			case tt.wantDelay != 0 && !tt.wantDelayMin && delay != tt.wantDelay:
				t.Errorf("RetryDelay = %v, want %v", delay, tt.wantDelay)
			}
		})
	}
}

// closedURL is the URL of a port that was just listening and is closed.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	url := "http://" + l.Addr().String() + "/hook"
	l.Close()
	return url
}

func TestDeliverStableIDAcrossAttempts(t *testing.T) {
	rc := newReceiver(t, reply(500, ""), reply(503, ""), reply(200, ""))
	a := newTestAdapter(t, testConfig())
	d := testDelivery(rc.srv.URL)
	for i := range 3 {
		err := a.Deliver(context.Background(), d)
		if (err == nil) != (i == 2) {
			t.Fatalf("attempt %d: Deliver = %v", i+1, err)
		}
	}
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if got := r.header.Get("webhook-id"); got != d.Id {
			t.Errorf("attempt %d: webhook-id = %q, want %q", i+1, got, d.Id)
		}
		if r.verified != nil {
			t.Errorf("attempt %d: verification failed: %v", i+1, r.verified)
		}
	}
}

func TestDeliverTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cfg := testConfig()
	cfg.Outbound.Timeout = 100 * time.Millisecond
	a := newTestAdapter(t, cfg)
	err := a.Deliver(context.Background(), testDelivery(srv.URL))
	if err == nil || sdk.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("error = %v, want a timeout", err)
	}
}

func TestDeliverWithoutSigningSecret(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig()
	cfg.Outbound = OutboundConfig{}
	a := newTestAdapter(t, cfg)
	err := a.Deliver(context.Background(), testDelivery(rc.srv.URL))
	if !sdk.IsPermanent(err) || !errors.Is(err, ErrNoSigningSecret) {
		t.Errorf("Deliver = %v, want a permanent ErrNoSigningSecret", err)
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0: nothing is sent unsigned", n)
	}
}

func TestDeliverWithoutID(t *testing.T) {
	rc := newReceiver(t)
	a := newTestAdapter(t, testConfig())
	d := testDelivery(rc.srv.URL)
	d.Id = ""
	if err := a.Deliver(context.Background(), d); !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "delivery has no id") {
		t.Errorf("Deliver = %v, want a permanent error saying the id is missing", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"-5", 0, false},
		{"999999999", 24 * time.Hour, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"tomorrow", 0, false},
		{now.AddDate(5, 0, 0).Format(http.TimeFormat), 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := retryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
