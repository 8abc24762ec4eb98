package router

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// statuses hands route status changes from the workers to the goroutine
// that writes them to topology.RouteStatusBucket. Changes to one route
// coalesce, so a report never blocks an event.
type statuses struct {
	mu      sync.Mutex
	pending map[string]*junctionv1.RouteStatus
	wake    chan struct{}
}

func newStatuses() *statuses {
	return &statuses{pending: map[string]*junctionv1.RouteStatus{}, wake: make(chan struct{}, 1)}
}

// report queues st as the status of c.
func (s *statuses) report(c *Compiled, st *junctionv1.RouteStatus) {
	if c.ID == "" {
		return
	}
	st.RouteRevision = c.Route.GetRevision()
	s.mu.Lock()
	s.pending[c.ID] = st
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *statuses) take() map[string]*junctionv1.RouteStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	s.pending = map[string]*junctionv1.RouteStatus{}
	return p
}

// writeStatuses stores queued statuses until ctx is done. A failed write
// is logged and tried again with the next change.
func (r *Router) writeStatuses(ctx context.Context, kv jetstream.KeyValue) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.status.wake:
		}
		for id, st := range r.status.take() {
			b, err := proto.Marshal(st)
			if err == nil {
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err = kv.Put(wctx, id, b)
				cancel()
			}
			if err != nil {
				r.log.Warn("store route status failed", "route", id, "state", st.GetState().String(), "error", err)
				continue
			}
			if st.GetState() == junctionv1.RouteStatus_STATE_DEGRADED {
				r.log.Warn("route degraded", "route", id, "revision", st.GetRouteRevision(), "reason", st.GetReason())
			} else {
				r.log.Info("route healthy again", "route", id, "revision", st.GetRouteRevision(), "reason", st.GetReason())
			}
		}
	}
}

// restoreStatuses carries the degradations stored for the routes' current
// revisions over to routes (another replica's, or this router's before a
// restart), and marks healthy the stored ones that no longer hold.
func (r *Router) restoreStatuses(ctx context.Context, kv jetstream.KeyValue, routes map[string]*Compiled) {
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		r.log.Warn("read route statuses failed", "error", err)
		return
	}
	now := time.Now()
	for id := range keys.Keys() {
		st, err := readStatus(ctx, kv, id)
		if err != nil || st.GetState() != junctionv1.RouteStatus_STATE_DEGRADED {
			continue
		}
		c, ok := routes[id]
		switch {
		case !ok:
			_ = kv.Delete(ctx, id)
		case st.GetRouteRevision() == c.Route.GetRevision() && now.Before(st.GetRetryTime().AsTime()):
			r.budget.restore(c, st.GetReason(), st.GetSince().AsTime(), st.GetRetryTime().AsTime())
		default:
			r.status.report(c, &junctionv1.RouteStatus{State: junctionv1.RouteStatus_STATE_HEALTHY, Reason: "cooldown over or route saved again: evaluated again"})
		}
	}
}

func readStatus(ctx context.Context, kv jetstream.KeyValue, id string) (*junctionv1.RouteStatus, error) {
	e, err := kv.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	st := &junctionv1.RouteStatus{}
	if err := proto.Unmarshal(e.Value(), st); err != nil {
		return nil, err
	}
	return st, nil
}

// FillStatus sets the Status of each route to the router's report on its
// revision, when there is one. Reports on other revisions are left out:
// the route was saved since, which ends a degradation. Without the status
// bucket (a hub older than it) routes are left as they are.
func (s *Store) FillStatus(ctx context.Context, routes ...*junctionv1.Route) error {
	if s.status == nil {
		return nil
	}
	for _, rt := range routes {
		id, err := RouteID(rt.GetName())
		if err != nil {
			continue
		}
		st, err := readStatus(ctx, s.status, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if st.GetRouteRevision() == rt.GetRevision() {
			rt.Status = st
		}
	}
	return nil
}
