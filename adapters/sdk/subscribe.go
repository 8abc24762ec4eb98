package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Handler handles one event. nil acknowledges it; a [Permanent] error
// terminates it (it is not redelivered); any other error has it redelivered
// after a backoff, or after the [RetryAfter] delay.
type Handler func(ctx context.Context, e *junctionv1.Event) error

// SubscribeOption configures [Subscribe].
type SubscribeOption func(*subscribeOptions)

type subscribeOptions struct {
	log          *slog.Logger
	concurrency  int
	deliver      jetstream.DeliverPolicy
	startTime    time.Time
	initial, max time.Duration
	ackWait      time.Duration
	grace        time.Duration
	maxAttempts  int
}

// DefaultSubscribeMaxAttempts is how many times [Subscribe] hands an event
// to its handler, by default, before it gives the event up: with the
// default backoff, about an hour and a half of retries.
const DefaultSubscribeMaxAttempts = 100

// WithMaxAttempts sets how many times an event is delivered to the
// handler before [Subscribe] gives it up: the last error is logged and the
// event terminated (JetStream publishes a terminated advisory), so one
// event the handler cannot take never cycles forever. Deliveries without
// an outcome count too (the handler outran the ack wait, the process
// crashed): an event delivered more often than n is given up before the
// handler sees it again. n must be at least 1; default
// [DefaultSubscribeMaxAttempts].
func WithMaxAttempts(n int) SubscribeOption {
	return func(o *subscribeOptions) { o.maxAttempts = n }
}

// WithLogger sets the logger of [Subscribe]; the default discards.
func WithLogger(l *slog.Logger) SubscribeOption {
	return func(o *subscribeOptions) { o.log = l }
}

// WithConcurrency sets how many events are handled at once; default 1,
// which keeps the order of a subject's events while nothing fails.
func WithConcurrency(n int) SubscribeOption {
	return func(o *subscribeOptions) { o.concurrency = n }
}

// WithDeliverNew makes a new durable consumer start with the events
// published after it was created, instead of every event the EVENTS stream
// still holds. It has no effect on a durable consumer that already exists.
func WithDeliverNew() SubscribeOption {
	return func(o *subscribeOptions) { o.deliver = jetstream.DeliverNewPolicy }
}

// WithStartTime makes a new durable consumer start with the events stored
// at or after t. It has no effect on a durable consumer that already exists.
func WithStartTime(t time.Time) SubscribeOption {
	return func(o *subscribeOptions) { o.deliver = jetstream.DeliverByStartTimePolicy; o.startTime = t }
}

// WithBackoff sets the redelivery delay after a handler error: initial,
// doubling per delivery up to maxDelay. Default 1s to 1m.
func WithBackoff(initial, maxDelay time.Duration) SubscribeOption {
	return func(o *subscribeOptions) { o.initial, o.max = initial, maxDelay }
}

// WithAckWait sets how long a handler may run before the event is
// redelivered to another replica. Default 60s.
func WithAckWait(d time.Duration) SubscribeOption {
	return func(o *subscribeOptions) { o.ackWait = d }
}

// WithShutdownTimeout bounds how long [Subscribe] waits for running
// handlers once its context is cancelled; then their context is cancelled
// too. Default 30s.
func WithShutdownTimeout(d time.Duration) SubscribeOption {
	return func(o *subscribeOptions) { o.grace = d }
}

var consumerNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// Subscribe runs h for every event whose subject matches pattern, through
// the durable consumer named durable on the EVENTS stream. Replicas of a
// service that use the same durable name share the events. pattern is a
// subject filter with or without the "junction.events." prefix, e.g.
// "acme.user.*" or "junction.events.acme.>". A new durable consumer starts
// with the oldest stored event unless [WithDeliverNew] or [WithStartTime]
// says otherwise.
//
// Subscribe blocks until ctx is cancelled, then stops fetching, waits for
// running handlers (see [WithShutdownTimeout]) and returns nil. It returns
// an error when the arguments are invalid or the consumer cannot be created.
func Subscribe(ctx context.Context, js jetstream.JetStream, durable, pattern string, h Handler, opts ...SubscribeOption) error {
	o := subscribeOptions{
		concurrency: 1,
		deliver:     jetstream.DeliverAllPolicy,
		initial:     time.Second,
		max:         time.Minute,
		ackWait:     60 * time.Second,
		grace:       30 * time.Second,
		maxAttempts: DefaultSubscribeMaxAttempts,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case js == nil:
		return errors.New("subscribe: jetstream is nil")
	case h == nil:
		return errors.New("subscribe: handler is nil")
	case !consumerNameRe.MatchString(durable):
		return fmt.Errorf("subscribe: durable name %q must be 1 to 200 letters, digits, '_' or '-'", durable)
	case o.concurrency < 1:
		return fmt.Errorf("subscribe: concurrency %d must be at least 1", o.concurrency)
	case o.initial <= 0 || o.max < o.initial:
		return fmt.Errorf("subscribe: backoff %v to %v must be positive and growing", o.initial, o.max)
	case o.ackWait < time.Second:
		return fmt.Errorf("subscribe: ack wait %v must be at least 1s", o.ackWait)
	case o.maxAttempts < 1:
		return fmt.Errorf("subscribe: max attempts %d must be at least 1", o.maxAttempts)
	}
	filter, err := eventFilter(pattern)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "sdk.Subscribe " + filter,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.ackWait,
		DeliverPolicy: o.deliver,
		MaxAckPending: max(1000, 2*o.concurrency),
		MaxDeliver:    -1,
	}
	if o.deliver == jetstream.DeliverByStartTimePolicy {
		cfg.OptStartTime = &o.startTime
	}
	open := func(ctx context.Context) (jetstream.Consumer, error) {
		return js.CreateOrUpdateConsumer(ctx, topology.EventsStream, cfg)
	}
	cons, err := open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // cancelled while starting
		}
		return fmt.Errorf("subscribe: create consumer %s on %s: %w", durable, topology.EventsStream, err)
	}
	log := o.log.With("consumer", durable, "filter", filter)
	loop := &consumeLoop{
		open:    open,
		workers: o.concurrency,
		grace:   o.grace,
		log:     log,
		handle: func(ctx context.Context, m jetstream.Msg) {
			traceEvent(ctx, m, durable, func(ctx context.Context, m jetstream.Msg) { handleEvent(ctx, m, h, o, logWithTrace(ctx, log)) })
		},
	}
	return loop.run(ctx, cons)
}

func handleEvent(ctx context.Context, m jetstream.Msg, h Handler, o subscribeOptions, log *slog.Logger) {
	e, err := decodeEvent(m)
	if err != nil {
		log.Error("undecodable event terminated", "subject", m.Subject(), "err", err)
		_ = m.TermWithReason("undecodable event")
		return
	}
	attempt := 1
	if md, merr := m.Metadata(); merr == nil {
		attempt = int(md.NumDelivered)
	}
	if attempt > o.maxAttempts {
		log.Error("event given up, delivered more often than max attempts", "event_id", e.GetId(), "source", e.GetSource(), "type", e.GetType(), "attempt", attempt, "max_attempts", o.maxAttempts)
		_ = m.TermWithReason("max attempts")
		return
	}
	err = callHandler(ctx, h, e)
	switch {
	case err == nil:
		if aerr := m.Ack(); aerr != nil {
			log.Warn("ack failed", "event_id", e.GetId(), "err", aerr)
		}
	case IsPermanent(err):
		log.Warn("event handler failed permanently", "event_id", e.GetId(), "source", e.GetSource(), "type", e.GetType(), "err", err)
		_ = m.TermWithReason(clip.Cut(err.Error(), 256))
	case ctx.Err() != nil:
		// Shutdown cut the handler short: let another replica have it now.
		_ = m.Nak()
	case attempt >= o.maxAttempts:
		log.Error("event handler failed, no attempts left, event given up", "event_id", e.GetId(), "source", e.GetSource(), "type", e.GetType(), "attempt", attempt, "max_attempts", o.maxAttempts, "err", err)
		_ = m.TermWithReason(clip.Cut("max attempts: "+err.Error(), 256))
	default:
		delay := backoff(attempt, o.initial, o.max, 2, 0.2)
		if d, ok := RetryDelay(err); ok && d > delay {
			delay = d
		}
		log.Warn("event handler failed, will retry", "event_id", e.GetId(), "attempt", attempt, "delay", delay, "err", err)
		_ = m.NakWithDelay(delay)
	}
}

// callHandler runs h, turning a panic into an error so one bad event cannot
// take the service down.
func callHandler(ctx context.Context, h Handler, e *junctionv1.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return h(ctx, e)
}

// eventFilter turns a subscription pattern into a full EVENTS subject
// filter and checks it.
func eventFilter(pattern string) (string, error) {
	if strings.TrimSpace(pattern) == "" {
		return "", errors.New(`pattern is empty: give a subject pattern such as "acme.user.*" or "acme.>"`)
	}
	filter := topology.NormalizeFilter(pattern)
	tokens := strings.Split(filter, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return "", fmt.Errorf("pattern %q has an empty token: separate words with single dots", pattern)
		case tok == ">" && i != len(tokens)-1:
			return "", fmt.Errorf("pattern %q has '>' before the end: '>' matches the rest and must come last", pattern)
		case strings.ContainsAny(tok, " \t\r\n"):
			return "", fmt.Errorf("pattern %q contains white space", pattern)
		case tok != "*" && tok != ">" && strings.ContainsAny(tok, "*>"):
			return "", fmt.Errorf("pattern %q has a wildcard inside a word: use '*' or '>' as a whole token", pattern)
		}
	}
	if len(tokens) < 3 {
		return "", fmt.Errorf("pattern %q names no source: use e.g. %q", pattern, "acme.>")
	}
	return filter, nil
}
