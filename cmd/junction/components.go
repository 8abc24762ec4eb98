package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/storecheck"
	sdktelemetry "github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/console"
	"github.com/junctionhq/junction/gateway"
	"github.com/junctionhq/junction/internal/apitls"
	"github.com/junctionhq/junction/internal/hub"
	"github.com/junctionhq/junction/internal/telemetry"
	"github.com/junctionhq/junction/services/router"
)

// connect opens the NATS connection a component runs on and ensures the
// topology, so components can start in any order.
// Its credentials and TLS settings come from cfg.NATSAuth; its replies use
// the inbox prefix of the user named role unless one is set.
func connect(ctx context.Context, cfg hub.Config, name, role string) (*nats.Conn, jetstream.JetStream, error) {
	if cfg.NATSURL == "" {
		return nil, nil, errors.New("--nats-url (or JUNCTION_NATS_URL) is required: this component runs against an external NATS; `junction serve` embeds one")
	}
	auth := cfg.NATSAuth
	if auth.InboxPrefix == "" {
		auth.InboxPrefix = topology.InboxPrefix(role)
	}
	opts, err := auth.Options(nil)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(cfg.NATSURL, append(opts, nats.Name(name), nats.MaxReconnects(-1))...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", sdk.RedactURLs(cfg.NATSURL), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if err := topology.Ensure(ctx, js, cfg.Topology()); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func newRouterCmd() *cobra.Command {
	var f hubFlags
	var ackWait time.Duration
	var concurrency int
	var healthAddr string
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Run a router against an external NATS (replicas share one consumer)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, stop, err := f.start(cmd, "junction-router")
			if err != nil {
				return err
			}
			defer stop()
			nc, js, err := connect(cmd.Context(), cfg, "junction-router", "router")
			if err != nil {
				return err
			}
			defer nc.Drain()
			r, err := router.New(js, router.Options{
				Logger:      logger.With("component", "router"),
				AckWait:     ackWait,
				Concurrency: concurrency,
			})
			if err != nil {
				return err
			}
			if healthAddr == "" {
				healthAddr = os.Getenv("JUNCTION_HEALTH_ADDR")
			}
			logger.Info("router started", "nats", nc.ConnectedUrl(), "health", healthAddr)
			if healthAddr == "" {
				return r.Run(cmd.Context())
			}
			store := storecheck.New(js, storecheck.Options{Component: "router", Interval: cfg.Storage.CheckInterval,
				Streams: []string{topology.DeliveriesStream, topology.DLQStream}, Logger: logger.With("component", "store")})
			run := func(ctx context.Context) error {
				g, gctx := errgroup.WithContext(ctx)
				g.Go(func() error { return store.Run(gctx) })
				g.Go(func() error { return r.Run(gctx) })
				return g.Wait()
			}
			return runWithHealth(cmd.Context(), healthAddr, cfg.HTTP, logger, run, func() error {
				return errors.Join(natsReady(nc), r.Ready(), store.Ready())
			})
		},
	}
	f.register(cmd.Flags(), false, false)
	cmd.Flags().StringVar(&healthAddr, "health-addr", "", "serve /healthz and /readyz on this address, e.g. 0.0.0.0:8082 (env JUNCTION_HEALTH_ADDR; off when empty)")
	cmd.Flags().DurationVar(&ackWait, "ack-wait", router.DefaultAckWait, "how long an event a router took may go unacknowledged before another replica gets it (all replicas must agree)")
	cmd.Flags().IntVar(&concurrency, "concurrency", router.DefaultConcurrency, "events processed at once")
	return cmd
}

func newGatewayCmd() *cobra.Command {
	var f hubFlags
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the gateway (gRPC and REST) against an external NATS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, stop, err := f.start(cmd, "junction-gateway")
			if err != nil {
				return err
			}
			defer stop()
			ctx := cmd.Context()
			nc, js, err := connect(ctx, cfg, "junction-gateway", "gateway")
			if err != nil {
				return err
			}
			defer nc.Drain()
			if unregister, err := telemetry.RegisterJetStreamGauges(js, logger); err == nil {
				defer unregister()
			}
			gw, err := gateway.New(ctx, gateway.Config{JS: js, Logger: logger.With("component", "gateway"), Version: hub.Version})
			if err != nil {
				return err
			}
			api, err := apitls.New(cfg.TLS, []string{cfg.HTTPAddr, cfg.GRPCAddr}, cfg.DataDir, logger.With("component", "tls"))
			if err != nil {
				return err
			}
			grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
			if err != nil {
				return fmt.Errorf("grpc-addr: %w", err)
			}
			httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
			if err != nil {
				grpcLis.Close()
				return fmt.Errorf("http-addr: %w", err)
			}
			grpcLis = limits.Listen(grpcLis, cfg.HTTP.MaxConnections, nil, logger, "grpc")
			refusal := limits.Refusal503
			if api != nil {
				refusal = nil
			}
			httpLis = limits.Listen(httpLis, cfg.HTTP.MaxConnections, refusal, logger, "http")
			inproc := apitls.NewInProcess()
			rest, err := gateway.RESTHandler(ctx, apitls.InProcessTarget, append(telemetry.RESTDialOptions(), inproc.DialOptions()...)...)
			if err != nil {
				return err
			}
			authOpts, authn, err := hub.AuthServerOptions(ctx, cfg.Auth, gw.Keys(), logger.With("component", "auth"))
			if err != nil {
				return fmt.Errorf("auth: %w", err)
			}
			// The browser guard is the REST API's outermost layer.
			if rest, err = gateway.BrowserGuard(cfg.API.Browser(), cfg.HTTPAddr, rest); err != nil {
				return err
			}
			grpcOpts := append(append(telemetry.GRPCServerOptions(), gateway.ServerLimits(cfg.HTTP)...), api.GRPCServerOptions()...)
			srv := gateway.NewGRPCServer(gw, append(grpcOpts, authOpts...)...)
			mux := http.NewServeMux()
			mux.Handle("/", natstrace.HTTPHandler(rest, "/v1/*"))
			mux.Handle("GET /{$}", console.Handler()) // the web console (package console)
			mux.Handle("GET /console/", console.Handler())
			store := storecheck.New(js, storecheck.Options{Component: "gateway", Interval: cfg.Storage.CheckInterval,
				Streams: storecheck.SourceStreams(), Logger: logger.With("component", "store")})
			handleHealth(mux, func() error { return errors.Join(natsReady(nc), store.Ready()) })
			httpSrv := limits.NewHTTPServer(cfg.HTTP, api.Guard(hub.GuardMetricsPath(authn, rpcstatus.Routes(mux))), logger.With("component", "http"))
			logger.Info("gateway started", "grpc", grpcLis.Addr().String(), "http", httpLis.Addr().String(),
				"tls", api != nil, "mutual_tls", api.MutualTLS(), "tls_ca_file", api.CAFileOrEmpty())
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return store.Run(gctx) })
			g.Go(func() error {
				if err := srv.Serve(grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
					return err
				}
				return nil
			})
			g.Go(func() error {
				if err := srv.Serve(inproc.Listener()); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
					return err
				}
				return nil
			})
			g.Go(func() error {
				if err := api.ServeHTTP(httpSrv, httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			})
			g.Go(func() error {
				<-gctx.Done()
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
				defer cancel()
				_ = httpSrv.Shutdown(sctx)
				srv.GracefulStop()
				return nil
			})
			return g.Wait()
		},
	}
	f.register(cmd.Flags(), true, false)
	return cmd
}

// natsReady reports whether nc is connected.
func natsReady(nc *nats.Conn) error {
	if !nc.IsConnected() {
		return errors.New("nats: not connected")
	}
	return nil
}

// handleHealth serves /healthz (the process is up) and /readyz (ready
// reports nil) on mux, as JSON, and /metrics.
func handleHealth(mux *http.ServeMux, ready func() error) {
	mux.Handle("GET /metrics", sdktelemetry.MetricsHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, "ok", "")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			rpcstatus.WriteNotReady(w, err, storecheck.Metadata(err))
			return
		}
		writeStatus(w, http.StatusOK, "ready", "")
	})
}

func writeStatus(w http.ResponseWriter, code int, status, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	body := map[string]string{"status": status}
	if reason != "" {
		body["reason"] = reason
	}
	_ = json.NewEncoder(w).Encode(body)
}

// runWithHealth runs run until ctx ends, with a health server on addr
// beside it, bounded by lim; the server stops when run returns.
func runWithHealth(ctx context.Context, addr string, lim limits.Config, logger *slog.Logger, run func(context.Context) error, ready func() error) error {
	mux := http.NewServeMux()
	handleHealth(mux, ready)
	srv := limits.NewHTTPServer(lim, mux, logger.With("component", "http"))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("health-addr: %w", err)
	}
	lis := limits.Listen(l, lim.MaxConnections, limits.Refusal503, logger, "health")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		return run(gctx)
	})
	return g.Wait()
}
