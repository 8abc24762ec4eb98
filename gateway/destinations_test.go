package gateway_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// register puts a heartbeat for a sink of app into the adapters bucket, as
// the SDK's Runner does, last seen at seen.
func (e *env) register(t *testing.T, app, instance string, seen time.Time, schema *junctionv1.TargetSchema) {
	t.Helper()
	a := &junctionv1.Adapter{
		Name: "adapters/" + topology.AdapterKey(app, instance), App: app, Instance: instance,
		Roles: []string{"sink"}, Health: junctionv1.Adapter_HEALTH_SERVING,
		LastSeenTime: timestamppb.New(seen), TargetSchema: schema,
	}
	raw, err := protojson.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := e.js.KeyValue(t.Context(), topology.AdaptersBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), topology.AdapterKey(app, instance), raw); err != nil {
		t.Fatalf("put heartbeat: %v", err)
	}
}

// crmSchema is what a "crm" sink registers: api_url, https only, and an
// optional whole-number priority.
var crmSchema = &junctionv1.TargetSchema{Keys: []*junctionv1.TargetKey{
	{Name: "api_url", Type: junctionv1.TargetKey_TYPE_URL, Required: true, UrlSchemes: []string{"https"}, Description: "the CRM's API base URL"},
	{Name: "priority", Type: junctionv1.TargetKey_TYPE_INTEGER},
}}

func routeTo(targets ...*junctionv1.Target) *junctionv1.Route {
	return &junctionv1.Route{Filter: "acme.>", Targets: targets}
}

func target(dest string, config map[string]string) *junctionv1.Target {
	return &junctionv1.Target{Destination: dest, Config: config}
}

// TestTargetSchemaRefusedAtSave saves routes whose target config breaks
// their destination's schema, the built-in webhook one (no webhook
// adapter runs) and one a running sink registered, through every save
// path over gRPC and through REST: each is InvalidArgument (400) naming
// the target index and key, and nothing is stored.
func TestTargetSchemaRefusedAtSave(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.register(t, "crm", "a", time.Now(), crmSchema)
	hook := map[string]string{"url": "https://example.com/hook"}

	tests := []struct {
		name  string
		route *junctionv1.Route
		want  []string
	}{
		{"webhook without url", routeTo(target("webhook", nil)), []string{"targets[0].config.url: required", "https://", "webhook destination"}},
		{"webhook ftp url", routeTo(target("webhook", map[string]string{"url": "ftp://example.com/x"})), []string{"targets[0].config.url", `scheme "ftp" is not allowed`}},
		{"webhook relative url", routeTo(target("webhook", map[string]string{"url": "example.com/hook"})), []string{"targets[0].config.url: has no scheme"}},
		{"webhook misspelt key", routeTo(target("webhook", map[string]string{"url": hook["url"], "ulr": "x"})), []string{"targets[0].config.ulr: not a key", `did you mean "url"?`}},
		{"webhook unknown body", routeTo(target("webhook", map[string]string{"url": hook["url"], "body": "xml"})), []string{"targets[0].config.body: must be one of", "cloudevent-binary"}},
		{"webhook authorization header", routeTo(target("webhook", map[string]string{"url": hook["url"], "headers": "Authorization: Bearer x"})), []string{"targets[0].config.headers: Authorization is set by the adapter", "webhook destination"}},
		{"webhook secret as auth", routeTo(target("webhook", map[string]string{"url": hook["url"], "auth": "Bearer x"})), []string{"targets[0].config.auth: must name a credential"}},
		{"second target", routeTo(target("webhook", hook), target("webhook", map[string]string{"URL": hook["url"]})), []string{"targets[1].config.url: required"}},
		{"registered schema, key missing", routeTo(target("webhook", hook), target("crm", nil)), []string{"targets[1].config.api_url: required: the CRM's API base URL", "crm destination"}},
		{"registered schema, scheme", routeTo(target("crm", map[string]string{"api_url": "http://crm.example.com"})), []string{"targets[0].config.api_url", `scheme "http" is not allowed`, "https://"}},
		{"registered schema, type", routeTo(target("crm", map[string]string{"api_url": "https://crm.example.com", "priority": "high"})), []string{"targets[0].config.priority: must be a whole number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "r-" + strings.ReplaceAll(tt.name, " ", "-")
			id = strings.ReplaceAll(strings.ReplaceAll(id, ",", ""), "[", "")
			_, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: id, Route: tt.route})
			wantCode(t, err, codes.InvalidArgument, tt.want...)
			_, err = e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: id, Route: tt.route, ValidateOnly: true})
			wantCode(t, err, codes.InvalidArgument, tt.want...)
			withName := proto.CloneOf(tt.route)
			withName.Name = "routes/" + id
			_, err = e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: withName, AllowMissing: true})
			wantCode(t, err, codes.InvalidArgument, tt.want...)
			_, err = e.routes.TestRoute(ctx, &junctionv1.TestRouteRequest{
				RouteSource: &junctionv1.TestRouteRequest_Route{Route: tt.route},
				Event:       &junctionv1.Event{Source: "acme", Type: "user.created"},
			})
			wantCode(t, err, codes.InvalidArgument, tt.want...)

			raw, err := protojson.Marshal(tt.route)
			if err != nil {
				t.Fatal(err)
			}
			code, body := e.do(t, http.MethodPost, "/v1/routes?route_id="+id, string(raw))
			msg, _ := body["message"].(string)
			if code != http.StatusBadRequest || !strings.Contains(msg, tt.want[0]) {
				t.Errorf("POST /v1/routes: got %d %q, want 400 containing %q", code, msg, tt.want[0])
			}
			_, err = e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/" + id})
			wantCode(t, err, codes.NotFound)
		})
	}
	list, err := e.routes.ListRoutes(ctx, &junctionv1.ListRoutesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetRoutes()); n != 0 {
		t.Errorf("%d routes stored after refused saves, want 0", n)
	}

	// An update that breaks a stored route's config is refused, and the
	// route keeps its revision and config.
	saved, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "good", Route: routeTo(target("webhook", hook))})
	if err != nil {
		t.Fatalf("CreateRoute of a valid webhook route: %v", err)
	}
	bad := proto.CloneOf(saved.GetRoute())
	bad.Targets[0].Config = map[string]string{"url": "ftp://example.com/x"}
	_, err = e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: bad})
	wantCode(t, err, codes.InvalidArgument, "targets[0].config.url", `scheme "ftp"`)
	code, body := e.do(t, http.MethodPatch, "/v1/routes/good", map[string]any{"targets": []any{map[string]any{"destination": "webhook", "config": map[string]any{}}}})
	if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "targets[0].config.url: required") {
		t.Errorf("PATCH /v1/routes/good without url: got %d %v, want 400 naming targets[0].config.url", code, body)
	}
	got, err := e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/good"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRoute().GetRevision() != saved.GetRoute().GetRevision() || got.GetRoute().GetTargets()[0].GetConfig()["url"] != hook["url"] {
		t.Errorf("after refused updates the route is %v, want it unchanged at revision %d", got.GetRoute(), saved.GetRoute().GetRevision())
	}
}

// TestUnservedDestinations saves routes to destinations no running adapter
// serves: they are stored, and every answer of RouteService (create,
// validate only, update, get, list, test; gRPC and REST) names the
// unserved destinations, until a sink of that app sends heartbeats, and
// again once they stop.
func TestUnservedDestinations(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	hook := map[string]string{"url": "https://example.com/hook"}
	r := routeTo(target("salesforce", map[string]string{"object": "Lead"}), target("webhook", hook), target("salesforce", nil))

	preview, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "leads", Route: r, ValidateOnly: true})
	if err != nil {
		t.Fatalf("CreateRoute validate_only: %v", err)
	}
	wantUnserved(t, "validate_only create", preview.GetRoute(), "salesforce", "webhook")
	created, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "leads", Route: r})
	if err != nil {
		t.Fatalf("CreateRoute to an unserved destination: %v", err)
	}
	wantUnserved(t, "create", created.GetRoute(), "salesforce", "webhook")
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "hooks", Route: routeTo(target("webhook", hook))}); err != nil {
		t.Fatal(err)
	}

	check := func(when string, leads, hooks []string) {
		t.Helper()
		got, err := e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/leads"})
		if err != nil {
			t.Fatal(err)
		}
		wantUnserved(t, when+": GetRoute", got.GetRoute(), leads...)
		list, err := e.routes.ListRoutes(ctx, &junctionv1.ListRoutesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetRoutes()) != 2 {
			t.Fatalf("%s: ListRoutes returned %d routes, want 2", when, len(list.GetRoutes()))
		}
		wantUnserved(t, when+": ListRoutes hooks", list.GetRoutes()[0], hooks...)
		wantUnserved(t, when+": ListRoutes leads", list.GetRoutes()[1], leads...)

		_, body := e.do(t, http.MethodGet, "/v1/routes/leads", nil)
		if got := strs(body["unserved_destinations"]); !slices.Equal(got, leads) {
			t.Errorf("%s: GET /v1/routes/leads unserved_destinations = %v, want %v", when, got, leads)
		}
		_, body = e.do(t, http.MethodGet, "/v1/routes", nil)
		routes, _ := body["routes"].([]any)
		if len(routes) == 2 {
			if got := strs(routes[1].(map[string]any)["unserved_destinations"]); !slices.Equal(got, leads) {
				t.Errorf("%s: GET /v1/routes leads unserved_destinations = %v, want %v", when, got, leads)
			}
		}
		test, err := e.routes.TestRoute(ctx, &junctionv1.TestRouteRequest{
			RouteSource: &junctionv1.TestRouteRequest_Name{Name: "routes/leads"},
			Event:       &junctionv1.Event{Source: "acme", Type: "user.created"},
		})
		if err != nil {
			t.Fatalf("TestRoute: %v", err)
		}
		if got := test.GetUnservedDestinations(); !slices.Equal(got, leads) {
			t.Errorf("%s: TestRoute unserved_destinations = %v, want %v", when, got, leads)
		}
	}
	check("no adapter running", []string{"salesforce", "webhook"}, []string{"webhook"})

	e.register(t, "webhook", "w1", time.Now(), nil)
	check("a webhook sink running", []string{"salesforce"}, nil)

	// A source of the same name serves no deliveries.
	kv, err := e.js.KeyValue(ctx, topology.AdaptersBucket)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := protojson.Marshal(&junctionv1.Adapter{App: "salesforce", Instance: "s", Roles: []string{"polling-source"}, LastSeenTime: timestamppb.Now()})
	if _, err := kv.Put(ctx, topology.AdapterKey("salesforce", "s"), src); err != nil {
		t.Fatal(err)
	}
	check("a salesforce source running", []string{"salesforce"}, nil)

	e.register(t, "salesforce", "s1", time.Now(), nil)
	check("both sinks running", nil, nil)

	// A sink whose heartbeats stopped (past gateway.StaleAfter) no longer
	// serves its destination.
	e.register(t, "salesforce", "s1", time.Now().Add(-time.Minute), nil)
	check("the salesforce sink stale", []string{"salesforce"}, nil)

	// An update answers with the destinations too; a client that sends the
	// output-only field back does not get it stored.
	upd := proto.CloneOf(created.GetRoute())
	upd.Description = "leads to the CRM"
	upd.UnservedDestinations = []string{"nonsense"}
	updated, err := e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: upd})
	if err != nil {
		t.Fatalf("UpdateRoute: %v", err)
	}
	wantUnserved(t, "update", updated.GetRoute(), "salesforce")
	kvRoutes, err := e.js.KeyValue(ctx, topology.RoutesBucket)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := kvRoutes.Get(ctx, "leads")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored.Value()), "nonsense") || strings.Contains(string(stored.Value()), "salesforce\"]") {
		t.Errorf("stored route holds the output-only unserved destinations: %s", stored.Value())
	}
}

// TestStoredRouteBreakingSchema tests a stored route whose config a sink's
// schema, registered after the route was saved, refuses: the test call
// fails with FailedPrecondition saying what to fix, an update that leaves
// the targets alone (disabling it) passes, one that changes them must fix
// them, and then the route tests clean.
func TestStoredRouteBreakingSchema(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "crm", Route: routeTo(target("crm", map[string]string{"api_url": "http://crm.example.com"}))}); err != nil {
		t.Fatalf("CreateRoute before the crm adapter registered: %v", err)
	}
	e.register(t, "crm", "a", time.Now(), crmSchema)
	ev := &junctionv1.Event{Source: "acme", Type: "user.created"}
	_, err := e.routes.TestRoute(ctx, &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Name{Name: "routes/crm"}, Event: ev})
	wantCode(t, err, codes.FailedPrecondition, "stored route crm cannot deliver", "targets[0].config.api_url", `scheme "http" is not allowed`)

	// An update that leaves the targets alone is not held up by them: the
	// route can be disabled first.
	off := &junctionv1.Route{Name: "routes/crm", Enabled: proto.Bool(false), Description: "off until fixed"}
	if _, err := e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: off, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled", "description"}}}); err != nil {
		t.Fatalf("UpdateRoute disabling a route whose stored config breaks the schema: %v", err)
	}
	// One that changes them is checked, even when the broken key is not
	// the one that changed.
	got, err := e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/crm"})
	if err != nil {
		t.Fatal(err)
	}
	still := proto.CloneOf(got.GetRoute())
	still.Targets[0].Config["priority"] = "2"
	_, err = e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: still})
	wantCode(t, err, codes.InvalidArgument, "targets[0].config.api_url", `scheme "http" is not allowed`)

	fixed := got.GetRoute()
	fixed.Enabled = proto.Bool(true)
	fixed.Targets[0].Config["api_url"] = "https://crm.example.com"
	if _, err := e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: fixed}); err != nil {
		t.Fatalf("UpdateRoute with the fix: %v", err)
	}
	resp, err := e.routes.TestRoute(ctx, &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Name{Name: "routes/crm"}, Event: ev})
	if err != nil {
		t.Fatalf("TestRoute after the fix: %v", err)
	}
	if len(resp.GetDeliveries()) != 1 || len(resp.GetUnservedDestinations()) != 0 {
		t.Errorf("TestRoute after the fix: %d deliveries, unserved %v; want 1 and none", len(resp.GetDeliveries()), resp.GetUnservedDestinations())
	}
}

// TestRegisteredSchemaReplacesBuiltin registers a webhook sink with a
// schema of its own (a newer adapter that also takes "format"): routes are
// checked against it instead of the built-in one.
func TestRegisteredSchemaReplacesBuiltin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	withFormat := map[string]string{"url": "https://example.com/hook", "format": "cloudevents"}
	_, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "fmt", Route: routeTo(target("webhook", withFormat)), ValidateOnly: true})
	wantCode(t, err, codes.InvalidArgument, "targets[0].config.format: not a key")

	e.register(t, "webhook", "new", time.Now(), &junctionv1.TargetSchema{Keys: []*junctionv1.TargetKey{
		{Name: "url", Type: junctionv1.TargetKey_TYPE_URL, Required: true},
		{Name: "format", Values: []string{"json", "cloudevents"}},
	}})
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "fmt", Route: routeTo(target("webhook", withFormat)), ValidateOnly: true}); err != nil {
		t.Errorf("CreateRoute with a key the registered schema takes: %v", err)
	}
	// Two instances in a rollout with different schemas: a config must
	// suit both.
	e.register(t, "webhook", "old", time.Now(), &junctionv1.TargetSchema{Keys: []*junctionv1.TargetKey{{Name: "url", Type: junctionv1.TargetKey_TYPE_URL, Required: true}}})
	_, err = e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "fmt", Route: routeTo(target("webhook", withFormat)), ValidateOnly: true})
	wantCode(t, err, codes.InvalidArgument, "targets[0].config.format: not a key")
}

func wantUnserved(t *testing.T, what string, r *junctionv1.Route, want ...string) {
	t.Helper()
	if got := r.GetUnservedDestinations(); !slices.Equal(got, want) {
		t.Errorf("%s: unserved_destinations = %v, want %v", what, got, want)
	}
}

// strs is a JSON array of strings; nil for anything else or an empty one.
func strs(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
