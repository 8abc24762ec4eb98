package natstrace

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
)

// HTTPTransport wraps an outbound HTTP transport in OTel client spans
// (otelhttp.NewTransport with opts) while a tracer provider is installed;
// without one it starts no span: it carries the caller's trace context to
// the receiver (traceparent, baggage) and counts the request in otelhttp's
// HTTP client metrics (http.client.request.duration,
// http.client.request.body.size) with the same scope, names, units, buckets
// and attributes, recorded as otelhttp records them: when the request
// body is closed and the round trip has returned.
func HTTPTransport(rt http.RoundTripper, opts ...otelhttp.Option) http.RoundTripper {
	return &lightTransport{next: rt, traced: otelhttp.NewTransport(rt, opts...), inst: newClientInstruments()}
}

type lightTransport struct {
	next   http.RoundTripper
	traced http.RoundTripper
	inst   *clientInstruments
}

func (t *lightTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if Recording() {
		return t.traced.RoundTrip(req)
	}
	start := time.Now()
	// The request is the caller's: a copy carries the propagated headers
	// and the counted body.
	r := req.WithContext(req.Context())
	Propagator.Inject(r.Context(), &lazyHeader{req: r})
	var tr *sentBody
	if r.Body != nil && r.Body != http.NoBody {
		tr = &sentBody{body: r.Body, t: t}
		r.Body = tr
		if get := r.GetBody; get != nil {
			r.GetBody = func() (io.ReadCloser, error) {
				b, err := get()
				if err != nil {
					tr.retried(nil) // the retry fails: nothing is counted
					return nil, err
				}
				if b == nil || b == http.NoBody {
					return b, nil
				}
				return tr.retried(b), nil
			}
		}
	}
	res, err := t.next.RoundTrip(r)
	if err == nil {
		switch {
		case res == nil:
			err = fmt.Errorf("http: RoundTripper implementation (%T) returned a nil *Response with a nil error", t.next)
		case res.Body != nil:
		case res.ContentLength > 0 && r.Method != http.MethodHead:
			res, err = nil, fmt.Errorf("http: RoundTripper implementation (%T) returned a *Response with content length %d but a nil Body", t.next, res.ContentLength)
		default:
			res.Body = http.NoBody
		}
	}
	took := time.Since(start)
	status := 0
	if err == nil {
		status = res.StatusCode
	}
	opt := metric.WithAttributeSet(t.inst.attributes(r, res, status, err))
	if tr == nil {
		t.inst.record(r.Context(), 0, took, opt)
	} else {
		tr.returned(r.Context(), took, opt)
	}
	return res, err
}

// lazyHeader is a propagation carrier that copies the request's headers
// before the first header it sets: most untraced requests carry no trace
// context, and then the caller's headers are sent as they are.
type lazyHeader struct {
	req    *http.Request
	copied bool
}

func (h *lazyHeader) Get(key string) string { return h.req.Header.Get(key) }

func (h *lazyHeader) Set(key, value string) {
	if !h.copied {
		h.req.Header = h.req.Header.Clone()
		if h.req.Header == nil {
			h.req.Header = http.Header{}
		}
		h.copied = true
	}
	h.req.Header.Set(key, value)
}

func (h *lazyHeader) Keys() []string {
	keys := make([]string, 0, len(h.req.Header))
	for k := range h.req.Header {
		keys = append(keys, k)
	}
	return keys
}

// sentBody counts the bytes the transport reads of a request body; the
// request is recorded once the round trip has returned and the body sent
// last (a retry's, from GetBody) is closed, as otelhttp does: the
// transport may go on reading a body after RoundTrip returned.
type sentBody struct {
	t    *lightTransport
	body io.ReadCloser
	read int64

	mu     sync.Mutex
	last   *retryBody // the body of the latest GetBody, if any; nil: this one
	none   bool       // GetBody failed: the retry sent no body
	closed bool
	done   bool // recorded
	ctx    context.Context
	took   time.Duration
	opt    metric.RecordOption
	back   bool // the round trip returned
}

func (b *sentBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.mu.Lock()
	b.read += int64(n)
	b.mu.Unlock()
	return n, err
}

func (b *sentBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.maybeRecord()
	return b.body.Close()
}

// retryBody is a body GetBody gave for a retry.
type retryBody struct {
	owner  *sentBody
	body   io.ReadCloser
	read   int64
	closed bool
}

func (b *retryBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.owner.mu.Lock()
	b.read += int64(n)
	b.owner.mu.Unlock()
	return n, err
}

func (b *retryBody) Close() error {
	b.owner.mu.Lock()
	b.closed = true
	b.owner.mu.Unlock()
	b.owner.maybeRecord()
	return b.body.Close()
}

// retried makes body the one whose size and close count; nil when none.
func (b *sentBody) retried(body io.ReadCloser) io.ReadCloser {
	b.mu.Lock()
	defer b.mu.Unlock()
	if body == nil {
		b.last, b.none = nil, true
		return nil
	}
	rb := &retryBody{owner: b, body: body}
	b.last, b.none = rb, false
	return rb
}

// returned notes the round trip's figures and records them if the body is
// done with.
func (b *sentBody) returned(ctx context.Context, took time.Duration, opt metric.RecordOption) {
	b.mu.Lock()
	b.ctx, b.took, b.opt, b.back = ctx, took, opt, true
	b.mu.Unlock()
	b.maybeRecord()
}

func (b *sentBody) maybeRecord() {
	b.mu.Lock()
	var size int64
	finished := false
	switch {
	case b.none:
		finished = true
	case b.last != nil:
		finished, size = b.last.closed, b.last.read
	default:
		finished, size = b.closed, b.read
	}
	record := b.back && !b.done && finished
	if record {
		b.done = true
	}
	ctx, took, opt := b.ctx, b.took, b.opt
	b.mu.Unlock()
	if record {
		b.t.inst.record(ctx, size, took, opt)
	}
}

// clientInstruments are otelhttp's HTTP client histograms, made from a
// meter of otelhttp's scope so that both paths feed the same series.
type clientInstruments struct {
	requestBody httpconv.ClientRequestBodySize
	duration    httpconv.ClientRequestDuration
}

// newClientInstruments makes the instruments from the global meter
// provider, as otelhttp.NewTransport makes its own.
func newClientInstruments() *clientInstruments {
	c := &clientInstruments{}
	m := otelhttpMeter()
	var err error
	if c.requestBody, err = httpconv.NewClientRequestBodySize(m); err != nil {
		otel.Handle(err)
	}
	if c.duration, err = httpconv.NewClientRequestDuration(m, otelhttpDurationBuckets); err != nil {
		otel.Handle(err)
	}
	return c
}

func (c *clientInstruments) record(ctx context.Context, size int64, took time.Duration, opt metric.RecordOption) {
	opts := recordOpts.Get().(*[]metric.RecordOption)
	*opts = append((*opts)[:0], opt)
	c.requestBody.Inst().Record(ctx, size, *opts...)
	c.duration.Inst().Record(ctx, float64(took)/float64(time.Second), *opts...)
	(*opts)[0] = nil
	recordOpts.Put(opts)
}

// attributes are the attributes otelhttp gives a client request
// (http.request.method, server.address, url.scheme, server.port when not
// the scheme's default, network.protocol.name and version as the response
// says or else the request, http.response.status_code, and error.type, the
// error's type, when no response came).
func (c *clientInstruments) attributes(r *http.Request, res *http.Response, status int, err error) attribute.Set {
	var urlHost string
	if r.URL != nil {
		urlHost = r.URL.Host
	}
	host, port := splitHostPort(urlHost)
	if host == "" && port <= 0 {
		host, port = splitHostPort(r.Header.Get("Host"))
	}
	https := r.URL != nil && r.URL.Scheme == "https"
	if port > 0 && ((https && port == 443) || (!https && port == 80)) {
		port = -1
	}
	scheme := "http"
	switch {
	case r.URL != nil && r.URL.Scheme != "":
		scheme = r.URL.Scheme
	case r.TLS != nil:
		scheme = "https"
	}
	proto := r.Proto
	if res != nil && res.Proto != "" {
		proto = res.Proto
	}
	// A request that was answered is counted under a set built once per
	// shape (clientSets); an error's type is not kept.
	k := clientKey{method: r.Method, host: host, port: port, scheme: scheme, proto: proto, status: status}
	cache := status > 0
	if cache {
		if set, ok := clientSets.get(k); ok {
			return set
		}
	}
	var kv [9]attribute.KeyValue
	attrs := append(kv[:0],
		semconv.HTTPRequestMethodKey.String(standardMethod(r.Method)),
		semconv.ServerAddress(host),
		semconv.URLScheme(scheme))
	if port > 0 {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	name, version := netProtocol(proto)
	if name != "" {
		attrs = append(attrs, semconv.NetworkProtocolName(name))
	}
	if version != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(version))
	}
	if status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	}
	if status == 0 && err != nil {
		attrs = append(attrs, errorType(err))
	}
	set := attribute.NewSet(attrs...)
	if cache {
		clientSets.put(k, set)
	}
	return set
}

// clientKey is what a client request's metric attributes are made of.
type clientKey struct {
	method, host, scheme, proto string
	port, status                int
}

// clientSets holds the attribute set of each clientKey seen (hosts come
// from routes' targets).
var clientSets attrSets[clientKey]

// errorType is error.type as otelhttp gives it: the error's type, by
// package path and name.
func errorType(err error) attribute.KeyValue {
	t := reflect.TypeOf(err)
	if t == nil {
		return semconv.ErrorTypeOther
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var v string
	if t.PkgPath() == "" || t.Name() == "" {
		v = t.String()
	} else {
		v = t.PkgPath() + "." + t.Name()
	}
	if v == "" {
		return semconv.ErrorTypeOther
	}
	return semconv.ErrorTypeKey.String(v)
}

// netProtocol splits "HTTP/1.1" into the protocol's name, lower case,
// and version.
func netProtocol(proto string) (name, version string) {
	name, version, _ = strings.Cut(proto, "/")
	switch name {
	case "HTTP":
		name = "http"
	case "QUIC":
		name = "quic"
	case "SPDY":
		name = "spdy"
	default:
		name = strings.ToLower(name)
	}
	return name, version
}
