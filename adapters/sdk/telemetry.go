package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Outcomes of a delivery attempt, the junction.delivery.outcome span
// attribute and the outcome label of the delivery metrics.
const (
	outcomeSuccess    = "success"
	outcomeRetry      = "retry"
	outcomeDeadLetter = "dead_letter"
	outcomeDropped    = "dropped"
)

// Outcomes of publishing an event, the outcome label of
// junction_events_ingested_total.
const (
	ingestStored      = "stored"
	ingestDuplicate   = "duplicate"
	ingestInvalid     = "invalid"
	ingestUnavailable = "unavailable"
)

// instruments are the SDK's metrics, created once from the global meter
// provider (telemetry.MetricsHandler installs it; until then they are
// no-ops that start counting once it is installed).
type instruments struct {
	ingested        metric.Int64Counter
	rejected        metric.Int64Counter
	attempts        metric.Int64Counter
	deliveries      metric.Int64Counter
	attemptDuration metric.Float64Histogram
	lag             metric.Float64Histogram
	mappingFailures metric.Int64Counter
}

var (
	instOnce sync.Once
	inst     instruments
)

// latencyBuckets suit HTTP deliveries and hub hops: 5 ms to 2 minutes.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

func meters() *instruments {
	instOnce.Do(func() {
		m := otel.GetMeterProvider().Meter(natstrace.ScopeName)
		inst.ingested, _ = m.Int64Counter("junction.events.ingested", metric.WithUnit("{event}"),
			metric.WithDescription("Events submitted for publishing onto EVENTS, by source, type and outcome (stored, duplicate, invalid, unavailable)."))
		inst.rejected, _ = m.Int64Counter("junction.webhook.rejections", metric.WithUnit("{request}"),
			metric.WithDescription("Inbound webhook requests turned away, by source and reason."))
		inst.attempts, _ = m.Int64Counter("junction.delivery.attempts", metric.WithUnit("{attempt}"),
			metric.WithDescription("Delivery attempts, by destination and outcome (success, retry, dead_letter, dropped)."))
		inst.deliveries, _ = m.Int64Counter("junction.deliveries", metric.WithUnit("{delivery}"),
			metric.WithDescription("Deliveries settled for good, by destination and outcome (success, dead_letter, dropped)."))
		inst.attemptDuration, _ = m.Float64Histogram("junction.delivery.attempt.duration", metric.WithUnit("s"),
			metric.WithDescription("Time one delivery attempt took, by destination and outcome."),
			metric.WithExplicitBucketBoundaries(latencyBuckets...))
		inst.lag, _ = m.Float64Histogram("junction.delivery.lag", metric.WithUnit("s"),
			metric.WithDescription("End-to-end lag from the event's time to its successful delivery, by destination and route."),
			metric.WithExplicitBucketBoundaries(latencyBuckets...))
		inst.mappingFailures, _ = m.Int64Counter("junction.source.mapping_failures", metric.WithUnit("{event}"),
			metric.WithDescription("Events stored with mapping errors (fields the adapter could not map onto the canonical model), by source, type and provider_version: an app's interface drift."))
	})
	return &inst
}

// RecordWebhookRejection counts one inbound webhook request turned away,
// for junction_webhook_rejections_total. reason is a short fixed word
// (unknown_source, method, too_large, signature, timestamp, bad_request,
// invalid_event, rate_limited, content_type); source must be a configured source name, never a name
// taken from an unknown request's URL.
func RecordWebhookRejection(ctx context.Context, source, reason string) {
	meters().rejected.Add(ctx, 1, metric.WithAttributes(
		attribute.String("source", source), attribute.String("reason", reason)))
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("junction.webhook.rejection", reason))
}

// TraceTransport wraps an HTTP client transport in OTel client spans that
// carry traceparent to the receiver (without a tracer provider, no spans:
// the trace context and the HTTP client metrics only, see
// natstrace.HTTPTransport). The span's url.full is only the
// target's origin: receivers such as Slack's incoming webhooks carry their
// secret in the URL's path or query.
func TraceTransport(rt http.RoundTripper) http.RoundTripper {
	traced := natstrace.HTTPTransport(restoreURL{rt}, otelhttp.WithPropagators(natstrace.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
	return redactURL{traced}
}

type realURLKey struct{}

// redactURL shows the traced transport a request whose URL is the origin
// only; restoreURL, under it, sends the real one.
type redactURL struct{ next http.RoundTripper }

func (t redactURL) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || !natstrace.Recording() {
		// Without a provider that records, the transport makes no span
		// and its metrics take the host only: nothing shows the URL, and
		// two request copies a delivery would be for nothing.
		return t.next.RoundTrip(req)
	}
	// A shallow copy is enough: only URL and Host change, and the traced
	// transport clones the request before it adds headers. A deep Clone
	// (headers and all) here and in restoreURL cost two header maps per
	// delivery.
	c := req.WithContext(context.WithValue(req.Context(), realURLKey{}, req.URL))
	c.URL = &url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: "/"}
	if c.Host == "" {
		c.Host = req.URL.Host
	}
	return t.next.RoundTrip(c)
}

type restoreURL struct{ next http.RoundTripper }

func (t restoreURL) RoundTrip(req *http.Request) (*http.Response, error) {
	copied := false
	if u, ok := req.Context().Value(realURLKey{}).(*url.URL); ok {
		req = req.WithContext(req.Context()) // a shallow copy: see redactURL
		req.URL = u
		copied = true
	}
	if b := req.Body; b != nil && b != http.NoBody && req.ContentLength > 0 && req.ContentLength <= inMemoryBodyMax {
		// The traced transport wraps the body to count it, and net/http
		// flushes the headers of a body it does not know to be in memory
		// before writing the body: two writes, two system calls, per
		// request. Read the small body here (the wrapper counts it, its
		// Close records the metric) and hand on one net/http knows.
		data, err := io.ReadAll(io.LimitReader(b, req.ContentLength+1))
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if !copied {
			req = req.WithContext(req.Context())
		}
		req.Body = io.NopCloser(bytes.NewReader(data))
	}
	return t.next.RoundTrip(req)
}

// inMemoryBodyMax is the largest request body restoreURL reads into memory
// to send with its headers in one write.
const inMemoryBodyMax = 64 << 10

// startEventPublish starts the PRODUCER span of publishing ev and records
// its trace id on ev.
func startEventPublish(ctx context.Context, ev *junctionv1.Event) (context.Context, trace.Span) {
	subject := topology.EventSubject(ev.GetSource(), ev.GetType())
	ctx, span := natstrace.StartPublish(ctx, subject, nil)
	if span.IsRecording() { // else skip building the attributes
		span.SetAttributes(
			natstrace.KeyEventID.String(ev.GetId()),
			natstrace.KeyEventSource.String(ev.GetSource()),
			natstrace.KeyEventType.String(ev.GetType()),
			natstrace.KeyMessageID.String(topology.EventMsgID(ev.GetSource(), ev.GetId())))
	}
	ev.TraceId = natstrace.TraceID(ctx)
	return ctx, span
}

// endEventPublish ends the publish span and counts the outcome.
func endEventPublish(ctx context.Context, span trace.Span, ev *junctionv1.Event, res PublishResult, err error) {
	outcome := ingestStored
	switch {
	case errors.Is(err, ErrInvalidEvent):
		outcome = ingestInvalid
	case err != nil:
		outcome = ingestUnavailable
	case res.Duplicate:
		outcome = ingestDuplicate
	}
	source, typ := ev.GetSource(), ev.GetType()
	if topology.ValidToken(source) != nil {
		source = "invalid"
	}
	if topology.ValidType(typ) != nil {
		typ = "invalid"
	}
	meters().ingested.Add(ctx, 1, ingestAttrs(source, typ, outcome))
	if outcome == ingestStored {
		recordMappingFailure(ctx, ev) // a duplicate was counted when first stored
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, outcome)
	} else if span.IsRecording() {
		span.SetAttributes(natstrace.KeyDuplicate.Bool(res.Duplicate))
		if n := len(ev.GetMappingErrors()); n > 0 {
			span.SetAttributes(attribute.Int("junction.event.mapping_errors", n))
		}
		if res.Sequence > 0 {
			span.SetAttributes(attribute.Int64("messaging.nats.stream.sequence", int64(res.Sequence)))
		}
	}
	span.End()
}

// ingestAttrCache holds the attribute options of
// junction_events_ingested_total by source, type and outcome, up to
// maxIngestAttrs of them; past that (a source sending many distinct types)
// they are built per event, as before, rather than held forever.
var ingestAttrCache = attrCache[ingestKey, metric.AddOption]{max: 4096}

type ingestKey struct{ source, typ, outcome string }

// ingestAttrs is the source, type and outcome labels of one ingested
// event: metric.WithAttributes builds and sorts a new set on every call.
func ingestAttrs(source, typ, outcome string) metric.AddOption {
	return ingestAttrCache.get(ingestKey{source, typ, outcome}, func(k ingestKey) metric.AddOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("source", k.source), attribute.String("type", k.typ), attribute.String("outcome", k.outcome)))
	})
}

// attrCache keeps metric options built once per label values, up to max
// entries (none past that: they are built per call). Its lookups do not
// allocate, as a sync.Map's boxed keys or a concatenated string key do.
type attrCache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

func (c *attrCache[K, V]) get(k K, build func(K) V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = build(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		return old
	}
	if c.m == nil {
		c.m = make(map[K]V)
	}
	if len(c.m) < c.max {
		c.m[k] = v
	}
	return v
}

// traceEvent is a Subscribe handler step: a CONSUMER span around handling
// one event, continuing the trace of whoever published it.
func traceEvent(ctx context.Context, m jetstream.Msg, durable string, handle func(context.Context, jetstream.Msg)) {
	attrs := []attribute.KeyValue{natstrace.KeyEventID.String(topology.MetaOf(m.Headers()).EventID)}
	if md, err := m.Metadata(); err == nil {
		attrs = append(attrs, natstrace.KeyDeliveryCount.Int64(int64(md.NumDelivered)))
	}
	ctx, span := natstrace.StartProcess(ctx, m.Subject(), durable, m.Headers(), attrs...)
	defer span.End()
	handle(ctx, m)
}

// traced runs one delivery attempt inside a CONSUMER span "process
// junction.deliveries.<destination>.<route>" (a child of the router's
// publish span, so every attempt of a delivery hangs under it) and records
// the attempt's outcome, duration and lag. Logs written during the attempt
// carry the trace and span ids. Its callers (the lanes' admit and lane
// handlers) have handed back retries that are not due yet.
func (s *sink) traced(ctx context.Context, m jetstream.Msg) {
	attempt := attemptsBefore(m) + 1
	h := m.Headers()
	// A retry or parked delivery is named as the delivery it continues, so
	// every attempt of a delivery is the same span under the router's
	// publish.
	subject := deliverySubject(m.Subject())
	ctx, span := natstrace.StartProcess(ctx, subject, topology.DeliveryConsumer(s.app), h)
	if span.IsRecording() { // else skip building the attributes
		meta := topology.MetaOf(h)
		span.SetAttributes(
			natstrace.KeyDestApp.String(s.app),
			natstrace.KeyDeliveryID.String(meta.DeliveryID),
			natstrace.KeyEventID.String(meta.EventID),
			natstrace.KeyAttempt.Int(attempt),
			natstrace.KeyDeliveryCount.Int(attempt))
	}
	tm := &tracedMsg{Msg: m, span: span, attempt: attempt}
	run := *s
	run.log = logWithTrace(ctx, s.log)
	start := time.Now()
	run.handle(ctx, tm)
	took := time.Since(start).Seconds()

	outcome := tm.outcome
	if outcome == "" {
		outcome = outcomeRetry // not settled: redelivered after the ack wait
	}
	if span.IsRecording() {
		span.SetAttributes(natstrace.KeyOutcome.String(outcome))
	}
	if outcome != outcomeSuccess {
		span.SetStatus(codes.Error, outcome)
	}
	span.End()

	attrs := sinkAttrs(s.app, outcome)
	mt := meters()
	mt.attempts.Add(ctx, 1, attrs.add)
	mt.attemptDuration.Record(ctx, took, attrs.record)
	if outcome != outcomeRetry {
		mt.deliveries.Add(ctx, 1, attrs.add)
	}
	if outcome == outcomeSuccess {
		// The delivery handle decoded; decode it here only if it did not.
		d := tm.delivery
		if d == nil {
			d, _ = decodeDelivery(m)
		}
		if d != nil {
			t := d.GetEventTime()
			if t == nil {
				t = d.GetCreateTime()
			}
			if t != nil {
				mt.lag.Record(ctx, max(time.Since(t.AsTime()).Seconds(), 0), lagAttrs(s.app, lagRoute(d)))
			}
		}
	}
}

// sinkMetricAttrs are the metric options of one destination and outcome,
// built once: metric.WithAttributes builds and sorts a new attribute set
// on every call.
type sinkMetricAttrs struct {
	add    metric.AddOption
	record metric.RecordOption
}

// lagAttrCache holds the lag histogram's options by destination and
// route: the routes of a hub times its destinations.
var lagAttrCache = attrCache[[2]string, metric.RecordOption]{max: 4096}

func lagAttrs(app, route string) metric.RecordOption {
	return lagAttrCache.get([2]string{app, route}, func(k [2]string) metric.RecordOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("destination", k[0]), attribute.String("route", k[1])))
	})
}

// lagRoute is the route label of d's lag: its route id, or "replay" for
// a replay into a shadow target, whose route id is new on every replay.
func lagRoute(d *junctionv1.Delivery) string {
	if topology.IsShadowReplay(d) {
		return "replay"
	}
	return d.GetRouteId()
}

// sinkAttrCache holds the sinkMetricAttrs by destination and outcome: a
// handful of entries per process (its sinks' apps times four outcomes).
var sinkAttrCache = attrCache[[2]string, *sinkMetricAttrs]{max: 1024}

func sinkAttrs(app, outcome string) *sinkMetricAttrs {
	return sinkAttrCache.get([2]string{app, outcome}, func(k [2]string) *sinkMetricAttrs {
		both := metric.WithAttributeSet(attribute.NewSet(attribute.String("destination", k[0]), attribute.String("outcome", k[1])))
		return &sinkMetricAttrs{add: both, record: both}
	})
}

// tracedMsg notes how the sink settles a delivery message.
type tracedMsg struct {
	jetstream.Msg
	span    trace.Span
	outcome string
	dead    bool
	// attempt is the attempt this is (attemptsBefore+1), delivery the
	// delivery once handle decoded it: each worked out once per message.
	attempt  int
	delivery *junctionv1.Delivery
}

func (t *tracedMsg) settled(outcome string, err error) error {
	if err == nil {
		t.outcome = outcome
	}
	return err
}

// Ack acknowledges the message: the attempt succeeded.
func (t *tracedMsg) Ack() error { return t.settled(outcomeSuccess, t.Msg.Ack()) }

// DoubleAck acknowledges the message and waits for the server: the attempt
// succeeded.
func (t *tracedMsg) DoubleAck(ctx context.Context) error {
	return t.settled(outcomeSuccess, t.Msg.DoubleAck(ctx))
}

// movedToRetry notes that the sink acknowledged the message after moving
// the delivery to the RETRIES stream, due after delay: a retry.
func (t *tracedMsg) movedToRetry(delay time.Duration) {
	t.span.AddEvent("retry scheduled", trace.WithAttributes(attribute.String("junction.retry.delay", delay.String())))
	t.outcome = outcomeRetry
}

// Nak asks for a redelivery now.
func (t *tracedMsg) Nak() error {
	t.span.AddEvent("retry scheduled", trace.WithAttributes(attribute.String("junction.retry.delay", "0s")))
	return t.settled(outcomeRetry, t.Msg.Nak())
}

// NakWithDelay asks for a redelivery after delay: a retry.
func (t *tracedMsg) NakWithDelay(delay time.Duration) error {
	t.span.AddEvent("retry scheduled", trace.WithAttributes(attribute.String("junction.retry.delay", delay.String())))
	return t.settled(outcomeRetry, t.Msg.NakWithDelay(delay))
}

// Term stops redelivery.
func (t *tracedMsg) Term() error { return t.settled(t.termOutcome(), t.Msg.Term()) }

// TermWithReason stops redelivery, after a dead letter or for good.
func (t *tracedMsg) TermWithReason(reason string) error {
	t.span.SetAttributes(natstrace.KeyReason.String(reason))
	return t.settled(t.termOutcome(), t.Msg.TermWithReason(reason))
}

func (t *tracedMsg) termOutcome() string {
	if t.dead {
		return outcomeDeadLetter
	}
	return outcomeDropped
}

// traceDeadLetter wraps a deadLetter in a PRODUCER span "publish
// junction.dlq.<destination>.<route>", a child of the attempt's span; the
// dead letter carries that context, so a later redrive links back to the
// original trace.
func traceDeadLetter(app string, next deadLetter) deadLetter {
	return func(ctx context.Context, m jetstream.Msg, d *junctionv1.Delivery, reason string, attempts int, lastErr error) error {
		trace.SpanFromContext(ctx).AddEvent("dead letter", trace.WithAttributes(
			natstrace.KeyReason.String(reason), attribute.Int("junction.dlq.attempts", attempts)))
		ctx, span := natstrace.StartPublish(ctx, topology.DLQSubject(app, d.GetRouteId()), nil,
			natstrace.KeyDeliveryID.String(d.GetId()), natstrace.KeyReason.String(reason),
			attribute.String("junction.dlq.attempts", strconv.Itoa(attempts)))
		defer span.End()
		err := next(ctx, m, d, reason, attempts, lastErr)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "dead letter failed")
			return err
		}
		if t, ok := m.(*tracedMsg); ok {
			t.dead = true
		}
		return nil
	}
}

// flushTracing exports the spans still pending at exit.
func flushTracing(shutdown func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		log.Warn("flush traces failed", "err", err)
	}
}

// logWithTrace returns log with the trace_id and span_id of ctx's span, for
// code that logs without a context; log itself when there is no span.
func logWithTrace(ctx context.Context, log *slog.Logger) *slog.Logger {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return log
	}
	return log.With("trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String())
}
