package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// nopSink accepts every delivery.
type nopSink struct{}

func (nopSink) Deliver(context.Context, *junctionv1.Delivery) error { return nil }

// BenchmarkSinkDelivery is the sink's work on one delivery of a 512-byte
// JSON payload whose Deliver succeeds at once, on a real embedded
// JetStream: take it from the live consumer, decode it, trace it, deliver
// it, ack it and record the attempt (ATTEMPTS), whose ack confirms the
// delivery's. Per op: one delivery, in one worker, so ns/op includes the
// record's round trip; allocs/op
// and B/op count the whole process (the server's share included).
func BenchmarkSinkDelivery(b *testing.B) {
	const app = "benchapp"
	hub := sdktest.NewHub(b)
	js, err := jetstream.New(hub.Connect(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	payload := []byte(`{"seq":1,"pad":"` + strings.Repeat("x", 512-19) + `"}`)
	pub := func(n int) {
		for i := range n {
			d := &junctionv1.Delivery{
				Id: fmt.Sprintf("dlv_%08d", i), EventId: fmt.Sprintf("evt_%08d", i), EventSource: "acme",
				EventType: "order.created", EventTime: timestamppb.Now(), RouteId: "r1", Target: "out",
				Destination: app, Payload: payload, ContentType: "application/json",
				CreateTime: timestamppb.Now(), Config: map[string]string{"url": "https://example.com/hook"},
			}
			msg, err := topology.DeliveryMsg(d)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := js.PublishMsgAsync(msg); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("publishing the deliveries took over a minute")
		}
	}
	pub(b.N)
	cons, err := js.CreateOrUpdateConsumer(ctx, topology.DeliveriesStream, sinkConsumerConfig(app, 1))
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	s := &sink{
		app: app, adapter: nopSink{}, js: js, log: slog.New(slog.DiscardHandler),
		deadLetter: traceDeadLetter(app, publishDeadLetter(js, app)),
		record:     publishAttempt(js),
		now:        time.Now,
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		s.traced(ctx, m)
	}
	b.StopTimer()
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := js.Stream(ctx, topology.AttemptsStream)
		if err != nil {
			b.Fatal(err)
		}
		if got := info.CachedInfo().State.Msgs; got >= uint64(b.N) {
			break
		} else if time.Now().After(deadline) {
			b.Fatalf("ATTEMPTS holds %d records, want %d", got, b.N)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkPublish is Publish of one event with a 512-byte JSON payload and
// a sender's id, on a real embedded JetStream, as a webhook adapter
// publishes each webhook: the idempotency lookup, the publish to EVENTS
// and the idempotency record, each awaited. allocs/op and B/op count the
// whole process (the server's share included).
func BenchmarkPublish(b *testing.B) {
	hub := sdktest.NewHub(b)
	p, err := NewPublisher(hub.JS)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	payload := []byte(`{"seq":1,"pad":"` + strings.Repeat("x", 512-19) + `"}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		res, err := p.Publish(ctx, &junctionv1.Event{
			Id: fmt.Sprintf("msg_%08d", i), Source: "acme", Type: "order.created",
			Data: payload, DataContentType: "application/json",
		})
		if err != nil || res.Duplicate {
			b.Fatalf("Publish = duplicate %v, %v; want a fresh event stored", res.Duplicate, err)
		}
	}
}
