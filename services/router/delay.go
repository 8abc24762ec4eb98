package router

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Delay bounds of a route target (Target.delay): a delayed delivery waits
// on the RETRIES stream, which keeps messages as long as DELIVERIES does
// (topology.DefaultDeliveriesMaxAge, 7 days, unless the operator lowers
// it), so a longer delay could be dropped before it is due.
const (
	// MinDelay is the shortest delay a target may carry.
	MinDelay = time.Second
	// MaxDelay is the longest delay a target may carry.
	MaxDelay = topology.DefaultDeliveriesMaxAge
)

// checkDelay checks a target's delay; field names the target, e.g.
// "targets[1]".
func checkDelay(field string, t *junctionv1.Target) error {
	if t.GetDelay() == nil {
		return nil
	}
	field = fmt.Sprintf("%s.delay (target %q)", field, t.GetName())
	if err := t.GetDelay().CheckValid(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidRoute, field, err)
	}
	d := t.GetDelay().AsDuration()
	switch {
	case d == 0:
		return nil
	case d < 0:
		return fmt.Errorf("%w: %s: %v is negative; give a delay from %v to %v, or none to send at once", ErrInvalidRoute, field, d, MinDelay, MaxDelay)
	case d < MinDelay:
		return fmt.Errorf("%w: %s: %v is shorter than %v; give none to send at once", ErrInvalidRoute, field, d, MinDelay)
	case d > MaxDelay:
		return fmt.Errorf("%w: %s: %v is longer than %v, how long the hub keeps waiting deliveries", ErrInvalidRoute, field, d, MaxDelay)
	}
	return nil
}

// notBefore is when a delivery of t made at now is due, or nil for a
// target without a delay.
func notBefore(t *junctionv1.Target, now time.Time) *timestamppb.Timestamp {
	if d := t.GetDelay().AsDuration(); t.GetDelay() != nil && d > 0 {
		return timestamppb.New(now.Add(d))
	}
	return nil
}

// deliveryOrDelayedMsg is the message of delivery d: on DELIVERIES
// (deliveryMsg), or on RETRIES due at d.not_before for a delayed target
// (topology.DelayedMsg), with the event's trace context either way.
func (r *Router) deliveryOrDelayedMsg(d *junctionv1.Delivery, eventHdr nats.Header) *nats.Msg {
	if d.GetNotBefore() == nil {
		return r.deliveryMsg(d, eventHdr)
	}
	m, err := topology.DelayedMsg(d)
	r.carry(m, d, err, eventHdr)
	return m
}

// recordScheduled adds a scheduled entry to the attempt log of each
// delayed delivery in out, so its state reads scheduled, with its due
// time, until the sink's first attempt. It is written, and waited for,
// before the deliveries themselves, so it always comes before that
// attempt's record; a failure is logged and does not hold the event up.
func (r *Router) recordScheduled(ctx context.Context, out []outMsg) {
	var msgs []*nats.Msg
	for _, o := range out {
		d := o.d
		if o.dead || d.GetNotBefore() == nil {
			continue
		}
		m, err := topology.AttemptMsg(&junctionv1.DeliveryAttempt{
			DeliveryId:      d.GetId(),
			Time:            d.GetCreateTime(),
			Destination:     d.GetDestination(),
			RouteId:         d.GetRouteId(),
			Target:          d.GetTarget(),
			Outcome:         junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED,
			NextAttemptTime: d.GetNotBefore(),
			EventId:         d.GetEventId(),
			EventSource:     d.GetEventSource(),
		})
		if err != nil {
			continue
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return
	}
	if err := firstError(r.publishAll(ctx, msgs)); err != nil {
		r.log.WarnContext(ctx, "record scheduled deliveries failed", "deliveries", len(msgs), "error", err)
	}
}
