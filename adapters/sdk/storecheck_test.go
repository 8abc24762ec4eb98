package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/storecheck"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestRunnerReadyFollowsTheStore: an adapter process's /readyz (a Runner
// with CheckStore, as sdk.Main runs it) fails with the reason while EVENTS
// is full, and is ready again once room is made, without a restart.
func TestRunnerReadyFollowsTheStore(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx := context.Background()
	cfg := topology.Streams(topology.Options{})[0]
	cfg.MaxBytes = 16 * 1024
	if _, err := hub.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("shrink EVENTS: %v", err)
	}
	r, err := platform.NewRunner(sdk.Spec{App: "echo", Version: "1.2.3"}, echoSource{}, hub.Connect(t),
		platform.RunnerOptions{Logger: testLogger(t), CheckStore: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	startRunner(t, r)
	readyz := func() (int, string) {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, "ready", func() bool { code, _ := readyz(); return code == http.StatusOK })

	stored := 0
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/acme", strings.NewReader(strings.Repeat("x", 1024)))
		req.Header.Set("X-Event-Id", fmt.Sprintf("e%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			break
		}
		stored++
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != uint64(stored) {
		t.Errorf("EVENTS holds %d, want the %d accepted", got, stored)
	}
	waitFor(t, "/readyz to report EVENTS full", func() bool {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "store full") && strings.Contains(body, topology.EventsStream)
	})
	var se *storecheck.Error
	if err := r.Ready(); !errors.As(err, &se) || se.Reason != storecheck.Full || se.Stream != topology.EventsStream {
		t.Errorf("Ready = %v, want a StoreError full on EVENTS", err)
	}

	s, err := hub.JS.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready after the purge", func() bool { code, _ := readyz(); return code == http.StatusOK })
}
