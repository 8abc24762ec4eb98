package gateway

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestPendingStatus: a delivery with no record yet reads pending, or
// scheduled for a delayed target, due its delay after the event was
// received (the router records the exact time once it routes it).
func TestPendingStatus(t *testing.T) {
	received := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	evaluated := received.Add(10 * time.Minute) // the gateway evaluates the route now
	ev := &junctionv1.Event{Id: "e1", ReceiveTime: timestamppb.New(received)}
	tests := []struct {
		name      string
		d         *junctionv1.Delivery
		wantState junctionv1.DeliveryState
		wantDue   time.Time
	}{
		{"immediate", &junctionv1.Delivery{Id: "d1", CreateTime: timestamppb.New(evaluated)},
			junctionv1.DeliveryState_DELIVERY_STATE_PENDING, time.Time{}},
		{"delayed", &junctionv1.Delivery{Id: "d2", CreateTime: timestamppb.New(evaluated), NotBefore: timestamppb.New(evaluated.Add(72 * time.Hour))},
			junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED, received.Add(72 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := pendingStatus(tt.d, ev)
			if st.GetState() != tt.wantState || st.GetDeliveryId() != tt.d.GetId() {
				t.Errorf("state = %v of %s, want %v of %s", st.GetState(), st.GetDeliveryId(), tt.wantState, tt.d.GetId())
			}
			var gotDue time.Time
			if st.GetNextAttemptTime() != nil {
				gotDue = st.GetNextAttemptTime().AsTime()
			}
			if !gotDue.Equal(tt.wantDue) {
				t.Errorf("next attempt time = %v, want %v", gotDue, tt.wantDue)
			}
		})
	}
}
