package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/internal/hook"
	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/storecheck"
	"github.com/junctionhq/junction/adapters/sdk/platform/telemetry"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// ErrNoRole is returned by [newRunner] for an adapter that implements none
// of WebhookSource, PollingSource and Sink.
var ErrNoRole = errors.New("adapter plays no role")

// checkTimeout bounds an adapter's Check call.
const checkTimeout = 2 * time.Second

// runnerOptions configures a [runner].
type runnerOptions struct {
	// Config is the hub side of the adapter's configuration; zero fields
	// take their defaults. NATSURL and HTTPAddr are not used by the runner.
	Config Config
	// Logger receives the runner's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Scoped says the connection authenticates as an adapter user of the
	// hub, which may not read stored events (docs/security/nats.md): the
	// publisher then answers a provider's retry from the idempotency
	// record alone (see [PublisherOptions]).
	Scoped bool
	// CheckStore makes the runner watch the hub's store (a [storecheck.Monitor] on
	// the streams its roles write to) and fail Ready while the store cannot
	// take writes. [Main] sets it; `junction serve` checks the store itself.
	CheckStore bool
}

// runner is the delivery engine: it runs one adapter value against a hub
// connection: it serves a WebhookSource's handler, polls a PollingSource,
// feeds a Sink its deliveries with retries and dead-lettering, and
// registers the adapter with heartbeats. [Main] runs it in an adapter
// process; the platform (`junction serve`, sdktest, the conformance
// suites) reaches it through the platform package (internal/hook), which
// lies outside the SDK's compatibility promise.
type runner struct {
	spec    Spec
	adapter any
	roles   []string
	nc      *nats.Conn
	js      jetstream.JetStream
	cfg     Config
	log     *slog.Logger
	pub     *Publisher
	sink    *sink
	handler http.Handler
	store   *storecheck.Monitor // nil unless runnerOptions.CheckStore

	running    atomic.Bool
	consumerUp atomic.Bool
	startTime  time.Time
}

// newRunner returns a runner for adapter, whose roles it finds by type
// assertion. It fails when the spec or config is invalid, the adapter plays
// no role ([ErrNoRole]), or a source cannot open the hub's EVENTS stream and
// idempotency bucket.
func newRunner(spec Spec, adapter any, nc *nats.Conn, opts runnerOptions) (*runner, error) {
	if err := topology.ValidToken(spec.App); err != nil {
		return nil, fmt.Errorf("new runner: spec app: %w", err)
	}
	if nc == nil {
		return nil, errors.New("new runner: nats connection is nil")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("new runner: %w", err)
	}
	roles := Roles(adapter)
	if len(roles) == 0 {
		return nil, fmt.Errorf("new runner: %w: %T implements none of sdk.WebhookSource, sdk.PollingSource, sdk.Sink", ErrNoRole, adapter)
	}
	if err := checkSpecTargets(spec, roles); err != nil {
		return nil, fmt.Errorf("new runner: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("new runner: jetstream: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &runner{
		spec:      spec,
		adapter:   adapter,
		roles:     roles,
		nc:        nc,
		js:        js,
		cfg:       opts.Config.WithDefaults(),
		log:       log.With("app", spec.App),
		startTime: time.Now(),
	}
	_, isWebhook := adapter.(WebhookSource)
	if isWebhook || isPolling(adapter) {
		if r.pub, err = NewPublisherWithOptions(js, PublisherOptions{Scoped: opts.Scoped}); err != nil {
			return nil, fmt.Errorf("new runner: %w", err)
		}
	}
	if s, ok := adapter.(Sink); ok {
		r.sink = &sink{
			app:        spec.App,
			adapter:    s,
			js:         js,
			log:        r.log,
			deadLetter: traceDeadLetter(spec.App, publishDeadLetter(js, spec.App)),
			record:     publishAttempt(js),
			now:        time.Now,
			stopping:   new(atomic.Bool),
		}
	}
	if opts.CheckStore {
		var streams []string
		if isWebhook || isPolling(adapter) {
			streams = append(streams, storecheck.SourceStreams()...)
		}
		if r.sink != nil {
			streams = append(streams, topology.RetriesStream, topology.DLQStream)
		}
		r.store = storecheck.New(js, storecheck.Options{Component: spec.App, Streams: streams, Logger: r.log})
	}
	r.handler = r.newHandler()
	return r, nil
}

// emit is the EmitFunc the runner hands its sources.
func (r *runner) emit(ctx context.Context, e *junctionv1.Event) (PublishResult, error) {
	res, err := r.pub.Publish(ctx, e)
	if err != nil {
		return res, err
	}
	r.log.Debug("event published", "source", res.Event.GetSource(), "type", res.Event.GetType(),
		"event_id", res.Event.GetId(), "sequence", res.Sequence, "duplicate", res.Duplicate)
	return res, nil
}

func (r *runner) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := r.Ready(); err != nil {
			rpcstatus.WriteNotReady(w, err, storecheck.Metadata(err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", telemetry.MetricsHandler())
	if ws, ok := r.adapter.(WebhookSource); ok {
		mux.Handle("/webhooks/", natstrace.HTTPHandler(ws.Webhook(r.emit), "/webhooks/{source}"))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		msg := fmt.Sprintf("no route for %s: webhooks are POSTed to /webhooks/<source>", req.URL.Path)
		if !hasRole(r.roles, RoleWebhookSource) {
			msg = fmt.Sprintf("no route for %s: the %s adapter receives no webhooks", req.URL.Path, r.spec.App)
		}
		rpcstatus.Write(w, http.StatusNotFound, msg)
	})
	return mux
}

// Handler serves the adapter's webhooks under /webhooks/ (a JSON 404 when
// it is no WebhookSource) and its health: /healthz answers 200 while the
// process runs, /readyz 200 when [runner.Ready] is nil, else 503 with why.
func (r *runner) Handler() http.Handler { return r.handler }

// Ready returns nil when the runner is connected to the hub, its sink's
// consumer is up, and the adapter's own Check (if it is a [Checker])
// passes; else an error saying what is not ready.
func (r *runner) Ready() error {
	if st := r.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("not connected to the hub: connection %s", st)
	}
	if r.sink != nil && !r.consumerUp.Load() {
		return errors.New("delivery consumer is not up")
	}
	if r.store != nil {
		if err := r.store.Ready(); err != nil {
			return err
		}
	}
	if c, ok := r.adapter.(Checker); ok {
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		defer cancel()
		if err := c.Check(ctx); err != nil {
			return fmt.Errorf("adapter check: %w", err)
		}
	}
	return nil
}

// Run starts the sink (for a Sink), polling (for a PollingSource) and
// registration heartbeats, and blocks until ctx is cancelled. Then it stops
// taking deliveries, waits for in-flight Deliver and Poll calls (at most
// Config.ShutdownTimeout, then cancels them), removes the registration and
// returns nil. It returns an error when it cannot start.
func (r *runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("runner: already running")
	}
	defer r.running.Store(false)

	registry, err := r.js.KeyValue(ctx, topology.AdaptersBucket)
	if err != nil {
		if ctx.Err() != nil {
			return nil // cancelled while starting
		}
		return fmt.Errorf("runner: open bucket %s (is the hub topology created?): %w", topology.AdaptersBucket, err)
	}
	type started struct {
		loop *consumeLoop
		cons jetstream.Consumer
	}
	var loops []started
	var ln *lanes
	if r.sink != nil {
		// From the stop on, successes are double-acked (sink.stopping).
		stopWatch := context.AfterFunc(ctx, func() { r.sink.stopping.Store(true) })
		defer stopWatch()
		ln = newLanes(r.sink, r.js, r.cfg.RouteConcurrency, r.cfg.ShutdownTimeout, r.log.With("role", "lanes"))
		// The live consumer takes fresh deliveries, the retry consumer
		// the retries (see topology.RetriesStream), each with its own
		// workers, so neither waits for the other.
		var retryUp atomic.Bool
		for _, c := range []struct {
			stream string
			cfg    jetstream.ConsumerConfig
			ready  func(bool)
		}{
			{topology.DeliveriesStream, sinkConsumerConfig(r.spec.App, r.cfg.Concurrency), r.consumerUp.Store},
			{topology.RetriesStream, retryConsumerConfig(r.spec.App), retryUp.Store},
		} {
			open := func(ctx context.Context) (jetstream.Consumer, error) {
				return r.js.CreateOrUpdateConsumer(ctx, c.stream, c.cfg)
			}
			cons, err := open(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("runner: create consumer %s on %s: %w", c.cfg.Durable, c.stream, err)
			}
			loops = append(loops, started{cons: cons, loop: &consumeLoop{
				open:    open,
				workers: r.cfg.Concurrency,
				grace:   r.cfg.ShutdownTimeout,
				handle:  ln.pool(r.cfg.Concurrency).admit,
				log:     r.log.With("consumer", c.cfg.Durable),
				ready:   c.ready,
			}})
		}
		r.consumerUp.Store(true)
		defer r.consumerUp.Store(false)
	}

	r.log.Info("adapter running", "instance", r.cfg.Instance, "version", r.spec.Version, "roles", r.roles)
	var wg sync.WaitGroup
	if ln != nil {
		if err := ln.init(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runner: open stream %s (is the hub topology current?): %w", topology.LanesStream, err)
		}
		wg.Go(func() { ln.run(ctx) })
	}
	for _, l := range loops {
		wg.Go(func() { _ = l.loop.run(ctx, l.cons) })
	}
	if cs, ok := r.adapter.(CursorSource); ok {
		store, err := NewCursorStore(ctx, r.js, r.spec.App, r.cfg.CursorGroup, PollCursorName)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runner: %w", err)
		}
		cp := cursorPoller{src: cs, store: store, log: r.log, instance: r.cfg.Instance}
		wg.Go(func() { r.poll(ctx, cp); cp.release(ctx) })
	} else if ps, ok := r.adapter.(PollingSource); ok {
		wg.Go(func() { r.poll(ctx, ps) })
	}
	wg.Go(func() { r.heartbeat(ctx, registry) })
	if r.store != nil {
		wg.Go(func() { _ = r.store.Run(ctx) })
	}
	wg.Wait()

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := registry.Delete(dctx, r.key()); err != nil {
		r.log.Warn("deregister failed", "err", err)
	}
	r.log.Info("adapter stopped", "instance", r.cfg.Instance)
	return nil
}

// poll calls Poll at once and then every PollInterval until ctx is done.
// A Poll that runs when ctx is cancelled gets ShutdownTimeout to finish.
func (r *runner) poll(ctx context.Context, ps PollingSource) {
	pollCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(r.cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-pollCtx.Done():
		}
	})
	defer stop()
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		start := time.Now()
		if err := r.callPoll(pollCtx, ps); err != nil {
			r.log.Warn("poll failed, will poll again", "err", err, "latency", time.Since(start), "next_in", r.cfg.PollInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *runner) callPoll(ctx context.Context, ps PollingSource) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("poll panic: %v", p)
		}
	}()
	return ps.Poll(ctx, r.emit)
}

func (r *runner) key() string { return topology.AdapterKey(r.spec.App, r.cfg.Instance) }

// heartbeat puts the adapter's registration at once and then every
// HeartbeatEvery until ctx is done.
func (r *runner) heartbeat(ctx context.Context, registry jetstream.KeyValue) {
	t := time.NewTicker(r.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		if err := r.register(ctx, registry); err != nil && ctx.Err() == nil {
			r.log.Warn("heartbeat failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *runner) register(ctx context.Context, registry jetstream.KeyValue) error {
	data, err := protojson.Marshal(r.Registration())
	if err != nil {
		return fmt.Errorf("encode registration: %w", err)
	}
	hctx, cancel := context.WithTimeout(ctx, r.cfg.HeartbeatEvery)
	defer cancel()
	if _, err := registry.Put(hctx, r.key(), data); err != nil {
		return fmt.Errorf("put registration: %w", err)
	}
	return nil
}

// Registration returns the adapter as it reports itself in heartbeats.
func (r *runner) Registration() *junctionv1.Adapter {
	a := &junctionv1.Adapter{
		Name:         "adapters/" + r.key(),
		App:          r.spec.App,
		Instance:     r.cfg.Instance,
		Version:      r.spec.Version,
		Roles:        r.roles,
		TargetSchema: r.spec.Targets.toProto(),
		Health:       junctionv1.Adapter_HEALTH_SERVING,
		StartTime:    timestamppb.New(r.startTime),
		LastSeenTime: timestamppb.Now(),
	}
	if s, ok := r.adapter.(Sourcer); ok {
		a.Sources = s.Sources()
	}
	if err := r.Ready(); err != nil {
		a.Health = junctionv1.Adapter_HEALTH_NOT_SERVING
		a.HealthDetail = err.Error()
	}
	return a
}

func hasRole(roles []string, role string) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func init() {
	hook.NewRunner = func(spec Spec, adapter any, nc *nats.Conn, cfg Config, log *slog.Logger, scoped, checkStore bool) (hook.Runner, error) {
		r, err := newRunner(spec, adapter, nc, runnerOptions{Config: cfg, Logger: log, Scoped: scoped, CheckStore: checkStore})
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}
