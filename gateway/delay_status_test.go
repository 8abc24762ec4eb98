package gateway_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// TestScheduledRecordsInDeliveryStatus: the router's scheduled record
// makes a delivery read scheduled with its due time and no attempt; once
// attempted it reads as the attempt left it, even when a redelivered event
// made the router record it scheduled once more.
func TestScheduledRecordsInDeliveryStatus(t *testing.T) {
	e := newEnv(t)
	dlv := junctionv1grpc.NewDeliveryServiceClient(e.conn)
	publishUser(t, e, "u-delay", "d@example.com")
	routed := time.Now().UTC().Truncate(time.Millisecond)
	due := routed.Add(72 * time.Hour)
	record := func(outcome junctionv1.DeliveryState, attempt int32, at time.Time, next time.Time) {
		t.Helper()
		a := &junctionv1.DeliveryAttempt{DeliveryId: "dlv-later", EventId: "u-delay", EventSource: "acme",
			Destination: "email", RouteId: "follow-up", Target: "later", Attempt: attempt, Outcome: outcome, Time: timestamppb.New(at)}
		if !next.IsZero() {
			a.NextAttemptTime = timestamppb.New(next)
		}
		m, err := topology.AttemptMsg(a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.js.PublishMsg(testCtx(t), m, jetstream.WithExpectStream(topology.AttemptsStream)); err != nil {
			t.Fatal(err)
		}
	}
	status := func() *junctionv1.DeliveryStatus {
		t.Helper()
		res, err := dlv.ListEventDeliveries(testCtx(t), &junctionv1.ListEventDeliveriesRequest{Parent: "events/u-delay"})
		if err != nil || len(res.GetDeliveries()) != 1 {
			t.Fatalf("ListEventDeliveries = %v, %v; want one delivery", res, err)
		}
		return res.GetDeliveries()[0]
	}
	steps := []struct {
		name      string
		write     func()
		wantState junctionv1.DeliveryState
		wantCount int32
		wantNext  time.Time
	}{
		{"scheduled by the router", func() { record(junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED, 0, routed, due) },
			junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED, 0, due},
		{"attempted once due", func() { record(junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED, 1, due, time.Time{}) },
			junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED, 1, time.Time{}},
		{"scheduled again by a redelivered event", func() {
			record(junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED, 0, routed.Add(time.Minute), due.Add(time.Minute))
		}, junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED, 1, time.Time{}},
	}
	for _, s := range steps {
		s.write()
		st := status()
		var next time.Time
		if st.GetNextAttemptTime() != nil {
			next = st.GetNextAttemptTime().AsTime()
		}
		if st.GetState() != s.wantState || st.GetAttemptCount() != s.wantCount || !next.Equal(s.wantNext) {
			t.Errorf("%s: state %v, %d attempts, next %v; want %v, %d, %v", s.name, st.GetState(), st.GetAttemptCount(), next, s.wantState, s.wantCount, s.wantNext)
		}
	}
}
