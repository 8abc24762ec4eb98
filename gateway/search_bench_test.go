package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/gateway"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// searchBenchEvents is how many events BenchmarkEventSearch stores:
// JUNCTION_SEARCH_EVENTS, default one million.
func searchBenchEvents(b *testing.B) int {
	if v := os.Getenv("JUNCTION_SEARCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100_000 {
			b.Fatalf("JUNCTION_SEARCH_EVENTS=%q: want a number of at least 100000", v)
		}
		return n
	}
	return 1_000_000
}

// BenchmarkEventSearch measures ListEvents over a file-backed EVENTS stream
// of a million events (about 300 bytes each: the protobuf event with a
// 160-byte JSON payload), spread over 10 sources and 2 types:
//
//   - newest-50: the first page of 50, no filter;
//   - source-newest-50: the first page of one source's events (a tenth);
//   - rare-source-all-pages: every page of a source with 10 events in all,
//     which the server's subject filter finds (data of other events is
//     never sent to the gateway);
//   - condition-all-pages: every page of a CEL condition over the payload
//     that 10 events satisfy, so every stored event is read, decoded and
//     evaluated in the gateway, in calls of at most 200,000 events.
//
// Run it with `make bench-search` (or go test -run '^$' -bench
// EventSearch ./gateway); docs/benchmarks.md has figures.
func BenchmarkEventSearch(b *testing.B) {
	n := searchBenchEvents(b)
	hub := sdktest.NewHub(b)
	ctx := context.Background()
	s, err := gateway.New(ctx, gateway.Config{JS: hub.JS, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	rare := n / 10
	start := time.Now()
	pad := strings.Repeat("x", 100)
	for i := range n {
		src := fmt.Sprintf("src%d", i%10)
		if i%rare == rare/2 {
			src = "rare"
		}
		ev := &junctionv1.Event{Id: fmt.Sprintf("evt_%d", i), Source: src, Type: []string{"order.created", "user.created"}[i%2],
			Time: timestamppb.Now(), ReceiveTime: timestamppb.Now(), DataContentType: "application/json",
			Data: fmt.Appendf(nil, `{"n": %d, "total": %d, "pad": %q}`, i, i%997, pad)}
		msg, err := topology.EventMsg(ev)
		if err != nil {
			b.Fatal(err)
		}
		msg.Header.Del(jetstream.MsgIDHeader) // a million ids in the duplicate window only slow the load
		if _, err := hub.JS.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if i%2000 == 1999 {
			<-hub.JS.PublishAsyncComplete()
		}
	}
	select {
	case <-hub.JS.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		b.Fatal("publishing did not complete in 10 minutes")
	}
	info, err := hub.JS.Stream(ctx, topology.EventsStream)
	if err != nil {
		b.Fatal(err)
	}
	si, err := info.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("stored %d events (%d MB) in %s", si.State.Msgs, si.State.Bytes>>20, time.Since(start).Round(time.Second))

	cases := []struct {
		name   string
		filter *junctionv1.EventFilter
		size   int32
		all    bool
		want   int
	}{
		{"newest-50", nil, 50, false, 50},
		{"source-newest-50", &junctionv1.EventFilter{Source: "src3"}, 50, false, 50},
		{"rare-source-all-pages", &junctionv1.EventFilter{Source: "rare"}, 50, true, 10},
		{"condition-all-pages", &junctionv1.EventFilter{Condition: fmt.Sprintf("data.n %% %d == 7", rare)}, 50, true, 10},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var scanned int64
			calls := 0
			for b.Loop() {
				got, token := 0, ""
				for {
					res, err := s.ListEvents(ctx, &junctionv1.ListEventsRequest{Filter: c.filter, PageSize: c.size, PageToken: token})
					if err != nil {
						b.Fatal(err)
					}
					calls++
					scanned += res.GetScanned()
					got += len(res.GetEvents())
					token = res.GetNextPageToken()
					if !c.all || token == "" {
						break
					}
				}
				if got != c.want {
					b.Fatalf("got %d events, want %d", got, c.want)
				}
			}
			b.ReportMetric(float64(scanned)/float64(b.N), "events-read/op")
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
		})
	}
}
