package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/gateway"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// switchSink fails with a retryable error while failing is set.
type switchSink struct {
	mu      sync.Mutex
	failing bool
	got     map[string]int
}

func (s *switchSink) Deliver(context.Context, *junctionv1.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return fmt.Errorf("destination down")
	}
	s.got["x"]++
	return nil
}

func (s *switchSink) delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got["x"]
}

// realGateway runs a hub, a gateway, a router and a failing sink named
// "down"; it returns the gateway's address.
func realGateway(t *testing.T) (string, *switchSink) {
	t.Helper()
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := gateway.New(ctx, gateway.Config{JS: hub.JS, Logger: log})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	g := gateway.NewGRPCServer(s)
	wg.Go(func() { _ = g.Serve(lis) })
	t.Cleanup(g.Stop)
	r, err := router.New(hub.JS, router.Options{Logger: log})
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	wg.Go(func() { _ = r.Run(ctx) })
	sink := &switchSink{failing: true, got: map[string]int{}}
	run, err := platform.NewRunner(sdk.Spec{App: "down"}, sink, hub.Connect(t), platform.RunnerOptions{Logger: log})
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	wg.Go(func() { _ = run.Run(ctx) })
	for r.Ready() != nil || run.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	created, err := s.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "r1", Route: &junctionv1.Route{
		Filter:  "acme.>",
		Targets: []*junctionv1.Target{{Name: "t", Destination: "down"}},
		Policy:  &junctionv1.DeliveryPolicy{MaxAttempts: 2, InitialBackoff: durationpb.New(10 * time.Millisecond)},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	for r.AppliedRevision() < created.GetRoute().GetRevision() {
		time.Sleep(10 * time.Millisecond)
	}
	return lis.Addr().String(), sink
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDLQCommands(t *testing.T) {
	addr, sink := realGateway(t)
	if _, err := run(t, addr, "", "events", "publish", "--source", "acme", "--type", "user.created", "--id", "e1", "--data-json", `{"a":1}`); err != nil {
		t.Fatalf("events publish: %v", err)
	}
	var out string
	eventually(t, "a dead letter listed", func() bool {
		var err error
		out, err = run(t, addr, "", "dlq", "list", "--destination", "down", "--since", "1h")
		return err == nil && strings.Contains(out, "max_attempts")
	})
	name := regexp.MustCompile(`deadLetters/\d+`).FindString(out)
	if name == "" {
		t.Fatalf("dlq list printed no dead letter name:\n%s", out)
	}
	for _, tc := range []struct {
		args    []string
		want    []string
		wantErr string
	}{
		{args: []string{"dlq", "get", name}, want: []string{"REASON:", "max_attempts", "ATTEMPTS:", "2", "destination down"}},
		{args: []string{"events", "deliveries", "e1", "--attempts"}, want: []string{"dead_lettered", "#1", "retrying", "#2"}},
		{args: []string{"dlq", "list", "--route", "other"}, want: []string{"NAME"}},
		{args: []string{"dlq", "redrive"}, wantErr: "exactly one"},
		{args: []string{"dlq", "purge", "--since", "yesterday"}, wantErr: "--since"},
		{args: []string{"dlq", "get", "deadLetters/999"}, wantErr: "NotFound"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := run(t, addr, "", tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	sink.mu.Lock()
	sink.failing = false
	sink.mu.Unlock()
	out, err := run(t, addr, "", "dlq", "redrive", name)
	if err != nil || !strings.Contains(out, "1 redriven") {
		t.Fatalf("dlq redrive = %q, %v; want 1 redriven", out, err)
	}
	eventually(t, "the redriven delivery", func() bool { return sink.delivered() == 1 })
	eventually(t, "state delivered", func() bool {
		out, err := run(t, addr, "", "events", "deliveries", "e1")
		return err == nil && strings.Contains(out, "delivered")
	})
	out, err = run(t, addr, "", "dlq", "purge", "--all")
	if err != nil || !strings.Contains(out, "0 purged") {
		t.Errorf("dlq purge --all = %q, %v; want 0 purged", out, err)
	}
	out, err = run(t, addr, "", "events", "resend", "e1")
	if err != nil || !strings.Contains(out, "1 deliveries resent") {
		t.Fatalf("events resend = %q, %v", out, err)
	}
	eventually(t, "the resent delivery", func() bool { return sink.delivered() == 2 })
}
