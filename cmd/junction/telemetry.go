package main

import (
	"context"
	"log/slog"
	"time"

	sdktelemetry "github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
	// OTLP trace export (the hub links grpc anyway).
	_ "github.com/junctionhq/junction/adapters/sdk/telemetry/otlp"
)

// startTracing installs the OTLP tracer provider the OTEL_* variables ask
// for (none when unset) and returns the function that flushes it at exit.
func startTracing(ctx context.Context, service string, logger *slog.Logger) (func(), error) {
	shutdown, err := sdktelemetry.SetupTracing(ctx, service)
	if err != nil {
		return func() {}, err
	}
	if sdktelemetry.Enabled(getenv) {
		logger.Info("tracing on: exporting spans over OTLP", "service", service)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			logger.Warn("flush traces failed", "error", err)
		}
	}, nil
}
