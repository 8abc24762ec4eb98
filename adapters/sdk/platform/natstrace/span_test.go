package natstrace

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func record(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec
}

// TestPublishProcessRedrive: a producer's context reaches the consumer as
// parent and link through headers; a redrive starts in the redriver's trace
// and links back to the dead letter's.
func TestPublishProcessRedrive(t *testing.T) {
	rec := record(t)
	h := nats.Header{}
	_, pub := StartPublish(context.Background(), "junction.events.acme.x", h)
	pub.End()
	_, proc := StartProcess(context.Background(), "junction.events.acme.x", "router", h)
	proc.End()

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	p, c := spans[0], spans[1]
	if p.SpanKind() != trace.SpanKindProducer || c.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("kinds = %s, %s; want producer, consumer", p.SpanKind(), c.SpanKind())
	}
	if c.Parent().SpanID() != p.SpanContext().SpanID() {
		t.Errorf("process parent = %s, want publish %s", c.Parent().SpanID(), p.SpanContext().SpanID())
	}
	if len(c.Links()) != 1 || c.Links()[0].SpanContext.SpanID() != p.SpanContext().SpanID() {
		t.Errorf("process links = %v, want the publish span", c.Links())
	}

	// The dead letter carries the original context; the redrive runs in
	// another trace.
	rctx, api := otel.Tracer("t").Start(context.Background(), "RedriveDeadLetters")
	out := nats.Header{}
	_, rd := StartRedrive(rctx, "junction.deliveries.webhook.r", h, out)
	rd.End()
	api.End()
	redrive := rec.Ended()[2]
	if redrive.Name() != "publish junction.deliveries.webhook.r" || redrive.SpanContext().TraceID() != api.SpanContext().TraceID() {
		t.Errorf("redrive span %q in trace %s, want the publish in the API call's trace %s", redrive.Name(), redrive.SpanContext().TraceID(), api.SpanContext().TraceID())
	}
	if len(redrive.Links()) != 1 || redrive.Links()[0].SpanContext.TraceID() != p.SpanContext().TraceID() {
		t.Errorf("redrive links = %v, want the original trace %s", redrive.Links(), p.SpanContext().TraceID())
	}
	if sc := trace.SpanContextFromContext(Extract(context.Background(), out)); sc.SpanID() != redrive.SpanContext().SpanID() {
		t.Errorf("redriven message carries span %s, want the redrive span %s", sc.SpanID(), redrive.SpanContext().SpanID())
	}
}

// BenchmarkPublishProcessNoop measures what tracing costs with no tracer
// provider installed: a publish span with injection and a process span
// with extraction.
func BenchmarkPublishProcessNoop(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		h := nats.Header{}
		_, s := StartPublish(ctx, "junction.events.acme.x", h)
		s.End()
		_, c := StartProcess(ctx, "junction.events.acme.x", "router", h)
		c.End()
	}
}
