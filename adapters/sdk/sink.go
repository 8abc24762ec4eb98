package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/platform/deliverypolicy"
	"github.com/junctionhq/junction/adapters/sdk/platform/natstrace"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const (
	// sinkAckWait is the delivery consumer's ack wait: how long deliveries
	// a crashed sink held wait before another instance (or the restarted
	// one) gets them. Attempts longer than a third of it send progress so
	// the message is not redelivered meanwhile.
	sinkAckWait = 30 * time.Second
	// sinkMaxAckPending bounds unacknowledged deliveries, those waiting on a
	// retry delay included.
	sinkMaxAckPending = 1000
	// ackTimeout bounds waiting for the server to confirm an ack.
	ackTimeout = 5 * time.Second
)

// policy is a delivery policy with its defaults filled in.
type policy struct {
	maxAttempts    int
	initialBackoff time.Duration
	maxBackoff     time.Duration
	multiplier     float64
	jitter         float64
	maxAge         time.Duration
	attemptTimeout time.Duration
	deadLetter     bool
}

func resolvePolicy(p *junctionv1.DeliveryPolicy) policy {
	q := deliverypolicy.WithDefaults(p)
	r := policy{
		maxAttempts:    int(q.GetMaxAttempts()),
		initialBackoff: q.GetInitialBackoff().AsDuration(),
		maxBackoff:     q.GetMaxBackoff().AsDuration(),
		multiplier:     q.GetMultiplier(),
		jitter:         min(max(q.GetJitter(), 0), 1),
		maxAge:         q.GetMaxAge().AsDuration(),
		attemptTimeout: q.GetAttemptTimeout().AsDuration(),
		deadLetter:     q.GetDeadLetter(),
	}
	// Values a route compiler refuses, should one arrive anyway from an
	// older hub or a hand-written delivery.
	if r.maxAttempts <= 0 {
		r.maxAttempts = deliverypolicy.DefaultMaxAttempts
	}
	if r.initialBackoff <= 0 {
		r.initialBackoff = deliverypolicy.DefaultInitialBackoff
	}
	if r.maxBackoff <= 0 {
		r.maxBackoff = deliverypolicy.DefaultMaxBackoff
	}
	r.maxBackoff = max(r.maxBackoff, r.initialBackoff)
	if r.multiplier < 1 {
		r.multiplier = deliverypolicy.DefaultMultiplier
	}
	if r.maxAge <= 0 {
		r.maxAge = deliverypolicy.DefaultMaxAge
	}
	if r.attemptTimeout <= 0 {
		r.attemptTimeout = deliverypolicy.DefaultAttemptTimeout
	}
	return r
}

// retryDelay is how long to wait before attempt+1: exponential backoff with
// jitter, never sooner than the destination asked for.
func (p policy) retryDelay(attempt int, err error) time.Duration {
	d := backoff(attempt, p.initialBackoff, p.maxBackoff, p.multiplier, p.jitter)
	if after, ok := RetryDelay(err); ok && after > d {
		d = after
	}
	return d
}

// deadLetter stores a delivery that gave up on the DLQ stream and returns
// once it is stored. It is the seam for richer DLQ management.
type deadLetter func(ctx context.Context, m jetstream.Msg, d *junctionv1.Delivery, reason string, attempts int, lastErr error) error

// sink runs an adapter's Sink over its delivery consumer.
type sink struct {
	app        string
	adapter    Sink
	js         jetstream.JetStream
	log        *slog.Logger
	deadLetter deadLetter
	// record stores an attempt in the attempt log; nil keeps none. With a
	// report it may return before the store is confirmed, and calls
	// report later should it fail.
	record func(ctx context.Context, a *junctionv1.DeliveryAttempt, report func(error)) error
	now    func() time.Time
	// stopping is set once the sink's runner is told to stop: the
	// deliveries still in flight then double-ack (see handle). Shared by
	// the per-delivery copies of the sink; nil never stops.
	stopping *atomic.Bool
}

// isStopping reports whether the sink's runner was told to stop.
func (s *sink) isStopping() bool { return s.stopping != nil && s.stopping.Load() }

// sinkConsumer is the configuration of each of a sink's durable consumers:
// the live one, the retry one and its routes' lanes.
func sinkConsumer(durable, description, filter string, maxAckPending int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   description,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       sinkAckWait,
		MaxAckPending: maxAckPending,
		MaxDeliver:    -1, // attempts are counted against each delivery's own policy
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

func sinkConsumerConfig(app string, concurrency int) jetstream.ConsumerConfig {
	return sinkConsumer(topology.DeliveryConsumer(app), "Deliveries for the "+app+" adapter's sink.",
		topology.DeliveriesFilter(app), max(sinkMaxAckPending, 2*concurrency))
}

func retryConsumerConfig(app string) jetstream.ConsumerConfig {
	return sinkConsumer(topology.RetryConsumer(app), "Retries for the "+app+" adapter's sink, each held until it is due.",
		topology.RetriesFilter(app), topology.RetryMaxAckPending)
}

// handle makes one attempt at one delivery and settles the message: ack,
// retry later, or dead-letter and terminate. Every attempt is recorded in
// the attempt log.
func (s *sink) handle(ctx context.Context, m jetstream.Msg) {
	d, err := decodeDelivery(m)
	if err != nil {
		s.log.Error("undecodable delivery terminated", "subject", m.Subject(), "err", err)
		_ = m.TermWithReason("undecodable delivery")
		return
	}
	var attempt int
	if t, ok := m.(*tracedMsg); ok {
		t.delivery, attempt = d, t.attempt
	} else {
		attempt = attemptsBefore(m) + 1
	}
	pol := resolvePolicy(d.GetPolicy())
	log := &deliveryLog{base: s.log, d: d, attempt: attempt}

	if created := ageFrom(d); created != nil {
		if age := s.now().Sub(created.AsTime()); age >= pol.maxAge {
			gerr := fmt.Errorf("delivery is %v old, past its max age of %v, before attempt %d", age.Round(time.Second), pol.maxAge, attempt)
			state, next := s.giveUp(ctx, m, d, pol, topology.DLQReasonMaxAge, attempt-1, gerr, log.get())
			s.recordAttempt(ctx, d, attempt-1, s.now(), 0, gerr, state, next)
			return
		}
	}

	start := s.now()
	err = s.attempt(ctx, m, d, pol)
	latency := s.now().Sub(start)
	state, next := junctionv1.DeliveryState_DELIVERY_STATE_RETRYING, time.Time{}
	switch {
	case err == nil:
		if s.log.Enabled(ctx, slog.LevelDebug) {
			log.get().Debug("delivery attempt succeeded", "latency", latency)
		}
		state = junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED
		if s.record != nil && !s.isStopping() {
			// The ack is confirmed by the attempt record's own ack: the
			// hub handles a connection's messages in order, so the
			// record stored means the ack before it was received. One
			// round trip where a double ack and a record took two
			// messages back. Received is not yet applied: the consumer
			// applies acks from a queue of its own, a moment later. So
			// while stopping, when an embedded hub may shut down right
			// after and drop that queue (a redelivery after the
			// restart), the double ack below waits until it is applied.
			if err := m.Ack(); err != nil {
				log.Warn("ack failed, the delivery may be attempted again", "err", err)
			}
			s.confirmAttempt(ctx, d, attempt, start, latency, log)
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		defer cancel()
		if err := m.DoubleAck(actx); err != nil {
			log.Warn("ack failed, the delivery may be attempted again", "err", err)
		}
	case IsPermanent(err):
		log.Warn("delivery attempt failed permanently", "latency", latency, "err", err)
		state, next = s.giveUp(ctx, m, d, pol, topology.DLQReasonPermanent, attempt, err, log.get())
	case ctx.Err() != nil:
		log.Warn("delivery attempt cut short by shutdown", "latency", latency, "err", err)
		_ = m.Nak()
		next = s.now()
	case attempt >= pol.maxAttempts:
		log.Warn("delivery attempt failed, no attempts left", "latency", latency, "max_attempts", pol.maxAttempts, "err", err)
		state, next = s.giveUp(ctx, m, d, pol, topology.DLQReasonMaxAttempts, attempt, err, log.get())
	case ageFrom(d) != nil && s.now().Sub(ageFrom(d).AsTime()) >= pol.maxAge:
		log.Warn("delivery attempt failed, past max age", "latency", latency, "max_age", pol.maxAge, "err", err)
		state, next = s.giveUp(ctx, m, d, pol, topology.DLQReasonMaxAge, attempt, err, log.get())
	default:
		delay := pol.retryDelay(attempt, err)
		next = s.now().Add(delay)
		log.Warn("delivery attempt failed, will retry", "latency", latency, "delay", delay, "err", err)
		s.retryLater(ctx, m, d, attempt, next, log.get())
	}
	s.recordAttempt(ctx, d, attempt, start, latency, err, state, next)
}

// deliveryLog is the sink's logger with one attempt's delivery_id,
// event_id, route_id and attempt, built only when something is logged:
// slog's With formats its arguments at once, and a successful attempt at
// the default level logs nothing.
type deliveryLog struct {
	base    *slog.Logger
	d       *junctionv1.Delivery
	attempt int
	l       *slog.Logger
}

// get returns the logger with the delivery's attributes.
func (l *deliveryLog) get() *slog.Logger {
	if l.l == nil {
		l.l = l.base.With("delivery_id", l.d.GetId(), "event_id", l.d.GetEventId(), "route_id", l.d.GetRouteId(), "attempt", l.attempt)
	}
	return l.l
}

// Warn logs at warn level.
func (l *deliveryLog) Warn(msg string, args ...any) { l.get().Warn(msg, args...) }

// notDue hands a retry taken before its time back until it is due, and
// reports whether it did.
func (s *sink) notDue(m jetstream.Msg) bool {
	due := topology.MetaOf(m.Headers()).NotBefore
	if due.IsZero() {
		return false
	}
	wait := due.Sub(s.now())
	if wait <= 0 {
		return false
	}
	_ = m.NakWithDelay(wait)
	return true
}

// attemptsBefore is the number of attempts m's delivery has had: those a
// retry or parked delivery carries in its header, else one less than the
// message's delivery count.
func attemptsBefore(m jetstream.Msg) int {
	if topology.CarriesAttempts(m.Subject()) {
		return topology.MetaOf(m.Headers()).Attempts
	}
	if md, err := m.Metadata(); err == nil && md.NumDelivered > 0 {
		return int(md.NumDelivered) - 1
	}
	return 0
}

// deliverySubject names a retry or lane subject as the delivery subject it
// continues.
func deliverySubject(subject string) string {
	if dest, route, ok := topology.SplitWorkSubject(subject); ok {
		return topology.DeliverySubject(dest, route)
	}
	return subject
}

// retryLater moves the delivery to the RETRIES stream, due at next, and
// acknowledges m, so that waiting out the backoff holds no place on the
// live consumer. Its Nats-Msg-Id names the message it replaces, so a sink
// that crashes before the ack stores the retry once. Should the retry not
// be stored, m itself is retried after the delay on its own consumer.
func (s *sink) retryLater(ctx context.Context, m jetstream.Msg, d *junctionv1.Delivery, attempt int, next time.Time, log *slog.Logger) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	msg := topology.RetryMsg(taken(m, s.app, d), attempt, next)
	_, err := s.js.PublishMsg(rctx, msg, jetstream.WithExpectStream(topology.RetriesStream))
	if err == nil {
		err = m.DoubleAck(rctx)
		if t, ok := m.(*tracedMsg); ok && err == nil {
			t.movedToRetry(max(next.Sub(s.now()), 0)) // acknowledged here, retried there
		}
		if err != nil {
			// The retry is stored: a redelivery of m is caught by the
			// retry's Nats-Msg-Id within the duplicate window, and
			// the receiver dedupes by delivery id after it.
			log.Warn("ack after moving to retries failed", "err", err)
		}
		return
	}
	log.Warn("moving the delivery to retries failed, retrying in place", "err", err)
	if nerr := m.NakWithDelay(max(time.Until(next), 0)); nerr != nil {
		log.Warn("nak failed, the delivery is retried after the ack wait", "err", nerr)
	}
}

// taken describes m, holding d, as a message the sink of app moves on.
func taken(m jetstream.Msg, app string, d *junctionv1.Delivery) topology.Taken {
	t := topology.Taken{
		Destination: app, Route: routeOf(m, app, d),
		Header: m.Headers(), Body: m.Data(),
		DeliveryID: d.GetId(), EventID: d.GetEventId(),
	}
	if md, err := m.Metadata(); err == nil {
		t.Stream, t.Sequence = md.Stream, md.Sequence.Stream
	}
	return t
}

// routeOf is the route token of a delivery message's subject, or the
// delivery's route id.
func routeOf(m jetstream.Msg, app string, d *junctionv1.Delivery) string {
	if r := routeToken(m.Subject(), app); r != "" {
		return r
	}
	return d.GetRouteId()
}

// confirmAttempt records a successful attempt after its delivery was
// acknowledged, waiting for the record's ack: it confirms the delivery's
// ack reached the hub, as a double ack would.
func (s *sink) confirmAttempt(ctx context.Context, d *junctionv1.Delivery, attempt int, start time.Time, latency time.Duration, log *deliveryLog) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if err := s.record(rctx, s.attemptRecord(d, attempt, start, latency, nil, junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED, time.Time{}), nil); err != nil {
		log.Warn("attempt record not confirmed: the delivery's ack may not have reached the hub, and it may be attempted again", "err", err)
	}
}

// recordAttempt adds an attempt to the attempt log, if the sink keeps one.
// A record that cannot be stored is logged and otherwise ignored: the
// delivery itself is already settled.
func (s *sink) recordAttempt(ctx context.Context, d *junctionv1.Delivery, attempt int, start time.Time, latency time.Duration, err error, state junctionv1.DeliveryState, next time.Time) {
	if s.record == nil {
		return
	}
	a := s.attemptRecord(d, attempt, start, latency, err, state, next)
	// The record is handed to the connection before the next delivery is
	// taken, but its ack is not awaited here: the delivery is settled, and
	// waiting held this worker for one more round trip per attempt. A
	// failure is still logged, when the ack fails or does not come.
	warn := func(rerr error) {
		s.log.Warn("record attempt failed", "delivery_id", d.GetId(), "attempt", attempt, "err", rerr)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if rerr := s.record(rctx, a, warn); rerr != nil {
		warn(rerr)
	}
}

// attemptRecord is the attempt log's record of one attempt.
func (s *sink) attemptRecord(d *junctionv1.Delivery, attempt int, start time.Time, latency time.Duration, err error, state junctionv1.DeliveryState, next time.Time) *junctionv1.DeliveryAttempt {
	a := &junctionv1.DeliveryAttempt{
		DeliveryId:  d.GetId(),
		Attempt:     int32(attempt),
		Time:        timestamppb.New(start),
		Destination: s.app,
		RouteId:     d.GetRouteId(),
		Target:      d.GetTarget(),
		Latency:     durationpb.New(latency),
		Outcome:     state,
		EventId:     d.GetEventId(),
		EventSource: d.GetEventSource(),
	}
	if err != nil {
		a.Error = clip.Cut(err.Error(), topology.MaxDLQErrorLen)
		code, excerpt := ResponseOf(err)
		a.StatusCode = int32(code)
		a.ResponseExcerpt = clip.Cut(excerpt, topology.MaxResponseExcerpt)
	}
	if !next.IsZero() {
		a.NextAttemptTime = timestamppb.New(next)
	}
	return a
}

// attempt calls Deliver with the policy's time limit, telling the server the
// delivery is in progress while it runs, and turns a panic into an error.
func (s *sink) attempt(ctx context.Context, m jetstream.Msg, d *junctionv1.Delivery, pol policy) (err error) {
	actx, cancel := context.WithTimeout(ctx, pol.attemptTimeout)
	defer cancel()
	// A timer rather than a goroutine with a ticker per attempt: most
	// attempts end long before the first tick. Nothing is sent once the
	// attempt returned.
	var mu sync.Mutex
	stopped := false
	var tick *time.Timer
	mu.Lock()
	tick = time.AfterFunc(sinkAckWait/3, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		_ = m.InProgress()
		tick.Reset(sinkAckWait / 3)
	})
	mu.Unlock()
	defer func() {
		mu.Lock()
		stopped = true
		tick.Stop()
		mu.Unlock()
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("deliver panic: %v", r)
		}
	}()
	return s.adapter.Deliver(actx, d)
}

// giveUp dead-letters d (unless its policy says not to) and terminates the
// message. When the dead letter cannot be stored, the message is retried
// later instead, so nothing is lost. It returns the delivery's new state and,
// when it is retried, when.
func (s *sink) giveUp(ctx context.Context, m jetstream.Msg, d *junctionv1.Delivery, pol policy, reason string, attempts int, lastErr error, log *slog.Logger) (junctionv1.DeliveryState, time.Time) {
	if !pol.deadLetter {
		log.Warn("delivery given up, dead letter off by policy", "reason", reason, "err", lastErr)
		_ = m.TermWithReason(reason)
		return junctionv1.DeliveryState_DELIVERY_STATE_DISCARDED, time.Time{}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.deadLetter(dctx, m, d, reason, attempts, lastErr); err != nil {
		delay := pol.retryDelay(attempts, nil)
		log.Error("dead letter failed, will retry", "reason", reason, "delay", delay, "err", err)
		_ = m.NakWithDelay(delay)
		return junctionv1.DeliveryState_DELIVERY_STATE_RETRYING, s.now().Add(delay)
	}
	log.Warn("delivery dead-lettered", "reason", reason, "attempts", attempts)
	_ = m.TermWithReason(reason)
	return junctionv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED, time.Time{}
}

// publishDeadLetter is the basic deadLetter: the delivery's bytes on
// junction.dlq.<destination>.<route>, with why it gave up in headers.
func publishDeadLetter(js jetstream.JetStream, app string) deadLetter {
	return func(ctx context.Context, m jetstream.Msg, d *junctionv1.Delivery, reason string, attempts int, lastErr error) error {
		// One dead letter per DELIVERIES message: a sink that crashes
		// between storing it and terminating the original stores nothing
		// twice, while a redriven delivery that fails again within the
		// duplicate window still gets its new dead letter.
		dl := topology.DeadLetter{Reason: reason, Attempts: attempts}
		if lastErr != nil {
			dl.LastError = lastErr.Error()
			dl.Status, _ = ResponseOf(lastErr)
		}
		msg := topology.SinkDeadLetterMsg(taken(m, app, d), dl)
		natstrace.Inject(ctx, msg.Header)
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(topology.DLQStream)); err != nil {
			return fmt.Errorf("publish dead letter to %s: %w", msg.Subject, err)
		}
		return nil
	}
}

// publishAttempt is the basic attempt recorder: one message per attempt on
// the ATTEMPTS stream. It waits for the ack unless given a report
// (publishAcked).
func publishAttempt(js jetstream.JetStream) func(ctx context.Context, a *junctionv1.DeliveryAttempt, report func(error)) error {
	return func(ctx context.Context, a *junctionv1.DeliveryAttempt, report func(error)) error {
		msg, err := topology.AttemptMsg(a)
		if err != nil {
			return err
		}
		if err := publishAcked(ctx, js, msg, ackTimeout, report, topology.AttemptsStream); err != nil {
			return fmt.Errorf("publish attempt to %s: %w", msg.Subject, err)
		}
		return nil
	}
}
