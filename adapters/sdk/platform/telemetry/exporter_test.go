package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The package's tests export as a binary importing telemetry/otlp does
// (that package imports this one, so it cannot be imported here).
func init() {
	RegisterOTLPExporter(func(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
		if protocol == "grpc" {
			return otlptracegrpc.New(ctx)
		}
		return otlptracehttp.New(ctx)
	})
}

// TestSetupTracingWithoutExporter: asked for traces by a binary that did
// not import telemetry/otlp, SetupTracing refuses and names the import.
func TestSetupTracingWithoutExporter(t *testing.T) {
	saved := otlpExporter()
	RegisterOTLPExporter(nil)
	t.Cleanup(func() { RegisterOTLPExporter(saved) })
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")

	_, err := SetupTracing(context.Background(), "x")
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("SetupTracing without an exporter: error %v, want one wrapping ErrConfig", err)
	}
	if want := "adapters/sdk/telemetry/otlp"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the package to import (%s)", err, want)
	}
}
