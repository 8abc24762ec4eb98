package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/nats-io/nats.go"
)

// TestSinkNoHeadOfLineBlocking: more deliveries than the live consumer's
// MaxAckPending (1000) fail and wait an hour for their retry; a delivery
// published behind them is still delivered at once, because the waiting
// retries sit on the RETRIES stream, not on the live consumer. Without
// that, the live consumer would hand out nothing more until a retry was
// due, and the test would time out.
func TestSinkNoHeadOfLineBlocking(t *testing.T) {
	const failing = 1100
	hub := sdktest.NewHub(t)
	var mu sync.Mutex
	attempts := map[string]int{}
	var goodAt time.Time
	s := &testSink{fn: func(_ context.Context, d *junctionv1.Delivery, _ int) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[d.GetId()]++
		if strings.HasPrefix(d.GetId(), "bad-") {
			return sdk.Retryable(errors.New("503 service unavailable"))
		}
		goodAt = time.Now()
		return nil
	}}
	startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{Concurrency: 16}))

	slow := &junctionv1.DeliveryPolicy{MaxAttempts: 5, InitialBackoff: durationpb.New(time.Hour), MaxBackoff: durationpb.New(time.Hour)}
	for i := range failing {
		d := testDelivery(fmt.Sprintf("bad-%04d", i), slow)
		hub.PublishDelivery(t, d)
	}
	waitFor(t, "every failing delivery to make its first attempt", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) >= failing
	})
	hub.PublishDelivery(t, testDelivery("good", slow))
	waitFor(t, "the good delivery behind them", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !goodAt.IsZero()
	})
	waitFor(t, fmt.Sprintf("RETRIES to hold the %d failing deliveries", failing), func() bool {
		return hub.StreamMsgs(t, topology.RetriesStream) == failing
	})
	mu.Lock()
	defer mu.Unlock()
	for id, n := range attempts {
		if n != 1 {
			t.Errorf("delivery %s attempted %d times, want 1 (its retry is an hour away)", id, n)
		}
	}
	t.Logf("%d deliveries waiting on retry; the delivery behind them was delivered", failing)
}

// TestSinkSlowRouteKeepsToItsLane: one route's endpoint hangs while more
// of its deliveries than the live consumer's MaxAckPending wait; a second
// route's deliveries, published behind them, are still delivered at once.
// The slow route leaves its cap of the shared workers free (it holds at
// most workers-cap of them, plus its cap in its lane), its backlog waits
// on the LANES stream, and parking is not an attempt: once the endpoint
// answers, every delivery is made exactly once, as attempt 1.
func TestSinkSlowRouteKeepsToItsLane(t *testing.T) {
	const (
		slow      = 1500
		fast      = 20
		routeCap  = 2
		workers   = 8
		maxInSlow = workers - routeCap + routeCap
	)
	hub := sdktest.NewHub(t)
	release := make(chan struct{})
	var mu sync.Mutex
	calls := map[string]int{}
	running, maxRunning := 0, 0
	fastDone := 0
	s := &testSink{fn: func(ctx context.Context, d *junctionv1.Delivery, _ int) error {
		mu.Lock()
		calls[d.GetId()]++
		if d.GetRouteId() != "slow" {
			fastDone++
			mu.Unlock()
			return nil
		}
		running++
		maxRunning = max(maxRunning, running)
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return sdk.Retryable(ctx.Err())
		}
	}}
	stop := startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{Concurrency: workers, RouteConcurrency: routeCap}))
	defer stop()

	for i := range slow {
		d := testDelivery(fmt.Sprintf("slow-%04d", i), nil)
		d.RouteId = "slow"
		hub.PublishDelivery(t, d)
	}
	for i := range fast {
		d := testDelivery(fmt.Sprintf("fast-%02d", i), nil)
		d.RouteId = "fast"
		hub.PublishDelivery(t, d)
	}
	waitFor(t, fmt.Sprintf("the %d deliveries of the healthy route", fast), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fastDone == fast
	})
	parked := hub.StreamMsgs(t, topology.LanesStream)
	mu.Lock()
	inSlow := maxRunning
	mu.Unlock()
	if parked == 0 {
		t.Errorf("LANES holds no parked delivery of the hanging route")
	}
	if inSlow > maxInSlow {
		t.Errorf("hanging route had %d attempts in flight, want at most %d (%d shared workers less its cap %d, plus its cap in its lane)", inSlow, maxInSlow, workers, routeCap)
	}
	t.Logf("healthy route delivered while the hanging route held %d attempts and %d parked deliveries", inSlow, parked)

	close(release)
	waitFor(t, "every delivery of the route that recovered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == slow+fast
	})
	waitFor(t, "the lane to empty", func() bool { return hub.StreamMsgs(t, topology.LanesStream) == 0 })
	mu.Lock()
	for id, n := range calls {
		if n != 1 {
			t.Errorf("delivery %s attempted %d times, want 1", id, n)
		}
	}
	mu.Unlock()
	for _, m := range hub.WaitMsgs(t, topology.AttemptsStream, slow+fast, 10*time.Second) {
		var a junctionv1.DeliveryAttempt
		if err := proto.Unmarshal(m.Data(), &a); err != nil {
			t.Fatalf("decode attempt: %v", err)
		}
		if a.GetAttempt() != 1 {
			t.Errorf("delivery %s recorded as attempt %d, want 1 (parking is not an attempt)", a.GetDeliveryId(), a.GetAttempt())
		}
	}
}

// TestSinkTakesUpParkedDeliveries: deliveries left parked in a lane by an
// instance that stopped are delivered by the next one to start, counting
// the attempts they already had.
func TestSinkTakesUpParkedDeliveries(t *testing.T) {
	hub := sdktest.NewHub(t)
	for i := range 3 {
		d := testDelivery(fmt.Sprintf("parked-%d", i), nil)
		d.RouteId = "r7"
		data, err := proto.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		msg := nats.NewMsg(topology.LaneSubject("testapp", "r7"))
		msg.Data = data
		msg.Header.Set(topology.HeaderContentType, topology.ContentTypeDelivery)
		msg.Header.Set(topology.HeaderDeliveryID, d.GetId())
		msg.Header.Set(topology.HeaderAttempts, "2")
		if _, err := hub.JS.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	s := &testSink{}
	stop := startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{}))
	defer stop()
	waitFor(t, "the parked deliveries", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.calls) == 3
	})
	for _, m := range hub.WaitMsgs(t, topology.AttemptsStream, 3, 10*time.Second) {
		var a junctionv1.DeliveryAttempt
		if err := proto.Unmarshal(m.Data(), &a); err != nil {
			t.Fatal(err)
		}
		if a.GetAttempt() != 3 || a.GetOutcome() != junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED {
			t.Errorf("delivery %s: attempt %d %v, want attempt 3 delivered", a.GetDeliveryId(), a.GetAttempt(), a.GetOutcome())
		}
	}
	waitFor(t, "the lane to empty", func() bool { return hub.StreamMsgs(t, topology.LanesStream) == 0 })
}

// TestSinkBusyRouteUsesFreeWorkers: a route alone may go past its cap
// while more than the cap of workers are free, without parking anything.
func TestSinkBusyRouteUsesFreeWorkers(t *testing.T) {
	const (
		workers  = 8
		routeCap = 2
		together = workers - routeCap // what the route may hold before parking
	)
	hub := sdktest.NewHub(t)
	var mu sync.Mutex
	running, maxRunning := 0, 0
	all := make(chan struct{})
	s := &testSink{fn: func(ctx context.Context, d *junctionv1.Delivery, _ int) error {
		mu.Lock()
		running++
		maxRunning = max(maxRunning, running)
		if running == together {
			close(all)
		}
		mu.Unlock()
		select { // hold every attempt until all are in flight together
		case <-all:
		case <-time.After(5 * time.Second):
		}
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}}
	stop := startRunner(t, newRunner(t, hub, "testapp", s, sdk.Config{Concurrency: workers, RouteConcurrency: routeCap}))
	defer stop()
	for i := range together {
		hub.PublishDelivery(t, testDelivery(fmt.Sprintf("busy-%d", i), nil))
	}
	waitFor(t, "every delivery", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.calls) == together
	})
	mu.Lock()
	got := maxRunning
	mu.Unlock()
	if got != together {
		t.Errorf("route had at most %d attempts in flight, want %d (past its cap of %d while workers were free)", got, together, routeCap)
	}
	st, err := hub.JS.Stream(context.Background(), topology.LanesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != 0 {
		t.Errorf("LANES received %d messages, want none: the route never needed its lane", info.State.LastSeq)
	}
}
