package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// ListEventDeliveries reports each delivery of an event: the attempt log
// (ATTEMPTS stream) gives the state of every delivery the sinks attempted,
// and of those the router scheduled for a target's delay; the deliveries
// the event's routes make and that have no record yet are pending (or
// scheduled, for a delayed target). Only routes created before the event arrived count, so a route
// added later does not show as pending.
func (s *Server) ListEventDeliveries(ctx context.Context, req *junctionv1.ListEventDeliveriesRequest) (*junctionv1.ListEventDeliveriesResponse, error) {
	if id, ok := strings.CutPrefix(req.GetParent(), eventPrefix); !ok || id == "" {
		return nil, invalid("parent", "%q is not an event name: use \"events/{id}\"", req.GetParent())
	}
	ev, err := s.GetEvent(ctx, &junctionv1.GetEventRequest{Name: req.GetParent(), Source: req.GetSource()})
	if err != nil {
		return nil, err
	}
	e := ev.GetEvent()
	byID := map[string]*junctionv1.DeliveryStatus{}
	var order []string
	filter := topology.AttemptsOfEvent(e.GetSource(), e.GetId())
	for seq := uint64(1); ; {
		m, err := s.attempts.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, s.toStatus(ctx, "list event deliveries", err)
		}
		seq = m.Sequence + 1
		a, err := topology.ParseAttempt(m.Subject, m.Header, m.Data)
		if err != nil {
			s.log.WarnContext(ctx, "undecodable attempt record skipped", "sequence", m.Sequence, "error", err)
			continue
		}
		st, ok := byID[a.GetDeliveryId()]
		if !ok {
			st = &junctionv1.DeliveryStatus{DeliveryId: a.GetDeliveryId(), Destination: a.GetDestination(), RouteId: a.GetRouteId(), Target: a.GetTarget()}
			byID[a.GetDeliveryId()] = st
			order = append(order, a.GetDeliveryId())
		}
		st.Attempts = append(st.Attempts, a)
		if a.GetOutcome() == junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED && st.AttemptCount > 0 {
			// The router routed the event again (a redelivery): the
			// delivery, stored once, was attempted already.
			continue
		}
		st.State = a.GetOutcome()
		st.NextAttemptTime = a.GetNextAttemptTime()
		if a.GetOutcome() != junctionv1.DeliveryState_DELIVERY_STATE_PENDING && a.GetOutcome() != junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED {
			st.AttemptCount++
		}
	}
	routes, err := s.routes.List(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "list event deliveries", err)
	}
	for _, r := range routes {
		if r.Enabled != nil && !r.GetEnabled() {
			continue
		}
		if ct, rt := r.GetCreateTime(), e.GetReceiveTime(); ct != nil && rt != nil && ct.AsTime().After(rt.AsTime()) {
			continue
		}
		c, err := router.Compile(r)
		if err != nil {
			continue
		}
		res, err := c.Evaluate(e)
		if err != nil {
			continue
		}
		for _, d := range res.Deliveries {
			if _, ok := byID[d.GetId()]; ok {
				continue
			}
			byID[d.GetId()] = pendingStatus(d, e)
			order = append(order, d.GetId())
		}
		for _, f := range res.Failures {
			d := f.Delivery
			if _, ok := byID[d.GetId()]; ok {
				continue
			}
			byID[d.GetId()] = &junctionv1.DeliveryStatus{DeliveryId: d.GetId(), Destination: d.GetDestination(), RouteId: d.GetRouteId(), Target: d.GetTarget(), State: junctionv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED}
			order = append(order, d.GetId())
		}
	}
	res := &junctionv1.ListEventDeliveriesResponse{}
	for _, id := range order {
		res.Deliveries = append(res.Deliveries, byID[id])
	}
	slices.SortStableFunc(res.Deliveries, func(a, b *junctionv1.DeliveryStatus) int {
		return strings.Compare(a.GetRouteId()+"/"+a.GetTarget(), b.GetRouteId()+"/"+b.GetTarget())
	})
	return res, nil
}

// ResendEvent routes a stored event again through the current routes and
// publishes every delivery with its usual id and a fresh Nats-Msg-Id, so the
// receivers see the same webhook-id once more.
func (s *Server) ResendEvent(ctx context.Context, req *junctionv1.ResendEventRequest) (*junctionv1.ResendEventResponse, error) {
	ev, err := s.GetEvent(ctx, &junctionv1.GetEventRequest{Name: req.GetName(), Source: req.GetSource()})
	if err != nil {
		return nil, err
	}
	routes, err := s.routes.List(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "resend event", err)
	}
	nonce := strconv.FormatInt(s.now().UnixNano(), 36)
	res := &junctionv1.ResendEventResponse{}
	for _, r := range routes {
		if r.Enabled != nil && !r.GetEnabled() {
			continue
		}
		c, err := router.Compile(r)
		if err != nil {
			continue
		}
		out, err := c.Evaluate(ev.GetEvent())
		if err != nil {
			return nil, s.toStatus(ctx, "resend event", err)
		}
		if len(out.Failures) > 0 {
			return nil, s.toStatus(ctx, "resend event", fmt.Errorf("%w: route %s: %s", router.ErrInvalidRoute, r.GetName(), out.Reason))
		}
		for _, d := range out.Deliveries {
			msg, err := topology.ResendMsg(d, nonce)
			if err != nil {
				return res, s.toStatus(ctx, "resend event", err)
			}
			if err := s.publishDelivery(ctx, d, msg, nil); err != nil {
				return res, s.toStatus(ctx, "resend event", err)
			}
			res.DeliveryIds = append(res.DeliveryIds, d.GetId())
		}
	}
	return res, nil
}
