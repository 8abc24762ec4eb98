package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// Replay bounds.
const (
	defaultReplayRate = 10
	// MaxReplayRate is the highest rate a replay may ask for, in events
	// per second.
	MaxReplayRate    = 1000
	defaultReplayMax = 1000
	maxReplayMax     = 10_000
	shadowTargetName = "shadow"
	// MaxReplayCall is the longest one ReplayEvents call works: below the
	// REST listener's default write timeout (60s), so a REST replay
	// answers with a token to continue rather than being cut off.
	MaxReplayCall = 50 * time.Second
	// replayMargin is kept before the caller's deadline to answer.
	replayMargin = time.Second
)

var replayIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newReplayID is 16 random characters of [a-z2-7].
func newReplayID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return replayIDEncoding.EncodeToString(b[:])
}

// ReplayEvents replays stored events within the call, oldest first: it
// reads the filter's range of EVENTS, evaluates each event that passes with
// the chosen routes (or the shadow target) and publishes every delivery as
// a redrive does (topology.ReplayMsg: a pending attempt record, a span
// linked to the trace the event was stored with), pacing events at the
// rate. It stops at max_events, before the caller's deadline (and after
// MaxReplayCall at the most), or when the caller cancels, and then answers
// a token to continue with. A dry run evaluates but publishes nothing.
func (s *Server) ReplayEvents(ctx context.Context, req *junctionv1.ReplayEventsRequest) (*junctionv1.ReplayEventsResponse, error) {
	if req.GetFilter() == nil || req.GetFilter().GetStartTime() == nil {
		return nil, invalid("filter.start_time", "required: replay the events stored from this time on (and before filter.end_time, default now)")
	}
	sel, err := newSelector(req.GetFilter(), "filter.")
	if err != nil {
		return nil, err
	}
	r := req.GetRate()
	switch {
	case r < 0 || r > MaxReplayRate:
		return nil, invalid("rate", "%g events per second is out of range: give up to %d, or 0 for %d", r, MaxReplayRate, defaultReplayRate)
	case r == 0:
		r = defaultReplayRate
	}
	limit := int(req.GetMaxEvents())
	switch {
	case limit < 0 || limit > maxReplayMax:
		return nil, invalid("max_events", "%d is out of range: give 1 to %d, or 0 for %d", limit, maxReplayMax, defaultReplayMax)
	case limit == 0:
		limit = defaultReplayMax
	}

	release, err := s.scanSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	res := &junctionv1.ReplayEventsResponse{DryRun: req.GetDryRun()}
	// The token belongs to the filter and the destination, not to the
	// pace, the size or dry_run.
	fh := hashOf(req.GetFilter(), &junctionv1.ReplayEventsRequest{Through: req.GetThrough()})
	var lo, hi uint64
	if req.GetPageToken() != "" {
		t, err := decodeToken(req.GetPageToken(), fh)
		if err != nil {
			return nil, err
		}
		if t.Replay == "" || t.Hi < t.Seq {
			return nil, invalid("page_token", "not a token of a replay: pass next_page_token as ReplayEvents returned it")
		}
		res.ReplayId, lo, hi = t.Replay, t.Seq, t.Hi
	} else {
		res.ReplayId = newReplayID()
		// end_time defaults to now, so the replay ends where it began.
		if sel.end.IsZero() {
			sel.end = s.now()
		}
		var ok bool
		lo, hi, ok, err = s.bounds(ctx, sel)
		if err != nil {
			return nil, s.toStatus(ctx, "replay events", err)
		}
		if !ok {
			return res, nil
		}
	}
	routes, err := s.replayRoutes(ctx, req, res.ReplayId, sel)
	if err != nil {
		return nil, err
	}

	// Stop in time to answer: before the caller's deadline, and after
	// MaxReplayCall at the most.
	stopAt := s.now().Add(MaxReplayCall)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-replayMargin).Before(stopAt) {
		stopAt = dl.Add(-replayMargin)
	}
	work, cancel := context.WithDeadline(ctx, stopAt)
	defer cancel()
	pace := rate.NewLimiter(rate.Limit(r), 1)

	var next uint64 // the first sequence not replayed, when stopped early
	var done uint64 // the last sequence replayed
	_, err = s.scan(work, sel.subject, lo, hi, func(se storedEvent) error {
		if !sel.match(se.event) {
			return nil
		}
		if int(res.EventsMatched) == limit {
			next = se.seq
			return errStopScan
		}
		if !req.GetDryRun() {
			if err := pace.Wait(work); err != nil {
				next = se.seq
				return errStopScan
			}
		}
		res.EventsMatched++
		if err := s.replayOne(work, req.GetDryRun(), res, routes, se); err != nil {
			res.EventsMatched--
			return err
		}
		done = se.seq
		return nil
	})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, s.toStatus(ctx, "replay events", ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		// Out of time mid-read or mid-publish: go on after the last event
		// replayed whole (the deliveries of a half-replayed one are
		// published again with the same Nats-Msg-Id, stored once).
		next = max(lo, done+1)
	default:
		return nil, s.toStatus(ctx, "replay events", err)
	}
	if next != 0 && next <= hi {
		res.NextPageToken = pageToken{Seq: next, Hi: hi, Replay: res.ReplayId, Filter: fh}.encode()
	}
	s.log.InfoContext(ctx, "events replayed", "replay_id", res.ReplayId, "dry_run", res.DryRun,
		"events", res.EventsMatched, "deliveries", res.Deliveries, "more", res.NextPageToken != "")
	return res, nil
}

// replayRoutes compiles what a replay sends events through.
func (s *Server) replayRoutes(ctx context.Context, req *junctionv1.ReplayEventsRequest, replayID string, sel *eventSelector) ([]*router.Compiled, error) {
	switch through := req.GetThrough().(type) {
	case *junctionv1.ReplayEventsRequest_Route:
		id, err := router.RouteID(through.Route)
		if err != nil {
			return nil, invalid("route", "%s", strings.TrimPrefix(err.Error(), router.ErrInvalidRoute.Error()+": "))
		}
		r, err := s.routes.Get(ctx, id)
		if err != nil {
			return nil, s.toStatus(ctx, "replay events", err)
		}
		if r.Enabled != nil && !r.GetEnabled() {
			return nil, status.Errorf(codes.FailedPrecondition, "route %s is disabled: enable it before replaying through it", id)
		}
		c, err := router.Compile(r)
		if err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "route %s does not compile any more: %v", id, err)
		}
		return []*router.Compiled{c}, nil
	case *junctionv1.ReplayEventsRequest_AllRoutes:
		if !through.AllRoutes {
			break
		}
		rs, err := s.routes.List(ctx)
		if err != nil {
			return nil, s.toStatus(ctx, "replay events", err)
		}
		var out []*router.Compiled
		for _, r := range rs {
			if r.Enabled != nil && !r.GetEnabled() {
				continue
			}
			c, err := router.Compile(r)
			if err != nil {
				s.log.WarnContext(ctx, "route skipped by replay: does not compile", "route", r.GetName(), "error", err)
				continue
			}
			out = append(out, c)
		}
		if len(out) == 0 {
			return nil, status.Error(codes.FailedPrecondition, "no enabled route to replay through: create or enable one, or replay into a shadow target")
		}
		return out, nil
	case *junctionv1.ReplayEventsRequest_Shadow:
		t := proto.Clone(through.Shadow).(*junctionv1.Target)
		if t.GetName() == "" {
			t.Name = shadowTargetName
		}
		t.Delay = nil // a replay delivers now
		filter := sel.subject
		if filter == "" {
			filter = topology.EventsFilter("")
		}
		c, err := router.Compile(&junctionv1.Route{
			Name:    router.RouteName(topology.ShadowReplayRouteID(replayID)),
			Filter:  filter,
			Targets: []*junctionv1.Target{t},
		})
		if err != nil {
			return nil, invalid("shadow", "%s", strings.TrimPrefix(strings.Replace(err.Error(), "targets[0]", "target", 1), router.ErrInvalidRoute.Error()+": "))
		}
		return []*router.Compiled{c}, nil
	}
	return nil, invalid("route", "say where the events go: route (\"routes/{id}\"), all_routes true, or a shadow target")
}

// replayOne evaluates one event with every route and publishes (or, in a
// dry run, lists) its deliveries.
func (s *Server) replayOne(ctx context.Context, dryRun bool, res *junctionv1.ReplayEventsResponse, routes []*router.Compiled, se storedEvent) error {
	e := se.event
	for _, c := range routes {
		out, err := c.Evaluate(e)
		if err != nil {
			s.log.WarnContext(ctx, "event skipped by replay", "sequence", se.seq, "error", err)
			return nil
		}
		for _, f := range out.Failures {
			if f.Condition {
				continue // the route does not take the event
			}
			item := replayItem(f.Delivery, e)
			item.Error = "not sent: " + f.Err.Error()
			res.Items = append(res.Items, item)
		}
		for _, d := range out.Deliveries {
			d.ReplayId = res.GetReplayId()
			d.NotBefore = nil // a replay delivers now
			item := replayItem(d, e)
			if !dryRun {
				msg, err := topology.ReplayMsg(d, res.GetReplayId())
				if err == nil {
					err = s.publishDelivery(ctx, d, msg, se.header)
				}
				if err != nil {
					return fmt.Errorf("replay event %s: %w", e.GetId(), err)
				}
			}
			res.Items = append(res.Items, item)
			res.Deliveries++
		}
	}
	return nil
}

func replayItem(d *junctionv1.Delivery, e *junctionv1.Event) *junctionv1.ReplayedDelivery {
	return &junctionv1.ReplayedDelivery{
		EventId:     e.GetId(),
		EventSource: e.GetSource(),
		EventType:   e.GetType(),
		RouteId:     d.GetRouteId(),
		Target:      d.GetTarget(),
		Destination: d.GetDestination(),
		DeliveryId:  d.GetId(),
		TraceId:     e.GetTraceId(),
	}
}
