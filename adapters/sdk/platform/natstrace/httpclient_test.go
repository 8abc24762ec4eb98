package natstrace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// stubRT plays the network for a client transport: it reads the request
// body (or a retry's, from GetBody) as told and answers as told.
type stubRT struct {
	retry      bool // read the body, then send again from GetBody
	keepOpen   bool // leave the body open (the test closes it later)
	err        error
	status     int
	proto      string
	gotHeaders http.Header
	body       io.ReadCloser
}

func (s *stubRT) RoundTrip(r *http.Request) (*http.Response, error) {
	s.gotHeaders = r.Header.Clone()
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		if s.retry {
			_ = r.Body.Close()
			b, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 7))
		}
		if s.keepOpen {
			s.body = r.Body
		} else {
			_ = r.Body.Close()
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	return &http.Response{StatusCode: s.status, Proto: s.proto, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

// TestHTTPTransportMetricsMatchOtelhttp: without a tracer provider,
// HTTPTransport sends the same trace headers as otelhttp's transport and
// counts each request in the same HTTP client metrics, at the same moment
// (not before the request body is closed).
func TestHTTPTransportMetricsMatchOtelhttp(t *testing.T) {
	if Recording() {
		t.Fatal("a tracer provider is installed before the test: the light path cannot be tested")
	}
	sc, err := trace.ParseTraceState("")
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: sc}))
	member, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(member)
	for _, tc := range []struct {
		name   string
		method string
		url    string
		body   string
		ctx    context.Context
		stub   stubRT
	}{
		{name: "delivery in a trace", method: http.MethodPost, url: "https://receiver.example/", body: strings.Repeat("x", 512), ctx: traced,
			stub: stubRT{status: http.StatusNoContent, proto: "HTTP/1.1"}},
		{name: "no trace, own port, HTTP/2 answer 500", method: http.MethodGet, url: "http://receiver.example:8080/", ctx: context.Background(),
			stub: stubRT{status: http.StatusInternalServerError, proto: "HTTP/2.0"}},
		{name: "baggage only, refused connection", method: http.MethodPost, url: "http://receiver.example:80/", body: "{}", ctx: baggage.ContextWithBaggage(context.Background(), bag),
			stub: stubRT{err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}},
		{name: "retried from GetBody", method: http.MethodPut, url: "https://receiver.example:8443/", body: strings.Repeat("y", 100), ctx: traced,
			stub: stubRT{retry: true, status: http.StatusOK, proto: "HTTP/1.1"}},
		{name: "body closed after the round trip", method: http.MethodPost, url: "https://receiver.example/", body: "late", ctx: context.Background(),
			stub: stubRT{keepOpen: true, status: http.StatusAccepted, proto: "HTTP/1.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(newRT func(mp *sdkmetric.MeterProvider, next http.RoundTripper) http.RoundTripper) (before, after []string, sent http.Header) {
				reader := sdkmetric.NewManualReader()
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
				stub := tc.stub
				rt := newRT(mp, &stub)
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				req, err := http.NewRequestWithContext(tc.ctx, tc.method, tc.url, body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				callers := req.Header.Clone()
				resp, err := rt.RoundTrip(req)
				if (err != nil) != (tc.stub.err != nil) {
					t.Fatalf("RoundTrip error %v, want %v", err, tc.stub.err)
				}
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				if !equalHeaders(req.Header, callers) {
					t.Errorf("the caller's request headers changed: %v, were %v", req.Header, callers)
				}
				before = points(t, reader)
				if stub.body != nil {
					_ = stub.body.Close()
				}
				return before, points(t, reader), stub.gotHeaders
			}
			lightBefore, light, lightSent := run(func(mp *sdkmetric.MeterProvider, next http.RoundTripper) http.RoundTripper {
				prev := otel.GetMeterProvider()
				otel.SetMeterProvider(mp)
				t.Cleanup(func() { otel.SetMeterProvider(prev) })
				return HTTPTransport(next)
			})
			wantBefore, want, wantSent := run(func(mp *sdkmetric.MeterProvider, next http.RoundTripper) http.RoundTripper {
				return otelhttp.NewTransport(next, otelhttp.WithMeterProvider(mp), otelhttp.WithPropagators(Propagator))
			})
			if len(want) == 0 {
				t.Fatal("otelhttp recorded no metrics: the comparison would prove nothing")
			}
			if !slices.Equal(light, want) {
				t.Errorf("HTTPTransport recorded\n  %s\notelhttp records\n  %s", strings.Join(light, "\n  "), strings.Join(want, "\n  "))
			}
			if !slices.Equal(lightBefore, wantBefore) {
				t.Errorf("before the body was closed HTTPTransport had recorded %q, otelhttp %q", lightBefore, wantBefore)
			}
			if trace.SpanContextFromContext(tc.ctx).IsValid() && !strings.HasPrefix(lightSent.Get("Traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
				t.Errorf("HTTPTransport sent traceparent %q, want the caller's trace", lightSent.Get("Traceparent"))
			}
			if !equalHeaders(lightSent, wantSent) {
				t.Errorf("HTTPTransport sent headers %v, otelhttp sends %v", lightSent, wantSent)
			}
		})
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestClientSetsBounded: the client metrics' attribute sets are built once
// per request shape, at most maxAttrSets of them; past that they are
// built per request, still right; a failed request's set (with its
// error.type) is not kept.
func TestClientSetsBounded(t *testing.T) {
	var c clientInstruments
	res := &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1"}
	for i := range maxAttrSets + 100 {
		host := fmt.Sprintf("h%d.example", i)
		r := httptest.NewRequest(http.MethodPost, "http://"+host+"/hook", nil)
		set := c.attributes(r, res, http.StatusOK, nil)
		if v, ok := set.Value(semconv.ServerAddressKey); !ok || v.AsString() != host {
			t.Fatalf("host %s: set %v", host, set.ToSlice())
		}
		if again := c.attributes(r, res, http.StatusOK, nil); !again.Equals(&set) {
			t.Fatalf("host %s: %v, then %v", host, set.ToSlice(), again.ToSlice())
		}
	}
	n := clientSets.len()
	if n > maxAttrSets {
		t.Errorf("%d attribute sets kept, want at most %d", n, maxAttrSets)
	}
	r := httptest.NewRequest(http.MethodPost, "http://failing.example/hook", nil)
	set := c.attributes(r, nil, 0, errors.New("refused"))
	if _, ok := set.Value(semconv.ErrorTypeKey); !ok {
		t.Errorf("failed request: set %v has no error.type", set.ToSlice())
	}
}
