package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/internal/destination"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/services/router"
)

// Page sizes of ListRoutes.
const (
	// DefaultPageSize is the page size when a request gives none.
	DefaultPageSize = 50
	// MaxPageSize is the largest page; larger requests are cut to it.
	MaxPageSize = 1000
)

// routePrefix starts every route's resource name.
const routePrefix = "routes/"

// testEventID is the id TestRoute gives a sample event without one.
const testEventID = "evt_test"

// CreateRoute stores a new route after compiling it.
func (s *Server) CreateRoute(ctx context.Context, req *junctionv1.CreateRouteRequest) (*junctionv1.CreateRouteResponse, error) {
	if req.GetRouteId() == "" {
		return nil, invalid("route_id", "required: the new route's id, 1 to 63 characters of a-z, 0-9 and '-', starting with a letter")
	}
	id, err := router.RouteID(req.GetRouteId())
	if err != nil {
		return nil, invalid("route_id", "%v", err)
	}
	if req.GetRoute() == nil {
		return nil, invalid("route", "required: the route to create, with at least filter and targets")
	}
	r := proto.Clone(req.GetRoute()).(*junctionv1.Route)
	r.Name = routePrefix + id
	r.Revision = 0
	r.CreateTime, r.UpdateTime = nil, nil
	r.UnservedDestinations = nil
	cat, err := s.checkTargets(ctx, "create route", r)
	if err != nil {
		return nil, err
	}

	if req.GetValidateOnly() {
		c, err := router.Compile(r)
		if err != nil {
			return nil, s.toStatus(ctx, "create route", err)
		}
		if _, err := s.routes.Get(ctx, id); err == nil {
			return nil, alreadyExists(id)
		} else if !errors.Is(err, router.ErrNotFound) {
			return nil, s.toStatus(ctx, "create route", err)
		}
		out := preview(c.Route)
		s.markUnserved(ctx, cat, out)
		return &junctionv1.CreateRouteResponse{Route: out}, nil
	}
	created, err := s.routes.Create(ctx, id, r)
	if errors.Is(err, router.ErrAlreadyExists) {
		return nil, alreadyExists(id)
	}
	if err != nil {
		return nil, s.toStatus(ctx, "create route", err)
	}
	s.markUnserved(ctx, cat, created)
	return &junctionv1.CreateRouteResponse{Route: created}, nil
}

// GetRoute returns one stored route.
func (s *Server) GetRoute(ctx context.Context, req *junctionv1.GetRouteRequest) (*junctionv1.GetRouteResponse, error) {
	id, err := parseRouteName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.getRoute(ctx, id)
	if err != nil {
		return nil, err
	}
	s.markUnserved(ctx, nil, r)
	return &junctionv1.GetRouteResponse{Route: r}, nil
}

// ListRoutes returns stored routes in id order, a page at a time. The page
// token is the base64 of the last id of the previous page, so a page stays
// correct when routes are added or removed between calls.
func (s *Server) ListRoutes(ctx context.Context, req *junctionv1.ListRoutesRequest) (*junctionv1.ListRoutesResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after := ""
	if tok := req.GetPageToken(); tok != "" {
		if after, err = decodePageToken(tok); err != nil {
			return nil, err
		}
	}
	all, err := s.routes.List(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "list routes", err)
	}
	resp := &junctionv1.ListRoutesResponse{}
	for _, r := range all {
		id := strings.TrimPrefix(r.GetName(), routePrefix)
		if after != "" && id <= after {
			continue
		}
		if len(resp.Routes) == size {
			last := strings.TrimPrefix(resp.Routes[size-1].GetName(), routePrefix)
			resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		resp.Routes = append(resp.Routes, r)
	}
	s.fillStatus(ctx, resp.Routes...)
	s.markUnserved(ctx, nil, resp.Routes...)
	return resp, nil
}

// pageSize is a list call's page_size: DefaultPageSize for 0, at most
// MaxPageSize, InvalidArgument when negative.
func pageSize(n int32) (int, error) {
	size := int(n)
	switch {
	case size < 0:
		return 0, invalid("page_size", "%d is negative: give 1 to %d, or 0 for %d", size, MaxPageSize, DefaultPageSize)
	case size == 0:
		return DefaultPageSize, nil
	}
	return min(size, MaxPageSize), nil
}

func decodePageToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		var id string
		if id, err = router.RouteID(string(b)); err == nil && id == string(b) {
			return id, nil
		}
	}
	return "", invalid("page_token", "%q is not a next_page_token of ListRoutes: pass one unchanged, or none for the first page", tok)
}

// UpdateRoute changes the fields named by update_mask (every mutable field
// when it is empty), atomically against the revision it read. With
// allow_missing a route that does not exist is created from the request.
func (s *Server) UpdateRoute(ctx context.Context, req *junctionv1.UpdateRouteRequest) (*junctionv1.UpdateRouteResponse, error) {
	in := req.GetRoute()
	if in == nil {
		return nil, invalid("route", "required: the route with its name set to \"routes/{route_id}\"")
	}
	id, err := parseRouteName("route.name", in.GetName())
	if err != nil {
		return nil, err
	}
	paths, err := maskPaths(req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	cur, err := s.routes.Get(ctx, id)
	switch {
	case errors.Is(err, router.ErrNotFound):
		return s.createMissing(ctx, id, req)
	case err != nil:
		return nil, s.toStatus(ctx, "update route", err)
	}
	if in.GetRevision() != 0 && in.GetRevision() != cur.GetRevision() {
		return nil, staleRevision(id, cur.GetRevision(), in.GetRevision())
	}
	merged := proto.Clone(cur).(*junctionv1.Route)
	applyMask(merged, in, paths)
	cat, err := s.checkChangedTargets(ctx, cur, merged)
	if err != nil {
		return nil, err
	}

	if req.GetValidateOnly() {
		c, err := router.Compile(merged)
		if err != nil {
			return nil, s.toStatus(ctx, "update route", err)
		}
		out := preview(c.Route)
		s.markUnserved(ctx, cat, out)
		return &junctionv1.UpdateRouteResponse{Route: out}, nil
	}
	updated, err := s.routes.Update(ctx, merged, cur.GetRevision())
	switch {
	case errors.Is(err, router.ErrNotFound):
		return nil, status.Errorf(codes.Aborted, "route %s was deleted while it was being updated: get it again and reapply", id)
	case err != nil:
		return nil, s.toStatus(ctx, "update route", err)
	}
	s.markUnserved(ctx, cat, updated)
	return &junctionv1.UpdateRouteResponse{Route: updated}, nil
}

// createMissing is UpdateRoute of a route that does not exist.
func (s *Server) createMissing(ctx context.Context, id string, req *junctionv1.UpdateRouteRequest) (*junctionv1.UpdateRouteResponse, error) {
	if !req.GetAllowMissing() {
		return nil, status.Errorf(codes.NotFound, "route %s not found: create it, or pass allow_missing to create it with this call", id)
	}
	if rev := req.GetRoute().GetRevision(); rev != 0 {
		return nil, status.Errorf(codes.Aborted, "route %s does not exist, so it is not at revision %d: get it again and reapply", id, rev)
	}
	r := proto.Clone(req.GetRoute()).(*junctionv1.Route)
	r.Name = routePrefix + id
	r.CreateTime, r.UpdateTime = nil, nil
	r.UnservedDestinations = nil
	cat, err := s.checkTargets(ctx, "update route", r)
	if err != nil {
		return nil, err
	}
	if req.GetValidateOnly() {
		c, err := router.Compile(r)
		if err != nil {
			return nil, s.toStatus(ctx, "update route", err)
		}
		out := preview(c.Route)
		s.markUnserved(ctx, cat, out)
		return &junctionv1.UpdateRouteResponse{Route: out}, nil
	}
	created, err := s.routes.Create(ctx, id, r)
	switch {
	case errors.Is(err, router.ErrAlreadyExists):
		return nil, status.Errorf(codes.Aborted, "route %s was created by another call at the same time: get it and reapply", id)
	case err != nil:
		return nil, s.toStatus(ctx, "update route", err)
	}
	s.markUnserved(ctx, cat, created)
	return &junctionv1.UpdateRouteResponse{Route: created}, nil
}

// DeleteRoute removes a route, at the given revision when it is non-zero.
func (s *Server) DeleteRoute(ctx context.Context, req *junctionv1.DeleteRouteRequest) (*junctionv1.DeleteRouteResponse, error) {
	id, err := parseRouteName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	err = s.routes.Delete(ctx, id, req.GetRevision())
	switch {
	case errors.Is(err, router.ErrNotFound):
		if req.GetAllowMissing() {
			return &junctionv1.DeleteRouteResponse{}, nil
		}
		return nil, notFound(id)
	case err != nil:
		return nil, s.toStatus(ctx, "delete route", err)
	}
	return &junctionv1.DeleteRouteResponse{}, nil
}

// TestRoute evaluates a stored or inline route against a sample event.
// Nothing is stored or published.
func (s *Server) TestRoute(ctx context.Context, req *junctionv1.TestRouteRequest) (*junctionv1.TestRouteResponse, error) {
	if req.GetEvent() == nil {
		return nil, invalid("event", "required: the sample event, with source and type")
	}
	var (
		c   *router.Compiled
		cat *destination.Catalog
	)
	switch src := req.GetRouteSource().(type) {
	case *junctionv1.TestRouteRequest_Name:
		id, err := parseRouteName("name", src.Name)
		if err != nil {
			return nil, err
		}
		r, err := s.getRoute(ctx, id)
		if err != nil {
			return nil, err
		}
		if c, err = router.Compile(r); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "stored route %s does not compile, fix it with UpdateRoute: %v", id, err)
		}
		if cat, err = s.checkStoredTargets(ctx, id, r); err != nil {
			return nil, err
		}
	case *junctionv1.TestRouteRequest_Route:
		if src.Route == nil {
			return nil, invalid("route", "empty: give the route inline, or the name of a stored route")
		}
		var err error
		if c, err = router.Compile(src.Route); err != nil {
			return nil, s.toStatus(ctx, "test route", err)
		}
		if cat, err = s.checkTargets(ctx, "test route", src.Route); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("name", "required: the name of a stored route (\"routes/{route_id}\"), or an inline route")
	}

	e := proto.Clone(req.GetEvent()).(*junctionv1.Event)
	if err := checkSampleEvent(e); err != nil {
		return nil, err
	}
	if e.Id == "" {
		e.Id = testEventID
	}
	if e.Time == nil {
		e.Time = timestamppb.New(s.now())
	}
	res, err := c.Evaluate(e)
	resp := &junctionv1.TestRouteResponse{
		FilterMatched:    res.FilterMatched,
		ConditionMatched: res.ConditionMatched,
		Deliveries:       res.Deliveries,
		Reason:           res.Reason,
		// What the route names, matched or not: a test is often the
		// first look at a new route.
		UnservedDestinations: cat.Unserved(c.Route),
	}
	if err != nil && resp.Reason == "" {
		resp.Reason = err.Error()
	}
	if !c.Enabled() {
		resp.Reason = strings.TrimSuffix("route is disabled: nothing is delivered until it is enabled; "+resp.Reason, "; ")
	}
	return resp, nil
}

func checkSampleEvent(e *junctionv1.Event) error {
	if e.GetSource() == "" {
		return invalid("event.source", "required: the app the event comes from, e.g. \"acme\"")
	}
	if err := topology.ValidToken(e.GetSource()); err != nil {
		return invalid("event.source", "%v", err)
	}
	if e.GetType() == "" {
		return invalid("event.type", "required: what happened, e.g. \"user.created\"")
	}
	if err := topology.ValidType(e.GetType()); err != nil {
		return invalid("event.type", "%v", err)
	}
	return nil
}

func (s *Server) getRoute(ctx context.Context, id string) (*junctionv1.Route, error) {
	r, err := s.routes.Get(ctx, id)
	switch {
	case errors.Is(err, router.ErrNotFound):
		return nil, notFound(id)
	case err != nil:
		return nil, s.toStatus(ctx, "get route", err)
	}
	s.fillStatus(ctx, r)
	return r, nil
}

// parseRouteName returns the id of "routes/{route_id}" (a bare id is taken
// too), or InvalidArgument naming field.
func parseRouteName(field, name string) (string, error) {
	if name == "" {
		return "", invalid(field, "required: the route's resource name, \"routes/{route_id}\"")
	}
	id, err := router.RouteID(name)
	if err != nil {
		return "", invalid(field, "%v", err)
	}
	return id, nil
}

// preview is what a validate_only call returns: the checked route as it
// would be stored, without the times the store would set.
func preview(r *junctionv1.Route) *junctionv1.Route {
	r = proto.Clone(r).(*junctionv1.Route)
	if r.Enabled == nil {
		r.Enabled = proto.Bool(true)
	}
	return r
}

func notFound(id string) error {
	return status.Errorf(codes.NotFound, "route %s not found: check the name with ListRoutes", id)
}

func alreadyExists(id string) error {
	return status.Errorf(codes.AlreadyExists, "route %s already exists: choose another id, or change it with UpdateRoute", id)
}

func staleRevision(id string, current, given uint64) error {
	return status.Errorf(codes.Aborted, "route %s is at revision %d, not %d: get it again and reapply", id, current, given)
}

// Update mask handling (AIP-134).

var (
	routeDesc  = (&junctionv1.Route{}).ProtoReflect().Descriptor()
	policyDesc = (&junctionv1.DeliveryPolicy{}).ProtoReflect().Descriptor()
)

// mutableRouteFields are the Route fields an update may change, in the
// order an empty mask replaces them.
var mutableRouteFields = []protoreflect.Name{"description", "filter", "condition", "targets", "policy", "enabled"}

// ignoredRouteFields may appear in a mask (a route read, edited and sent
// back names them) but are not changed by it: the name identifies the route,
// revision is checked, not written, and the times and unserved
// destinations are output only.
var ignoredRouteFields = map[protoreflect.Name]bool{"name": true, "revision": true, "create_time": true, "update_time": true, "unserved_destinations": true}

// maskPaths checks mask and returns its paths in proto field names (JSON
// names are accepted too). An empty mask or "*" means every mutable field.
func maskPaths(mask *fieldmaskpb.FieldMask) ([]string, error) {
	if len(mask.GetPaths()) == 0 {
		return allMutable(), nil
	}
	var out []string
	for _, p := range mask.GetPaths() {
		p = strings.TrimSpace(p)
		if p == "*" {
			return allMutable(), nil
		}
		norm, ok := normalizePath(p)
		if !ok {
			return nil, invalid("update_mask", "unknown path %q: use description, filter, condition, targets, policy, policy.<field> (e.g. policy.max_attempts) or enabled, or leave the mask empty to replace them all", p)
		}
		if norm != "" {
			out = append(out, norm)
		}
	}
	return out, nil
}

func allMutable() []string {
	out := make([]string, len(mutableRouteFields))
	for i, f := range mutableRouteFields {
		out[i] = string(f)
	}
	return out
}

// normalizePath returns p in proto names, "" for a path to ignore, and
// false for a path that is not updatable.
func normalizePath(p string) (string, bool) {
	head, rest, nested := strings.Cut(p, ".")
	fd := fieldByName(routeDesc, head)
	if fd == nil {
		return "", false
	}
	if ignoredRouteFields[fd.Name()] && !nested {
		return "", true
	}
	if !nested {
		return string(fd.Name()), isMutable(fd.Name())
	}
	if fd.Name() != "policy" {
		return "", false
	}
	sub := fieldByName(policyDesc, rest)
	if sub == nil {
		return "", false
	}
	return "policy." + string(sub.Name()), true
}

func isMutable(n protoreflect.Name) bool {
	for _, f := range mutableRouteFields {
		if f == n {
			return true
		}
	}
	return false
}

func fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByName(protoreflect.Name(name)); fd != nil {
		return fd
	}
	return md.Fields().ByJSONName(name)
}

// applyMask copies the fields named by paths from src to dst: set when src
// has them, cleared when it does not.
func applyMask(dst, src *junctionv1.Route, paths []string) {
	src = proto.Clone(src).(*junctionv1.Route)
	for _, p := range paths {
		if sub, ok := strings.CutPrefix(p, "policy."); ok {
			if dst.Policy == nil {
				dst.Policy = &junctionv1.DeliveryPolicy{}
			}
			copyField(dst.Policy.ProtoReflect(), src.GetPolicy().ProtoReflect(), policyDesc.Fields().ByName(protoreflect.Name(sub)))
			continue
		}
		copyField(dst.ProtoReflect(), src.ProtoReflect(), routeDesc.Fields().ByName(protoreflect.Name(p)))
	}
}

func copyField(dst, src protoreflect.Message, fd protoreflect.FieldDescriptor) {
	if src.IsValid() && src.Has(fd) {
		dst.Set(fd, src.Get(fd))
		return
	}
	dst.Clear(fd)
}

// statusFiller is the optional part of a routeStore that fills in the
// router's report on each route (router.Store has it).
type statusFiller interface {
	FillStatus(ctx context.Context, routes ...*junctionv1.Route) error
}

// fillStatus sets the router's report on routes, when the store has them.
// A route whose status cannot be read is shown without one.
func (s *Server) fillStatus(ctx context.Context, routes ...*junctionv1.Route) {
	f, ok := s.routes.(statusFiller)
	if !ok || len(routes) == 0 {
		return
	}
	if err := f.FillStatus(ctx, routes...); err != nil {
		s.log.WarnContext(ctx, "read route status failed", "routes", len(routes), "error", err)
	}
}
