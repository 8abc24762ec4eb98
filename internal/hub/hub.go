// Package hub assembles the all-in-one Junction process that `junction
// serve` runs: NATS with JetStream (embedded, or an external one named by
// NATSURL), the stream topology, the router, the gateway (gRPC and REST) and
// the built-in generic webhook adapter, sharing one HTTP listener for REST,
// webhooks and health.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/storecheck"
	sdktelemetry "github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/adapters/webhook"
	"github.com/junctionhq/junction/console"
	"github.com/junctionhq/junction/gateway"
	"github.com/junctionhq/junction/gateway/auth"
	"github.com/junctionhq/junction/internal/apitls"
	"github.com/junctionhq/junction/internal/datadir"
	"github.com/junctionhq/junction/internal/natsauth"
	"github.com/junctionhq/junction/internal/telemetry"
	"github.com/junctionhq/junction/services/router"
)

// Version is the platform version reported by the gateway and adapters.
var Version = "0.1.0-dev"

// shutdownTimeout bounds each graceful stop step.
const shutdownTimeout = 20 * time.Second

// Hub is a started all-in-one Junction. New binds every listener, so
// Addrs is valid before Run.
type Hub struct {
	cfg    Config
	logger *slog.Logger

	ns    *server.Server // nil with an external NATS
	nc    *nats.Conn     // the platform's own connection
	js    jetstream.JetStream
	conns conns          // the router's, gateway's and adapter's
	keys  *natsauth.Keys // nil with an external NATS
	// unlock releases the data directory; nil with an external NATS.
	unlock func()

	httpLis net.Listener
	grpcLis net.Listener
	tls     *apitls.API       // nil without TLS
	inproc  *apitls.InProcess // the REST handler's way to the gRPC server

	router  *router.Router
	gateway *gateway.Server
	grpcSrv *grpc.Server
	runner  *platform.Runner
	// apps are the runners of the `sources:` app adapters, in config order.
	apps    []appRunner
	httpSrv *http.Server
	authn   *auth.Authenticator // nil with auth disabled
	store   *storecheck.Monitor // whether the store takes writes (storage.go)

	unregisterGauges func()
}

// Addrs are where a hub listens.
type Addrs struct {
	HTTP string // REST, webhooks, health
	GRPC string // gRPC API
	NATS string // NATS client URL
}

// New starts NATS (or connects to it), ensures the topology and binds the
// listeners. Call Run to serve; Run stops everything New started. On error
// everything already started is stopped.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Hub, err error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	h := &Hub{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			h.close()
		}
	}()

	// One owner per data directory: a second serve on it fails here,
	// before it writes a certificate or keys or opens the store.
	if cfg.NATSURL == "" {
		if h.unlock, err = datadir.Lock(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	// Certificates next: an unreadable file fails the start before
	// anything runs.
	if h.tls, err = apitls.New(cfg.TLS, []string{cfg.HTTPAddr, cfg.GRPCAddr}, cfg.DataDir, logger.With("component", "tls")); err != nil {
		return nil, err
	}
	if err := h.startNATS(); err != nil {
		return nil, err
	}
	h.js, err = jetstream.New(h.nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := topology.Ensure(ctx, h.js, cfg.Topology()); err != nil {
		return nil, err
	}

	if h.unregisterGauges, err = telemetry.RegisterJetStreamGauges(h.js, logger); err != nil {
		return nil, err
	}
	h.store = newStoreCheck(h, cfg, logger)
	routerJS, err := componentJS(h.conns.router)
	if err != nil {
		return nil, err
	}
	gatewayJS, err := componentJS(h.conns.gateway)
	if err != nil {
		return nil, err
	}
	h.router, err = router.New(routerJS, router.Options{Logger: logger.With("component", "router")})
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	h.gateway, err = gateway.New(ctx, gateway.Config{JS: gatewayJS, Logger: logger.With("component", "gateway"), Version: Version})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	adapter, err := webhook.NewWithOptions(cfg.Webhook, webhook.WithLogger(logger.With("component", "adapter")), webhook.WithOwnAddrs(h.ownAddrs))
	if err != nil {
		return nil, fmt.Errorf("webhook adapter: %w", err)
	}
	h.runner, err = platform.NewRunner(webhook.Spec, adapter, h.conns.adapter, platform.RunnerOptions{
		Config: sdk.Config{Instance: "serve", Concurrency: 64, HeartbeatEvery: 10 * time.Second},
		Logger: logger.With("component", "adapter"),
		Scoped: h.conns.scoped,
	})
	if err != nil {
		return nil, fmt.Errorf("webhook adapter: %w", err)
	}

	if h.apps, err = h.newAppRunners(); err != nil {
		return nil, err
	}

	if h.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("grpc_addr: %w", err)
	}
	if h.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("http_addr: %w", err)
	}
	authOpts, authn, err := AuthServerOptions(ctx, cfg.Auth, h.gateway.Keys(), logger.With("component", "auth"))
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	h.authn = authn
	// Slow and idle clients are shed: each listener holds at most
	// cfg.HTTP.MaxConnections, and the servers cut slow and idle ones.
	h.grpcLis = limits.Listen(h.grpcLis, cfg.HTTP.MaxConnections, nil, logger, "grpc")
	refusal := limits.Refusal503 // over the cap: 503, or a close under TLS
	if h.tls != nil {
		refusal = nil
	}
	h.httpLis = limits.Listen(h.httpLis, cfg.HTTP.MaxConnections, refusal, logger, "http")
	grpcOpts := append(append(telemetry.GRPCServerOptions(), gateway.ServerLimits(cfg.HTTP)...), h.tls.GRPCServerOptions()...)
	h.grpcSrv = gateway.NewGRPCServer(h.gateway, append(grpcOpts, authOpts...)...)
	h.inproc = apitls.NewInProcess()
	rest, err := gateway.RESTHandler(ctx, apitls.InProcessTarget, append(telemetry.RESTDialOptions(), h.inproc.DialOptions()...)...)
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	// The browser guard is the REST API's outermost layer, before
	// authentication.
	if rest, err = gateway.BrowserGuard(cfg.API.Browser(), h.httpLis.Addr().String(), rest); err != nil {
		return nil, err
	}
	h.httpSrv = limits.NewHTTPServer(cfg.HTTP, h.tls.Guard(h.mux(natstrace.HTTPHandler(rest, "/v1/*"))), logger.With("component", "http"))
	return h, nil
}

// Addrs returns where the hub listens.
func (h *Hub) Addrs() Addrs {
	a := Addrs{HTTP: h.httpLis.Addr().String(), GRPC: h.grpcLis.Addr().String(), NATS: h.nc.ConnectedUrl()}
	if h.ns != nil {
		a.NATS = h.ns.ClientURL()
	}
	return a
}

// TLS is the listeners' TLS, nil when they are plaintext.
func (h *Hub) TLS() *apitls.API { return h.tls }

// mux routes the shared HTTP listener: REST and OpenAPI to the gateway,
// webhooks to the built-in adapter, and the hub's own health endpoints.
func (h *Hub) mux(rest http.Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle("/v1/", rest)
	m.Handle("/openapi.json", rest)
	m.Handle("/openapi", rest)
	// The web console: a static page and its assets, a client of /v1 like
	// any other (package console).
	m.Handle("GET /{$}", console.Handler())
	m.Handle("GET /console/", console.Handler())
	m.Handle("/webhooks/", h.runner.Handler())
	for _, a := range h.apps {
		// The app's own path and anything under it (e.g. /webhooks/slack
		// and /webhooks/slack/commands).
		m.Handle("/webhooks/"+a.name, a.runner.Handler())
		m.Handle("/webhooks/"+a.name+"/", a.runner.Handler())
	}
	m.Handle("GET /metrics", GuardMetrics(h.authn, sdktelemetry.MetricsHandler()))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := h.Ready(); err != nil {
			rpcstatus.WriteNotReady(w, err, storecheck.Metadata(err)) // store: unavailable, full, write_error, not_checked
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return rpcstatus.Routes(m) // its own 404 and 405 in the API's error shape
}

// Ready reports whether every component can do its work and the store
// takes writes.
func (h *Hub) Ready() error {
	return errors.Join(h.componentsReady(), h.store.Ready())
}

// componentsReady is Ready without the store: a hub whose store is full
// still starts, so that the API can make room.
func (h *Hub) componentsReady() error {
	var errs []error
	if !h.nc.IsConnected() {
		errs = append(errs, errors.New("nats: not connected"))
	}
	if err := h.router.Ready(); err != nil {
		errs = append(errs, fmt.Errorf("router: %w", err))
	}
	for _, a := range h.apps {
		if err := a.runner.Ready(); err != nil {
			errs = append(errs, fmt.Errorf("%s adapter: %w", a.name, err))
		}
	}
	if err := h.runner.Ready(); err != nil {
		errs = append(errs, fmt.Errorf("webhook adapter: %w", err))
	}
	return errors.Join(errs...)
}

// WaitReady polls the components' readiness (Ready without the store, so
// that a hub on a full store starts and its API can make room) until it
// is nil, Run ends or ctx is done. It returns the last readiness error
// when ctx ends first.
func (h *Hub) WaitReady(ctx context.Context, runDone <-chan struct{}) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		err := h.componentsReady()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", err)
		case <-runDone:
			return errors.New("stopped before it was ready")
		case <-t.C:
		}
	}
}

// Run serves until ctx is cancelled, then shuts down gracefully: it stops
// taking webhooks and API calls (waiting for those in flight, so every
// answered webhook is stored), lets the router and the adapter finish the
// messages they hold, drains the NATS connection and stops the embedded
// server, which flushes its store. It returns nil after a clean stop.
func (h *Hub) Run(ctx context.Context) error {
	defer h.close()
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()

	g, gctx := errgroup.WithContext(work)
	g.Go(func() error { return h.router.Run(gctx) })
	// A store that cannot recover by itself ends Run with an error, so
	// that serve exits non-zero and its supervisor restarts it.
	g.Go(func() error { return h.store.Run(gctx) })
	g.Go(func() error { return h.runner.Run(gctx) })
	for _, a := range h.apps {
		g.Go(func() error { return a.runner.Run(gctx) })
	}
	g.Go(func() error {
		if err := h.grpcSrv.Serve(h.grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("grpc: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := h.grpcSrv.Serve(h.inproc.Listener()); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("grpc in-process: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := h.tls.ServeHTTP(h.httpSrv, h.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		select {
		case <-ctx.Done():
		case <-gctx.Done():
		}
		h.logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		// Intake first: in-flight webhook handlers finish, so each one
		// answered 2xx was stored.
		if err := h.httpSrv.Shutdown(sctx); err != nil {
			h.logger.Warn("http shutdown incomplete", "error", err)
		}
		stopGRPC(sctx, h.grpcSrv)
		// Then the consumers: cancelling their context makes them finish
		// what they hold and return.
		stopWork()
		return nil
	})
	err := g.Wait()
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// stopGRPC stops gracefully, forcing the stop when ctx ends first.
func stopGRPC(ctx context.Context, s *grpc.Server) {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.Stop()
		<-done
	}
}

// close releases what New started, in reverse order.
func (h *Hub) close() {
	if h.unregisterGauges != nil {
		h.unregisterGauges()
	}
	if h.httpLis != nil {
		h.httpLis.Close()
	}
	if h.grpcLis != nil {
		h.grpcLis.Close()
	}
	h.closeComponents()
	if h.inproc != nil {
		h.inproc.Close()
	}
	if h.nc != nil {
		if err := h.nc.Drain(); err != nil {
			h.nc.Close()
		}
		deadline := time.Now().Add(shutdownTimeout)
		for !h.nc.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if h.ns != nil {
		h.ns.Shutdown()
		h.ns.WaitForShutdown()
	}
	if h.unlock != nil {
		h.unlock()
	}
}

// ParseLevel maps a level name onto slog's levels.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("log_level: %q must be debug, info, warn or error", s)
	}
	return l, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
