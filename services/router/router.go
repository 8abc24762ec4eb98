package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// ErrNotReady is returned by Ready until the routes are loaded and the
// consumer is up, and after Run returned.
var ErrNotReady = errors.New("router not ready")

// Defaults for Options fields left zero.
const (
	// DefaultConcurrency is the default Options.Concurrency.
	DefaultConcurrency = 256
	// DefaultAckWait is the default Options.AckWait.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxPublishAttempts is the default Options.MaxPublishAttempts.
	DefaultMaxPublishAttempts = 5
	// minMaxAckPending is the least MaxAckPending the router gives its
	// consumer. Events waiting on NakWithDelay count against it, and every
	// replica shares it, so it is well above one replica's Concurrency.
	minMaxAckPending = 1000
)

// Options configures a Router. The zero value is ready to use.
type Options struct {
	// Consumer is the durable consumer name on EVENTS, shared by every
	// replica; default topology.RouterConsumer.
	Consumer string
	// Concurrency is how many events are processed at once; default 256.
	Concurrency int
	// AckWait is how long an event may be in process before JetStream
	// redelivers it; default 30s. It also bounds publishing one event's
	// deliveries.
	AckWait time.Duration
	// MaxPublishAttempts is how many times the router processes an event
	// whose deliveries the hub refuses for a reason other than being
	// unavailable (see publishRefused) before it dead-letters them with
	// reason publish_error and acks the event; default 5. While the hub is
	// unavailable (timeouts, no stream leader, a full store) the event is
	// retried without limit: a dead letter could not be stored either.
	MaxPublishAttempts int
	// Budget bounds what one route may cost the router; see Budget.
	Budget Budget
	// Logger receives the router's logs; none when nil.
	Logger *slog.Logger
}

// Validate reports the first invalid option.
func (o Options) Validate() error {
	if o.Consumer != "" {
		if strings.ContainsAny(o.Consumer, ".*> \t\r\n") {
			return fmt.Errorf("consumer %q: must not contain '.', '*', '>' or white space", o.Consumer)
		}
	}
	if o.Concurrency < 0 {
		return fmt.Errorf("concurrency %d: must be positive, or 0 for the default %d", o.Concurrency, DefaultConcurrency)
	}
	if o.AckWait < 0 {
		return fmt.Errorf("ack wait %s: must be positive, or 0 for the default %s", o.AckWait, DefaultAckWait)
	}
	if o.MaxPublishAttempts < 0 {
		return fmt.Errorf("max publish attempts %d: must be positive, or 0 for the default %d", o.MaxPublishAttempts, DefaultMaxPublishAttempts)
	}
	if err := o.Budget.Validate(); err != nil {
		return fmt.Errorf("budget: %w", err)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Consumer == "" {
		o.Consumer = topology.RouterConsumer
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.AckWait == 0 {
		o.AckWait = DefaultAckWait
	}
	if o.MaxPublishAttempts == 0 {
		o.MaxPublishAttempts = DefaultMaxPublishAttempts
	}
	o.Budget = o.Budget.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Router consumes EVENTS and publishes the deliveries of every route that
// matches each event. Routes come from the routes bucket and are reloaded,
// without a restart, whenever they change. Run it with Run; run as many
// replicas as needed, they share the durable consumer.
type Router struct {
	js      jetstream.JetStream
	opts    Options
	log     *slog.Logger
	routes  atomic.Pointer[index]
	ready   atomic.Bool
	running atomic.Bool
	// applied is the highest routes-bucket revision in the current index.
	applied atomic.Uint64
	// seen is the highest revision passed to apply; only the goroutine
	// that applies route changes touches it.
	seen   uint64
	budget *budgets
	status *statuses
}

// New returns a Router over js. It checks opts; Run does the rest.
func New(js jetstream.JetStream, opts Options) (*Router, error) {
	if js == nil {
		return nil, errors.New("router: jetstream is required")
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("router options: %w", err)
	}
	opts = opts.withDefaults()
	r := &Router{js: js, opts: opts, log: opts.Logger, status: newStatuses()}
	r.budget = &budgets{b: opts.Budget, now: time.Now, report: r.status.report}
	r.routes.Store(buildIndex(map[string]*Compiled{}))
	return r, nil
}

// Ready returns nil once the routes are loaded and the consumer is up,
// ErrNotReady before that and after Run returned.
func (r *Router) Ready() error {
	if !r.ready.Load() {
		return ErrNotReady
	}
	return nil
}

// AppliedRevision returns the routes-bucket revision the router's route set
// reflects: every route change stored at or below it is in effect. Compare
// it with Route.Revision to know a saved change applies.
func (r *Router) AppliedRevision() uint64 { return r.applied.Load() }

// Run loads every route, keeps watching them, and processes events until
// ctx is cancelled. It waits for the initial set of routes before it takes
// any event, so an event is never judged against a partial set. On cancel
// it stops taking events, finishes those in flight (and those already
// pulled) and returns nil. It returns an error when it cannot start, or
// when the route watch or the connection is lost.
//
// For each event: the routes whose filter matches the subject come from an
// index; disabled ones are skipped; each is evaluated; every delivery is
// published to DELIVERIES (a failed transform to DLQ) with Nats-Msg-Id =
// the delivery id, and the event is acked only once every publish was
// acknowledged. Any publish failure naks the event with a short delay, so
// it is processed again; the stable delivery ids make that harmless.
func (r *Router) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("router: already running")
	}
	defer r.running.Store(false)
	defer r.ready.Store(false)

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	kv, err := r.js.KeyValue(runCtx, topology.RoutesBucket)
	if err != nil {
		return r.startErr(ctx, fmt.Errorf("router: open bucket %s: %w", topology.RoutesBucket, err))
	}
	w, err := kv.WatchAll(runCtx)
	if err != nil {
		return r.startErr(ctx, fmt.Errorf("router: watch routes: %w", err))
	}
	defer w.Stop()
	routes := make(map[string]*Compiled)
	for loaded := false; !loaded; {
		select {
		case <-runCtx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return r.startErr(ctx, errors.New("router: route watch stopped while loading routes"))
			}
			if e == nil {
				loaded = true
				break
			}
			r.apply(routes, e)
		}
	}
	var bg sync.WaitGroup
	defer func() { cancel(nil); bg.Wait() }()
	if skv, err := r.js.KeyValue(runCtx, topology.RouteStatusBucket); err != nil {
		r.log.Warn("route status bucket not available, route statuses are not reported", "bucket", topology.RouteStatusBucket, "error", err)
	} else {
		r.restoreStatuses(runCtx, skv, routes)
		bg.Go(func() { r.writeStatuses(runCtx, skv) })
	}
	r.publishIndex(routes)
	r.log.Info("routes loaded", "routes", len(routes))

	cons, err := r.js.CreateOrUpdateConsumer(runCtx, topology.EventsStream, jetstream.ConsumerConfig{
		Durable:       r.opts.Consumer,
		Description:   "Junction router: matches events against routes.",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.opts.AckWait,
		MaxAckPending: max(minMaxAckPending, 4*r.opts.Concurrency),
		MaxDeliver:    -1,
	})
	if err != nil {
		return r.startErr(ctx, fmt.Errorf("router: create consumer %s on %s: %w", r.opts.Consumer, topology.EventsStream, err))
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(r.opts.Concurrency))
	if err != nil {
		return r.startErr(ctx, fmt.Errorf("router: consume %s: %w", topology.EventsStream, err))
	}

	bg.Go(func() { r.watch(runCtx, cancel, w, routes) })
	bg.Go(func() {
		<-runCtx.Done()
		it.Drain()
	})

	// Events in flight finish after cancel: their context is not runCtx.
	procCtx := context.WithoutCancel(ctx)
	work := make(chan jetstream.Msg)
	var workers sync.WaitGroup
	for range r.opts.Concurrency {
		workers.Go(func() {
			for m := range work {
				r.handle(procCtx, m)
			}
		})
	}
	r.ready.Store(true)
	r.log.Info("router started", "consumer", r.opts.Consumer, "concurrency", r.opts.Concurrency)

	var iterErr error
	for {
		m, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			if runCtx.Err() == nil {
				iterErr = err
			}
			break
		}
		if err != nil {
			// Missed heartbeats and the like: the iterator recovers.
			r.log.Warn("pull events failed", "error", err)
			select {
			case <-runCtx.Done():
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		work <- m
	}
	r.ready.Store(false)
	close(work)
	workers.Wait()
	cancel(nil)
	bg.Wait()
	r.log.Info("router stopped")

	if ctx.Err() != nil {
		return nil
	}
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if iterErr != nil {
		return fmt.Errorf("router: event consumer closed: %w", iterErr)
	}
	return nil
}

// startErr is err unless ctx was cancelled, which is a clean stop.
func (r *Router) startErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// watch applies route changes until ctx is done. Several changes that
// arrive together are applied as one index swap.
func (r *Router) watch(ctx context.Context, fail context.CancelCauseFunc, w jetstream.KeyWatcher, routes map[string]*Compiled) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() == nil {
					fail(errors.New("router: route watch stopped"))
				}
				return
			}
			if e != nil {
				r.apply(routes, e)
			}
		drain:
			for {
				select {
				case e, ok := <-w.Updates():
					if !ok {
						break drain
					}
					if e != nil {
						r.apply(routes, e)
					}
				default:
					break drain
				}
			}
			r.publishIndex(routes)
		}
	}
}

// publishIndex swaps in an index of a copy of routes.
func (r *Router) publishIndex(routes map[string]*Compiled) {
	snapshot := make(map[string]*Compiled, len(routes))
	for id, c := range routes {
		snapshot[id] = c
	}
	r.routes.Store(buildIndex(snapshot))
	r.applied.Store(r.seen)
}

// apply records one routes bucket entry in routes.
func (r *Router) apply(routes map[string]*Compiled, e jetstream.KeyValueEntry) {
	r.seen = max(r.seen, e.Revision())
	id := e.Key()
	switch e.Operation() {
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		if _, ok := routes[id]; ok {
			delete(routes, id)
			r.log.Info("route removed", "route", id, "revision", e.Revision())
		}
		return
	}
	route, err := decodeEntry(e)
	var c *Compiled
	if err == nil {
		c, err = Compile(route)
	}
	if err != nil {
		// Skip it rather than keep an older version that no longer is
		// the stored route.
		delete(routes, id)
		r.log.Error("stored route skipped", "route", id, "revision", e.Revision(), "error", err)
		return
	}
	routes[id] = c
	r.log.Info("route loaded", "route", id, "revision", e.Revision(), "enabled", c.Enabled())
}

// handle processes one event and acks, naks or terminates it.
func (r *Router) handle(ctx context.Context, m jetstream.Msg) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.AckWait)
	defer cancel()

	e, err := topology.ParseEvent(m.Subject(), m.Headers(), m.Data())
	if err == nil && (e.GetSource() == "" || e.GetType() == "") {
		err = errors.New("event has no source or type")
	}
	if err != nil {
		r.log.Error("undecodable event terminated", "subject", m.Subject(), "error", err)
		if err := m.Term(); err != nil {
			r.log.Warn("terminate event failed", "subject", m.Subject(), "error", err)
		}
		return
	}

	in := newInput(e)
	tr := r.traceEvent(ctx, m, e)
	now := time.Now()
	var out []outMsg
	deadLetter := func(rctx context.Context, c *Compiled, d *junctionv1.Delivery, reason string, cause error) {
		meters().errors.Add(tr.ctx, 1, routeErrorAttr(c.ID, reason))
		dm := r.deadLetterMsg(d, topology.DeadLetter{Reason: reason, LastError: cause.Error()}, m.Headers())
		out = append(out, outMsg{msg: tr.publish(rctx, dm, d), d: d, dead: true})
	}
	for _, c := range r.routes.Load().match(in.subject, nil) {
		if !c.Enabled() {
			continue
		}
		rctx, rspan := tr.route(c)
		if why, degraded := r.budget.degraded(c); degraded {
			// Not evaluated: every target is dead-lettered with the
			// event's own payload, to be redriven once the route is fixed.
			res := c.skipped(in, now)
			tr.routed(rspan, c, res)
			for _, d := range res.Deliveries {
				deadLetter(rctx, c, d, topology.DLQReasonRouteDegraded, fmt.Errorf("route degraded, not evaluated: %s", why))
			}
			continue
		}
		var res Result
		var cost uint64
		var took time.Duration
		exact := true
		if c.runsCEL() {
			// The budget subtracts parsing the payload from the route
			// that parsed it.
			parsed := in.parseTook
			in.timer, in.timing = startEvalTimer(c.health.cpuTimed()), true
			res, cost = c.evaluateCost(in, now)
			took = in.timer.stop() - (in.parseTook - parsed)
			in.timing, exact = false, in.timer.exact()
		} else {
			// Nothing of the route's runs CEL: there is no time to
			// budget.
			res, cost = c.evaluateCost(in, now)
		}
		r.budget.observe(c, cost, took, exact, res)
		tr.routed(rspan, c, res)
		for _, d := range res.Deliveries {
			dm := r.deliveryOrDelayedMsg(d, m.Headers())
			if size, limit := msgSize(dm), r.maxMsgSize(); size > limit {
				// It can never be stored: dead-letter it now, without the
				// payload, rather than fail the event's publish forever.
				r.log.WarnContext(tr.ctx, "delivery too large, dead-lettered", "route", c.ID, "target", d.GetTarget(), "event_id", e.GetId(), "event_source", e.GetSource(), "bytes", size, "limit", limit)
				dm = r.oversizedDeadLetter(d, size, limit, m.Headers())
				out = append(out, outMsg{msg: tr.publish(rctx, dm, d), d: d, dead: true})
				continue
			}
			out = append(out, outMsg{msg: tr.publish(rctx, dm, d), d: d})
		}
		for _, f := range res.Failures {
			reason := topology.DLQReasonTransformError
			if f.Condition {
				reason = topology.DLQReasonConditionError
			}
			r.log.WarnContext(tr.ctx, "route failed, dead-lettered", "route", c.ID, "target", f.Delivery.GetTarget(), "event_id", e.GetId(), "event_source", e.GetSource(), "reason", reason, "error", f.Err)
			deadLetter(rctx, c, f.Delivery, reason, f.Err)
		}
	}

	r.recordScheduled(ctx, out)
	errs := r.publishAll(ctx, msgsOf(out))
	err = firstError(errs)
	if err != nil && r.refusedTooOften(m, errs) {
		// The hub keeps refusing some deliveries, and not for being
		// unavailable: dead-letter those and let the event go.
		err = r.deadLetterRefused(ctx, tr, m, e, out, errs)
		if err == nil {
			tr.end(nil)
			if aerr := m.Ack(); aerr != nil {
				r.log.Warn("ack event failed", "event_id", e.GetId(), "error", aerr)
			}
			return
		}
		if !isUnavailable(err) {
			// Not even the dead letter is stored: end the event with a
			// visible record rather than retry it forever.
			tr.end(err)
			r.log.ErrorContext(tr.ctx, "deliveries refused and dead letters refused, event terminated", "event_id", e.GetId(), "event_source", e.GetSource(), "error", err)
			if terr := m.TermWithReason(clip.Cut("deliveries refused: "+err.Error(), 256)); terr != nil {
				r.log.Warn("terminate event failed", "event_id", e.GetId(), "error", terr)
			}
			return
		}
	}
	tr.end(err)
	if err != nil {
		delay := time.Second
		if md, mdErr := m.Metadata(); mdErr == nil {
			delay = retryDelay(md.NumDelivered)
		}
		r.log.WarnContext(tr.ctx, "publish deliveries failed, event will be retried", "event_id", e.GetId(), "event_source", e.GetSource(), "deliveries", len(out), "retry_in", delay, "error", err)
		if err := m.NakWithDelay(delay); err != nil {
			r.log.Warn("nak event failed", "event_id", e.GetId(), "error", err)
		}
		return
	}
	if err := m.Ack(); err != nil {
		// JetStream redelivers it after AckWait; the deliveries dedupe.
		r.log.Warn("ack event failed", "event_id", e.GetId(), "error", err)
	}
}

// deliveryMsg is the message of one delivery (topology.DeliveryMsg). The
// event's trace context headers are carried over.
func (r *Router) deliveryMsg(d *junctionv1.Delivery, eventHdr nats.Header) *nats.Msg {
	m, err := topology.DeliveryMsg(d)
	r.carry(m, d, err, eventHdr)
	return m
}

// deadLetterMsg is the dead letter of a delivery the router could not
// hand on (topology.RoutedDeadLetterMsg), with the event's trace context.
func (r *Router) deadLetterMsg(d *junctionv1.Delivery, dl topology.DeadLetter, eventHdr nats.Header) *nats.Msg {
	m, err := topology.RoutedDeadLetterMsg(d, dl)
	r.carry(m, d, err, eventHdr)
	return m
}

// carry logs a delivery that did not encode and copies the event's trace
// context headers to m.
func (r *Router) carry(m *nats.Msg, d *junctionv1.Delivery, err error, eventHdr nats.Header) {
	if err != nil {
		// A Delivery built from valid fields always marshals; an error
		// here is invalid UTF-8 in a string field, kept as is by proto.
		r.log.Error("encode delivery failed", "delivery_id", d.GetId(), "error", err)
	}
	for k, v := range eventHdr {
		// EqualFold, not ToLower: lowering each of the event's header
		// names allocated a string per header per delivery.
		if strings.EqualFold(k, "traceparent") || strings.EqualFold(k, "tracestate") || strings.EqualFold(k, "baggage") {
			m.Header[k] = v
		}
	}
}

// msgSize is what a message takes against the server's maximum payload:
// its data and its encoded headers.
func msgSize(m *nats.Msg) int {
	n := len(m.Data) + len("NATS/1.0\r\n\r\n")
	for k, vs := range m.Header {
		for _, v := range vs {
			n += len(k) + len(": \r\n") + len(v)
		}
	}
	return n
}

// maxMsgSize is the largest delivery the router publishes: the server's
// maximum payload less room for the headers JetStream adds.
func (r *Router) maxMsgSize() int {
	limit := int(r.js.Conn().MaxPayload())
	if limit <= 0 {
		limit = 1 << 20 // not connected yet: the server default
	}
	return limit - maxPayloadMargin
}

// maxPayloadMargin is kept free under the server's maximum payload.
const maxPayloadMargin = 1 << 10

// oversizedDeadLetter is the dead letter of a delivery too large to store:
// the delivery without its payload, with reason payload_too_large. Redrive
// it with rerender once the route's transform is fixed.
func (r *Router) oversizedDeadLetter(d *junctionv1.Delivery, size, limit int, eventHdr nats.Header) *nats.Msg {
	stripped := proto.Clone(d).(*junctionv1.Delivery)
	stripped.Payload = nil
	return r.deadLetterMsg(stripped, topology.DeadLetter{
		Reason:    topology.DLQReasonPayloadTooLarge,
		LastError: fmt.Sprintf("the rendered delivery is %d bytes, over the hub's limit of %d: change the route's transform to produce less, then redrive with rerender", size, limit),
	}, eventHdr)
}

// publishAll publishes msgs asynchronously and waits for every ack. It
// returns nil when every one was stored, else one error per message (nil
// for those stored).
func (r *Router) publishAll(ctx context.Context, msgs []*nats.Msg) []error {
	if len(msgs) == 0 {
		return nil
	}
	errs := make([]error, len(msgs))
	failed := false
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := r.js.PublishMsgAsync(m)
		if err != nil {
			for j := i; j < len(msgs); j++ {
				errs[j] = fmt.Errorf("publish %s: %w", msgs[j].Subject, err)
			}
			failed = true
			break
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
			failed = true
		case <-ctx.Done():
			for j := i; j < len(futures); j++ {
				if errs[j] == nil {
					errs[j] = fmt.Errorf("publish %s: waiting for ack: %w", msgs[j].Subject, ctx.Err())
				}
			}
			return errs
		}
	}
	if !failed {
		return nil
	}
	return errs
}

// retryDelay is the NakWithDelay of an event whose deliveries could not
// be published, by how often it was delivered: 250ms doubling to 10s.
func retryDelay(delivered uint64) time.Duration {
	d := 250 * time.Millisecond
	for i := uint64(1); i < delivered && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}
