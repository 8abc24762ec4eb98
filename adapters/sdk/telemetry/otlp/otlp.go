// Package otlp links the OTLP trace exporters into a binary: importing it
// (for its side effect) lets [telemetry.SetupTracing] export spans over
// OTLP gRPC or HTTP when the OTEL_* variables ask for it. Without it a
// binary that is asked to export traces refuses to start, saying so.
//
//	import _ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
//
// It is separate because the exporters compile grpc and grpc-gateway,
// which an adapter that does not export traces need not carry.
package otlp

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
)

func init() { telemetry.RegisterOTLPExporter(New) }

// New makes the OTLP span exporter for protocol, "grpc" or
// "http/protobuf", configured by the OTEL_EXPORTER_OTLP_* variables.
func New(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	switch protocol {
	case "grpc":
		return otlptracegrpc.New(ctx)
	case "http/protobuf":
		return otlptracehttp.New(ctx)
	}
	return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_PROTOCOL %q: use grpc or http/protobuf", telemetry.ErrConfig, protocol)
}
