package gateway

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// pendingStatus is the status of delivery d of event e that has no record
// in the attempt log yet: pending, or scheduled for a delayed target, due
// its delay after the event was received (the router records the exact
// due time when it routes the event).
func pendingStatus(d *junctionv1.Delivery, e *junctionv1.Event) *junctionv1.DeliveryStatus {
	st := &junctionv1.DeliveryStatus{DeliveryId: d.GetId(), Destination: d.GetDestination(), RouteId: d.GetRouteId(), Target: d.GetTarget(), State: junctionv1.DeliveryState_DELIVERY_STATE_PENDING}
	if nb := d.GetNotBefore(); nb != nil {
		st.State = junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED
		st.NextAttemptTime = nb
		if rt, ct := e.GetReceiveTime(), d.GetCreateTime(); rt != nil && ct != nil {
			st.NextAttemptTime = timestamppb.New(rt.AsTime().Add(nb.AsTime().Sub(ct.AsTime())))
		}
	}
	return st
}
