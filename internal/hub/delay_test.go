package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// The delayed targets' tests assert "not before due" from the records the
// hub keeps (the attempt's start against the event's receive time and the
// scheduled due time), never by sleeping, and wait for every outcome with
// generous deadlines.

func (r *running) deliveryStatus(t *testing.T) junctionv1grpc.DeliveryServiceClient {
	conn, err := grpc.NewClient(r.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), r.adminCreds(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return junctionv1grpc.NewDeliveryServiceClient(conn)
}

// eventDeliveries waits until every delivery of event id named in want is
// in its wanted state, and returns them by target.
func (r *running) eventDeliveries(t *testing.T, id string, want map[string]junctionv1.DeliveryState) map[string]*junctionv1.DeliveryStatus {
	t.Helper()
	c := r.deliveryStatus(t)
	var got map[string]*junctionv1.DeliveryStatus
	waitFor(t, 60*time.Second, "deliveries of "+id, func() error {
		res, err := c.ListEventDeliveries(context.Background(), &junctionv1.ListEventDeliveriesRequest{Parent: "events/" + id})
		if err != nil {
			return err
		}
		got = map[string]*junctionv1.DeliveryStatus{}
		for _, d := range res.GetDeliveries() {
			got[d.GetTarget()] = d
		}
		for target, st := range want {
			if g := got[target].GetState(); g != st {
				return fmt.Errorf("target %s: state %v, want %v", target, g, st)
			}
		}
		return nil
	})
	return got
}

// receiveTime is when the hub stored event id.
func (r *running) receiveTime(t *testing.T, id string) time.Time {
	t.Helper()
	ev, err := r.events(t).GetEvent(context.Background(), &junctionv1.GetEventRequest{Name: "events/" + id})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	return ev.GetEvent().GetReceiveTime().AsTime()
}

// checkScheduledThenAttempted checks a delayed delivery's records: first
// scheduled, due delay after the event was received, then attempts
// numbered from 1, the first no sooner than due.
func checkScheduledThenAttempted(t *testing.T, st *junctionv1.DeliveryStatus, received time.Time, delay time.Duration) {
	t.Helper()
	as := st.GetAttempts()
	if len(as) < 2 {
		t.Fatalf("records of %s = %v, want a scheduled one and an attempt", st.GetTarget(), as)
	}
	sched, first := as[0], as[1]
	if sched.GetOutcome() != junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED {
		t.Errorf("first record outcome = %v, want SCHEDULED", sched.GetOutcome())
	}
	due := sched.GetNextAttemptTime().AsTime()
	if min := received.Add(delay); due.Before(min) {
		t.Errorf("scheduled due %v, want no sooner than received %v + delay %v", due, received, delay)
	}
	if first.GetAttempt() != 1 {
		t.Errorf("first attempt numbered %d, want 1: waiting out the delay is not an attempt", first.GetAttempt())
	}
	if at := first.GetTime().AsTime(); at.Before(due) || at.Sub(received) < delay {
		t.Errorf("first attempt at %v, before due %v (event received %v, delay %v)", at, due, received, delay)
	}
}

// TestDelayedTargetBesideImmediate: on one route, the delayed target's
// delivery shows as scheduled with its due time and is attempted no
// sooner than due, while the immediate target's is not held up.
func TestDelayedTargetBesideImmediate(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	now, later := newReceiver(t), newReceiver(t)
	const delay = 4 * time.Second
	created, err := h.routes(t).CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
		RouteId: "welcome-then-follow-up",
		Route: &junctionv1.Route{Filter: "acme.user.created", Targets: []*junctionv1.Target{
			{Name: "welcome", Destination: "webhook", Config: map[string]string{"url": now.URL}},
			{Name: "follow-up", Destination: "webhook", Config: map[string]string{"url": later.URL}, Delay: durationpb.New(delay)},
		}},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	postSigned(t, h, "msg_delay_1", userCreated("pro", "d@example.com"), nil)

	got := h.eventDeliveries(t, "msg_delay_1", map[string]junctionv1.DeliveryState{
		"welcome":   junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED,
		"follow-up": junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED,
	})
	received := h.receiveTime(t, "msg_delay_1")
	fu := got["follow-up"]
	checkScheduledThenAttempted(t, fu, received, delay)
	if fu.GetAttemptCount() != 1 {
		t.Errorf("follow-up attempt count = %d, want 1", fu.GetAttemptCount())
	}
	// The immediate target went out before the delayed one was due: it
	// did not wait behind it.
	due := fu.GetAttempts()[0].GetNextAttemptTime().AsTime()
	if w := got["welcome"].GetAttempts(); len(w) != 1 || !w[0].GetTime().AsTime().Before(due) {
		t.Errorf("welcome attempts = %v, want one, before the follow-up's due time %v", w, due)
	}
	if n, m := len(now.deliveries()), len(later.deliveries()); n != 1 || m != 1 {
		t.Errorf("receivers got %d and %d deliveries, want 1 each", n, m)
	}
}

// TestDelayedDeliveryShowsScheduled: while it waits, a delayed delivery's
// status is scheduled with its due time, and no attempt is counted.
func TestDelayedDeliveryShowsScheduled(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	rc := newReceiver(t)
	const delay = time.Hour // never due during the test
	created, err := h.routes(t).CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
		RouteId: "much-later",
		Route: &junctionv1.Route{Filter: "acme.user.created", Targets: []*junctionv1.Target{
			{Name: "later", Destination: "webhook", Config: map[string]string{"url": rc.URL}, Delay: durationpb.New(delay)},
		}},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	postSigned(t, h, "msg_delay_sched", userCreated("pro", "s@example.com"), nil)
	// Scheduled shows at once, computed from the route, before the router
	// has routed the event; wait for the router's record as well.
	var got *junctionv1.DeliveryStatus
	waitFor(t, 60*time.Second, "the router's record of the delayed delivery", func() error {
		got = h.eventDeliveries(t, "msg_delay_sched", map[string]junctionv1.DeliveryState{
			"later": junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED,
		})["later"]
		if len(got.GetAttempts()) == 0 {
			return errors.New("no record yet")
		}
		return nil
	})
	received := h.receiveTime(t, "msg_delay_sched")
	if due := got.GetNextAttemptTime().AsTime(); due.Sub(received) < delay || due.Sub(received) > delay+time.Minute {
		t.Errorf("next attempt time %v, want the event's receive time %v + %v", due, received, delay)
	}
	if got.GetAttemptCount() != 0 {
		t.Errorf("attempt count = %d, want 0", got.GetAttemptCount())
	}
	// Once routed the record is the router's, with the exact due time.
	if as := got.GetAttempts(); len(as) != 1 || as[0].GetOutcome() != junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED {
		t.Errorf("records = %v, want one SCHEDULED", as)
	}
}

// TestDelayedDeliverySurvivesRestart: a delayed delivery routed before the
// hub stops is delivered by the hub started again on the same data
// directory, no sooner than due.
func TestDelayedDeliverySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t)
	const delay = 6 * time.Second
	first := startHub(t, testConfig(dir))
	created, err := first.routes(t).CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
		RouteId: "follow-up",
		Route: &junctionv1.Route{Filter: "acme.user.created", Targets: []*junctionv1.Target{
			{Name: "later", Destination: "webhook", Config: map[string]string{"url": rc.URL}, Delay: durationpb.New(delay)},
		}},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	first.routeApplied(t, created.GetRoute().GetRevision())
	postSigned(t, first, "msg_delay_restart", userCreated("pro", "r@example.com"), nil)
	// Routed: the delivery now waits on RETRIES.
	first.eventDeliveries(t, "msg_delay_restart", map[string]junctionv1.DeliveryState{
		"later": junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED,
	})
	stopping := time.Now()
	if err := first.stop(); err != nil {
		t.Fatalf("first hub: %v", err)
	}
	t.Logf("first hub stopped in %v", time.Since(stopping).Round(time.Millisecond))
	if n := len(rc.deliveries()); n != 0 {
		t.Fatalf("delivered %d times before the hub stopped, want 0: the machine stalled past the %v delay, so the restart was not exercised", n, delay)
	}

	second := startHub(t, testConfig(dir))
	waitFor(t, 60*time.Second, "the delayed delivery after the restart", func() error {
		if len(rc.deliveries()) == 0 {
			return errors.New("not delivered yet")
		}
		return nil
	})
	st := second.eventDeliveries(t, "msg_delay_restart", map[string]junctionv1.DeliveryState{
		"later": junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED,
	})["later"]
	checkScheduledThenAttempted(t, st, second.receiveTime(t, "msg_delay_restart"), delay)
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("receiver got %d deliveries, want 1", n)
	}
}

// TestDelayedDeliveryRetriedAfterFirstAttempt: a delayed delivery whose
// destination fails goes through the route's normal retries once due,
// attempts numbered from 1.
func TestDelayedDeliveryRetriedAfterFirstAttempt(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	const delay = 2 * time.Second
	created, err := h.routes(t).CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
		RouteId: "flaky-later",
		Route: &junctionv1.Route{
			Filter: "acme.user.created",
			Targets: []*junctionv1.Target{
				{Name: "later", Destination: "webhook", Config: map[string]string{"url": srv.URL}, Delay: durationpb.New(delay)},
			},
			Policy: &junctionv1.DeliveryPolicy{InitialBackoff: durationpb.New(500 * time.Millisecond), Jitter: 0.01},
		},
	})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	postSigned(t, h, "msg_delay_flaky", userCreated("pro", "f@example.com"), nil)
	st := h.eventDeliveries(t, "msg_delay_flaky", map[string]junctionv1.DeliveryState{
		"later": junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED,
	})["later"]
	checkScheduledThenAttempted(t, st, h.receiveTime(t, "msg_delay_flaky"), delay)
	as := st.GetAttempts()
	var outcomes []string
	for _, a := range as[1:] {
		outcomes = append(outcomes, fmt.Sprintf("#%d %s", a.GetAttempt(), strings.TrimPrefix(a.GetOutcome().String(), "DELIVERY_STATE_")))
	}
	if got, want := strings.Join(outcomes, ", "), "#1 RETRYING, #2 DELIVERED"; got != want {
		t.Errorf("attempts = %s, want %s", got, want)
	}
	if st.GetAttemptCount() != 2 {
		t.Errorf("attempt count = %d, want 2", st.GetAttemptCount())
	}
}

// TestDelayOutOfBoundsRefusedAtSave: the API refuses a delay out of its
// bounds with InvalidArgument naming the target.
func TestDelayOutOfBoundsRefusedAtSave(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	tests := []struct {
		name  string
		delay time.Duration
		want  string
	}{
		{"too short", 100 * time.Millisecond, `targets[0].delay (target "later"): 100ms is shorter than 1s`},
		{"too long", 31 * 24 * time.Hour, `targets[0].delay (target "later"): 744h0m0s is longer than 168h0m0s`},
		{"negative", -time.Minute, `targets[0].delay (target "later"): -1m0s is negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.routes(t).CreateRoute(context.Background(), &junctionv1.CreateRouteRequest{
				RouteId: "bad-delay",
				Route: &junctionv1.Route{Filter: "acme.user.created", Targets: []*junctionv1.Target{
					{Name: "later", Destination: "webhook", Config: map[string]string{"url": "https://example.com/hook"}, Delay: durationpb.New(tt.delay)},
				}},
			})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CreateRoute = %v, want InvalidArgument containing %q", err, tt.want)
			}
		})
	}
}
