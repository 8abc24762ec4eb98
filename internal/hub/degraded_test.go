package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestExpensiveRouteDegradedInAPI runs a hub with two routes on the same
// events: a cheap one, and one whose transform is accepted at save (its
// estimated cost is low) but expensive on the big payloads sent here. The
// cheap route's events keep flowing to its receiver; the expensive one
// goes over the router's default budget on every event and is marked
// degraded, with the reason, in GetRoute, ListRoutes and the REST API
// (called with the admin key).
func TestExpensiveRouteDegradedInAPI(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	cheap, costly := newReceiver(t), newReceiver(t)
	ctx := context.Background()
	routes := h.routes(t)

	var rev uint64
	for _, rt := range []struct{ id, url, transform string }{
		{"cheap", cheap.URL, `{"email": data.data.email}`},
		{"costly", costly.URL, `{"n": data.data.pad.lowerAscii().size()}`},
	} {
		created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: rt.id, Route: &junctionv1.Route{
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{{Name: "t", Destination: "webhook", Config: map[string]string{"url": rt.url}, Transform: rt.transform}},
		}})
		if err != nil {
			t.Fatalf("CreateRoute %s: %v", rt.id, err)
		}
		rev = max(rev, created.GetRoute().GetRevision())
	}
	h.routeApplied(t, rev)

	// Each payload's pad costs the costly transform about 440,000, over
	// the default budget of 100,000; a default window degrades the route
	// after 10 such evaluations.
	const events = 14
	pad := strings.Repeat("X", 400_000)
	for i := range events {
		body := []byte(fmt.Sprintf(`{"event":"user.created","timestamp":"2026-06-20T19:08:41Z","data":{"email":"u%d@example.com","pad":%q}}`, i, pad))
		if resp := h.sendWebhook(t, fmt.Sprintf("msg_%d", i), body); resp.StatusCode/100 != 2 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("webhook %d answered %d %s, want 2xx", i, resp.StatusCode, b)
		}
	}
	waitFor(t, 60*time.Second, "every event at the cheap receiver", func() error {
		if n := len(cheap.deliveries()); n < events {
			return fmt.Errorf("cheap receiver got %d of %d", n, events)
		}
		return nil
	})

	var st *junctionv1.RouteStatus
	waitFor(t, 30*time.Second, "the costly route reported degraded", func() error {
		got, err := routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/costly"})
		if err != nil {
			return err
		}
		st = got.GetRoute().GetStatus()
		if st.GetState() != junctionv1.RouteStatus_STATE_DEGRADED {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	if !strings.Contains(st.GetReason(), "over the budget") || st.GetSince() == nil || st.GetRetryTime() == nil {
		t.Errorf("GetRoute status = %v, want a reason naming the budget, since and retry_time", st)
	}
	if n := len(costly.deliveries()); n >= events {
		t.Errorf("costly receiver got %d of %d events, want the route stopped before the last", n, events)
	}

	list, err := routes.ListRoutes(ctx, &junctionv1.ListRoutesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]junctionv1.RouteStatus_State{}
	for _, r := range list.GetRoutes() {
		states[r.GetName()] = r.GetStatus().GetState()
	}
	if states["routes/costly"] != junctionv1.RouteStatus_STATE_DEGRADED || states["routes/cheap"] == junctionv1.RouteStatus_STATE_DEGRADED {
		t.Errorf("ListRoutes states = %v, want costly degraded and cheap not", states)
	}

	resp, err := h.adminGet(t, "http://"+h.Addrs().HTTP+"/v1/routes/costly")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rest struct {
		Status struct {
			State  string `json:"state"`
			Reason string `json:"reason"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rest); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/routes/costly: %d, %v", resp.StatusCode, err)
	}
	if rest.Status.State != "STATE_DEGRADED" || !strings.Contains(rest.Status.Reason, "budget") {
		t.Errorf("REST status = %+v, want STATE_DEGRADED with the reason", rest.Status)
	}
}
