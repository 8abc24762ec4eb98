package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	sdktelemetry "github.com/junctionhq/junction/adapters/sdk/telemetry"
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

// serveMetrics serves /metrics and /healthz on addr until ctx is done, for
// components that have no HTTP listener of their own.
func serveMetrics(ctx context.Context, addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sdktelemetry.MetricsHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("metrics listener failed", "addr", addr, "error", err)
		}
	}()
}

// withMetrics serves /metrics beside h.
func withMetrics(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sdktelemetry.MetricsHandler())
	mux.Handle("/", h)
	return mux
}
