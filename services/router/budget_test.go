package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// costlyTransform is accepted at save time (its estimate assumes strings
// of AssumedSize) but costs about 1.1 per byte of data.s at run time
// (cel-go counts lowerAscii by the size of the string), so it is over
// DefaultBudgetCost on a payload of a few hundred kilobytes.
const costlyTransform = `{"n": data.s.lowerAscii().size()}`

// TestRouterDegradesExpensiveRoute: next to a cheap route, a route whose
// transform is cheap by the save-time estimate but over the budget on big
// payloads. After MaxOver evaluations over the budget in its window it is
// degraded: not evaluated, its targets dead-lettered with reason
// route_degraded (nothing dropped), and its status in the route status
// bucket says so with the reason, as the gateway reads it. The cheap
// route's events are delivered throughout. Saving the route again ends
// the degradation.
func TestRouterDegradesExpensiveRoute(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "cheap", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook", Transform: `{"id": event.id}`}}}); err != nil {
		t.Fatal(err)
	}
	costly, err := store.Create(ctx, "costly", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook", Transform: costlyTransform}}})
	if err != nil {
		t.Fatalf("an expensive-at-run-time transform was refused at save: %v", err)
	}
	rt, _ := runRouter(t, js, Options{Concurrency: 1, AckWait: 10 * time.Second, Budget: Budget{Time: -1, Window: 4, MaxOver: 2, Cooldown: time.Hour}})

	const events = 8
	big := `{"s":"` + strings.Repeat("x", 400_000) + `"}`
	for i := range events {
		publishEvent(t, js, event(fmt.Sprintf("e%d", i), "acme", "user.created", big), "")
	}
	waitIdle(t, js, topology.RouterConsumer)

	var wantDeliveries, wantDead []string
	for i := range events {
		wantDeliveries = append(wantDeliveries, fmt.Sprintf("junction.deliveries.webhook.cheap e%d", i))
		if i < 2 { // evaluated until the second one over the budget
			wantDeliveries = append(wantDeliveries, fmt.Sprintf("junction.deliveries.webhook.costly e%d", i))
		} else {
			wantDead = append(wantDead, fmt.Sprintf("junction.dlq.webhook.costly e%d", i))
		}
	}
	slices.Sort(wantDeliveries)
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, wantDeliveries) {
		t.Errorf("deliveries =\n%v\nwant\n%v", got, wantDeliveries)
	}
	dlq := readStream(t, js, topology.DLQStream)
	if got := subjects(dlq); !slices.Equal(got, wantDead) {
		t.Errorf("dead letters =\n%v\nwant\n%v", got, wantDead)
	}
	for _, dl := range dlq {
		if got := dl.header.Get(topology.HeaderDLQReason); got != topology.DLQReasonRouteDegraded {
			t.Errorf("%s: reason %q, want %q", dl.subject, got, topology.DLQReasonRouteDegraded)
		}
		if len(dl.delivery.GetPayload()) != len(big) {
			t.Errorf("%s: payload of %d bytes, want the event's own (%d)", dl.subject, len(dl.delivery.GetPayload()), len(big))
		}
	}

	var st *junctionv1.RouteStatus
	waitFor(t, "the costly route's status to be stored", func() bool {
		r, err := store.Get(ctx, "costly")
		if err != nil || store.FillStatus(ctx, r) != nil {
			return false
		}
		st = r.GetStatus()
		return st.GetState() == junctionv1.RouteStatus_STATE_DEGRADED
	})
	if !strings.Contains(st.GetReason(), "over the budget") || st.GetRouteRevision() != costly.GetRevision() || st.GetSince() == nil || !st.GetRetryTime().AsTime().After(st.GetSince().AsTime()) {
		t.Errorf("status = %v, want degraded at revision %d with a reason naming the budget, since and retry_time", st, costly.GetRevision())
	}
	cheap, err := store.Get(ctx, "cheap")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.FillStatus(ctx, cheap); err != nil || cheap.GetStatus() != nil {
		t.Errorf("cheap route status = %v (err %v), want none (healthy)", cheap.GetStatus(), err)
	}

	// Saved again: the new revision is evaluated at once, and the old
	// revision's report is not shown for it.
	costly.Targets[0].Transform = `{"id": event.id}`
	saved, err := store.Update(ctx, costly, costly.GetRevision())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.FillStatus(ctx, saved); err != nil || saved.GetStatus() != nil {
		t.Errorf("status of the saved route = %v (err %v), want none", saved.GetStatus(), err)
	}
	waitFor(t, "the router to apply the saved route", func() bool { return rt.AppliedRevision() >= saved.GetRevision() })
	publishEvent(t, js, event("after", "acme", "user.created", big), "")
	waitIdle(t, js, topology.RouterConsumer)
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Contains(got, "junction.deliveries.webhook.costly after") {
		t.Errorf("deliveries after the route was saved again = %v, want the costly route's", got)
	}
}

// TestBudgetWindow drives one route's budget state with a fake clock: it
// degrades when MaxOver of the last Window evaluations were over, not
// before; reports it once; is evaluated again after Cooldown with a fresh
// window, reported healthy.
func TestBudgetWindow(t *testing.T) {
	tests := []struct {
		name     string
		costs    []uint64
		degraded bool
	}{
		{"all under", []uint64{1, 2, 3, 4, 5, 6}, false},
		{"one over", []uint64{1, 200, 3, 4}, false},
		{"two over in the window", []uint64{200, 1, 1, 200}, true},
		{"two over, window apart", []uint64{200, 1, 1, 1, 200, 1, 1, 1}, false},
		{"cost limit counts", []uint64{CostLimit, CostLimit}, true},
		{"exactly the budget is not over", []uint64{100, 100, 100}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			var reports []*junctionv1.RouteStatus
			bs := &budgets{b: Budget{Cost: 100, Time: -1, Window: 4, MaxOver: 2, Cooldown: time.Minute}.withDefaults(), now: func() time.Time { return now },
				report: func(_ *Compiled, st *junctionv1.RouteStatus) { reports = append(reports, st) }}
			c, err := Compile(&junctionv1.Route{Name: "routes/r", Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, cost := range tt.costs {
				if _, d := bs.degraded(c); d {
					break
				}
				bs.observe(c, cost, 0, true, Result{})
			}
			why, degraded := bs.degraded(c)
			if degraded != tt.degraded {
				t.Fatalf("costs %v: degraded = %v (%q), want %v", tt.costs, degraded, why, tt.degraded)
			}
			if !degraded {
				if len(reports) != 0 {
					t.Errorf("reports = %v, want none", reports)
				}
				return
			}
			if len(reports) != 1 || reports[0].GetState() != junctionv1.RouteStatus_STATE_DEGRADED || !strings.Contains(reports[0].GetReason(), "budget of cost 100") {
				t.Fatalf("reports = %v, want one degraded naming the budget", reports)
			}
			now = now.Add(59 * time.Second)
			if _, d := bs.degraded(c); !d {
				t.Fatal("evaluated again before the cooldown ended")
			}
			now = now.Add(time.Second)
			if _, d := bs.degraded(c); d {
				t.Fatal("still degraded after the cooldown")
			}
			if len(reports) != 2 || reports[1].GetState() != junctionv1.RouteStatus_STATE_HEALTHY {
				t.Errorf("reports = %v, want degraded then healthy", reports)
			}
			bs.observe(c, 200, 0, true, Result{})
			if _, d := bs.degraded(c); d {
				t.Error("degraded by one evaluation after the cooldown: the window was not fresh")
			}
		})
	}
}

// TestBudgetClocks: a route is timed by the wall clock until a reading
// over Budget.Time; that reading is not counted (the goroutine may only
// have waited), but the route's next Window evaluations are timed by the
// CPU clock, whose readings over the budget count, and which stays on while
// they keep coming. After Window exact readings under the budget the
// route is timed by the wall clock again.
func TestBudgetClocks(t *testing.T) {
	const ms = time.Millisecond
	type reading struct {
		took  time.Duration
		exact bool
	}
	wall := func(d time.Duration) reading { return reading{d, false} }
	cpu := func(d time.Duration) reading { return reading{d, true} }
	tests := []struct {
		name     string
		readings []reading
		degraded bool
		cpuNext  bool // the next evaluation is timed by the CPU clock
	}{
		{"cheap on the wall clock", []reading{wall(1 * ms), wall(2 * ms), wall(1 * ms)}, false, false},
		{"slow wall readings never count", []reading{wall(50 * ms), wall(50 * ms), wall(50 * ms), wall(50 * ms)}, false, true},
		{"slow wall reading, cheap by the CPU clock", []reading{wall(50 * ms), cpu(1 * ms), cpu(1 * ms)}, false, true},
		{"back to the wall clock after a window of cheap exact readings", []reading{wall(50 * ms), cpu(1 * ms), cpu(1 * ms), cpu(1 * ms), cpu(1 * ms)}, false, false},
		{"slow by the CPU clock degrades", []reading{wall(50 * ms), cpu(50 * ms), cpu(50 * ms)}, true, true},
		{"exact slow readings keep the CPU clock on", []reading{wall(50 * ms), cpu(1 * ms), cpu(1 * ms), cpu(1 * ms), cpu(50 * ms), cpu(1 * ms)}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := &budgets{b: Budget{Cost: 100, Time: 10 * ms, Window: 4, MaxOver: 2, Cooldown: time.Minute}.withDefaults(),
				now: time.Now, report: func(*Compiled, *junctionv1.RouteStatus) {}}
			c, err := Compile(&junctionv1.Route{Name: "routes/r", Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook"}}})
			if err != nil {
				t.Fatal(err)
			}
			if c.health.cpuTimed() {
				t.Fatal("a new route is timed by the CPU clock, want the wall clock")
			}
			for _, r := range tt.readings {
				bs.observe(c, 1, r.took, r.exact, Result{})
			}
			if why, degraded := bs.degraded(c); degraded != tt.degraded {
				t.Errorf("readings %v: degraded = %v (%q), want %v", tt.readings, degraded, why, tt.degraded)
			}
			if got := c.health.cpuTimed(); got != tt.cpuNext {
				t.Errorf("readings %v: next timed by the CPU clock = %v, want %v", tt.readings, got, tt.cpuNext)
			}
		})
	}
}

// TestBudgetValidate: bad budgets are refused with what to fix.
func TestBudgetValidate(t *testing.T) {
	tests := []struct {
		name string
		b    Budget
		want string
	}{
		{"zero", Budget{}, ""},
		{"custom", Budget{Cost: 10, Time: time.Millisecond, Window: 10, MaxOver: 10, Cooldown: time.Second}, ""},
		{"time off", Budget{Time: -1}, ""},
		{"negative window", Budget{Window: -1}, "window"},
		{"max over above window", Budget{Window: 3, MaxOver: 4}, "must not be above the window"},
		{"negative cooldown", Budget{Cooldown: -time.Second}, "cooldown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate(%+v) = %v, want an error containing %q (or none)", tt.b, err, tt.want)
			}
		})
	}
}

// TestRouterKeepsDegradationAcrossRestart: a route degraded by one router
// stays degraded, for the rest of its cooldown, in a router started after
// it (a restart, or another replica): its next event is dead-lettered with
// route_degraded without being evaluated. A degradation whose revision is
// no longer the route's is not carried over.
func TestRouterKeepsDegradationAcrossRestart(t *testing.T) {
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	store, err := NewStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx, "costly", &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook", Transform: costlyTransform}}}); err != nil {
		t.Fatal(err)
	}
	opts := Options{Concurrency: 1, AckWait: 10 * time.Second, Budget: Budget{Time: -1, Window: 2, MaxOver: 2, Cooldown: time.Hour}}
	_, stop := runRouter(t, js, opts)
	big := `{"s":"` + strings.Repeat("x", 400_000) + `"}`
	for _, id := range []string{"e1", "e2"} {
		publishEvent(t, js, event(id, "acme", "user.created", big), "")
	}
	waitIdle(t, js, topology.RouterConsumer)
	waitFor(t, "the degradation to be stored", func() bool {
		r, err := store.Get(ctx, "costly")
		return err == nil && store.FillStatus(ctx, r) == nil && r.GetStatus().GetState() == junctionv1.RouteStatus_STATE_DEGRADED
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	runRouter(t, js, opts)
	// A cheap event: evaluated, it would be delivered.
	publishEvent(t, js, event("e3", "acme", "user.created", `{"s":"small"}`), "")
	waitIdle(t, js, topology.RouterConsumer)
	if got := subjects(readStream(t, js, topology.DLQStream)); !slices.Equal(got, []string{"junction.dlq.webhook.costly e3"}) {
		t.Errorf("dead letters = %v, want e3's: the restarted router keeps the route degraded", got)
	}
	if got := subjects(readStream(t, js, topology.DeliveriesStream)); !slices.Equal(got, []string{"junction.deliveries.webhook.costly e1", "junction.deliveries.webhook.costly e2"}) {
		t.Errorf("deliveries = %v, want e1 and e2 only", got)
	}
}
