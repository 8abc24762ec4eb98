package gateway_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestCorruptStoredRouteCanBeDeleted writes a value that does not decode
// straight into the routes bucket (as a bug, a newer version or a hand
// edit might): reading it fails with a clear error, and DeleteRoute through
// the API removes it, with or without the revision.
func TestCorruptStoredRouteCanBeDeleted(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	kv, err := e.js.KeyValue(ctx, topology.RoutesBucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"broken", "broken-rev"} {
		if _, err := kv.Put(ctx, id, []byte("{not json")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/broken"}); err == nil {
		t.Fatal("GetRoute of an undecodable route succeeded")
	}
	if _, err := e.routes.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/broken"}); err != nil {
		t.Fatalf("DeleteRoute of an undecodable route: %v", err)
	}
	_, err = e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/broken"})
	wantCode(t, err, codes.NotFound)

	entry, err := kv.Get(ctx, "broken-rev")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.routes.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/broken-rev", Revision: entry.Revision() + 1})
	wantCode(t, err, codes.Aborted)
	if _, err := e.routes.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/broken-rev", Revision: entry.Revision()}); err != nil {
		t.Fatalf("DeleteRoute with the stored revision: %v", err)
	}
}
