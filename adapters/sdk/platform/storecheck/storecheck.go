// Package storecheck watches whether the hub's store can take writes: a
// Monitor looks at the streams a component writes to (and the embedded NATS
// server, when there is one) and reports why not, for /readyz and the
// junction_store_writable gauge. It belongs to the platform (sdk.Main's
// runner, `junction serve`) and is outside the SDK's compatibility promise
// (see the platform package).
package storecheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Reasons a [Monitor] reports the store as unable to write, the reason
// label of junction_store_writable and the reason of /readyz.
const (
	// Unavailable: JetStream does not answer (not connected, no
	// JetStream, no stream leader).
	Unavailable = "unavailable"
	// Full: a stream that refuses new messages when full is at its
	// max_bytes.
	Full = "full"
	// WriteError: the server reports a write error on a stream (no
	// descriptors, disk full, I/O error). It is sticky in the server until
	// the stream is reopened.
	WriteError = "write_error"
	// NotChecked: no check has finished yet.
	NotChecked = "not_checked"
)

// DefaultInterval is how often a [Monitor] looks at the store.
const DefaultInterval = 2 * time.Second

// FullMargin is the free room under max_bytes below which a stream
// counts as full: an event of a few KiB would no longer fit.
const FullMargin = 8 * topology.KiB

// Error says why the store cannot take writes.
type Error struct {
	// Reason is one of Unavailable, Full, WriteError,
	// NotChecked.
	Reason string
	// Stream names the stream concerned, when one is.
	Stream string
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string {
	if e.Stream != "" {
		return fmt.Sprintf("store %s: stream %s: %v", e.Reason, e.Stream, e.Err)
	}
	return fmt.Sprintf("store %s: %v", e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Metadata returns the facts of a readiness error for its answer: "store"
// (the Reason) and "stream" when err holds an *Error, nil otherwise.
func Metadata(err error) map[string]string {
	var se *Error
	if !errors.As(err, &se) {
		return nil
	}
	md := map[string]string{"store": se.Reason}
	if se.Stream != "" {
		md["stream"] = se.Stream
	}
	return md
}

// Options configure a [Monitor].
type Options struct {
	// Component labels the junction_store_writable gauge (serve, router,
	// gateway, or the adapter's app).
	Component string
	// Interval between checks; DefaultInterval when zero.
	Interval time.Duration
	// Streams are the streams whose being full or unreachable makes the
	// store unwritable for this component (for a source, EVENTS and the
	// idempotency bucket's stream "KV_junction_idempotency").
	Streams []string
	// Server, when set, is asked too at every check: the embedded NATS's
	// own health, which sees write errors. Its error should be a
	// *Error.
	Server func(context.Context) error
	// Logger receives a line when the state changes; slog.Default() when nil.
	Logger *slog.Logger
}

// Monitor watches whether the hub's store can take writes, at most
// once per interval, so that /readyz can answer from its last result
// without calling JetStream. Run it with [Monitor.Run]; read it with
// [Monitor.Ready].
type Monitor struct {
	js   jetstream.JetStream
	opts Options
	log  *slog.Logger

	mu  sync.Mutex
	err error
}

// New returns a Monitor on js; it is not ready until its
// first check.
func New(js jetstream.JetStream, o Options) *Monitor {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Monitor{js: js, opts: o, log: log,
		err: &Error{Reason: NotChecked, Err: errors.New("the store was not checked yet")}}
}

// SourceStreams are the streams a webhook or polling source writes to.
func SourceStreams() []string {
	return []string{topology.EventsStream, "KV_" + topology.IdempotencyBucket}
}

// Ready returns the last check's result: nil when the store could take
// writes, else a *Error.
func (c *Monitor) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Run checks at once and then every interval until ctx ends, and keeps
// junction_store_writable up to date. It returns nil when ctx ends, or
// the first error of the Server check that wraps [ErrFatal].
func (c *Monitor) Run(ctx context.Context) error {
	unregister := c.registerGauge()
	defer unregister()
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		if err := c.Check(ctx); errors.Is(err, ErrFatal) {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ErrFatal marks a store error that the process cannot recover from
// by itself: the embedded server's stream write errors are sticky, so the
// hub exits and its supervisor restarts it, which reopens the store.
var ErrFatal = errors.New("the store cannot recover without a restart")

// Check looks at the store now, records the result for Ready and returns it.
func (c *Monitor) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Interval+3*time.Second)
	defer cancel()
	err := c.check(ctx)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // stopping
	}
	c.mu.Lock()
	prev := c.err
	c.err = err
	c.mu.Unlock()
	switch {
	case err != nil && (prev == nil || prev.Error() != err.Error()):
		c.log.Warn("store cannot take writes", "component", c.opts.Component, "error", err)
	case err == nil && prev != nil:
		c.log.Info("store takes writes again", "component", c.opts.Component)
	}
	return err
}

func (c *Monitor) check(ctx context.Context) error {
	if c.opts.Server != nil {
		if err := c.opts.Server(ctx); err != nil {
			return err
		}
	}
	for _, name := range c.opts.Streams {
		s, err := c.js.Stream(ctx, name)
		if err != nil {
			return &Error{Reason: Unavailable, Stream: name, Err: err}
		}
		info := s.CachedInfo()
		if info.Cluster != nil && info.Cluster.Leader == "" && len(info.Cluster.Replicas) > 0 {
			return &Error{Reason: Unavailable, Stream: name, Err: errors.New("no stream leader")}
		}
		if full(info) {
			return &Error{Reason: Full, Stream: name,
				Err: fmt.Errorf("holds %d of its %d max_bytes and refuses new messages: raise its max_bytes or purge it", info.State.Bytes, info.Config.MaxBytes)}
		}
	}
	return nil
}

// full says a stream that refuses new messages when full has less than
// FullMargin of room left.
func full(info *jetstream.StreamInfo) bool {
	max := info.Config.MaxBytes
	if max <= 0 || info.Config.Discard != jetstream.DiscardNew {
		return false
	}
	return int64(info.State.Bytes)+FullMargin >= max
}

// registerGauge registers junction_store_writable{component,reason}: 1
// with an empty reason while the store can take writes, else 0 with the
// reason.
func (c *Monitor) registerGauge() func() {
	m := otel.GetMeterProvider().Meter(natstrace.ScopeName)
	g, err := m.Int64ObservableGauge("junction.store.writable",
		metric.WithDescription("1 while the hub's store can take writes, else 0 with the reason (unavailable, full, write_error, not_checked), by component."))
	if err != nil {
		return func() {}
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		v, reason := int64(1), ""
		var se *Error
		if err := c.Ready(); errors.As(err, &se) {
			v, reason = 0, se.Reason
		} else if err != nil {
			v, reason = 0, Unavailable
		}
		o.ObserveInt64(g, v, metric.WithAttributes(attribute.String("component", c.opts.Component), attribute.String("reason", reason)))
		return nil
	}, g)
	if err != nil {
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}
