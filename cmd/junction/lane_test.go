package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// TestHangingURLDoesNotDelayAnotherRoute: two routes deliver every event
// through the same webhook adapter to two URLs. One URL hangs (it holds
// each request open); the other still receives every event, because the
// hanging route keeps to its share of the adapter's workers and its own
// lane, leaving its cap of the adapter's workers to the other route. When
// the URL answers again, each of its deliveries arrives once.
func TestHangingURLDoesNotDelayAnotherRoute(t *testing.T) {
	const events = 300
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	release := make(chan struct{})
	var mu sync.Mutex
	hung, ok := map[string]int{}, map[string]int{}
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		mu.Lock()
		hung[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hanging.Close)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		ok[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(healthy.Close)
	count := func(m map[string]int) int { mu.Lock(); defer mu.Unlock(); return len(m) }

	store, err := router.NewStore(ctx, hub.JS)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ id, url string }{{"to-hanging", hanging.URL}, {"to-healthy", healthy.URL}} {
		if _, err := store.Create(ctx, r.id, &junctionv1.Route{
			Filter:  "shop.>",
			Targets: []*junctionv1.Target{{Name: "t", Destination: "webhook", Config: map[string]string{"url": r.url}}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	startSink(t, hub, "webhook") // 16 workers, route cap 4
	startRouter(t, ctx, hub, 2)
	publishOrders(t, ctx, hub, events)

	eventually(t, "the healthy URL to receive every event while the other hangs", func() bool { return count(ok) == events })
	if n := count(hung); n != 0 {
		t.Fatalf("hanging URL answered %d deliveries before it was released", n)
	}
	parked := hub.StreamMsgs(t, topology.LanesStream)
	t.Logf("healthy route: %d of %d delivered while the other URL hung; %d deliveries of the hanging route parked in its lane", count(ok), events, parked)

	close(release)
	eventually(t, "the released URL to receive every event", func() bool { return count(hung) == events })
	mu.Lock()
	defer mu.Unlock()
	for i := range events {
		for route, m := range map[string]map[string]int{"to-hanging": hung, "to-healthy": ok} {
			if id := router.DeliveryID("shop", fmt.Sprintf("o-%03d", i), route, "t"); m[id] != 1 {
				t.Errorf("delivery %s received %d times, want 1", id, m[id])
			}
		}
	}
}
