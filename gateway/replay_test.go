package gateway_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// storeTraced stores events straight on EVENTS, each with a W3C
// traceparent of trace id traceID (as the SDK's publisher stores an event
// published inside a span).
func storeTraced(t *testing.T, e *env, traceID string, n int) {
	t.Helper()
	ctx := testCtx(t)
	for i := range n {
		ev := &junctionv1.Event{Id: fmt.Sprintf("tr_%d", i), Source: "acme", Type: "user.created", DataContentType: "application/json",
			Data: []byte(fmt.Sprintf(`{"n": %d}`, i)), TraceId: traceID, ReceiveTime: timestamppb.Now()}
		msg, err := topology.EventMsg(ev)
		if err != nil {
			t.Fatal(err)
		}
		msg.Header.Set("traceparent", fmt.Sprintf("00-%s-%016x-01", traceID, i+1))
		if _, err := e.js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
}

// deliveriesOn reads every message on DELIVERIES.
func deliveriesOn(t *testing.T, e *env) []jetstream.RawStreamMsg {
	t.Helper()
	ctx := testCtx(t)
	s, err := e.js.Stream(ctx, topology.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := uint64(1); ; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return out
		}
		out = append(out, *m)
	}
}

// TestReplayPublishesLinkedDeliveries: a real replay through a route puts
// each delivery on DELIVERIES with the replay id in its body and headers,
// the delivery id of the route's own delivery, and a publish span linked
// to the trace the event was stored with.
func TestReplayPublishesLinkedDeliveries(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	e := newEnv(t)
	ctx := testCtx(t)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	start := timestamppb.New(time.Now().Add(-time.Minute))
	storeTraced(t, e, traceID, 3)
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "crm", Route: &junctionv1.Route{
		Filter: "acme.user.*", Targets: []*junctionv1.Target{{Name: "hook", Destination: "webhook", Config: map[string]string{"url": "https://example.com/hook"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	res, err := e.events.ReplayEvents(ctx, &junctionv1.ReplayEventsRequest{
		Filter: &junctionv1.EventFilter{StartTime: start}, Through: &junctionv1.ReplayEventsRequest_Route{Route: "crm"}, Rate: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetDeliveries() != 3 || res.GetDryRun() {
		t.Fatalf("replay: got %v, want 3 deliveries sent", res)
	}
	msgs := deliveriesOn(t, e)
	if len(msgs) != 3 {
		t.Fatalf("DELIVERIES holds %d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		d, err := topology.ParseDelivery(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		meta := topology.MetaOf(m.Header)
		it := res.GetItems()[i]
		if d.GetReplayId() != res.GetReplayId() || meta.Redrive != "replay:"+res.GetReplayId() || d.GetId() != it.GetDeliveryId() ||
			d.GetEventId() != fmt.Sprintf("tr_%d", i) || it.GetTraceId() != traceID {
			t.Errorf("delivery %d: replay id %q, redrive %q, id %s of event %s (item %v); want replay %s, the item's id, event tr_%d, trace %s",
				i, d.GetReplayId(), meta.Redrive, d.GetId(), d.GetEventId(), it, res.GetReplayId(), i, traceID)
		}
	}
	var linked int
	for _, sp := range rec.Ended() {
		for _, l := range sp.Links() {
			if l.SpanContext.TraceID().String() == traceID {
				linked++
			}
		}
	}
	if linked != 3 {
		t.Errorf("got %d spans linked to the events' trace %s, want 3 (one per replayed delivery)", linked, traceID)
	}
}

// TestReplayBounds: max_events stops a replay with a token that goes on
// where it stopped, with the same replay id; a call's deadline stops a
// slow replay early, and the rate caps how many events it sends (a count
// bound: the limiter can never exceed rate x time + 1).
func TestReplayBounds(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	start := timestamppb.New(time.Now().Add(-time.Minute))
	publishN(t, e, 25, "acme.user.created")
	shadow := &junctionv1.ReplayEventsRequest_Shadow{Shadow: &junctionv1.Target{Destination: "staging"}}
	filter := &junctionv1.EventFilter{StartTime: start}

	var got []string
	req := &junctionv1.ReplayEventsRequest{Filter: filter, Through: shadow, DryRun: true, MaxEvents: 10}
	replayID := ""
	for calls := 1; ; calls++ {
		res, err := e.events.ReplayEvents(ctx, req)
		if err != nil {
			t.Fatalf("call %d: %v", calls, err)
		}
		if replayID == "" {
			replayID = res.GetReplayId()
		} else if res.GetReplayId() != replayID {
			t.Errorf("call %d: replay id %s, want %s as the first call's", calls, res.GetReplayId(), replayID)
		}
		if res.GetEventsMatched() > 10 {
			t.Errorf("call %d: %d events, want at most max_events 10", calls, res.GetEventsMatched())
		}
		for _, it := range res.GetItems() {
			got = append(got, it.GetEventId())
		}
		if res.GetNextPageToken() == "" {
			if calls != 3 {
				t.Errorf("25 events by 10: %d calls, want 3", calls)
			}
			break
		}
		req.PageToken = res.GetNextPageToken()
	}
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("evt_%d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged replay: got %v, want %v", got, want)
	}

	// 25 events at 4/s in a call of 3s (the gateway answers a second
	// before the deadline): stopped with a token, at most 4 x 2 + 1 sent.
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	res, err := e.events.ReplayEvents(cctx, &junctionv1.ReplayEventsRequest{Filter: filter, Through: shadow, Rate: 4})
	if err != nil {
		t.Fatalf("rate-capped replay: %v", err)
	}
	if n := res.GetEventsMatched(); n > 9 || res.GetNextPageToken() == "" {
		t.Errorf("rate 4 in 2s: got %d events and token %q, want at most 9 and a token", n, res.GetNextPageToken())
	}
	if int(res.GetDeliveries()) != len(deliveriesOn(t, e)) {
		t.Errorf("the response counts %d deliveries, DELIVERIES holds %d", res.GetDeliveries(), len(deliveriesOn(t, e)))
	}
	t.Logf("rate 4/s, a 3s call: %d events replayed before the gateway answered", res.GetEventsMatched())
}
