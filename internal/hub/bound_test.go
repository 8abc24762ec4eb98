package hub

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	sdktelemetry "github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
)

// maxLogLine is the documented bound on one log line whatever a client
// sends (docs/operations.md).
const maxLogLine = 8 << 10

// filler builds an attacker's value of n bytes; its pattern is searched
// for in /metrics, where no part of it may appear.
func filler(n int) string { return strings.Repeat("zq", n/2) }

// TestAttackerValuesBounded sends a real hub requests carrying
// attacker-sized values (a 1 MB source name in the URL; 100 KB event id,
// header values, user agent, Host, method, route id, API key and gRPC
// method name) and checks that every line of the debug-level JSON log is
// at most maxLogLine bytes, that every span name and attribute value is
// bounded, and that /metrics carries no label made from them.
func TestAttackerValuesBounded(t *testing.T) {
	const big = 100 << 10
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithRawSpanLimits(sdktelemetry.SpanLimits()))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(context.Background())
	})

	var logs syncBuffer
	cfg := testConfig(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	h0, err := New(ctx, cfg, sdktelemetry.NewLogger(&logs, slog.LevelDebug))
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h0.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("hub did not stop")
		}
	})
	h := &running{Hub: h0}
	waitFor(t, 30*time.Second, "hub ready", func() error { return h.Ready() })
	base := "http://" + h.Addrs().HTTP
	admin := h.adminKey(t)
	ua := filler(big)

	type request struct {
		name   string
		req    func() *http.Request
		status int
	}
	requests := []request{
		{"1 MB source name", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, base+"/webhooks/"+filler(1<<20-8<<10), strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, http.StatusNotFound},
		{"100 KB event id, signed", func() *http.Request {
			return h.signedWebhook(t, filler(big), userCreated("pro", "a@example.com"))
		}, http.StatusBadRequest},
		{"100 KB timestamp header", func() *http.Request {
			r := h.signedWebhook(t, "evt-ts", userCreated("pro", "a@example.com"))
			r.Header.Set("webhook-timestamp", filler(big))
			return r
		}, http.StatusBadRequest},
		{"100 KB content type", func() *http.Request {
			r := h.signedWebhook(t, "evt-ct", userCreated("pro", "a@example.com"))
			r.Header.Set("Content-Type", "application/"+filler(big))
			return r
		}, http.StatusUnsupportedMediaType},
		{"100 KB method", func() *http.Request {
			r, _ := http.NewRequest(strings.ToUpper(filler(big)), base+"/webhooks/acme", nil)
			return r
		}, http.StatusMethodNotAllowed},
		{"100 KB Host", func() *http.Request {
			r := h.signedWebhook(t, "evt-host", userCreated("pro", "a@example.com"))
			r.Host = filler(big) + ".example"
			return r
		}, http.StatusAccepted},
		{"100 KB route id", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, base+"/v1/routes/"+filler(big), nil)
			r.Header.Set("Authorization", "Bearer "+admin)
			return r
		}, 0},
		{"100 KB API key", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, base+"/v1/routes", nil)
			r.Header.Set("Authorization", "Bearer jk_"+filler(big))
			r.Header.Set("X-Forwarded-For", filler(big))
			return r
		}, http.StatusUnauthorized},
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			req := rq.req()
			if len(req.URL.Path) < big*2 { // the 1 MB URL alone nearly fills the header limit
				req.Header.Set("User-Agent", ua)
				req.Header.Set("X-Attacker", filler(big))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", rq.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rq.status != 0 && resp.StatusCode != rq.status {
				t.Errorf("%s: status %d, want %d (%s)", rq.name, resp.StatusCode, rq.status, clip.String(string(body)))
			}
			if strings.HasPrefix(req.URL.Path, "/webhooks/") && len(body) > maxLogLine {
				t.Errorf("%s: answer is %d bytes, want at most %d: values a client sent are quoted cut", rq.name, len(body), maxLogLine)
			}
		})
	}
	// A gRPC call to a 100 KB method name no service defines.
	conn, err := grpc.NewClient(h.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent(ua))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Invoke(context.Background(), "/"+filler(big)+"/"+filler(big), &emptypb.Empty{}, &emptypb.Empty{}); err == nil {
		t.Error("unknown gRPC method: nil error, want Unimplemented")
	}

	// Logs: every line bounded, and the values did reach them, cut.
	text := logs.String()
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 16<<20)
	lines, longest := 0, 0
	for sc.Scan() {
		lines++
		longest = max(longest, len(sc.Bytes()))
		if len(sc.Bytes()) > maxLogLine {
			t.Errorf("log line of %d bytes, want at most %d: %s", len(sc.Bytes()), maxLogLine, clip.N(sc.Text(), 300))
		}
	}
	if !strings.Contains(text, `"msg":"webhook rejected"`) || !strings.Contains(text, "bytes)") {
		t.Errorf("log has no rejected webhook with a cut value; want the attempts logged, cut:\n%s", clip.N(text, 2000))
	}

	// Spans: names and attribute values bounded.
	spans := 0
	for _, s := range rec.Ended() {
		spans++
		if len(s.Name()) > 2*clip.Max {
			t.Errorf("span name of %d bytes, want at most %d: %s", len(s.Name()), 2*clip.Max, clip.String(s.Name()))
		}
		check := func(kvs []attribute.KeyValue, where string) {
			for _, kv := range kvs {
				if n := len(kv.Value.String()); n > clip.MaxAttr+64 {
					t.Errorf("span %q %s attribute %s is %d bytes, want at most %d", clip.String(s.Name()), where, kv.Key, n, clip.MaxAttr)
				}
			}
		}
		check(s.Attributes(), "")
		for _, e := range s.Events() {
			check(e.Attributes, "event "+e.Name)
		}
	}

	// /metrics: nothing of the attacker's values, so no series per request.
	resp, err := h.adminGet(t, base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	if i := strings.Index(string(metrics), "zqzqzqzq"); i >= 0 {
		line := string(metrics[strings.LastIndexByte(string(metrics[:i]), '\n')+1:])
		t.Errorf("/metrics has a label made from a request value: %s", clip.String(line))
	}
	t.Logf("%d requests with 100 KB-1 MB values: %d log lines, longest %d bytes (bound %d); %d spans bounded; /metrics %d bytes, no request-made label",
		len(requests)+1, lines, longest, maxLogLine, spans, len(metrics))
}
