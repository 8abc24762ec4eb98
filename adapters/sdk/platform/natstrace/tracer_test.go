package natstrace

import (
	"context"
	"testing"

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
