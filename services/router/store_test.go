package router

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/proto"
)

func newStore(t *testing.T) (*Store, context.Context) {
	t.Helper()
	js := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	s, err := NewStore(ctx, js)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return s, ctx
}

func routeFor(filter string) *junctionv1.Route {
	return &junctionv1.Route{Filter: filter, Targets: []*junctionv1.Target{webhookTarget()}}
}

func TestStoreCRUD(t *testing.T) {
	s, ctx := newStore(t)

	created, err := s.Create(ctx, "routes/alpha", routeFor("acme.>"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.Name != "routes/alpha" || created.Revision == 0 || !created.GetEnabled() || created.CreateTime == nil || created.UpdateTime == nil {
		t.Fatalf("Create returned %v, want name, revision, enabled, times set", created)
	}
	if created.Targets[0].Name != "0" {
		t.Errorf("target name = %q, want default 0", created.Targets[0].Name)
	}

	got, err := s.Get(ctx, "alpha")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !proto.Equal(got, created) {
		t.Errorf("Get = %v, want %v", got, created)
	}

	if _, err := s.Create(ctx, "alpha", routeFor("acme.>")); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("Create again: %v, want ErrAlreadyExists", err)
	}

	// Update with the current revision.
	upd := proto.Clone(got).(*junctionv1.Route)
	upd.Description = "first update"
	upd.CreateTime = nil // must be kept from the stored route
	updated, err := s.Update(ctx, upd, got.Revision)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if updated.Revision <= got.Revision || updated.Description != "first update" {
		t.Errorf("Update = %v, want a new revision and the description", updated)
	}
	if !proto.Equal(updated.CreateTime, created.CreateTime) {
		t.Errorf("create_time = %v, want kept %v", updated.CreateTime, created.CreateTime)
	}

	// Stale revision.
	upd.Description = "stale"
	_, err = s.Update(ctx, upd, got.Revision)
	if !errors.Is(err, ErrRevisionMismatch) {
		t.Fatalf("Update with stale revision: %v, want ErrRevisionMismatch", err)
	}
	if want := "is at revision"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "get it again and reapply") {
		t.Errorf("stale error = %q, want it to say the current revision and what to do", err)
	}

	// Revision 0 = current.
	upd.Description = "second"
	second, err := s.Update(ctx, upd, 0)
	if err != nil || second.Description != "second" {
		t.Fatalf("Update at current revision = %v, %v", second, err)
	}

	// Invalid update stores nothing.
	bad := proto.Clone(second).(*junctionv1.Route)
	bad.Condition = "nope =="
	if _, err := s.Update(ctx, bad, 0); !errors.Is(err, ErrInvalidRoute) {
		t.Errorf("invalid Update: %v, want ErrInvalidRoute", err)
	}
	if now, _ := s.Get(ctx, "alpha"); now.Revision != second.Revision || now.Condition != "" {
		t.Errorf("after invalid Update route is %v, want unchanged at revision %d", now, second.Revision)
	}

	if _, err := s.Update(ctx, &junctionv1.Route{Name: "routes/missing", Filter: "a.b", Targets: []*junctionv1.Target{webhookTarget()}}, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update missing: %v, want ErrNotFound", err)
	}

	if _, err := s.Create(ctx, "beta", routeFor("shop.order.*")); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
		if r.Revision == 0 {
			t.Errorf("listed route %s has no revision", r.Name)
		}
	}
	if got, want := strings.Join(names, ","), "routes/alpha,routes/beta"; got != want {
		t.Errorf("List = %s, want %s", got, want)
	}

	// Delete: stale, then right.
	if err := s.Delete(ctx, "alpha", 1); !errors.Is(err, ErrRevisionMismatch) {
		t.Errorf("Delete stale: %v, want ErrRevisionMismatch", err)
	}
	if err := s.Delete(ctx, "alpha", second.Revision); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "alpha"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get deleted: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "alpha", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete missing: %v, want ErrNotFound", err)
	}
	list, _ = s.List(ctx)
	if len(list) != 1 || list[0].Name != "routes/beta" {
		t.Errorf("List after delete = %v, want only beta", list)
	}

	// A deleted id can be created again.
	if _, err := s.Create(ctx, "alpha", routeFor("acme.>")); err != nil {
		t.Errorf("re-Create deleted id: %v", err)
	}
}

func TestStoreRejectsInvalid(t *testing.T) {
	s, ctx := newStore(t)
	tests := []struct {
		name  string
		id    string
		route *junctionv1.Route
		want  string
	}{
		{"bad id", "Bad_Id", routeFor("acme.>"), "route id"},
		{"bad cel", "r1", &junctionv1.Route{Filter: "acme.>", Condition: "foo == 1", Targets: []*junctionv1.Target{webhookTarget()}}, "undeclared reference to 'foo'"},
		{"no targets", "r2", &junctionv1.Route{Filter: "acme.>"}, "targets"},
		{"nil", "r3", nil, "route is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(ctx, tt.id, tt.route)
			if !errors.Is(err, ErrInvalidRoute) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Create = %v, want ErrInvalidRoute mentioning %q", err, tt.want)
			}
		})
	}
	kv, err := s.kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kv.Values() != 0 {
		t.Errorf("bucket %s holds %d values after invalid creates, want 0", topology.RoutesBucket, kv.Values())
	}
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List of an empty bucket = %v, %v; want none", list, err)
	}
}
