package sdk

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/limits"
	"github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Main is an adapter's whole main:
//
//	func main() { sdk.Main(webhook.Spec, webhook.New) }
//
// C is the adapter's own configuration type, decoded from the `adapter:`
// section of the file given by --config (or $JUNCTION_CONFIG) and validated
// when *C has a Validate() error method; A is the adapter value, whose roles
// are found by type assertion. Main logs JSON to stderr, connects to NATS,
// runs the delivery engine and an HTTP server on Config.HTTPAddr serving /healthz,
// /readyz and the adapter's webhooks, and stops gracefully on SIGINT or
// SIGTERM. On any error it prints what went wrong and exits with status 1.
func Main[C any, A any](spec Spec, newAdapter func(C) (A, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := runMain(ctx, spec, newAdapter, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s-adapter: %v\n", spec.App, err)
		os.Exit(1)
	}
}

// runMain is Main without the process: testable, and it returns instead of
// exiting.
func runMain[C any, A any](ctx context.Context, spec Spec, newAdapter func(C) (A, error), args []string, stdout, stderr io.Writer) error {
	name := spec.App + "-adapter"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(EnvConfig), "configuration file (YAML with hub: and adapter: sections); default $"+EnvConfig)
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s: %s\n\nUsage: %s [--config FILE]\n\n", name, spec.Description, name)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nEnvironment: %s, %s, %s, %s, %s, %s override the file.\n", EnvNATSURL, EnvHTTPAddr, EnvInstance, EnvLogLevel, EnvTLSCertFile, EnvTLSKeyFile)
		fmt.Fprintf(stderr, "Hub credentials and TLS: %s, %s, %s with %s or %s, %s or %s, %s, %s, %s, %s.\n",
			EnvNATSCreds, EnvNATSNkey, EnvNATSUser, EnvNATSPassword, EnvNATSPasswordFile, EnvNATSToken, EnvNATSTokenFile,
			EnvNATSCA, EnvNATSCert, EnvNATSKey, EnvNATSTLSServerName)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: the only flags are --config and --version", fs.Args())
	}
	if *version {
		fmt.Fprintf(stdout, "%s %s\n", name, spec.Version)
		return nil
	}

	cfg, adapterCfg, err := LoadConfig[C](*configPath)
	if err != nil {
		return err
	}
	level, _ := parseLevel(cfg.LogLevel)
	log := slog.New(telemetry.NewTraceHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: clip.ReplaceAttr}))).
		With("instance", cfg.Instance)
	limits.RaiseFileLimit(log)
	shutdownTracing, err := telemetry.SetupTracing(ctx, name)
	if err != nil {
		return err
	}
	defer flushTracing(shutdownTracing, log)

	adapter, err := newAdapter(adapterCfg)
	if err != nil {
		return fmt.Errorf("start adapter: %w", err)
	}
	if cfg.InboxPrefix == "" {
		cfg.InboxPrefix = topology.InboxPrefix(spec.App)
	}
	authOpts, err := cfg.NATSAuth.Options(os.Getenv)
	if err != nil {
		return fmt.Errorf("hub connection: %w", err)
	}
	nc, err := nats.Connect(cfg.NATSURL, append(authOpts,
		nats.Name(name+"/"+cfg.Instance),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("disconnected from the hub", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to the hub", "url", redactURLs(nc.ConnectedUrl()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("hub connection error", "err", err)
		}),
	)...)
	if err != nil {
		return fmt.Errorf("connect to the hub at %s: %w", redactURLs(cfg.NATSURL), err)
	}
	defer nc.Close()

	// Adapters never create the hub's streams and buckets; the platform
	// does. Started before it (as containers often are), wait for them
	// rather than exit and be restarted.
	if err := waitForTopology(ctx, nc, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	r, err := newRunner(spec, adapter, nc, runnerOptions{Config: cfg, Logger: log, Scoped: cfg.HasCredentials(), CheckStore: true})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (set hub.http_addr or %s): %w", cfg.HTTPAddr, EnvHTTPAddr, err)
	}
	refusal := limits.Refusal503 // over the cap: 503, or a close under TLS
	if cfg.TLSCertFile != "" {
		refusal = nil
	}
	ln = limits.Listen(ln, cfg.HTTP.MaxConnections, refusal, log, "http")
	srv := limits.NewHTTPServer(cfg.HTTP, r.Handler(), log)
	serve, err := httpsServe(cfg, srv, log)
	if err != nil {
		ln.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() {
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- fmt.Errorf("http server: %w", err)
		}
		close(serveErr)
	}()
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx) }()
	log.Info("adapter started", "version", spec.Version, "http_addr", ln.Addr().String(), "nats_url", redactURLs(cfg.NATSURL), "tls", cfg.TLSCertFile != "")

	var firstErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		firstErr = err
	case err := <-runErr:
		firstErr = err
		runErr = nil
	}
	cancel()
	log.Info("adapter stopping")
	sctx, scancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown incomplete", "err", err)
	}
	if runErr != nil {
		if err := <-runErr; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Everything that used the connection has stopped; push out what is
	// buffered before the deferred Close.
	if err := nc.FlushTimeout(5 * time.Second); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		log.Warn("flush failed", "err", err)
	}
	return firstErr
}

// redactURLs drops credentials (user, password or token) from a
// comma-separated list of NATS URLs.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// waitForTopology returns once every stream and bucket of the hub exists,
// checking again with a growing pause (up to 5s) and logging once that it
// waits; it returns ctx's error when ctx ends first.
func waitForTopology(ctx context.Context, nc *nats.Conn, log *slog.Logger) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	missing := func() string {
		for _, s := range topology.Streams(topology.Options{}) {
			if _, err := js.Stream(ctx, s.Name); err != nil {
				return "stream " + s.Name
			}
		}
		for _, b := range topology.Buckets(topology.Options{}) {
			if _, err := js.KeyValue(ctx, b.Bucket); err != nil {
				return "bucket " + b.Bucket
			}
		}
		return ""
	}
	pause := 250 * time.Millisecond
	logged := false
	for {
		what := missing()
		if what == "" {
			if logged {
				log.Info("hub topology found")
			}
			return nil
		}
		if !logged {
			log.Warn("waiting for the hub's streams and buckets: junction serve, router or gateway creates them", "missing", what)
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}
