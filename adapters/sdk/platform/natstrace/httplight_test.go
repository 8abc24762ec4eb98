package natstrace

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// TestHTTPHandlerMetricsMatchOtelhttp: without a tracer provider,
// HTTPHandler counts each request in the HTTP server metrics exactly as
// otelhttp's handler does on the hub's meter provider, which drops
// ServerHostKeys: same scope, names, units, descriptions, buckets,
// attribute sets, counts and body sizes (durations differ).
func TestHTTPHandlerMetricsMatchOtelhttp(t *testing.T) {
	if Recording() {
		t.Fatal("a tracer provider is installed before the test: the light path cannot be tested")
	}
	answer := []byte(`{"id":"evt_1"}`)
	for _, tc := range []struct {
		name    string
		method  string
		url     string
		body    string
		pattern string // the mux pattern HTTPHandler is mounted under
		tls     bool
		proto   string
		serve   func(w http.ResponseWriter, r *http.Request)
	}{
		{name: "webhook accepted", method: http.MethodPost, url: "http://hub.example:8080/webhooks/acme", body: strings.Repeat("x", 512), pattern: "/webhooks/",
			serve: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write(answer)
			}},
		{name: "body half read, implicit 200", method: http.MethodPost, url: "http://hub.example/webhooks/acme", body: strings.Repeat("y", 100), pattern: "POST /webhooks/{source}",
			serve: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadFull(r.Body, make([]byte, 40))
				_, _ = w.Write(answer)
			}},
		{name: "nothing written", method: http.MethodGet, url: "http://hub.example:80/v1/routes",
			serve: func(http.ResponseWriter, *http.Request) {}},
		{name: "refused over TLS on its own port", method: http.MethodPut, url: "https://hub.example:8443/v1/routes/r", body: "{}", tls: true,
			serve: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusForbidden) }},
		{name: "default TLS port, odd method, HTTP/2", method: "purge", url: "https://hub.example:443/v1/x", tls: true, proto: "HTTP/2.0",
			serve: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusMethodNotAllowed) }},
		{name: "informational first, flushed", method: http.MethodGet, url: "http://[::1]:9000/v1/events",
			serve: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusOK)
				if err := http.NewResponseController(w).Flush(); err != nil {
					panic(fmt.Sprintf("flush through the wrapper: %v", err))
				}
				_, _ = w.Write(answer)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			light := collectMetrics(t, func(mp *sdkmetric.MeterProvider) http.Handler {
				prev := otel.GetMeterProvider()
				otel.SetMeterProvider(mp)
				t.Cleanup(func() { otel.SetMeterProvider(prev) })
				return HTTPHandler(http.HandlerFunc(tc.serve), "/route")
			}, tc.method, tc.url, tc.body, tc.pattern, tc.tls, tc.proto)
			want := collectMetrics(t, func(mp *sdkmetric.MeterProvider) http.Handler {
				return otelhttp.NewHandler(http.HandlerFunc(tc.serve), "/route", otelhttp.WithMeterProvider(mp), otelhttp.WithPropagators(Propagator))
			}, tc.method, tc.url, tc.body, tc.pattern, tc.tls, tc.proto)
			if len(want) == 0 {
				t.Fatal("otelhttp recorded no metrics: the comparison would prove nothing")
			}
			if !slices.Equal(light, want) {
				t.Errorf("HTTPHandler recorded\n  %s\notelhttp records\n  %s", strings.Join(light, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// collectMetrics serves one request through the handler newHandler makes
// on a fresh meter provider and returns what it recorded, one line per
// data point, durations reduced to their count.
func collectMetrics(t *testing.T, newHandler func(*sdkmetric.MeterProvider) http.Handler, method, url, body, pattern string, useTLS bool, proto string) []string {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Name: "http.server.*"},
		sdkmetric.Stream{AttributeFilter: attribute.NewDenyKeysFilter(ServerHostKeys...)},
	)))
	h := newHandler(mp)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, url, rd)
	if !useTLS {
		r.TLS = nil
	} else if r.TLS == nil {
		r.TLS = &tls.ConnectionState{}
	}
	if proto != "" {
		r.Proto = proto
	}
	r.Header.Set("Traceparent", parent)
	if pattern != "" {
		mux := http.NewServeMux()
		mux.Handle(pattern, h)
		h = mux
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	return points(t, reader)
}

// points collects what reader's meter provider recorded, one line per
// data point, durations reduced to their count.
func points(t *testing.T, reader *sdkmetric.ManualReader) []string {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}
	var out []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			head := fmt.Sprintf("%s@%s %s [%s] %q", sm.Scope.Name, sm.Scope.Version, m.Name, m.Unit, m.Description)
			switch d := m.Data.(type) {
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("%s {%s} count=%d sum=%d bounds=%v", head, attrs(p.Attributes), p.Count, p.Sum, p.Bounds))
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("%s {%s} count=%d bounds=%v", head, attrs(p.Attributes), p.Count, p.Bounds))
				}
			default:
				out = append(out, fmt.Sprintf("%s %T", head, m.Data))
			}
		}
	}
	slices.Sort(out)
	return out
}

func attrs(s attribute.Set) string {
	var b []string
	for _, kv := range s.ToSlice() {
		b = append(b, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(b, " ")
}

// TestHTTPHandlerContinuesTheSendersTrace: the handler's request carries
// the sender's trace context whether or not spans are recorded; with a
// tracer provider installed, a server span named after the route is
// recorded under the sender's span.
func TestHTTPHandlerContinuesTheSendersTrace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		install  func(t *testing.T) func() int // returns the ended span count
		wantSpan bool
	}{
		{name: "no tracer provider", install: func(*testing.T) func() int { return func() int { return 0 } }},
		{name: "noop tracer provider", install: func(t *testing.T) func() int {
			prev := otel.GetTracerProvider()
			otel.SetTracerProvider(tracenoop.NewTracerProvider())
			t.Cleanup(func() { otel.SetTracerProvider(prev) })
			return func() int { return 0 }
		}},
		{name: "recording tracer provider", wantSpan: true, install: func(t *testing.T) func() int {
			rec := record(t)
			return func() int { return len(rec.Ended()) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ended := tc.install(t)
			if got := Recording(); got != tc.wantSpan {
				t.Fatalf("Recording() = %v, want %v", got, tc.wantSpan)
			}
			var seen trace.SpanContext
			h := HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = trace.SpanContextFromContext(r.Context())
				w.WriteHeader(http.StatusAccepted)
			}), "/webhooks/{source}")
			r := httptest.NewRequest(http.MethodPost, "http://hub.example/webhooks/acme", strings.NewReader("{}"))
			r.Header.Set("Traceparent", parent)
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got, want := seen.TraceID().String(), "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
				t.Errorf("handler's trace id = %q, want the sender's %q", got, want)
			}
			n := ended()
			if tc.wantSpan && n != 1 {
				t.Errorf("%d spans recorded, want the server span", n)
			}
			if tc.wantSpan && seen.SpanID().String() == "00f067aa0ba902b7" {
				t.Errorf("handler runs in the sender's span, want a server span of its own")
			}
		})
	}
}

// TestServerSetsBounded: the attribute sets of the light path's server
// metrics are built once per distinct request shape, at most
// maxAttrSets of them; past that they are built per request, still
// right.
func TestServerSetsBounded(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://a.example/webhooks/acme", nil)
	r.Pattern = "POST /webhooks/{source}"
	first := serverSet(r, http.StatusAccepted)
	r.Host = "b.example:9999" // the Host header is not part of the set
	if again := serverSet(r, http.StatusAccepted); !again.Equals(&first) {
		t.Errorf("same request shape: %v, then %v", attrs(first), attrs(again))
	}
	for i := range maxAttrSets + 100 {
		r.Pattern = fmt.Sprintf("/r%d", i)
		set := serverSet(r, http.StatusOK)
		if v, ok := set.Value(semconv.HTTPRouteKey); !ok || v.AsString() != r.Pattern {
			t.Fatalf("route %s: set %s", r.Pattern, attrs(set))
		}
	}
	n := serverSets.len()
	if n > maxAttrSets {
		t.Errorf("%d attribute sets kept, want at most %d", n, maxAttrSets)
	}
}
