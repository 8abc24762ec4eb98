package gateway_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/gateway"
)

// TestGRPCIdleConnectionClosed: a gRPC connection with no call for
// IdleTimeout is sent away by the server (MaxConnectionIdle), and the
// client reconnects for its next call.
func TestGRPCIdleConnectionClosed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := limits.Config{IdleTimeout: 200 * time.Millisecond}
	lis := limits.Listen(l, 4, nil, nil, "grpc")
	srv := grpc.NewServer(gateway.ServerLimits(c)...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("Check: %v", err)
	}
	for lis.Open() != 0 { // the idle connection is closed by the server
		if ctx.Err() != nil {
			t.Fatalf("idle gRPC connection still open after 30s (%d open), want it closed", lis.Open())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("Check after the idle close: %v", err)
	}
}
