// Package platform is the part of the SDK module that Junction's own
// platform code (`junction serve`, the router, the gateway, the CLI, the
// bench) and the SDK's test kits use, and adapter authors must not: the
// delivery engine that runs an adapter value (Runner), and, in its
// subpackages, the hub's names and wire format (topology), the store
// monitor (storecheck), tracing (natstrace), telemetry setup (telemetry),
// TLS (tlsconfig) and the outbound address guard (egress).
//
// # Outside the compatibility promise
//
// Nothing under adapters/sdk/platform is covered by the SDK's versioning
// promise (docs/releasing.md): names here change, move or go away in any
// release, minor or patch, together with the platform code that uses them.
// An adapter needs none of it: it is written against package sdk (the
// roles, Main, EmitFunc, the error classes, the cursor store), verify,
// clip, limits, sdktest and sdktest/conformance, which run the engine for
// it.
package platform

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/nats-io/nats.go"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/internal/hook"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// RunnerOptions configures a [Runner].
type RunnerOptions struct {
	// Config is the hub side of the adapter's configuration; zero fields
	// take their defaults. NATSURL and HTTPAddr are not used by the Runner.
	Config sdk.Config
	// Logger receives the Runner's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Scoped says the connection authenticates as an adapter user of the
	// hub, which may not read stored events (docs/security/nats.md): the
	// publisher then answers a provider's retry from the idempotency
	// record alone (see sdk.PublisherOptions).
	Scoped bool
	// CheckStore makes the Runner watch the hub's store (a
	// storecheck.Monitor on the streams its roles write to) and fail Ready
	// while the store cannot take writes. sdk.Main sets it; `junction
	// serve` checks the store itself.
	CheckStore bool
}

// Runner runs one adapter value against a hub connection, as sdk.Main does
// in an adapter process: it serves a WebhookSource's handler, polls a
// PollingSource, feeds a Sink its deliveries with retries and
// dead-lettering, and registers the adapter with heartbeats. `junction
// serve` embeds adapters with it and mounts [Runner.Handler] on its own
// server.
type Runner struct{ r hook.Runner }

// newRunnerFunc is the type of hook.NewRunner, as package sdk sets it.
type newRunnerFunc = func(spec sdk.Spec, adapter any, nc *nats.Conn, cfg sdk.Config, log *slog.Logger, scoped, checkStore bool) (hook.Runner, error)

// NewRunner returns a Runner for adapter, whose roles it finds by type
// assertion. It fails when the spec or config is invalid, the adapter
// plays no role (sdk.ErrNoRole), or a source cannot open the hub's EVENTS
// stream and idempotency bucket.
func NewRunner(spec sdk.Spec, adapter any, nc *nats.Conn, opts RunnerOptions) (*Runner, error) {
	r, err := hook.NewRunner.(newRunnerFunc)(spec, adapter, nc, opts.Config, opts.Logger, opts.Scoped, opts.CheckStore)
	if err != nil {
		return nil, err
	}
	return &Runner{r: r}, nil
}

// Handler is the adapter's HTTP handler: /webhooks/ for a webhook source,
// and /healthz and /readyz.
func (r *Runner) Handler() http.Handler { return r.r.Handler() }

// Ready returns nil when the Runner is connected to the hub, its sink's
// consumer is up, the store takes writes (with CheckStore) and the
// adapter's own Check (if it is an sdk.Checker) passes; else an error
// saying what is not ready.
func (r *Runner) Ready() error { return r.r.Ready() }

// Run starts the sink (for a Sink), polling (for a PollingSource) and
// registration heartbeats, and blocks until ctx is cancelled. Then it stops
// taking deliveries, waits for in-flight Deliver and Poll calls (at most
// Config.ShutdownTimeout, then cancels them), removes the registration and
// returns nil. It returns an error when it cannot start.
func (r *Runner) Run(ctx context.Context) error { return r.r.Run(ctx) }

// Registration returns the adapter as it reports itself in heartbeats.
func (r *Runner) Registration() *junctionv1.Adapter { return r.r.Registration() }
