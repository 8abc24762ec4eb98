package telemetry

import (
	"context"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ExporterFunc makes the span exporter for an OTLP protocol, "grpc" or
// "http/protobuf", configured by the OTEL_EXPORTER_OTLP_* variables.
type ExporterFunc func(ctx context.Context, protocol string) (sdktrace.SpanExporter, error)

var (
	exporterMu sync.Mutex
	exporter   ExporterFunc
)

// RegisterOTLPExporter installs the exporter [SetupTracing] uses. Package
// telemetry/otlp calls it when imported: the OTLP exporters compile grpc
// and grpc-gateway (through go.opentelemetry.io/proto/otlp), so a binary
// links them only when its main package asks for traces with
//
//	import _ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
func RegisterOTLPExporter(f ExporterFunc) {
	exporterMu.Lock()
	defer exporterMu.Unlock()
	exporter = f
}

func otlpExporter() ExporterFunc {
	exporterMu.Lock()
	defer exporterMu.Unlock()
	return exporter
}
