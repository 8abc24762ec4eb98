package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"

	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeGateway is an in-memory RouteService and EventService on a real gRPC
// server, close enough to the gateway's contract for the CLI's tests: it
// fills the defaults the route store fills (enabled, target names), checks
// revisions and pages with page tokens.
type fakeGateway struct {
	junctionv1grpc.UnimplementedRouteServiceServer
	junctionv1grpc.UnimplementedEventServiceServer

	addr string

	mu        sync.Mutex
	routes    map[string]*junctionv1.Route
	rev       uint64
	writes    int            // stored creates, updates and deletes
	calls     map[string]int // calls per method
	pageSize  int            // page size when the request has none
	createErr error          // returned by CreateRoute when set
	updateErr error          // returned by UpdateRoute when set
	lastTest  *junctionv1.TestRouteRequest
	lastPages []int32 // page_size of each ListRoutes request
	events    map[string]*junctionv1.Event
	seqs      map[string]uint64
	seq       uint64
}

// newFakeGateway starts a fake gateway on a random 127.0.0.1 port.
func newFakeGateway(t *testing.T) *fakeGateway {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return serveFakeGateway(t, lis)
}

// serveFakeGateway serves a fake gateway on lis until the test ends.
func serveFakeGateway(t *testing.T, lis net.Listener) *fakeGateway {
	t.Helper()
	f := &fakeGateway{
		routes:   map[string]*junctionv1.Route{},
		calls:    map[string]int{},
		pageSize: 50,
		events:   map[string]*junctionv1.Event{},
		seqs:     map[string]uint64{},
	}
	g := grpc.NewServer()
	junctionv1grpc.RegisterRouteServiceServer(g, f)
	junctionv1grpc.RegisterEventServiceServer(g, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(lis)
	}()
	t.Cleanup(func() {
		g.Stop()
		<-done
	})
	f.addr = lis.Addr().String()
	return f
}

// count records a call.
func (f *fakeGateway) count(method string) {
	f.calls[method]++
}

// route returns a copy of a stored route, or nil.
func (f *fakeGateway) route(id string) *junctionv1.Route {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.routes[id]
	if !ok {
		return nil
	}
	return proto.Clone(r).(*junctionv1.Route)
}

// snapshot returns the number of stored routes and writes.
func (f *fakeGateway) snapshot() (routes, writes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.routes), f.writes
}

// put stores a route directly, as if created earlier.
func (f *fakeGateway) put(id string, r *junctionv1.Route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.store(id, proto.Clone(r).(*junctionv1.Route), nil)
}

// store fills the stored fields and keeps r. Callers hold mu.
func (f *fakeGateway) store(id string, r *junctionv1.Route, prev *junctionv1.Route) *junctionv1.Route {
	f.rev++
	r.Name = routePrefix + id
	r.Revision = f.rev
	if r.Enabled == nil {
		r.Enabled = proto.Bool(true)
	}
	for i, t := range r.Targets {
		if t.Name == "" {
			t.Name = strconv.Itoa(i)
		}
	}
	now := timestamppb.Now()
	r.CreateTime, r.UpdateTime = now, now
	if prev != nil {
		r.CreateTime = prev.CreateTime
	}
	f.routes[id] = r
	return proto.Clone(r).(*junctionv1.Route)
}

// check is the fake's validation: a filter and a target are required.
func check(r *junctionv1.Route) error {
	if r.GetFilter() == "" {
		return status.Error(codes.InvalidArgument, "filter: required: give a subject pattern such as acme.user.created")
	}
	if len(r.GetTargets()) == 0 {
		return status.Error(codes.InvalidArgument, "targets: at least one target is required")
	}
	return nil
}

func (f *fakeGateway) CreateRoute(_ context.Context, req *junctionv1.CreateRouteRequest) (*junctionv1.CreateRouteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("CreateRoute")
	if f.createErr != nil {
		return nil, f.createErr
	}
	if !routeIDPattern.MatchString(req.GetRouteId()) {
		return nil, status.Errorf(codes.InvalidArgument, "route_id %q is not valid", req.GetRouteId())
	}
	if err := check(req.GetRoute()); err != nil {
		return nil, err
	}
	if _, ok := f.routes[req.GetRouteId()]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "route %s already exists", req.GetRouteId())
	}
	r := proto.Clone(req.GetRoute()).(*junctionv1.Route)
	if req.GetValidateOnly() {
		r.Name = routePrefix + req.GetRouteId()
		return &junctionv1.CreateRouteResponse{Route: r}, nil
	}
	f.writes++
	return &junctionv1.CreateRouteResponse{Route: f.store(req.GetRouteId(), r, nil)}, nil
}

func (f *fakeGateway) GetRoute(_ context.Context, req *junctionv1.GetRouteRequest) (*junctionv1.GetRouteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("GetRoute")
	id := strings.TrimPrefix(req.GetName(), routePrefix)
	r, ok := f.routes[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "route %s not found", id)
	}
	return &junctionv1.GetRouteResponse{Route: proto.Clone(r).(*junctionv1.Route)}, nil
}

func (f *fakeGateway) ListRoutes(_ context.Context, req *junctionv1.ListRoutesRequest) (*junctionv1.ListRoutesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("ListRoutes")
	f.lastPages = append(f.lastPages, req.GetPageSize())
	size := int(req.GetPageSize())
	if size == 0 {
		size = f.pageSize
	}
	ids := make([]string, 0, len(f.routes))
	for id := range f.routes {
		if id > req.GetPageToken() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	resp := &junctionv1.ListRoutesResponse{}
	for i, id := range ids {
		if i == size {
			resp.NextPageToken = ids[i-1]
			break
		}
		resp.Routes = append(resp.Routes, proto.Clone(f.routes[id]).(*junctionv1.Route))
	}
	return resp, nil
}

func (f *fakeGateway) UpdateRoute(_ context.Context, req *junctionv1.UpdateRouteRequest) (*junctionv1.UpdateRouteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("UpdateRoute")
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	id := strings.TrimPrefix(req.GetRoute().GetName(), routePrefix)
	prev, ok := f.routes[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "route %s not found", id)
	}
	if rev := req.GetRoute().GetRevision(); rev != 0 && rev != prev.Revision {
		return nil, status.Errorf(codes.Aborted, "route %s is at revision %d, not %d: get it again and reapply", id, prev.Revision, rev)
	}
	if err := check(req.GetRoute()); err != nil {
		return nil, err
	}
	r := proto.Clone(req.GetRoute()).(*junctionv1.Route)
	if req.GetValidateOnly() {
		return &junctionv1.UpdateRouteResponse{Route: r}, nil
	}
	f.writes++
	return &junctionv1.UpdateRouteResponse{Route: f.store(id, r, prev)}, nil
}

func (f *fakeGateway) DeleteRoute(_ context.Context, req *junctionv1.DeleteRouteRequest) (*junctionv1.DeleteRouteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DeleteRoute")
	id := strings.TrimPrefix(req.GetName(), routePrefix)
	prev, ok := f.routes[id]
	switch {
	case !ok && req.GetAllowMissing():
		return &junctionv1.DeleteRouteResponse{}, nil
	case !ok:
		return nil, status.Errorf(codes.NotFound, "route %s not found", id)
	case req.GetRevision() != 0 && req.GetRevision() != prev.Revision:
		return nil, status.Errorf(codes.Aborted, "route %s is at revision %d, not %d: get it again and reapply", id, prev.Revision, req.GetRevision())
	}
	delete(f.routes, id)
	f.writes++
	return &junctionv1.DeleteRouteResponse{}, nil
}

// TestRoute answers with one delivery per target carrying the event's data
// when the filter is the event's "<source>.<type>" or ends in ">".
func (f *fakeGateway) TestRoute(_ context.Context, req *junctionv1.TestRouteRequest) (*junctionv1.TestRouteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("TestRoute")
	f.lastTest = proto.Clone(req).(*junctionv1.TestRouteRequest)
	r := req.GetRoute()
	if name := req.GetName(); name != "" {
		stored, ok := f.routes[strings.TrimPrefix(name, routePrefix)]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "route %s not found", name)
		}
		r = stored
	}
	e := req.GetEvent()
	subject := e.GetSource() + "." + e.GetType()
	resp := &junctionv1.TestRouteResponse{}
	if r.GetFilter() != subject && !strings.HasSuffix(r.GetFilter(), ">") {
		resp.Reason = fmt.Sprintf("subject %s does not match filter %s", subject, r.GetFilter())
		return resp, nil
	}
	resp.FilterMatched, resp.ConditionMatched = true, true
	for i, t := range r.GetTargets() {
		resp.Deliveries = append(resp.Deliveries, &junctionv1.Delivery{
			Id:          fmt.Sprintf("dlv_%d", i),
			EventId:     e.GetId(),
			RouteId:     strings.TrimPrefix(r.GetName(), routePrefix),
			Target:      t.GetName(),
			Destination: t.GetDestination(),
			Action:      t.GetAction(),
			Config:      t.GetConfig(),
			Payload:     e.GetData(),
			ContentType: e.GetDataContentType(),
		})
	}
	return resp, nil
}

func (f *fakeGateway) PublishEvent(_ context.Context, req *junctionv1.PublishEventRequest) (*junctionv1.PublishEventResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("PublishEvent")
	e := proto.Clone(req.GetEvent()).(*junctionv1.Event)
	if e.GetSource() == "" || e.GetType() == "" {
		return nil, status.Error(codes.InvalidArgument, "event source and type are required")
	}
	if e.Id == "" {
		e.Id = fmt.Sprintf("evt_%d", f.seq+1)
	}
	key := e.Source + "/" + e.Id
	if stored, ok := f.events[key]; ok {
		return &junctionv1.PublishEventResponse{Event: proto.Clone(stored).(*junctionv1.Event), Duplicate: true, Sequence: f.seqs[key]}, nil
	}
	f.seq++
	e.ReceiveTime = timestamppb.Now()
	if e.Time == nil {
		e.Time = e.ReceiveTime
	}
	f.events[key] = e
	f.seqs[key] = f.seq
	return &junctionv1.PublishEventResponse{Event: proto.Clone(e).(*junctionv1.Event), Sequence: f.seq}, nil
}

func (f *fakeGateway) GetEvent(_ context.Context, req *junctionv1.GetEventRequest) (*junctionv1.GetEventResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("GetEvent")
	id := strings.TrimPrefix(req.GetName(), "events/")
	var found []string
	for key := range f.events {
		src, eid, _ := strings.Cut(key, "/")
		if eid == id && (req.GetSource() == "" || req.GetSource() == src) {
			found = append(found, key)
		}
	}
	switch len(found) {
	case 0:
		return nil, status.Errorf(codes.NotFound, "event %s not found", id)
	case 1:
		return &junctionv1.GetEventResponse{Event: proto.Clone(f.events[found[0]]).(*junctionv1.Event), Sequence: f.seqs[found[0]]}, nil
	default:
		sort.Strings(found)
		return nil, status.Errorf(codes.FailedPrecondition, "id %s exists in sources %s: pass source", id, strings.Join(found, ", "))
	}
}

// run executes the junction command line with args against addr (unless
// addr is empty) and returns what it printed.
func run(t *testing.T, addr, stdin string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "junction", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(Commands()...)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	if addr != "" {
		args = append(args, "--server", addr)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}
