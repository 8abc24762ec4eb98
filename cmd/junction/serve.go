package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/internal/hub"
)

// readyTimeout bounds how long serve waits for every component to be ready.
const readyTimeout = 60 * time.Second

// hubFlags binds the flags shared by serve and the component commands onto
// a Config, applied after the file and the environment.
type hubFlags struct {
	config   string
	dataDir  string
	httpAddr string
	grpcAddr string
	natsAddr string
	natsURL  string
	sync     string
	logLevel string
	replicas int
	pprof    string
	nats     natsFlags

	apiHosts   []string
	apiOrigins []string
	tls        tlsFlags
	adminKey   string
}

// start loads the configuration, builds the logger and starts tracing for
// the command's process, named service; stop ends tracing.
func (f *hubFlags) start(cmd *cobra.Command, service string) (cfg hub.Config, logger *slog.Logger, stop func(), err error) {
	if cfg, err = f.load(cmd.Flags()); err != nil {
		return cfg, nil, nil, err
	}
	if logger, err = newLogger(cfg.LogLevel); err != nil {
		return cfg, nil, nil, err
	}
	if stop, err = startTracing(cmd.Context(), service, logger); err != nil {
		return cfg, nil, nil, err
	}
	pprofAddr := f.pprof
	if !cmd.Flags().Changed("pprof-addr") {
		pprofAddr = os.Getenv("JUNCTION_PPROF_ADDR")
	}
	limits.RaiseFileLimit(logger)
	stopPprof, err := startPprof(pprofAddr, cfg.HTTP, logger)
	if err != nil {
		stop()
		return cfg, nil, nil, fmt.Errorf("pprof listener: %w", err)
	}
	stopTracing := stop
	stop = func() { stopPprof(); stopTracing() }
	return cfg, logger, stop, nil
}

// register adds the flags of one command: listeners only where the command
// serves, the embedded NATS settings only for serve.
func (f *hubFlags) register(fs *pflag.FlagSet, listens, embedded bool) {
	fs.StringVarP(&f.config, "config", "c", "", "YAML config file (env JUNCTION_CONFIG)")
	if listens {
		fs.StringVar(&f.httpAddr, "http-addr", hub.DefaultHTTPAddr, "REST, webhooks and health listen address (env JUNCTION_HTTP_ADDR)")
		fs.StringVar(&f.grpcAddr, "grpc-addr", hub.DefaultGRPCAddr, "gRPC listen address (env JUNCTION_GRPC_ADDR)")
		fs.StringSliceVar(&f.apiHosts, "api-allowed-hosts", nil, "Host names the REST API answers to; default localhost, 127.0.0.1, [::1] and the http-addr host (env JUNCTION_API_ALLOWED_HOSTS)")
		fs.StringSliceVar(&f.apiOrigins, "api-cors-origins", nil, "web origins allowed to call the REST API from a browser; default none (env JUNCTION_API_CORS_ALLOWED_ORIGINS)")
		f.tls.register(fs)
		fs.StringVar(&f.adminKey, "admin-key-file", "", "when no API key exists, create an admin key and write it here, mode 0600 (default <data-dir>/admin.key with the embedded NATS; env JUNCTION_ADMIN_KEY_FILE)")
	}
	fs.StringVar(&f.natsURL, "nats-url", "", "use this NATS instead of the embedded one (env JUNCTION_NATS_URL)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (env JUNCTION_LOG_LEVEL)")
	fs.StringVar(&f.pprof, "pprof-addr", "", "serve Go profiles (/debug/pprof/) here, e.g. 127.0.0.1:6060; off when empty (env JUNCTION_PPROF_ADDR)")
	f.nats.register(fs)
	fs.IntVar(&f.replicas, "replicas", 1, "replicas of streams and buckets: 1, or 3 on a NATS cluster (env JUNCTION_REPLICAS)")
	if embedded {
		fs.StringVar(&f.dataDir, "data-dir", hub.DefaultDataDir, "embedded NATS file store (env JUNCTION_DATA_DIR)")
		fs.StringVar(&f.natsAddr, "nats-addr", hub.DefaultNATSAddr, "embedded NATS listen address (env JUNCTION_NATS_ADDR)")
		fs.StringVar(&f.sync, "sync", "default", "JetStream flush: default, always, or an interval like 1s (env JUNCTION_SYNC)")
	}
}

// load reads file and env, then applies the flags the user set.
func (f *hubFlags) load(fs *pflag.FlagSet) (hub.Config, error) {
	path := f.config
	if path == "" {
		path = os.Getenv("JUNCTION_CONFIG")
	}
	cfg, err := hub.Load(path, os.Getenv)
	if err != nil {
		return cfg, err
	}
	set := map[string]*string{
		"data-dir": &cfg.DataDir, "http-addr": &cfg.HTTPAddr, "grpc-addr": &cfg.GRPCAddr,
		"nats-addr": &cfg.NATSAddr, "nats-url": &cfg.NATSURL, "sync": &cfg.Sync, "log-level": &cfg.LogLevel,
		"admin-key-file": &cfg.Auth.AdminKeyFile,
	}
	vals := map[string]string{
		"data-dir": f.dataDir, "http-addr": f.httpAddr, "grpc-addr": f.grpcAddr,
		"nats-addr": f.natsAddr, "nats-url": f.natsURL, "sync": f.sync, "log-level": f.logLevel,
		"admin-key-file": f.adminKey,
	}
	for name, field := range set {
		if fs.Changed(name) {
			*field = vals[name]
		}
	}
	if fs.Changed("replicas") {
		cfg.Replicas = f.replicas
	}
	f.nats.apply(fs, &cfg.NATSAuth)
	if fs.Changed("api-allowed-hosts") {
		cfg.API.AllowedHosts = f.apiHosts
	}
	if fs.Changed("api-cors-origins") {
		cfg.API.CORSAllowedOrigins = f.apiOrigins
	}
	f.tls.apply(fs, &cfg)
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

func newServeCmd() *cobra.Command {
	var f hubFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the whole hub in one process: NATS, router, gateway, webhook adapter",
		Long: `serve runs NATS with JetStream (embedded, file store under --data-dir),
the router, the gateway (gRPC and REST) and the built-in generic webhook
adapter in one process. With --nats-url it uses that NATS instead.
SIGINT or SIGTERM drains in-flight work and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, stop, err := f.start(cmd, "junction-serve")
			if err != nil {
				return err
			}
			defer stop()
			h, err := hub.New(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			// Print the addresses once every component is ready, so a
			// script that waits for the banner can use the hub at once.
			runCtx, stopRun := context.WithCancel(cmd.Context())
			defer stopRun()
			runErr := make(chan error, 1)
			runDone := make(chan struct{})
			go func() { runErr <- h.Run(runCtx); close(runDone) }()
			wctx, cancel := context.WithTimeout(cmd.Context(), readyTimeout)
			err = h.WaitReady(wctx, runDone)
			cancel()
			if err != nil {
				stopRun()
				if rerr := <-runErr; rerr != nil {
					return rerr
				}
				if cmd.Context().Err() != nil {
					return nil // stopped by a signal while starting
				}
				return err
			}
			a := h.Addrs()
			out := cmd.OutOrStdout()
			web := h.TLS().Scheme() + "://" + a.HTTP
			fmt.Fprintf(out, "junction %s ready\n", hub.Version)
			fmt.Fprintf(out, "  REST      %s/v1  (OpenAPI at /openapi.json)\n", web)
			fmt.Fprintf(out, "  console   %s/  (sign in with an API key)\n", web)
			fmt.Fprintf(out, "  webhooks  %s/webhooks/<source>\n", web)
			fmt.Fprintf(out, "  health    %s/healthz  %s/readyz\n", web, web)
			fmt.Fprintf(out, "  metrics   %s/metrics\n", web)
			fmt.Fprintf(out, "  gRPC      %s\n", a.GRPC)
			printTLS(out, h.TLS())
			fmt.Fprintf(out, "  NATS      %s\n", a.NATS)
			if cfg.NATSURL == "" {
				fmt.Fprintf(out, "  data      %s\n", cfg.DataDir)
			}
			if dir := h.CredentialsDir(); dir != "" {
				fmt.Fprintf(out, "  NATS keys %s  (nkey seed per user; anonymous clients are refused)\n", dir)
			}
			if cfg.LoopbackDeliveries() {
				fmt.Fprintf(out, "  warning   webhook deliveries may reach loopback addresses (webhook.outbound.allow %q); remove them outside development\n", cfg.Webhook.Outbound.Allow)
			}
			printAuth(out, h)
			return <-runErr
		},
	}
	f.register(cmd.Flags(), true, true)
	return cmd
}
