package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestScheduledTickRoutedToReceiver: serve runs the schedule adapter from
// a `sources:` entry; its ticks are stored as events of source schedule
// and a route delivers them to a real HTTP receiver.
func TestScheduledTickRoutedToReceiver(t *testing.T) {
	cfg := withPollingApp(t, testConfig(t.TempDir()), "schedule", `
schedules:
  - name: every-second
    cron: "* * * * * *"
    type: heartbeat.due
`, 200*time.Millisecond)
	h := startHub(t, cfg)
	rc := newReceiver(t)
	ctx := context.Background()
	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "heartbeats",
		Route: &junctionv1.Route{
			Filter:    "schedule.heartbeat.due",
			Condition: `data.schedule == "every-second"`,
			Targets:   []*junctionv1.Target{{Name: "monitor", Destination: "webhook", Config: map[string]string{"url": rc.URL + "/tick"}}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	waitFor(t, 60*time.Second, "a tick at the receiver", func() error {
		if n := len(rc.deliveries()); n < 1 {
			return fmt.Errorf("%d deliveries", n)
		}
		return nil
	})
	var data struct{ Schedule, Tick string }
	body := rc.deliveries()[0].body
	if err := json.Unmarshal(body, &data); err != nil || data.Schedule != "every-second" {
		t.Fatalf("delivered %s (%v), want the tick's data", body, err)
	}
	tick, err := time.Parse(time.RFC3339, data.Tick)
	if err != nil {
		t.Fatalf("tick %q is not RFC 3339: %v", data.Tick, err)
	}
	ev, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/every-second@" + tick.UTC().Format(time.RFC3339), Source: "schedule"})
	if err != nil {
		t.Fatalf("GetEvent of the delivered tick: %v", err)
	}
	if ev.GetEvent().GetType() != "heartbeat.due" || !ev.GetEvent().GetTime().AsTime().Equal(tick) {
		t.Errorf("stored type %q time %v, want heartbeat.due at %v", ev.GetEvent().GetType(), ev.GetEvent().GetTime().AsTime(), tick)
	}
}

func TestScheduleSourceConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, config, want string }{
		{name: "bad cron", config: "schedules: [{name: a, cron: '99 * * * *'}]", want: `sources[0] (schedule): config:`},
		{name: "misspelt key", config: "schedules: [{name: a, cron: '@daily', timezon: UTC}]", want: "field timezon not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withPollingApp(t, testConfig(t.TempDir()), "schedule", tc.config, 0)
			cfg.SetDefaults()
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
