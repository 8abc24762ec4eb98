package natstrace

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
)

const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestCarrierFindsTraceparentWhateverItsCase(t *testing.T) {
	for _, key := range []string{"traceparent", "Traceparent", "TRACEPARENT", "TraceParent"} {
		t.Run(key, func(t *testing.T) {
			h := nats.Header{key: []string{parent}}
			sc := trace.SpanContextFromContext(Extract(context.Background(), h))
			if got, want := sc.TraceID().String(), "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
				t.Errorf("trace id = %q, want %q", got, want)
			}
			if !sc.IsRemote() {
				t.Errorf("span context is not remote")
			}
		})
	}
}

func TestCarrierSetReplacesCaseVariants(t *testing.T) {
	h := nats.Header{"Traceparent": []string{"stale"}, "Other": []string{"x"}}
	Carrier(h).Set("traceparent", parent)
	if got := len(h["Traceparent"]); got != 0 {
		t.Errorf("stale Traceparent kept: %v", h)
	}
	if got := Carrier(h).Get("traceparent"); got != parent {
		t.Errorf("Get = %q, want %q", got, parent)
	}
	if got := len(Carrier(h).Keys()); got != 2 {
		t.Errorf("Keys = %v, want 2 keys", Carrier(h).Keys())
	}
}

func TestInjectWithoutSpanWritesNothing(t *testing.T) {
	h := nats.Header{}
	Inject(context.Background(), h)
	if len(h) != 0 {
		t.Errorf("headers = %v, want none", h)
	}
}
