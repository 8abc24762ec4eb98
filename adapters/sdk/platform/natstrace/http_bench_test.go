package natstrace

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkHTTPHandler is the cost HTTPHandler adds to a webhook-sized
// request (512-byte body read, 202 with a short JSON answer) with a metric
// SDK installed and no tracer provider, as `junction serve` and the
// adapters run without an OTLP endpoint: "bare" is the handler alone,
// "wrapped" HTTPHandler, "otelhttp" otelhttp's handler.
func BenchmarkHTTPHandler(b *testing.B) {
	prev := otel.GetMeterProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	otel.SetMeterProvider(mp)
	b.Cleanup(func() { otel.SetMeterProvider(prev) })

	body := bytes.Repeat([]byte("x"), 512)
	answer := []byte(`{"id":"evt_1","duplicate":false,"sequence":1}`)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(answer)
	})
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", inner},
		{"wrapped", HTTPHandler(inner, "/webhooks/{source}")},
		// otelhttp's own handler, as HTTPHandler wrapped before it served
		// untraced requests itself.
		{"otelhttp", otelhttp.NewHandler(inner, "/webhooks/{source}", otelhttp.WithPropagators(Propagator))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "http://hub.example:8080/webhooks/acme", bytes.NewReader(body))
				r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
				w := httptest.NewRecorder()
				tc.h.ServeHTTP(w, r)
				if w.Code != http.StatusAccepted {
					b.Fatalf("status %d, want 202", w.Code)
				}
			}
		})
	}
}
