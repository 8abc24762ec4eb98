package telemetry

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
)

// GRPCServerOptions instrument a gRPC server: a SERVER span per call that
// continues the caller's trace context, and OTel RPC metrics. A method no
// service defines is named "_OTHER" in both (knownMethods).
func GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.StatsHandler(knownMethods{otelgrpc.NewServerHandler(otelgrpc.WithPropagators(natstrace.Propagator))})}
}

// GRPCDialOptions instrument a gRPC client: a CLIENT span per call whose
// context travels to the server in the call's metadata.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithPropagators(natstrace.Propagator)))}
}

// RESTDialOptions are the options of the REST gateway's connection to the
// in-process gRPC server: insecure transport (loopback) and client spans,
// so a REST call's trace continues into the gRPC handler.
func RESTDialOptions() []grpc.DialOption {
	return append(GRPCDialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
}
