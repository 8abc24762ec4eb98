package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// withPollingApp adds a `sources:` entry for app with the YAML config and
// poll interval.
func withPollingApp(t *testing.T, cfg Config, app, config string, every time.Duration) Config {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(config), &node); err != nil {
		t.Fatal(err)
	}
	cfg.Sources = append(cfg.Sources, SourceApp{App: app, Config: *node.Content[0], PollInterval: every})
	return cfg
}

// TestPolledItemRoutedToReceiver: serve runs the poll adapter from a
// `sources:` entry; an item the API lists is stored as an event of source
// poll and a route delivers it to a real HTTP receiver. Restarted, serve
// polls from the stored cursor and delivers only the new item.
func TestPolledItemRoutedToReceiver(t *testing.T) {
	const token = "e2e-poll-token"
	t.Setenv("E2E_POLL_TOKEN", token)
	var mu sync.Mutex
	var listed, since []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		since = append(since, r.URL.Query().Get("updated_since"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"items":[%s]}`, strings.Join(listed, ","))
	}))
	t.Cleanup(api.Close)
	cfg := withPollingApp(t, testConfig(t.TempDir()), "poll", fmt.Sprintf(`
endpoints:
  - name: orders
    url: %s/v1/orders
    auth: {header: Authorization, prefix: "Bearer ", value_env: E2E_POLL_TOKEN}
    items: items
    id_field: id
    time_field: updated_at
    since_param: updated_since
    type: order.paid
outbound:
  allow: [127.0.0.1/32]
`, api.URL), 200*time.Millisecond)
	h := startHub(t, cfg)
	rc := newReceiver(t)
	ctx := context.Background()
	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{
		RouteId: "paid-orders",
		Route: &junctionv1.Route{
			Filter: "poll.order.paid",
			Targets: []*junctionv1.Target{{Name: "books", Destination: "webhook",
				Config:    map[string]string{"url": rc.URL + "/orders"},
				Transform: `{"order": data.id, "total": data.total}`}},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())

	mu.Lock()
	listed = append(listed, `{"id":"ord_1","updated_at":"2026-12-07T01:00:00Z","total":42}`)
	mu.Unlock()
	waitFor(t, 60*time.Second, "the polled order at the receiver", func() error {
		if n := len(rc.deliveries()); n < 1 {
			return fmt.Errorf("%d deliveries", n)
		}
		return nil
	})
	var got map[string]any
	if err := json.Unmarshal(rc.deliveries()[0].body, &got); err != nil || got["order"] != "ord_1" || got["total"] != float64(42) {
		t.Errorf("delivered %s (%v), want the transform of the polled item", rc.deliveries()[0].body, err)
	}
	ev, err := h.events(t).GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/orders.ord_1", Source: "poll"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	if ev.GetEvent().GetType() != "order.paid" || !ev.GetEvent().GetTime().AsTime().Equal(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("stored type %q time %v, want order.paid at the item's updated_at", ev.GetEvent().GetType(), ev.GetEvent().GetTime().AsTime())
	}
	// Polled again and again, the item is delivered once.
	h.settled(t)
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("the receiver got %d deliveries of one item, want 1", n)
	}

	if err := h.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	mu.Lock()
	listed = append(listed, `{"id":"ord_2","updated_at":"2026-12-07T02:00:00Z","total":7}`)
	restartAt := len(since)
	mu.Unlock()
	h = startHub(t, cfg)
	waitFor(t, 60*time.Second, "the new order at the receiver", func() error {
		if n := len(rc.deliveries()); n < 2 {
			return fmt.Errorf("%d deliveries", n)
		}
		return nil
	})
	h.settled(t)
	if n := len(rc.deliveries()); n != 2 {
		t.Errorf("after a restart the receiver has %d deliveries, want 2 (ord_1 once, ord_2)", n)
	}
	mu.Lock()
	first := since[restartAt]
	mu.Unlock()
	if first != "2026-12-07T01:00:00Z" {
		t.Errorf("the first poll after the restart asked updated_since=%q, want the stored cursor's 2026-12-07T01:00:00Z", first)
	}
}

func TestPollSourceConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		every        time.Duration
		want         string
	}{
		{name: "no endpoints", config: "endpoints: []", want: "sources[0] (poll): config:"},
		{name: "inline secret", config: "endpoints: [{name: a, url: 'https://x.example/', id_field: id, type: t, auth: {header: X-Key, value: s3cret}}]", want: "field value not found"},
		{name: "poll interval too short", config: "endpoints: [{name: a, url: 'https://x.example/', id_field: id, type: t}]", every: time.Millisecond, want: "poll_interval 1ms: use at least 100ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withPollingApp(t, testConfig(t.TempDir()), "poll", tc.config, tc.every)
			cfg.SetDefaults()
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
