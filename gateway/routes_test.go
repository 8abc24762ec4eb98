package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestRouteCRUDOverGRPC(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	rc := e.routes

	created, err := rc.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "users", Route: webhookRoute(`event.type == "user.created"`)})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	r := created.GetRoute()
	if r.GetName() != "routes/users" || r.GetRevision() == 0 || r.GetCreateTime() == nil || !r.GetEnabled() {
		t.Fatalf("created route: got name %q revision %d create_time %v enabled %v, want routes/users, a revision, a time, enabled",
			r.GetName(), r.GetRevision(), r.GetCreateTime(), r.GetEnabled())
	}

	got, err := rc.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/users"})
	if err != nil {
		t.Fatalf("GetRoute: %v", err)
	}
	if !proto.Equal(got.GetRoute(), r) {
		t.Errorf("GetRoute: got %v, want %v", got.GetRoute(), r)
	}

	upd, err := rc.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{
		Route:      &junctionv1.Route{Name: "routes/users", Description: "changed", Revision: r.GetRevision()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if err != nil {
		t.Fatalf("UpdateRoute: %v", err)
	}
	if u := upd.GetRoute(); u.GetDescription() != "changed" || u.GetRevision() <= r.GetRevision() || u.GetFilter() != r.GetFilter() || len(u.GetTargets()) != 1 {
		t.Errorf("updated route: got %v, want description changed, a higher revision than %d, filter and targets kept", u, r.GetRevision())
	}

	errCases := []struct {
		name  string
		call  func() error
		code  codes.Code
		parts []string
	}{
		{"create taken id", func() error {
			_, err := rc.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "users", Route: webhookRoute("")})
			return err
		}, codes.AlreadyExists, []string{"users", "already exists"}},
		{"create without id", func() error {
			_, err := rc.CreateRoute(ctx, &junctionv1.CreateRouteRequest{Route: webhookRoute("")})
			return err
		}, codes.InvalidArgument, []string{"route_id"}},
		{"create bad id", func() error {
			_, err := rc.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "Bad_ID", Route: webhookRoute("")})
			return err
		}, codes.InvalidArgument, []string{"route_id", "Bad_ID"}},
		{"create without route", func() error {
			_, err := rc.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "x"})
			return err
		}, codes.InvalidArgument, []string{"route"}},
		{"create invalid CEL", func() error {
			_, err := rc.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "bad-cel", Route: webhookRoute("foo == 1")})
			return err
		}, codes.InvalidArgument, []string{"condition", "undeclared reference to 'foo'"}},
		{"create too costly CEL", func() error {
			_, err := rc.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "costly", Route: webhookRoute("lists.range(1000000).all(x, x >= 0)")})
			return err
		}, codes.InvalidArgument, []string{"condition", "estimated cost", "exceeds the limit of 1000000"}},
		{"update stale revision", func() error {
			_, err := rc.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{
				Route:      &junctionv1.Route{Name: "routes/users", Description: "stale", Revision: r.GetRevision()},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
			})
			return err
		}, codes.Aborted, []string{"users", fmt.Sprintf("not %d", r.GetRevision()), "get it again"}},
		{"delete stale revision", func() error {
			_, err := rc.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/users", Revision: r.GetRevision()})
			return err
		}, codes.Aborted, []string{"revision"}},
		{"get missing", func() error {
			_, err := rc.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/nope"})
			return err
		}, codes.NotFound, []string{"route nope not found"}},
		{"get bad name", func() error {
			_, err := rc.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/NO PE"})
			return err
		}, codes.InvalidArgument, []string{"name"}},
		{"delete missing", func() error {
			_, err := rc.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/nope"})
			return err
		}, codes.NotFound, []string{"route nope not found"}},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), tc.code, tc.parts...)
		})
	}

	// Nothing was stored by the refused calls.
	if _, err := rc.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/bad-cel"}); err == nil {
		t.Error("route with invalid CEL was stored")
	}
	if got, _ := rc.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/users"}); got.GetRoute().GetDescription() != "changed" {
		t.Errorf("after refused stale update: got description %q, want %q", got.GetRoute().GetDescription(), "changed")
	}

	if _, err := rc.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/nope", AllowMissing: true}); err != nil {
		t.Errorf("DeleteRoute allow_missing of a missing route: got %v, want success", err)
	}
	if _, err := rc.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/users", Revision: upd.GetRoute().GetRevision()}); err != nil {
		t.Fatalf("DeleteRoute at current revision: %v", err)
	}
	_, err = rc.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/users"})
	wantCode(t, err, codes.NotFound, "users")
}

func TestCreateRouteValidateOnly(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	resp, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "dry", Route: webhookRoute(""), ValidateOnly: true})
	if err != nil {
		t.Fatalf("CreateRoute validate_only: %v", err)
	}
	if got := resp.GetRoute(); got.GetName() != "routes/dry" || got.GetTargets()[0].GetName() != "0" || !got.GetEnabled() {
		t.Errorf("validate_only route: got %v, want name routes/dry, target named 0, enabled", got)
	}
	_, err = e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/dry"})
	wantCode(t, err, codes.NotFound)

	_, err = e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "dry", Route: webhookRoute("event.type +"), ValidateOnly: true})
	wantCode(t, err, codes.InvalidArgument, "condition")
}

func TestUpdateRouteMask(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	base := webhookRoute(`event.type == "user.created"`)
	base.Policy = &junctionv1.DeliveryPolicy{MaxAttempts: 3, InitialBackoff: durationpb.New(2e9)}

	cases := []struct {
		name     string
		in       *junctionv1.Route
		paths    []string
		allow    bool
		validate bool
		code     codes.Code
		parts    []string
		check    func(t *testing.T, got *junctionv1.Route)
	}{
		{
			name:  "description only",
			in:    &junctionv1.Route{Description: "new", Filter: "ignored.>"},
			paths: []string{"description"},
			check: func(t *testing.T, got *junctionv1.Route) {
				if got.GetDescription() != "new" || got.GetFilter() != base.GetFilter() {
					t.Errorf("got description %q filter %q, want %q and the old filter %q", got.GetDescription(), got.GetFilter(), "new", base.GetFilter())
				}
			},
		},
		{
			name:  "nested policy path keeps other policy fields",
			in:    &junctionv1.Route{Policy: &junctionv1.DeliveryPolicy{MaxAttempts: 7, Jitter: 0.9}},
			paths: []string{"policy.max_attempts"},
			check: func(t *testing.T, got *junctionv1.Route) {
				p := got.GetPolicy()
				if p.GetMaxAttempts() != 7 || p.GetInitialBackoff().AsDuration() != 2e9 || p.GetJitter() != 0 {
					t.Errorf("got policy %v, want max_attempts 7, initial_backoff 2s kept, jitter untouched", p)
				}
			},
		},
		{
			name:  "json names accepted",
			in:    &junctionv1.Route{Policy: &junctionv1.DeliveryPolicy{MaxAttempts: 4}},
			paths: []string{"policy.maxAttempts"},
			check: func(t *testing.T, got *junctionv1.Route) {
				if got.GetPolicy().GetMaxAttempts() != 4 {
					t.Errorf("got max_attempts %d, want 4", got.GetPolicy().GetMaxAttempts())
				}
			},
		},
		{
			name:  "enabled false",
			in:    &junctionv1.Route{Enabled: proto.Bool(false)},
			paths: []string{"enabled"},
			check: func(t *testing.T, got *junctionv1.Route) {
				if got.Enabled == nil || got.GetEnabled() {
					t.Errorf("got enabled %v, want false", got.Enabled)
				}
			},
		},
		{
			name: "empty mask replaces every mutable field",
			in:   &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "slack"}}},
			check: func(t *testing.T, got *junctionv1.Route) {
				if got.GetDescription() != "" || got.GetCondition() != "" || got.GetFilter() != "acme.>" || got.GetPolicy() != nil ||
					len(got.GetTargets()) != 1 || got.GetTargets()[0].GetDestination() != "slack" {
					t.Errorf("got %v, want only filter acme.> and one slack target", got)
				}
			},
		},
		{
			name:  "output-only paths ignored",
			in:    &junctionv1.Route{Description: "x"},
			paths: []string{"description", "name", "create_time", "update_time", "revision"},
			check: func(t *testing.T, got *junctionv1.Route) {
				if got.GetDescription() != "x" || got.GetCreateTime() == nil {
					t.Errorf("got %v, want description x and create_time kept", got)
				}
			},
		},
		{name: "unknown path", in: &junctionv1.Route{}, paths: []string{"bogus"}, code: codes.InvalidArgument, parts: []string{"update_mask", `"bogus"`}},
		{name: "unknown policy path", in: &junctionv1.Route{}, paths: []string{"policy.nope"}, code: codes.InvalidArgument, parts: []string{`"policy.nope"`}},
		{name: "nested non-policy path", in: &junctionv1.Route{}, paths: []string{"targets.destination"}, code: codes.InvalidArgument, parts: []string{`"targets.destination"`}},
		{
			name: "invalid result refused", in: &junctionv1.Route{Condition: "nope("}, paths: []string{"condition"},
			code: codes.InvalidArgument, parts: []string{"condition"},
		},
		{
			name: "validate only stores nothing", in: &junctionv1.Route{Description: "dry"}, paths: []string{"description"}, validate: true,
			check: func(t *testing.T, got *junctionv1.Route) {
				if got.GetDescription() != "dry" {
					t.Errorf("validate_only answer: got description %q, want dry", got.GetDescription())
				}
			},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("mask-%d", i)
			created, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: id, Route: base})
			if err != nil {
				t.Fatalf("CreateRoute: %v", err)
			}
			in := proto.Clone(tc.in).(*junctionv1.Route)
			in.Name = "routes/" + id
			var mask *fieldmaskpb.FieldMask
			if tc.paths != nil {
				mask = &fieldmaskpb.FieldMask{Paths: tc.paths}
			}
			resp, err := e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: in, UpdateMask: mask, ValidateOnly: tc.validate})
			stored, gerr := e.routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: in.Name})
			if gerr != nil {
				t.Fatalf("GetRoute: %v", gerr)
			}
			if tc.code != codes.OK {
				wantCode(t, err, tc.code, tc.parts...)
				if !proto.Equal(stored.GetRoute(), created.GetRoute()) {
					t.Errorf("refused update changed the route: got %v, want %v", stored.GetRoute(), created.GetRoute())
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdateRoute: %v", err)
			}
			tc.check(t, resp.GetRoute())
			if tc.validate {
				if !proto.Equal(stored.GetRoute(), created.GetRoute()) {
					t.Errorf("validate_only changed the route: got %v, want %v", stored.GetRoute(), created.GetRoute())
				}
				return
			}
			tc.check(t, stored.GetRoute())
		})
	}
}

func TestUpdateRouteAllowMissing(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	in := webhookRoute("")
	in.Name = "routes/applied"

	_, err := e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: in})
	wantCode(t, err, codes.NotFound, "applied", "allow_missing")

	for i := range 2 { // an idempotent apply: create, then update
		resp, err := e.routes.UpdateRoute(ctx, &junctionv1.UpdateRouteRequest{Route: in, AllowMissing: true})
		if err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
		if got := resp.GetRoute(); got.GetName() != "routes/applied" || got.GetDescription() != in.GetDescription() {
			t.Errorf("apply %d: got %v, want the applied route", i, got)
		}
	}
	list, err := e.routes.ListRoutes(ctx, &junctionv1.ListRoutesRequest{})
	if err != nil {
		t.Fatalf("ListRoutes: %v", err)
	}
	if len(list.GetRoutes()) != 1 {
		t.Errorf("got %d routes, want 1", len(list.GetRoutes()))
	}
}

func TestListRoutesPagination(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	const n = 57
	var want []string
	for i := range n {
		id := fmt.Sprintf("r-%03d", i)
		want = append(want, "routes/"+id)
		if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: id, Route: webhookRoute("")}); err != nil {
			t.Fatalf("CreateRoute %s: %v", id, err)
		}
	}

	for _, tc := range []struct {
		name      string
		size      int32
		wantPages []int
	}{
		{"default page size", 0, []int{50, 7}},
		{"page size 20", 20, []int{20, 20, 17}},
		{"page size exactly n", n, []int{n}},
		{"page size over the maximum", 5000, []int{n}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var pages []int
			token := ""
			for {
				resp, err := e.routes.ListRoutes(ctx, &junctionv1.ListRoutesRequest{PageSize: tc.size, PageToken: token})
				if err != nil {
					t.Fatalf("ListRoutes: %v", err)
				}
				pages = append(pages, len(resp.GetRoutes()))
				for _, r := range resp.GetRoutes() {
					got = append(got, r.GetName())
				}
				if token = resp.GetNextPageToken(); token == "" || len(pages) > n {
					break
				}
			}
			if fmt.Sprint(pages) != fmt.Sprint(tc.wantPages) {
				t.Errorf("page sizes: got %v, want %v", pages, tc.wantPages)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("routes: got %v, want %v", got, want)
			}
		})
	}

	for _, tc := range []struct {
		name string
		req  *junctionv1.ListRoutesRequest
		part string
	}{
		{"garbage token", &junctionv1.ListRoutesRequest{PageToken: "!!not-a-token"}, "page_token"},
		{"token of no id", &junctionv1.ListRoutesRequest{PageToken: "QUJD"}, "page_token"},
		{"negative page size", &junctionv1.ListRoutesRequest{PageSize: -1}, "page_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.routes.ListRoutes(ctx, tc.req)
			wantCode(t, err, codes.InvalidArgument, tc.part)
		})
	}

	// REST walks the same pages.
	status, body := e.do(t, http.MethodGet, "/v1/routes?page_size=50", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/routes: got status %d, want 200: %v", status, body)
	}
	tok, _ := body["next_page_token"].(string)
	if routes, _ := body["routes"].([]any); len(routes) != 50 || tok == "" {
		t.Fatalf("GET /v1/routes first page: got %d routes, token %q; want 50 and a token", len(routes), tok)
	}
	status, body = e.do(t, http.MethodGet, "/v1/routes?page_size=50&page_token="+tok, nil)
	if routes, _ := body["routes"].([]any); status != http.StatusOK || len(routes) != 7 || body["next_page_token"] != nil {
		t.Errorf("GET /v1/routes second page: got status %d, %d routes, token %v; want 200, 7, none", status, len(routes), body["next_page_token"])
	}
}

func TestTestRoute(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "stored", Route: webhookRoute(`data.email.endsWith("@example.com")`)}); err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	event := &junctionv1.Event{Source: "acme", Type: "user.created", DataContentType: "application/json", Data: []byte(`{"email":"ann@example.com"}`)}

	cases := []struct {
		name          string
		req           *junctionv1.TestRouteRequest
		code          codes.Code
		parts         []string
		wantFilter    bool
		wantCondition bool
		wantPayload   string
	}{
		{
			name:       "stored route matches",
			req:        &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Name{Name: "routes/stored"}, Event: event},
			wantFilter: true, wantCondition: true, wantPayload: `{"email":"ann@example.com","kind":"user.created"}`,
		},
		{
			name:       "inline route matches",
			req:        &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Route{Route: webhookRoute(`event.type == "user.created"`)}, Event: event},
			wantFilter: true, wantCondition: true, wantPayload: `{"email":"ann@example.com","kind":"user.created"}`,
		},
		{
			name:       "inline condition false",
			req:        &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Route{Route: webhookRoute(`event.type == "user.deleted"`)}, Event: event},
			wantFilter: true,
		},
		{
			name: "filter does not match",
			req: &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Route{Route: webhookRoute("")},
				Event: &junctionv1.Event{Source: "other", Type: "user.created"}},
		},
		{
			name: "inline invalid", code: codes.InvalidArgument, parts: []string{"undeclared reference"},
			req: &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Route{Route: webhookRoute("nope")}, Event: event},
		},
		{
			name: "stored missing", code: codes.NotFound, parts: []string{"ghost"},
			req: &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Name{Name: "routes/ghost"}, Event: event},
		},
		{
			name: "no route", code: codes.InvalidArgument, parts: []string{"name"},
			req: &junctionv1.TestRouteRequest{Event: event},
		},
		{
			name: "no event", code: codes.InvalidArgument, parts: []string{"event"},
			req: &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Name{Name: "routes/stored"}},
		},
		{
			name: "event without type", code: codes.InvalidArgument, parts: []string{"event.type"},
			req: &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Name{Name: "routes/stored"}, Event: &junctionv1.Event{Source: "acme"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.routes.TestRoute(ctx, tc.req)
			if tc.code != codes.OK {
				wantCode(t, err, tc.code, tc.parts...)
				return
			}
			if err != nil {
				t.Fatalf("TestRoute: %v", err)
			}
			if resp.GetFilterMatched() != tc.wantFilter || resp.GetConditionMatched() != tc.wantCondition {
				t.Errorf("got filter %v condition %v (reason %q), want %v %v", resp.GetFilterMatched(), resp.GetConditionMatched(), resp.GetReason(), tc.wantFilter, tc.wantCondition)
			}
			if !tc.wantCondition {
				if len(resp.GetDeliveries()) != 0 || resp.GetReason() == "" {
					t.Errorf("not matched: got %d deliveries and reason %q, want none and a reason", len(resp.GetDeliveries()), resp.GetReason())
				}
				return
			}
			if len(resp.GetDeliveries()) != 1 {
				t.Fatalf("got %d deliveries, want 1", len(resp.GetDeliveries()))
			}
			d := resp.GetDeliveries()[0]
			if !jsonEqual(d.GetPayload(), []byte(tc.wantPayload)) || d.GetEventId() != "evt_test" || d.GetDestination() != "webhook" {
				t.Errorf("delivery: got payload %s event_id %q destination %q, want %s, evt_test (the default), webhook", d.GetPayload(), d.GetEventId(), d.GetDestination(), tc.wantPayload)
			}
		})
	}

	// A disabled route is evaluated, and the answer says it is disabled.
	off := webhookRoute("")
	off.Enabled = proto.Bool(false)
	resp, err := e.routes.TestRoute(ctx, &junctionv1.TestRouteRequest{RouteSource: &junctionv1.TestRouteRequest_Route{Route: off}, Event: event})
	if err != nil {
		t.Fatalf("TestRoute disabled: %v", err)
	}
	if !resp.GetConditionMatched() || len(resp.GetDeliveries()) != 1 || !strings.Contains(resp.GetReason(), "disabled") {
		t.Errorf("TestRoute disabled: got matched %v, %d deliveries, reason %q; want matched, 1, a reason saying disabled", resp.GetConditionMatched(), len(resp.GetDeliveries()), resp.GetReason())
	}

	// Over REST, with the route inline in the body.
	status, body := e.do(t, http.MethodPost, "/v1/routes:test", map[string]any{
		"route": map[string]any{"filter": "acme.>", "targets": []any{map[string]any{"destination": "webhook", "config": map[string]any{"url": "https://example.com/hook"}}}},
		"event": map[string]any{"source": "acme", "type": "user.created", "data": "e30="},
	})
	if status != http.StatusOK || body["filter_matched"] != true || body["condition_matched"] != true {
		t.Errorf("POST /v1/routes:test: got %d %v, want 200 with filter_matched and condition_matched", status, body)
	}
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
