package sdk

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

const (
	// laneSweepEvery is how often a sink looks for parked deliveries no
	// lane of its own is taking: left by an instance that stopped, or
	// parked while its lane was closing.
	laneSweepEvery = 30 * time.Second
	// laneInactive lets the server remove a lane consumer no instance has
	// used for that long.
	laneInactive = time.Hour
)

// lanes keeps one route of a destination from holding all of the sink's
// workers (see topology.LanesStream). Attempts run on the shared workers
// while their route has fewer than cap of them in flight, or more than cap
// workers are free; past that, the route's deliveries are parked on its
// lane, worked by a consumer of the route's own with cap workers, until
// the lane is empty.
type lanes struct {
	app     string
	js      jetstream.JetStream
	cap     int
	grace   time.Duration
	log     *slog.Logger
	attempt func(ctx context.Context, m jetstream.Msg)
	notDue  func(m jetstream.Msg) bool

	mu     sync.Mutex
	routes map[string]*lane
	runCtx context.Context
	stream jetstream.Stream
	closed bool // run is returning: no lane starts any more
	wg     sync.WaitGroup
}

// lane is what the sink knows of one route.
type lane struct {
	inflight int  // attempts running, from any consumer
	parking  int  // deliveries being moved to the lane
	open     bool // the lane consumer runs
}

func newLanes(s *sink, js jetstream.JetStream, routeCap int, grace time.Duration, log *slog.Logger) *lanes {
	return &lanes{
		app:     s.app,
		js:      js,
		cap:     max(routeCap, 1),
		grace:   grace,
		log:     log,
		attempt: s.traced,
		notDue:  s.notDue,
		routes:  map[string]*lane{},
	}
}

// init opens the LANES stream; lanes started later run until ctx is
// cancelled. It is called before admit and run.
func (l *lanes) init(ctx context.Context) error {
	st, err := l.js.Stream(ctx, topology.LanesStream)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.runCtx, l.stream = ctx, st
	l.mu.Unlock()
	return nil
}

// run opens the lanes that hold parked deliveries, and again every
// laneSweepEvery, until ctx is cancelled; then it waits for the lanes'
// in-flight attempts. A delivery parked after that waits for the next
// start's sweep.
func (l *lanes) run(ctx context.Context) {
	t := time.NewTicker(laneSweepEvery)
	defer t.Stop()
	for {
		l.sweep(ctx)
		select {
		case <-ctx.Done():
			l.mu.Lock()
			l.closed = true
			l.mu.Unlock()
			l.wg.Wait()
			return
		case <-t.C:
		}
	}
}

// sweep opens a lane for every route with deliveries parked.
func (l *lanes) sweep(ctx context.Context) {
	info, err := l.stream.Info(ctx, jetstream.WithSubjectFilter(topology.LanesFilter(l.app)))
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("list parked deliveries failed", "err", err)
		}
		return
	}
	for subj := range info.State.Subjects {
		if dest, route, ok := topology.SplitWorkSubject(subj); ok && dest == l.app && topology.ValidToken(route) == nil {
			l.mu.Lock()
			if ln := l.lane(route); !ln.open {
				ln.open = true
				l.start(route)
			}
			l.mu.Unlock()
		}
	}
}

// lane returns route's entry, creating it; l.mu must be held.
func (l *lanes) lane(route string) *lane {
	ln := l.routes[route]
	if ln == nil {
		ln = &lane{}
		l.routes[route] = ln
	}
	return ln
}

// finish ends one attempt of route; l.mu must not be held.
func (l *lanes) finish(route string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := l.lane(route)
	ln.inflight--
	if ln.inflight == 0 && ln.parking == 0 && !ln.open {
		delete(l.routes, route)
	}
}

// sharedPool is the workers of one consumer loop (live or retries), as
// admit sees them.
type sharedPool struct {
	l       *lanes
	workers int
	busy    int // attempts running on these workers; l.mu guards it
}

// pool returns the admission of a consumer loop with workers workers.
func (l *lanes) pool(workers int) *sharedPool {
	return &sharedPool{l: l, workers: workers}
}

// admit is the handler of the live and retry consumers. It attempts m on
// the shared workers, unless m's route already has its cap of attempts in
// flight while fewer than cap more workers are free: then m is parked on
// the route's lane. A busy route thus uses the whole pool while nobody
// else needs it, yet a slow one can never take the last cap workers from
// the other routes.
func (p *sharedPool) admit(ctx context.Context, m jetstream.Msg) {
	l := p.l
	if topology.CarriesAttempts(m.Subject()) && l.notDue(m) {
		return
	}
	route := routeToken(m.Subject(), l.app)
	if route == "" {
		l.attempt(ctx, m)
		return
	}
	l.mu.Lock()
	ln := l.lane(route)
	if ln.inflight < l.cap || p.busy < p.workers-l.cap {
		ln.inflight++
		p.busy++
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			p.busy--
			l.mu.Unlock()
			l.finish(route)
		}()
		l.attempt(ctx, m)
		return
	}
	ln.parking++
	if !ln.open {
		ln.open = true
		l.log.Info("route at its concurrency cap with the workers busy, its further deliveries wait in its lane", "route_id", route, "route_concurrency", l.cap)
		l.start(route)
	}
	l.mu.Unlock()
	l.park(ctx, m, route)
	l.mu.Lock()
	ln.parking--
	l.mu.Unlock()
}

// park moves m to route's lane and acknowledges it. It is not an attempt:
// the parked copy carries the attempts made so far. Its Nats-Msg-Id names
// the message it replaces, so a sink that crashes before the ack parks it
// once. Should parking fail, m is handed back to its consumer.
func (l *lanes) park(ctx context.Context, m jetstream.Msg, route string) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	t := topology.Taken{Destination: l.app, Route: route, Header: m.Headers(), Body: m.Data(),
		DeliveryID: topology.MetaOf(m.Headers()).DeliveryID}
	if md, err := m.Metadata(); err == nil {
		t.Stream, t.Sequence = md.Stream, md.Sequence.Stream
	}
	id := t.DeliveryID
	msg := topology.LaneMsg(t, attemptsBefore(m))
	if _, err := publishSync(pctx, l.js, msg, topology.LanesStream); err != nil {
		l.log.Warn("parking a delivery failed, it is handed back", "route_id", route, "delivery_id", id, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	if err := m.DoubleAck(pctx); err != nil {
		// The parked copy is stored: a redelivery of m is caught by its
		// Nats-Msg-Id within the duplicate window, and the receiver
		// dedupes by delivery id after it.
		l.log.Warn("ack after parking failed", "route_id", route, "delivery_id", id, "err", err)
	}
}

// start runs route's lane consumer until the lane is empty; l.mu must be
// held. A lane that cannot start is marked closed, so the route's
// deliveries are attempted on the shared workers again and the sweep
// retries it.
func (l *lanes) start(route string) {
	if l.closed {
		l.lane(route).open = false
		return
	}
	ctx := l.runCtx
	cfg := sinkConsumer(topology.LaneConsumer(l.app, route),
		"Deliveries of route "+route+" to "+l.app+" while the route is at its concurrency cap.",
		topology.LaneSubject(l.app, route), l.cap)
	cfg.InactiveThreshold = laneInactive
	open := func(ctx context.Context) (jetstream.Consumer, error) {
		return l.js.CreateOrUpdateConsumer(ctx, topology.LanesStream, cfg)
	}
	log := l.log.With("consumer", cfg.Durable, "route_id", route)
	l.wg.Go(func() {
		cons, err := open(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("open lane failed", "err", err)
			}
			l.mu.Lock()
			l.lane(route).open = false
			l.mu.Unlock()
			return
		}
		loop := &consumeLoop{
			open:    open,
			workers: l.cap,
			grace:   l.grace,
			handle: func(ctx context.Context, m jetstream.Msg) {
				if l.notDue(m) {
					return
				}
				l.mu.Lock()
				l.lane(route).inflight++
				l.mu.Unlock()
				defer l.finish(route)
				l.attempt(ctx, m)
			},
			log:  log,
			idle: func(ctx context.Context) bool { return l.closeIfEmpty(ctx, route) },
		}
		_ = loop.run(ctx, cons)
	})
}

// closeIfEmpty closes route's lane when nothing is parked on it or being
// parked, and reports whether it did.
func (l *lanes) closeIfEmpty(ctx context.Context, route string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := l.lane(route)
	if ln.parking > 0 {
		return false
	}
	_, err := l.stream.GetLastMsgForSubject(ctx, topology.LaneSubject(l.app, route))
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return false
	}
	ln.open = false
	if ln.inflight == 0 {
		delete(l.routes, route)
	}
	l.log.Info("route's lane is empty, its deliveries use the shared workers again", "route_id", route)
	return true
}

// routeToken is the route token of a delivery, retry or lane subject of
// app, or "".
func routeToken(subject, app string) string {
	if dest, route, ok := topology.SplitWorkSubject(subject); ok && dest == app {
		return route
	}
	return ""
}
