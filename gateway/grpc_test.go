package gateway_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"

	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

func TestHealth(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	hc := healthpb.NewHealthClient(e.conn)
	for _, svc := range []string{
		"",
		junctionv1grpc.RouteService_ServiceDesc.ServiceName,
		junctionv1grpc.EventService_ServiceDesc.ServiceName,
		junctionv1grpc.AdapterService_ServiceDesc.ServiceName,
	} {
		t.Run("service="+svc, func(t *testing.T) {
			resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("got %s, want SERVING", resp.GetStatus())
			}
		})
	}
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantCode(t, err, codes.NotFound)
}

func TestReflection(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	stream, err := reflectionpb.NewServerReflectionClient(e.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("ServerReflectionInfo: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatalf("send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	_ = stream.CloseSend()
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{
		"junction.v1.RouteService", "junction.v1.EventService", "junction.v1.AdapterService",
		"grpc.health.v1.Health",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("reflection lists %v, want %s among them", got, want)
		}
	}
}

// TestInterceptorSeam checks that interceptors given to NewGRPCServer run
// for gRPC and REST calls, inside panic recovery.
func TestInterceptorSeam(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []string
	)
	seam := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		mu.Lock()
		calls = append(calls, info.FullMethod)
		mu.Unlock()
		if info.FullMethod == junctionv1grpc.AdapterService_ListAdapters_FullMethodName {
			panic("boom")
		}
		return handler(ctx, req)
	}
	e := newEnv(t, grpc.ChainUnaryInterceptor(seam))
	ctx := testCtx(t)

	_, err := e.adapters.ListAdapters(ctx, &junctionv1.ListAdaptersRequest{})
	wantCode(t, err, codes.Internal, "internal error")

	status, body := e.do(t, http.MethodGet, "/v1/adapters", nil)
	if status != http.StatusInternalServerError || body["code"] != float64(codes.Internal) {
		t.Errorf("GET /v1/adapters with a panicking interceptor: got %d %v, want 500 INTERNAL", status, body)
	}
	if _, err := e.routes.ListRoutes(ctx, &junctionv1.ListRoutesRequest{}); err != nil {
		t.Errorf("server unusable after a panic: ListRoutes: %v", err)
	}
	want := []string{
		junctionv1grpc.AdapterService_ListAdapters_FullMethodName,
		junctionv1grpc.AdapterService_ListAdapters_FullMethodName,
		junctionv1grpc.RouteService_ListRoutes_FullMethodName,
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(calls, want) {
		t.Errorf("seam saw %v, want %v", calls, want)
	}
}
