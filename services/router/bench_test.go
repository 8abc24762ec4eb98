package router

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// BenchmarkMatch finds the candidate routes of one subject among n routes
// spread over 100 sources and 100 types, a tenth of them with wildcards.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			routes := make(map[string]*Compiled, n)
			for i := range n {
				id := fmt.Sprintf("r%d", i)
				filter := fmt.Sprintf("junction.events.src%d.type%d.created", i%100, (i/100)%100)
				switch i % 10 {
				case 1:
					filter = fmt.Sprintf("junction.events.src%d.*.created", i%100)
				case 2:
					filter = fmt.Sprintf("junction.events.src%d.>", i%100)
				}
				routes[id] = compiledFilter(id, filter)
			}
			ix := buildIndex(routes)
			subject := "junction.events.src0.type0.created"
			var dst []*Compiled
			b.ReportAllocs()
			for b.Loop() {
				dst = ix.match(subject, dst[:0])
			}
			b.ReportMetric(float64(len(dst)), "candidates")
		})
	}
}

// BenchmarkMatchScan is the linear scan the index replaces, for comparison.
func BenchmarkMatchScan(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			filters := make([]string, n)
			for i := range n {
				filters[i] = fmt.Sprintf("junction.events.src%d.type%d.created", i%100, (i/100)%100)
			}
			subject := "junction.events.src0.type0.created"
			for b.Loop() {
				for _, f := range filters {
					MatchSubject(f, subject)
				}
			}
		})
	}
}

// BenchmarkEvaluate applies a route with a CEL condition over the event
// and its data and a transform building a map, to a fresh event each time
// (so the payload is parsed every time, as in the router).
func BenchmarkEvaluate(b *testing.B) {
	c, err := Compile(&junctionv1.Route{
		Name:      "routes/bench",
		Filter:    "acme.user.*",
		Condition: `event.type == "user.created" && data.plan == "pro" && data.seats > 10`,
		Targets: []*junctionv1.Target{{
			Destination: "slack",
			Transform:   `{"text": "new pro user " + event.user.email, "seats": data.seats, "tags": data.tags.map(t, t.upperAscii())}`,
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	e := sampleEvent()
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Evaluate(e)
		if err != nil || len(res.Deliveries) != 1 {
			b.Fatalf("Evaluate = %d deliveries, %v (reason %q)", len(res.Deliveries), err, res.Reason)
		}
	}
}

// BenchmarkHandle is the router's work on one event with a 512-byte JSON
// payload, on a real embedded JetStream: take it from the consumer, decode
// it, trace it, evaluate the one route, publish its delivery to
// DELIVERIES, wait for the ack and ack the event. Per op: one event, in
// one worker, so ns/op includes the round trips; allocs/op and B/op count
// the whole process (the server's share included).
func BenchmarkHandle(b *testing.B) {
	for _, bc := range []struct{ name, condition string }{
		{"condition=none", ""},
		{"condition=event", `event.type == "order.created"`},
		{"condition=data", `event.type == "order.created" && data.seq >= 0`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			js := startHub(b)
			ctx := context.Background()
			payload := `{"seq":1,"pad":"` + strings.Repeat("x", 512-19) + `"}`
			for i := range b.N {
				e := event(fmt.Sprintf("evt_%08d", i), "acme", "order.created", payload)
				e.Time = timestamppb.Now()
				m, err := topology.EventMsg(e)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := js.PublishMsgAsync(m); err != nil {
					b.Fatal(err)
				}
			}
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(time.Minute):
				b.Fatal("publishing the events took over a minute")
			}
			c, err := Compile(&junctionv1.Route{
				Name: "routes/bench", Filter: "acme.>", Condition: bc.condition,
				Targets: []*junctionv1.Target{{Name: "out", Destination: "webhook", Config: map[string]string{"url": "https://example.com/hook"}}},
			})
			if err != nil {
				b.Fatal(err)
			}
			c.ID = "bench"
			r, err := New(js, Options{})
			if err != nil {
				b.Fatal(err)
			}
			r.publishIndex(map[string]*Compiled{c.ID: c})
			cons, err := js.CreateOrUpdateConsumer(ctx, topology.EventsStream, jetstream.ConsumerConfig{
				Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
			})
			if err != nil {
				b.Fatal(err)
			}
			it, err := cons.Messages()
			if err != nil {
				b.Fatal(err)
			}
			defer it.Stop()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				m, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				r.handle(ctx, m)
			}
			b.StopTimer()
			if got := len(readStream(b, js, topology.DeliveriesStream)); got != b.N {
				b.Fatalf("DELIVERIES holds %d deliveries, want %d", got, b.N)
			}
		})
	}
}
