package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/limits"
)

// pprofWriteTimeout is the pprof server's write timeout: the longest
// profile it can take.
const pprofWriteTimeout = 5 * time.Minute

// startPprof serves Go's profiles (/debug/pprof/) on addr, for profiling
// a running hub (docs/benchmarks.md). It is off unless --pprof-addr or
// JUNCTION_PPROF_ADDR is set; bind it to loopback: it has no
// authentication. stop closes the listener.
func startPprof(addr string, lim limits.Config, logger *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	lis := limits.Listen(l, lim.MaxConnections, limits.Refusal503, logger, "pprof")
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := limits.NewHTTPServer(lim, mux, logger.With("component", "pprof"))
	// A CPU profile or trace streams for ?seconds= (default 30s; pprof
	// refuses a duration past the write timeout): allow longer ones.
	srv.WriteTimeout = pprofWriteTimeout
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof server stopped", "err", err)
		}
	}()
	logger.Info("pprof listening", "addr", lis.Addr().String())
	return func() { _ = srv.Close() }, nil
}
