package router

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Store keeps routes in the topology.RoutesBucket key-value bucket: key =
// route id, value = the route as protojson. A route's revision is the KV
// revision of its entry; it is filled into Route.Revision on every read
// and not stored. Every write compiles the route first and stores nothing
// when it is invalid. A Store is safe for concurrent use.
type Store struct {
	kv jetstream.KeyValue
	// status is the route status bucket; nil on a hub without one.
	status jetstream.KeyValue
}

// NewStore opens the routes bucket, which topology.Ensure creates.
func NewStore(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	kv, err := js.KeyValue(ctx, topology.RoutesBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s (created by topology.Ensure): %w", topology.RoutesBucket, err)
	}
	st, err := js.KeyValue(ctx, topology.RouteStatusBucket)
	if err != nil {
		st = nil // statuses are not reported then
	}
	return &Store{kv: kv, status: st}, nil
}

// Get returns the route with id, ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (*junctionv1.Route, error) {
	id, err := RouteID(id)
	if err != nil {
		return nil, err
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: route %s does not exist", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get route %s: %w", id, err)
	}
	return decodeEntry(e)
}

// List returns every route, sorted by id. Stored values that do not
// decode are skipped.
func (s *Store) List(ctx context.Context) ([]*junctionv1.Route, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	defer w.Stop()
	var routes []*junctionv1.Route
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list routes: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("list routes: watcher stopped")
			}
			if e == nil {
				sort.Slice(routes, func(i, j int) bool { return routes[i].GetName() < routes[j].GetName() })
				return routes, nil
			}
			if r, err := decodeEntry(e); err == nil {
				routes = append(routes, r)
			}
		}
	}
}

// Create stores r as a new route with id. It sets the name, the create and
// update times and enabled (true when unset), and returns the stored route
// with its revision. ErrAlreadyExists when the id is taken, ErrInvalidRoute
// when r does not compile.
func (s *Store) Create(ctx context.Context, id string, r *junctionv1.Route) (*junctionv1.Route, error) {
	id, err := RouteID(id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("%w: route is required", ErrInvalidRoute)
	}
	r = proto.Clone(r).(*junctionv1.Route)
	r.Name = RouteName(id)
	now := timestamppb.New(time.Now())
	r.CreateTime, r.UpdateTime = now, now
	out, value, err := compileForStore(r)
	if err != nil {
		return nil, err
	}
	rev, err := s.kv.Create(ctx, id, value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("%w: route %s already exists: update it or choose another id", ErrAlreadyExists, id)
	}
	if err != nil {
		return nil, fmt.Errorf("create route %s: %w", id, err)
	}
	out.Revision = rev
	return out, nil
}

// Update replaces the stored route named r.Name with r, keeping its create
// time, setting its update time and enabled (true when unset). With
// expectRevision non-zero it fails with ErrRevisionMismatch unless that is
// the stored revision; with zero it applies to the current revision, and
// still fails with ErrRevisionMismatch if another write lands between its
// read and its write. ErrNotFound when there is no such route,
// ErrInvalidRoute when r does not compile.
func (s *Store) Update(ctx context.Context, r *junctionv1.Route, expectRevision uint64) (*junctionv1.Route, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: route is required", ErrInvalidRoute)
	}
	if r.GetName() == "" {
		return nil, fmt.Errorf("%w: name: required, \"routes/{id}\"", ErrInvalidRoute)
	}
	id, err := RouteID(r.GetName())
	if err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if expectRevision != 0 && expectRevision != cur.GetRevision() {
		return nil, mismatch(id, cur.GetRevision(), expectRevision)
	}
	r = proto.Clone(r).(*junctionv1.Route)
	r.Name = RouteName(id)
	r.CreateTime = cur.GetCreateTime()
	r.UpdateTime = timestamppb.New(time.Now())
	out, value, err := compileForStore(r)
	if err != nil {
		return nil, err
	}
	rev, err := s.kv.Update(ctx, id, value, cur.GetRevision())
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return nil, s.conflict(ctx, id, cur.GetRevision())
	}
	if err != nil {
		return nil, fmt.Errorf("update route %s: %w", id, err)
	}
	out.Revision = rev
	return out, nil
}

// Delete removes the route with id. With expectRevision non-zero it fails
// with ErrRevisionMismatch unless that is the stored revision. ErrNotFound
// when there is no such route.
func (s *Store) Delete(ctx context.Context, id string, expectRevision uint64) error {
	id, err := RouteID(id)
	if err != nil {
		return err
	}
	// The raw entry, not Get: a value written into the bucket that does
	// not decode (corrupt, or by a newer version) must still be deletable
	// through the API.
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%w: route %s does not exist", ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("get route %s: %w", id, err)
	}
	if expectRevision != 0 && expectRevision != e.Revision() {
		return mismatch(id, e.Revision(), expectRevision)
	}
	err = s.kv.Delete(ctx, id, jetstream.LastRevision(e.Revision()))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return s.conflict(ctx, id, e.Revision())
	}
	if err != nil {
		return fmt.Errorf("delete route %s: %w", id, err)
	}
	return nil
}

// conflict explains a compare-and-set that lost to a concurrent write.
func (s *Store) conflict(ctx context.Context, id string, read uint64) error {
	now, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: route %s was deleted while it was being changed", ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("%w: route %s changed after revision %d: get it again and reapply", ErrRevisionMismatch, id, read)
	}
	return mismatch(id, now.GetRevision(), read)
}

func mismatch(id string, current, want uint64) error {
	return fmt.Errorf("%w: route %s is at revision %d, not %d: get it again and reapply", ErrRevisionMismatch, id, current, want)
}

// compileForStore compiles r, refusing it with the compiler's message, and
// returns the compiled route (defaults filled in) and its stored form.
func compileForStore(r *junctionv1.Route) (*junctionv1.Route, []byte, error) {
	c, err := Compile(r)
	if err != nil {
		return nil, nil, err
	}
	value, err := encodeRoute(c.Route)
	if err != nil {
		return nil, nil, err
	}
	return c.Route, value, nil
}

func encodeRoute(r *junctionv1.Route) ([]byte, error) {
	r = proto.Clone(r).(*junctionv1.Route)
	r.Revision = 0
	b, err := protojson.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode route: %w", err)
	}
	return b, nil
}

// decodeEntry turns a KV entry into a route, its revision filled in.
func decodeEntry(e jetstream.KeyValueEntry) (*junctionv1.Route, error) {
	r := &junctionv1.Route{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(e.Value(), r); err != nil {
		return nil, fmt.Errorf("decode route %s at revision %d: %w", e.Key(), e.Revision(), err)
	}
	r.Name = RouteName(e.Key())
	r.Revision = e.Revision()
	return r, nil
}
