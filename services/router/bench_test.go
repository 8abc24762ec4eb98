package router

import (
	"fmt"
	"testing"

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
