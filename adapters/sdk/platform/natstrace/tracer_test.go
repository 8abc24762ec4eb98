package natstrace

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// TestTracerFollowsTheProvider: Tracer keeps the tracer of the provider it
// saw last, yet a provider installed after (another SDK provider, or the
// no-op provider, a value type) takes effect at once.
func TestTracerFollowsTheProvider(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	spanIn := func(name string) {
		_, span := Tracer().Start(context.Background(), name)
		span.End()
	}
	a, b := tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(a)))
	spanIn("one")
	spanIn("two")
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b)))
	spanIn("three")
	otel.SetTracerProvider(tracenoop.NewTracerProvider())
	spanIn("four")
	if got := len(a.Ended()); got != 2 {
		t.Errorf("first provider recorded %d spans, want 2 (one, two; not three or four)", got)
	}
	if got := b.Ended(); len(got) != 1 || got[0].Name() != "three" {
		t.Errorf("second provider recorded %v, want only three (not four)", got)
	}
}

// TestQuietWithoutARecordingProvider: while no provider records spans,
// the span helpers start none and allocate nothing, yet the trace context
// a message came with is carried on exactly as before: a processed
// message's context is the sender's, and what is published from it
// carries the sender's traceparent.
func TestQuietWithoutARecordingProvider(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	otel.SetTracerProvider(tracenoop.NewTracerProvider())

	in := nats.Header{}
	in.Set("traceparent", parent)
	ctx, span := StartProcess(context.Background(), "junction.deliveries.webhook.r", "c", in)
	if span.IsRecording() {
		t.Error("process span records without a recording provider")
	}
	if got, want := TraceID(ctx), strings.Split(parent, "-")[1]; got != want {
		t.Errorf("trace id after process = %q, want the sender's %q", got, want)
	}
	out := nats.Header{}
	if _, span := StartPublish(ctx, "junction.events.acme.x", out); span.IsRecording() {
		t.Error("publish span records without a recording provider")
	}
	if got := out.Get("traceparent"); got != parent {
		t.Errorf("published traceparent = %q, want the sender's %q", got, parent)
	}
	bg := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		_, span := StartPublish(bg, "junction.events.acme.x", nil)
		span.End()
		_, span = Tracer().Start(bg, "route")
		span.End()
	}); n != 0 {
		t.Errorf("%v allocations per span started without a recording provider, want 0", n)
	}
}
