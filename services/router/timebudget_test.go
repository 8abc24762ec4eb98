package router

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestRouterDegradesSlowRoute: a transform cel-go's cost model deems cheap
// (concatenating strings costs a few units whatever their size) but that
// takes the router's CPU is caught by Budget.Time: its route is degraded
// and its targets dead-lettered with reason route_degraded.
func TestRouterDegradesSlowRoute(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	slow := `{"n": (data.s + data.s + data.s + data.s + data.s + data.s + data.s + data.s).size()}`
	if _, err := store.Create(ctx, "slow", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook", Transform: slow}}}); err != nil {
		t.Fatal(err)
	}
	runRouter(t, js, Options{Concurrency: 1, AckWait: 10 * time.Second, Budget: Budget{Cost: CostLimit, Time: time.Millisecond, Window: 4, MaxOver: 2, Cooldown: time.Hour}})

	big := `{"s":"` + strings.Repeat("x", 1_000_000) + `"}`
	for i := range 6 {
		publishEvent(t, js, event(fmt.Sprintf("e%d", i), "acme", "user.created", big), "")
	}
	waitIdle(t, js, topology.RouterConsumer)
	dlq := readStream(t, js, topology.DLQStream)
	if len(dlq) == 0 {
		t.Fatalf("no dead letters: the slow route was not degraded (deliveries %v)", subjects(readStream(t, js, topology.DeliveriesStream)))
	}
	for _, dl := range dlq {
		if got := dl.header.Get(topology.HeaderDLQReason); got != topology.DLQReasonRouteDegraded {
			t.Errorf("%s: reason %q, want %q", dl.subject, got, topology.DLQReasonRouteDegraded)
		}
	}
	if got := len(dlq) + len(readStream(t, js, topology.DeliveriesStream)); got != 6 {
		t.Errorf("%d deliveries and dead letters, want one per event (6)", got)
	}
}
