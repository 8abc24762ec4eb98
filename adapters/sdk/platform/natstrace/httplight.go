package natstrace

import (
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// globalPkg is the package of OTel's own global tracer provider, the one
// otel.GetTracerProvider returns until a provider is set: it hands out
// non-recording spans.
const globalPkg = "go.opentelemetry.io/otel/internal/global"

// recording reports whether tp may record spans: it is neither the no-op
// provider nor OTel's global stand-in for a provider not yet set.
func recording(tp trace.TracerProvider) bool {
	switch tp.(type) {
	case tracenoop.TracerProvider, *tracenoop.TracerProvider:
		return false
	}
	t := reflect.TypeOf(tp)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() != globalPkg
}

// Recording reports whether a tracer provider that may record spans is
// installed (telemetry.SetupTracing with an exporter, or a test's own):
// without one, HTTPHandler, HTTPTransport and the span helpers make no
// spans, so nothing a span would show needs preparing. It is read from
// Tracer's cache of the provider last seen.
func Recording() bool { return !quiet(Tracer()) }

// lightHandler serves a request with otelhttp's handler while a tracer
// provider is installed, and otherwise with the part of it that is not
// about spans: the trace context the sender sent is continued (the request's
// context carries it, so an event stored from the request keeps the
// sender's trace id) and the request is counted in the same HTTP server
// metrics, with the same instrumentation scope, names, units, buckets and
// attributes (http.server.request.duration, http.server.request.body.size,
// http.server.response.body.size). It leaves out what only a recorded span
// would show: the span's request and response attributes, its status and
// name, and otelhttp's Labeler in the context (nothing here adds labels).
type lightHandler struct {
	next   http.Handler
	traced http.Handler
	inst   *serverInstruments
}

func (h *lightHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if Recording() {
		h.traced.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	ctx := Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	in := r.WithContext(ctx)
	var body *countedBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &countedBody{ReadCloser: r.Body}
		in.Body = body
	}
	rw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		// net/http removes the temporary files of a multipart form it
		// finds on the request it passed in.
		if in.MultipartForm != nil {
			r.MultipartForm = in.MultipartForm
		}
	}()
	h.next.ServeHTTP(rw, in)

	var read int64
	if body != nil {
		read = body.n
	}
	h.inst.record(ctx, in, rw.status, read, rw.written, time.Since(start))
}

// countedBody counts the bytes the handler reads of a request body.
type countedBody struct {
	io.ReadCloser
	n int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// countingWriter notes the status and counts the bytes of a response.
// Unwrap lets http.ResponseController reach the server's writer.
type countingWriter struct {
	http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
}

func (w *countingWriter) WriteHeader(code int) {
	// Informational answers (1xx but 101) come before the real one.
	if !w.wroteHeader && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		w.wroteHeader = true
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// Flush flushes the server's writer when it can (a streamed answer).
func (w *countingWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap is the server's writer, for http.ResponseController.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// otelhttpMeter is a meter of otelhttp's own scope, so that the light
// path's instruments and otelhttp's feed the same series.
func otelhttpMeter() metric.Meter {
	return otel.GetMeterProvider().Meter(otelhttp.ScopeName, metric.WithInstrumentationVersion(otelhttp.Version))
}

// otelhttpDurationBuckets are otelhttp's request duration buckets (its
// internal/semconv NewHTTPServer and NewHTTPClient), in seconds.
var otelhttpDurationBuckets = metric.WithExplicitBucketBoundaries(
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)

// serverInstruments are otelhttp's HTTP server histograms, made from a
// meter of otelhttp's scope so that both paths feed the same series.
type serverInstruments struct {
	requestBody  httpconv.ServerRequestBodySize
	responseBody httpconv.ServerResponseBodySize
	duration     httpconv.ServerRequestDuration
}

// newServerInstruments makes the instruments from the global meter
// provider, as otelhttp.NewHandler makes its own.
func newServerInstruments() *serverInstruments {
	s := &serverInstruments{}
	m := otelhttpMeter()
	var err error
	if s.requestBody, err = httpconv.NewServerRequestBodySize(m); err != nil {
		otel.Handle(err)
	}
	if s.responseBody, err = httpconv.NewServerResponseBodySize(m); err != nil {
		otel.Handle(err)
	}
	if s.duration, err = httpconv.NewServerRequestDuration(m, otelhttpDurationBuckets); err != nil {
		otel.Handle(err)
	}
	return s
}

// record counts one request with the attributes otelhttp gives it
// (http.request.method, url.scheme, network.protocol.name and version,
// http.response.status_code, http.route from the mux's pattern), except
// server.address and server.port: otelhttp takes them from the request's
// Host header, and the hub's meter provider drops them from every HTTP
// server metric (platform/telemetry), so a client cannot mint a series per
// request. What is left takes few values, so each attribute set is built
// once (serverSets) rather than per request and per histogram.
func (s *serverInstruments) record(ctx context.Context, r *http.Request, status int, read, written int64, took time.Duration) {
	set := serverSet(r, status)
	opts := recordOpts.Get().(*[]metric.RecordOption)
	*opts = append((*opts)[:0], metric.WithAttributeSet(set))
	s.requestBody.Inst().Record(ctx, read, *opts...)
	s.responseBody.Inst().Record(ctx, written, *opts...)
	s.duration.Inst().Record(ctx, float64(took)/float64(time.Second), *opts...)
	(*opts)[0] = nil
	recordOpts.Put(opts)
}

// ServerHostKeys are the HTTP server metric attributes taken from the
// request's Host header (server.address, server.port), which the hub's
// meter provider drops from every http.server.* metric: the light path
// never records them, otelhttp's handler does and they are filtered out.
var ServerHostKeys = []attribute.Key{semconv.ServerAddressKey, semconv.ServerPortKey}

// serverKey is what a request's server metric attributes are made of.
type serverKey struct {
	method, scheme, proto, route string
	status                       int
}

// serverSets holds the attribute set of each serverKey seen.
var serverSets attrSets[serverKey]

// serverSet returns the attribute set of r answered with status.
func serverSet(r *http.Request, status int) attribute.Set {
	k := serverKey{method: standardMethod(r.Method), scheme: "http", proto: r.Proto, status: status}
	if r.TLS != nil {
		k.scheme = "https"
	}
	if i := strings.IndexByte(r.Pattern, '/'); i >= 0 {
		k.route = r.Pattern[i:]
	}
	if set, ok := serverSets.get(k); ok {
		return set
	}
	var kv [6]attribute.KeyValue
	attrs := append(kv[:0], semconv.HTTPRequestMethodKey.String(k.method), semconv.URLScheme(k.scheme))
	name, version := netProtocol(k.proto)
	if name != "" {
		attrs = append(attrs, semconv.NetworkProtocolName(name))
	}
	if version != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(version))
	}
	if status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	}
	if k.route != "" {
		attrs = append(attrs, semconv.HTTPRoute(k.route))
	}
	set := attribute.NewSet(attrs...)
	serverSets.put(k, set)
	return set
}

// recordOpts holds the option slices of record: a slice passed to an
// instrument's Record escapes, so a new one each time costs an allocation
// per histogram.
var recordOpts = sync.Pool{New: func() any { return &[]metric.RecordOption{} }}

// standardMethod is the method as the semantic conventions name it:
// a known method in upper case, else "_OTHER".
func standardMethod(m string) string {
	m = strings.ToUpper(m)
	switch m {
	case http.MethodConnect, http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// splitHostPort splits a Host header as otelhttp does: an empty host when
// none is given or it cannot be read, a negative port when none is.
func splitHostPort(hostport string) (host string, port int) {
	port = -1
	if strings.HasPrefix(hostport, "[") {
		end := strings.LastIndexByte(hostport, ']')
		if end < 0 {
			return "", port
		}
		if strings.LastIndexByte(hostport[end:], ':') < 0 {
			return hostport[1:end], port
		}
	} else if !strings.Contains(hostport, ":") {
		return hostport, port
	}
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return host, port
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return host, port
	}
	return host, int(n)
}
