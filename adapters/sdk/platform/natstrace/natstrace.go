// Package natstrace carries W3C trace context in NATS message headers and
// names spans after the OpenTelemetry messaging conventions, so one trace
// follows an event from the webhook that brought it in to every delivery
// attempt, across processes.
//
// It uses only the OpenTelemetry API: with no tracer provider installed the
// spans are no-ops that still pass an incoming traceparent on.
package natstrace

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of Junction's spans.
const ScopeName = "github.com/junctionhq/junction"

// System is the messaging.system attribute value of NATS.
const System = "nats"

// Attribute keys of the OTel messaging conventions and Junction's own.
const (
	KeySystem        = attribute.Key("messaging.system")
	KeyOperationType = attribute.Key("messaging.operation.type")
	KeyOperationName = attribute.Key("messaging.operation.name")
	KeyDestination   = attribute.Key("messaging.destination.name")
	KeyMessageID     = attribute.Key("messaging.message.id")
	KeyBodySize      = attribute.Key("messaging.message.body.size")
	KeyConsumerGroup = attribute.Key("messaging.consumer.group.name")
	KeyDeliveryCount = attribute.Key("messaging.nats.message.delivery_count")

	KeyEventID     = attribute.Key("junction.event.id")
	KeyEventSource = attribute.Key("junction.event.source")
	KeyEventType   = attribute.Key("junction.event.type")
	KeyRouteID     = attribute.Key("junction.route.id")
	KeyDeliveryID  = attribute.Key("junction.delivery.id")
	KeyDestApp     = attribute.Key("junction.destination")
	KeyTarget      = attribute.Key("junction.target")
	KeyAttempt     = attribute.Key("junction.delivery.attempt")
	KeyOutcome     = attribute.Key("junction.delivery.outcome")
	KeyDuplicate   = attribute.Key("junction.event.duplicate")
	KeyReason      = attribute.Key("junction.dlq.reason")
)

// Propagator is what Junction injects and extracts: W3C trace context and
// baggage. It does not depend on the global propagator, so traces join up
// even in a process that never configured OpenTelemetry.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Carrier is a propagation.TextMapCarrier over NATS headers. NATS header
// keys are case sensitive; Get finds a key whatever its case (other clients
// send `traceparent`, Go's http.Header style would be `Traceparent`), and
// Set replaces every case variant of the key.
type Carrier nats.Header

// Get returns the first value of key, matched exactly first, then ignoring
// case.
func (c Carrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set stores value under key, dropping other case variants of key.
func (c Carrier) Set(key, value string) {
	for k := range c {
		if k != key && strings.EqualFold(k, key) {
			delete(c, k)
		}
	}
	c[key] = []string{value}
}

// Keys lists the header keys.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes ctx's trace context into h (which must not be nil).
func Inject(ctx context.Context, h nats.Header) {
	Propagator.Inject(ctx, Carrier(h))
}

// Extract returns ctx with the trace context found in h, if any.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return Propagator.Extract(ctx, Carrier(h))
}

// Tracer returns Junction's tracer from the global provider, so a
// provider installed later (or by a test) takes effect. The tracer of the
// provider seen last is kept: asking the provider again takes its lock and
// a map lookup, four times per webhook. While no provider that records is
// installed (tracing is not configured), it is a tracer that starts no
// span at all (quietTracer).
func Tracer() trace.Tracer {
	tp := otel.GetTracerProvider()
	// Only pointer-typed providers are kept (the global delegate and the
	// SDK's are), so the comparison below never meets two values of a
	// type that cannot be compared.
	if c := lastTracer.Load(); c != nil && c.tp == tp {
		return c.t
	}
	var t trace.Tracer = quietTracer{}
	if recording(tp) {
		t = tp.Tracer(ScopeName)
	}
	if reflect.TypeOf(tp).Kind() == reflect.Pointer {
		lastTracer.Store(&providerTracer{tp: tp, t: t})
	}
	return t
}

// quietTracer is the tracer while no provider records spans. Its Start
// returns ctx as it is and a span that does nothing: what OTel's global
// stand-in would give, a span that records nothing and carries ctx's span
// context (so injected headers and logged trace ids stay the caller's),
// without allocating a span and a context per call (five per webhook).
type quietTracer struct{ tracenoop.Tracer }

// Start implements trace.Tracer.
func (quietTracer) Start(ctx context.Context, _ string, _ ...trace.SpanStartOption) (context.Context, trace.Span) {
	return ctx, tracenoop.Span{}
}

// quiet reports whether t starts no spans, so a caller can skip building
// a span's name and options.
func quiet(t trace.Tracer) bool {
	_, ok := t.(quietTracer)
	return ok
}

// providerTracer is a tracer provider and Junction's tracer from it.
type providerTracer struct {
	tp trace.TracerProvider
	t  trace.Tracer
}

var lastTracer atomic.Pointer[providerTracer]

// StartPublish starts a PRODUCER span "publish <subject>" and injects its
// context into h, so the consumer continues the trace.
func StartPublish(ctx context.Context, subject string, h nats.Header, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	t := Tracer()
	if quiet(t) {
		if h != nil {
			Inject(ctx, h)
		}
		return ctx, tracenoop.Span{}
	}
	ctx, span := t.Start(ctx, "publish "+subject, trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() { // else skip the work: tracing is off or not sampled
		span.SetAttributes(
			KeySystem.String(System),
			KeyOperationType.String("send"),
			KeyOperationName.String("publish"),
			KeyDestination.String(subject))
		span.SetAttributes(attrs...)
	}
	if h != nil {
		Inject(ctx, h)
	}
	return ctx, span
}

// StartProcess starts a CONSUMER span "process <subject>" for one message
// whose headers are h: the producer's context (when h carries one) is both
// its parent and its link, as the messaging conventions say for
// single-message processing.
func StartProcess(ctx context.Context, subject, consumer string, h nats.Header, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	pctx := Extract(ctx, h)
	t := Tracer()
	if quiet(t) {
		return pctx, tracenoop.Span{}
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
	if sc := trace.SpanContextFromContext(pctx); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := t.Start(pctx, "process "+subject, opts...)
	if span.IsRecording() {
		span.SetAttributes(
			KeySystem.String(System),
			KeyOperationType.String("process"),
			KeyOperationName.String("process"),
			KeyDestination.String(subject))
		if consumer != "" {
			span.SetAttributes(KeyConsumerGroup.String(consumer))
		}
		span.SetAttributes(attrs...)
	}
	return ctx, span
}

// TraceID returns the trace id of ctx's span in hex, "" when there is none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// StartRedrive starts the PRODUCER span "publish <subject>" of sending a
// dead letter (whose headers are dlq) back for delivery. The span belongs
// to ctx's trace (the redrive request's) and links to the trace context the
// dead letter carries, the original event's; out, the redriven message's
// headers, gets the new span's context, so its attempts hang under the
// redrive.
func StartRedrive(ctx context.Context, subject string, dlq, out nats.Header, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	var opts []trace.SpanStartOption
	if sc := trace.SpanContextFromContext(Extract(context.Background(), dlq)); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc,
			Attributes: []attribute.KeyValue{attribute.String("junction.link", "dead_letter")}}))
	}
	base := []attribute.KeyValue{
		KeySystem.String(System),
		KeyOperationType.String("send"),
		KeyOperationName.String("redrive"),
		KeyDestination.String(subject),
	}
	opts = append(opts, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(append(base, attrs...)...))
	ctx, span := Tracer().Start(ctx, "publish "+subject, opts...)
	if out != nil {
		Inject(ctx, out)
	}
	return ctx, span
}
