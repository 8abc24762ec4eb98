package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// outMsg is one message the router publishes for an event: a delivery, or
// a dead letter (dead) of one.
type outMsg struct {
	msg  *nats.Msg
	d    *junctionv1.Delivery
	dead bool
}

func msgsOf(out []outMsg) []*nats.Msg {
	msgs := make([]*nats.Msg, len(out))
	for i, o := range out {
		msgs[i] = o.msg
	}
	return msgs
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// unavailableCodes are the JetStream errors that say the hub cannot store
// anything just now (no leader, a store that failed or is full, no
// resources), as opposed to refusing this one message.
var unavailableCodes = map[jetstream.ErrorCode]bool{
	10005: true, // no peers available
	10008: true, // JetStream temporarily unavailable
	10023: true, // insufficient resources
	10077: true, // store failed: a disk error, maximum messages or bytes
	10118: true, // stream offline
}

// isUnavailable reports whether a publish error says the hub is
// unavailable rather than that it refuses the message: every error but a
// JetStream API error outside unavailableCodes (timeouts, no responders, a
// closed connection, a cancelled wait).
func isUnavailable(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return true
	}
	return apiErr.Code == 503 || unavailableCodes[apiErr.ErrorCode]
}

// refusedTooOften reports whether the event in m has been processed
// MaxPublishAttempts times and every failure of this attempt is a refusal,
// not unavailability.
func (r *Router) refusedTooOften(m jetstream.Msg, errs []error) bool {
	md, err := m.Metadata()
	if err != nil || md.NumDelivered < uint64(r.opts.MaxPublishAttempts) {
		return false
	}
	for _, err := range errs {
		if err != nil && isUnavailable(err) {
			return false
		}
	}
	return true
}

// deadLetterRefused dead-letters, with reason publish_error, every delivery
// of out the hub refused (errs), each with the refusal, and returns the
// first error storing them. A refused dead letter cannot be dead-lettered
// again: it is that error.
func (r *Router) deadLetterRefused(ctx context.Context, tr *eventTrace, m jetstream.Msg, e *junctionv1.Event, out []outMsg, errs []error) error {
	var dls []*nats.Msg
	for i, o := range out {
		if errs[i] == nil {
			continue
		}
		if o.dead {
			return fmt.Errorf("dead letter of delivery %s refused: %w", o.d.GetId(), errs[i])
		}
		r.log.WarnContext(tr.ctx, "delivery refused by the hub, dead-lettered", "route", o.d.GetRouteId(), "target", o.d.GetTarget(), "event_id", e.GetId(), "event_source", e.GetSource(), "attempts", r.opts.MaxPublishAttempts, "error", errs[i])
		meters().errors.Add(tr.ctx, 1, routeErrorAttr(o.d.GetRouteId(), topology.DLQReasonPublishError))
		dm := r.deadLetterMsg(o.d, topology.DeadLetter{
			Reason: topology.DLQReasonPublishError, Attempts: r.opts.MaxPublishAttempts, LastError: errs[i].Error(),
		}, m.Headers())
		dls = append(dls, dm)
	}
	return firstError(r.publishAll(ctx, dls))
}
