package sdk_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/junctionhq/junction/adapters/sdk"
)

// answerRT answers every request with 204 after reading its body: the
// outbound delivery without a network.
type answerRT struct{}

func (answerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusNoContent, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// BenchmarkTraceTransport is what TraceTransport adds to one delivery
// (a 512-byte POST) with a metric SDK installed and no tracer provider:
// "bare" is the transport alone.
func BenchmarkTraceTransport(b *testing.B) {
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	b.Cleanup(func() { otel.SetMeterProvider(prev) })
	body := bytes.Repeat([]byte("x"), 512)
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"bare", answerRT{}},
		{"traced", sdk.TraceTransport(answerRT{})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, err := http.NewRequest(http.MethodPost, "https://receiver.example/hooks/secret-path", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				resp, err := tc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
}
