package sdk

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// fetchWait is how long one pull request waits for messages.
const fetchWait = 5 * time.Second

// consumeLoop pulls from a durable consumer, only as many messages as it has
// free workers, so no message waits in a client buffer while its ack timer
// runs. It is the one owner of the worker goroutines.
type consumeLoop struct {
	// open returns the consumer, creating it if needed; it is called again
	// when the consumer disappears.
	open    func(ctx context.Context) (jetstream.Consumer, error)
	workers int
	// grace bounds the wait for in-flight handlers after ctx is cancelled;
	// then their context is cancelled too.
	grace  time.Duration
	handle func(ctx context.Context, m jetstream.Msg)
	log    *slog.Logger
	// ready is called with true once the consumer is open, false when it
	// is lost.
	ready func(bool)
	// idle, when set, is asked after a pull that brought nothing while no
	// handler ran; the loop ends when it answers true.
	idle func(ctx context.Context) bool
}

// run consumes until ctx is cancelled, then waits for in-flight handlers and
// returns nil. It returns an error only when the consumer cannot be opened
// at start.
func (l *consumeLoop) run(ctx context.Context, cons jetstream.Consumer) error {
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	slots := make(chan struct{}, l.workers)
	release := func() { <-slots }
	failures := 0
	// The workers live as long as the loop: a goroutine per message would
	// grow a fresh stack for every delivery (the handler's call depth
	// needs several times the initial size), which cost about 3% of a
	// busy hub's CPU in stack copying.
	work := make(chan jetstream.Msg)
	for range l.workers {
		wg.Go(func() {
			for m := range work {
				l.handle(workCtx, m)
				release()
			}
		})
	}

	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		n := 1
	more:
		for n < l.workers {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		got, err := l.fetch(ctx, cons, n, release, work)
		if err == nil {
			failures = 0
			if got == 0 && l.idle != nil && len(slots) == 0 && ctx.Err() == nil && l.idle(ctx) {
				break
			}
			continue
		}
		if ctx.Err() != nil {
			break
		}
		failures++
		l.log.Warn("fetch failed", "err", err, "failures", failures)
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			l.setReady(false)
			if c, oerr := l.open(ctx); oerr == nil {
				cons = c
				l.setReady(true)
			} else {
				l.log.Warn("reopen consumer failed", "err", oerr)
			}
		}
		sleepCtx(ctx, backoff(failures, 100*time.Millisecond, 10*time.Second, 2, 0.2))
	}

	close(work)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(l.grace):
		l.log.Warn("shutdown grace expired, cancelling in-flight work", "grace", l.grace)
		cancelWork()
		<-done
	}
	return nil
}

// fetch pulls up to n messages and hands each to a worker, and returns how
// many it got. It releases the slots of the messages it did not get.
func (l *consumeLoop) fetch(ctx context.Context, cons jetstream.Consumer, n int, release func(), work chan<- jetstream.Msg) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()
	batch, err := cons.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		for range n {
			release()
		}
		return 0, err
	}
	got := 0
	for m := range batch.Messages() {
		got++
		if ctx.Err() != nil {
			// Shutting down: hand the message back at once rather than
			// let it wait out its ack timer.
			_ = m.Nak()
			release()
			continue
		}
		// A slot is held for m, so a worker is free or about to be.
		work <- m
	}
	for range n - got {
		release()
	}
	err = batch.Error()
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, jetstream.ErrNoMessages) {
		return got, nil
	}
	return got, err
}

func (l *consumeLoop) setReady(ok bool) {
	if l.ready != nil {
		l.ready(ok)
	}
}

// backoff returns initial*multiplier^(attempt-1), capped at maxDelay, with a
// random jitter of ±jitter of the delay.
func backoff(attempt int, initial, maxDelay time.Duration, multiplier, jitter float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := float64(initial) * math.Pow(multiplier, float64(attempt-1))
	if d > float64(maxDelay) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(maxDelay)
	}
	if jitter > 0 {
		d *= 1 + jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
