package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/gateway"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestEventsTailReconnects: a tail whose gateway goes away (stopped, then
// started again on the same address, as in a restart) reconnects by itself
// and resumes after the last event it showed: the event stored while the
// gateway was down is shown once, the one shown before is not shown again,
// and events stored afterwards keep coming.
func TestEventsTailReconnects(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := gateway.New(ctx, gateway.Config{JS: hub.JS, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	var wg sync.WaitGroup
	defer wg.Wait()
	serve := func(lis net.Listener) *grpc.Server {
		g := gateway.NewGRPCServer(s)
		wg.Go(func() { _ = g.Serve(lis) })
		return g
	}
	g := serve(lis)
	publish := func(id string) {
		t.Helper()
		if _, err := s.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{
			Id: id, Source: "acme", Type: "user.created", DataContentType: "application/json", Data: []byte(`{"a":1}`),
		}}); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}

	out, errOut, done := runBackground(ctx, "events", "tail", "acme.>", "--server", addr)
	eventually(t, "the tail to start", func() bool { return strings.Contains(errOut.String(), "following acme.>") })
	publish("e1")
	eventually(t, "the tail to show e1", func() bool { return strings.Contains(out.String(), " e1 ") })

	g.Stop() // the gateway goes away; its tail's stream ends
	eventually(t, "the tail to notice", func() bool { return strings.Contains(errOut.String(), "tail interrupted") })
	publish("e2") // stored while no gateway serves the tail
	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	g = serve(lis)
	defer g.Stop()
	eventually(t, "the tail to show e2 after reconnecting", func() bool { return strings.Contains(out.String(), " e2 ") })
	publish("e3")
	eventually(t, "the tail to show e3", func() bool { return strings.Contains(out.String(), " e3 ") })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("events tail after interrupt: %v", err)
	}
	for _, id := range []string{"e1", "e2", "e3"} {
		if n := strings.Count(out.String(), " "+id+" "); n != 1 {
			t.Errorf("%s shown %d times, want once:\n%s", id, n, out.String())
		}
	}
	if msg := errOut.String(); !strings.Contains(msg, "reconnecting after sequence") || !strings.Contains(msg, "following acme.> again after sequence") {
		t.Errorf("stderr = %q, want the interruption and the resumption, each with the sequence", msg)
	}
}
