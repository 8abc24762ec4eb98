package gateway

import (
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/internal/destination"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// checkTargets reads what the hub knows of destinations and checks r's
// target configs against their schemas (destination.Catalog.Check, the one
// schema check of every route the gateway saves or tests). A config that
// breaks its schema is InvalidArgument naming the target and key. The
// catalog is returned for markUnserved. The route is compiled first, so
// that what is wrong with the route itself (a filter, a CEL expression)
// is reported before its target configs.
func (s *Server) checkTargets(ctx context.Context, op string, r *junctionv1.Route) (*destination.Catalog, error) {
	if _, err := router.Compile(r); err != nil {
		return nil, s.toStatus(ctx, op, err)
	}
	cat, err := destination.Read(ctx, s.adapters, s.now())
	if err != nil {
		return nil, s.toStatus(ctx, op, err)
	}
	if err := cat.Check(r); err != nil {
		return nil, s.toStatus(ctx, op, err)
	}
	return cat, nil
}

// checkChangedTargets is checkTargets of an update from cur to next, which
// leaves out the target configs when the update does not change the
// targets: a route saved before its destination declared a stricter
// schema can still be disabled or described without fixing them first
// (TestRoute reports them).
func (s *Server) checkChangedTargets(ctx context.Context, cur, next *junctionv1.Route) (*destination.Catalog, error) {
	if !slices.EqualFunc(cur.GetTargets(), next.GetTargets(), func(a, b *junctionv1.Target) bool { return proto.Equal(a, b) }) {
		return s.checkTargets(ctx, "update route", next)
	}
	if _, err := router.Compile(next); err != nil {
		return nil, s.toStatus(ctx, "update route", err)
	}
	cat, err := destination.Read(ctx, s.adapters, s.now())
	if err != nil {
		return nil, s.toStatus(ctx, "update route", err)
	}
	return cat, nil
}

// checkStoredTargets is checkTargets of a stored route a call uses (a
// test): a config that breaks its schema now is FailedPrecondition, since
// the route must be fixed first.
func (s *Server) checkStoredTargets(ctx context.Context, id string, r *junctionv1.Route) (*destination.Catalog, error) {
	cat, err := destination.Read(ctx, s.adapters, s.now())
	if err != nil {
		return nil, s.toStatus(ctx, "test route", err)
	}
	if err := cat.Check(r); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "stored route %s cannot deliver, fix it with UpdateRoute: %v", id, err)
	}
	return cat, nil
}

// markUnserved sets each route's unserved_destinations from cat, reading
// the catalog when cat is nil. A catalog that cannot be read leaves the
// routes without the field, logged: the answer is still right about the
// routes themselves.
func (s *Server) markUnserved(ctx context.Context, cat *destination.Catalog, routes ...*junctionv1.Route) {
	if len(routes) == 0 {
		return
	}
	if cat == nil {
		var err error
		if cat, err = destination.Read(ctx, s.adapters, s.now()); err != nil {
			s.log.WarnContext(ctx, "read adapter registrations failed", "routes", len(routes), "error", err)
			return
		}
	}
	for _, r := range routes {
		if r != nil {
			r.UnservedDestinations = cat.Unserved(r)
		}
	}
}
