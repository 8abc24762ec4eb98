package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/gateway/auth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// sseEvent is one server-sent event of a tail: its id line and its data,
// the TailEventsResponse as JSON.
type sseEvent struct {
	ID    string `json:"-"` // the id: line
	Event struct {
		ID       string         `json:"id"`
		DataJSON map[string]any `json:"data_json"`
	} `json:"event"`
}

// readSSE reads n server-sent events named "event" from r, skipping
// heartbeats; anything else fails the test.
func readSSE(t *testing.T, r *bufio.Reader, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	name := ""
	for len(out) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("server-sent events after %d of %d: %v", len(out), n, err)
		}
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimSpace(strings.TrimPrefix(line, "id: "))
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, "data: "):
			if name != "event" {
				t.Fatalf("server-sent event %q: %s", name, line)
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur); err != nil {
				t.Fatalf("data %q: %v", line, err)
			}
			out = append(out, cur)
			cur, name = sseEvent{}, ""
		}
	}
	return out
}

// publishN publishes events evt_<i> (i from 0) round robin over the given
// source.type pairs, with payload {"n": i}, and returns them in order.
func publishN(t *testing.T, e *env, n int, kinds ...string) []*junctionv1.Event {
	t.Helper()
	ctx := testCtx(t)
	var out []*junctionv1.Event
	for i := range n {
		src, typ, _ := strings.Cut(kinds[i%len(kinds)], ".")
		res, err := e.events.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{
			Id: fmt.Sprintf("evt_%d", i), Source: src, Type: typ, DataContentType: "application/json",
			Data: []byte(fmt.Sprintf(`{"n": %d}`, i)),
		}})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		out = append(out, res.GetEvent())
	}
	return out
}

func ids(es []*junctionv1.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.GetId())
	}
	return out
}

// wantIDs is evt_<i> for each i.
func wantIDs(is ...int) []string {
	var out []string
	for _, i := range is {
		out = append(out, fmt.Sprintf("evt_%d", i))
	}
	return out
}

// listAll pages through ListEvents and returns every event, with the
// number of pages.
func listAll(t *testing.T, ctx context.Context, c junctionv1grpc.EventServiceClient, f *junctionv1.EventFilter, size int32) ([]*junctionv1.Event, int) {
	t.Helper()
	var all []*junctionv1.Event
	token, pages := "", 0
	for {
		res, err := c.ListEvents(ctx, &junctionv1.ListEventsRequest{Filter: f, PageSize: size, PageToken: token})
		if err != nil {
			t.Fatalf("ListEvents(%v, page %d): %v", f, pages, err)
		}
		pages++
		all = append(all, res.GetEvents()...)
		if res.GetNextPageToken() == "" {
			return all, pages
		}
		token = res.GetNextPageToken()
		if pages > 100 {
			t.Fatalf("ListEvents(%v): more than 100 pages", f)
		}
	}
}

func TestListEvents(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	// 0 acme.user.created, 1 acme.order.paid, 2 beta.user.created, 3 acme.user.created, ...
	publishN(t, e, 12, "acme.user.created", "acme.order.paid", "beta.user.created")
	mid := time.Now()
	time.Sleep(20 * time.Millisecond) // stored times are the server's clock: keep the halves apart
	publishN2 := func(from, n int) {
		for i := from; i < from+n; i++ {
			if _, err := e.events.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{
				Id: fmt.Sprintf("evt_%d", i), Source: "acme", Type: "user.created", Data: []byte(fmt.Sprintf(`{"n": %d}`, i)),
			}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishN2(12, 3)

	tests := []struct {
		name   string
		filter *junctionv1.EventFilter
		size   int32
		want   []string
	}{
		{"everything newest first", nil, 0, wantIDs(14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"everything in pages of 4", nil, 4, wantIDs(14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"source", &junctionv1.EventFilter{Source: "beta"}, 0, wantIDs(11, 8, 5, 2)},
		{"source and type", &junctionv1.EventFilter{Source: "acme", Type: "order.paid"}, 2, wantIDs(10, 7, 4, 1)},
		{"type of any source", &junctionv1.EventFilter{Type: "user.created"}, 3, wantIDs(14, 13, 12, 11, 9, 8, 6, 5, 3, 2, 0)},
		{"subject pattern", &junctionv1.EventFilter{SubjectPattern: "*.user.*"}, 5, wantIDs(14, 13, 12, 11, 9, 8, 6, 5, 3, 2, 0)},
		{"pattern with prefix and source", &junctionv1.EventFilter{SubjectPattern: "junction.events.*.user.>", Source: "beta"}, 0, wantIDs(11, 8, 5, 2)},
		{"condition on data", &junctionv1.EventFilter{Condition: "data.n % 5 == 0"}, 1, wantIDs(10, 5, 0)},
		{"condition on event", &junctionv1.EventFilter{Condition: `event.source == "beta" && data.n > 4`}, 0, wantIDs(11, 8, 5)},
		{"start time", &junctionv1.EventFilter{StartTime: timestamppb.New(mid)}, 0, wantIDs(14, 13, 12)},
		{"end time", &junctionv1.EventFilter{EndTime: timestamppb.New(mid), Source: "beta"}, 0, wantIDs(11, 8, 5, 2)},
		{"start time and pattern", &junctionv1.EventFilter{StartTime: timestamppb.New(mid), SubjectPattern: "beta.>"}, 0, nil},
		{"start time after everything", &junctionv1.EventFilter{StartTime: timestamppb.New(time.Now().Add(time.Hour))}, 0, nil},
		{"nothing matches", &junctionv1.EventFilter{Source: "gamma"}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := listAll(t, ctx, e.events, tt.filter, tt.size)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("ListEvents(%v, size %d): got %v, want %v", tt.filter, tt.size, ids(got), tt.want)
			}
			if tt.size > 0 && len(tt.want) > 0 {
				if wantPages := (len(tt.want) + int(tt.size) - 1) / int(tt.size); pages < wantPages {
					t.Errorf("got %d pages of %d, want at least %d", pages, tt.size, wantPages)
				}
			}
		})
	}

	t.Run("data_json over REST", func(t *testing.T) {
		code, body := e.do(t, http.MethodGet, "/v1/events?filter.source=beta&page_size=1", nil)
		if code != http.StatusOK {
			t.Fatalf("GET /v1/events: %d %v", code, body)
		}
		evs, _ := body["events"].([]any)
		if len(evs) != 1 || body["next_page_token"] == "" {
			t.Fatalf("GET /v1/events: got %v, want one event and a next_page_token", body)
		}
		dj, _ := evs[0].(map[string]any)["data_json"].(map[string]any)
		if dj["n"] != float64(11) {
			t.Errorf("data_json: got %v, want {\"n\": 11}", evs[0].(map[string]any)["data_json"])
		}
		code, body = e.do(t, http.MethodGet, "/v1/events/evt_11", nil)
		if dj, _ := body["data_json"].(map[string]any); code != http.StatusOK || dj["n"] != float64(11) {
			t.Errorf("GET /v1/events/evt_11: got %d %v, want data_json {\"n\": 11}", code, body)
		}
	})
}

func TestListEventsInvalid(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	publishN(t, e, 3, "acme.user.created")
	first, err := e.events.ListEvents(ctx, &junctionv1.ListEventsRequest{PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("ListEvents: %v %v, want a page with a token", first, err)
	}
	tests := []struct {
		name string
		req  *junctionv1.ListEventsRequest
		want []string
	}{
		{"bad CEL", &junctionv1.ListEventsRequest{Filter: &junctionv1.EventFilter{Condition: "data.n >"}}, []string{"filter.condition", "Syntax error"}},
		{"CEL not bool", &junctionv1.ListEventsRequest{Filter: &junctionv1.EventFilter{Condition: "data.n + 1"}}, []string{"filter.condition", "must evaluate to bool"}},
		{"undeclared", &junctionv1.ListEventsRequest{Filter: &junctionv1.EventFilter{Condition: "foo == 1"}}, []string{"filter.condition", "undeclared reference"}},
		{"bad pattern", &junctionv1.ListEventsRequest{Filter: &junctionv1.EventFilter{SubjectPattern: "acme.>.x"}}, []string{"filter.subject_pattern", "'>' before the last token"}},
		{"bad source", &junctionv1.ListEventsRequest{Filter: &junctionv1.EventFilter{Source: "Acme Inc"}}, []string{"filter.source"}},
		{"end before start", &junctionv1.ListEventsRequest{Filter: &junctionv1.EventFilter{StartTime: timestamppb.Now(), EndTime: timestamppb.New(time.Now().Add(-time.Hour))}}, []string{"filter.end_time", "not after start_time"}},
		{"negative size", &junctionv1.ListEventsRequest{PageSize: -1}, []string{"page_size"}},
		{"garbage token", &junctionv1.ListEventsRequest{PageToken: "nope"}, []string{"page_token"}},
		{"token of another filter", &junctionv1.ListEventsRequest{PageToken: first.GetNextPageToken(), Filter: &junctionv1.EventFilter{Source: "acme"}}, []string{"page_token", "another filter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.events.ListEvents(ctx, tt.req)
			wantCode(t, err, codes.InvalidArgument, tt.want...)
		})
	}
}

// receiver is an HTTP server that records what it is sent.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []http.Header
	body [][]byte
	// arrived gets a value per request.
	arrived chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{arrived: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, req.Header.Clone())
		r.body = append(r.body, b)
		r.mu.Unlock()
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func TestTailEvents(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	publishN(t, e, 2, "acme.user.created") // before the tail: not sent

	stream, err := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: "acme.>", Condition: "data.n != 3"})
	if err != nil {
		t.Fatal(err)
	}
	ready, err := stream.Recv()
	if err != nil || ready.GetEvent() != nil {
		t.Fatalf("first message: got %v, %v; want a heartbeat", ready, err)
	}

	// And over REST as server-sent events.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.rest.URL+"/v1/events:tail?subject_pattern=acme.user.*", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("REST tail: got %d %q, want 200 text/event-stream", resp.StatusCode, ct)
	}
	sse := bufio.NewReader(resp.Body)
	if line, err := sse.ReadString('\n'); err != nil || line != ": heartbeat\n" {
		t.Fatalf("REST tail first line: got %q, %v; want the heartbeat", line, err)
	}

	for i := 2; i < 6; i++ {
		typ := "user.created"
		if i == 4 {
			typ = "order.paid"
		}
		if _, err := e.events.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{
			Id: fmt.Sprintf("evt_%d", i), Source: "acme", Type: typ, DataContentType: "application/json", Data: []byte(fmt.Sprintf(`{"n": %d}`, i)),
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.events.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{Id: "other", Source: "beta", Type: "user.created"}}); err != nil {
		t.Fatal(err)
	}

	var got []string
	for len(got) < 3 {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv after %v: %v", got, err)
		}
		if m.GetEvent() != nil {
			got = append(got, m.GetEvent().GetId())
			if m.GetSequence() == 0 {
				t.Errorf("event %s without sequence", m.GetEvent().GetId())
			}
		}
	}
	if want := wantIDs(2, 4, 5); !slices.Equal(got, want) {
		t.Errorf("gRPC tail acme.> with data.n != 3: got %v, want %v", got, want)
	}

	var sseIDs []string
	for _, ev := range readSSE(t, sse, 3) {
		if ev.Event.DataJSON == nil {
			t.Errorf("REST tail: event %s without data_json", ev.Event.ID)
		}
		sseIDs = append(sseIDs, ev.Event.ID)
	}
	if want := wantIDs(2, 3, 5); !slices.Equal(sseIDs, want) {
		t.Errorf("REST tail acme.user.*: got %v, want %v", sseIDs, want)
	}

	_, err = e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{})
	if err == nil {
		s, _ := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{})
		_, err = s.Recv()
	}
	wantCode(t, err, codes.InvalidArgument, "subject_pattern", "required")
	s, err := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: ">", Condition: "event.nope"})
	if err == nil {
		_, err = s.Recv()
	}
	wantCode(t, err, codes.InvalidArgument, "condition")
}

func TestReplayEvents(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	rcv := newReceiver(t)
	start := timestamppb.Now()
	publishN(t, e, 6, "acme.user.created", "acme.order.paid")
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "users", Route: &junctionv1.Route{
		Filter: "acme.user.*", Condition: "data.n < 4",
		Targets: []*junctionv1.Target{{Name: "crm", Destination: "webhook", Config: map[string]string{"url": rcv.URL + "/users"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "orders", Route: &junctionv1.Route{
		Filter:  "acme.order.*",
		Targets: []*junctionv1.Target{{Name: "erp", Destination: "erp", Config: map[string]string{"url": rcv.URL + "/orders"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	filter := &junctionv1.EventFilter{StartTime: start, SubjectPattern: "acme.>"}

	tests := []struct {
		name string
		req  *junctionv1.ReplayEventsRequest
		// want is "event route/target destination" per delivery.
		want []string
	}{
		{"one route", &junctionv1.ReplayEventsRequest{Filter: filter, Through: &junctionv1.ReplayEventsRequest_Route{Route: "routes/users"}},
			[]string{"evt_0 users/crm webhook", "evt_2 users/crm webhook"}},
		{"all routes", &junctionv1.ReplayEventsRequest{Filter: filter, Through: &junctionv1.ReplayEventsRequest_AllRoutes{AllRoutes: true}},
			[]string{"evt_0 users/crm webhook", "evt_1 orders/erp erp", "evt_2 users/crm webhook", "evt_3 orders/erp erp", "evt_5 orders/erp erp"}},
		{"all routes with a condition", &junctionv1.ReplayEventsRequest{Filter: &junctionv1.EventFilter{StartTime: start, Condition: "data.n >= 3"}, Through: &junctionv1.ReplayEventsRequest_AllRoutes{AllRoutes: true}},
			[]string{"evt_3 orders/erp erp", "evt_5 orders/erp erp"}},
		{"shadow", &junctionv1.ReplayEventsRequest{Filter: &junctionv1.EventFilter{StartTime: start, Type: "order.paid"}, Through: &junctionv1.ReplayEventsRequest_Shadow{Shadow: &junctionv1.Target{Destination: "staging"}}},
			[]string{"evt_1 replay-*/shadow staging", "evt_3 replay-*/shadow staging", "evt_5 replay-*/shadow staging"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" dry run", func(t *testing.T) {
			tt.req.DryRun = true
			res, err := e.events.ReplayEvents(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range res.GetItems() {
				route := it.GetRouteId()
				if strings.HasPrefix(route, "replay-") {
					if route != "replay-"+res.GetReplayId() {
						t.Errorf("shadow route %s, want replay-%s", route, res.GetReplayId())
					}
					route = "replay-*"
				}
				got = append(got, it.GetEventId()+" "+route+"/"+it.GetTarget()+" "+it.GetDestination())
			}
			if !slices.Equal(got, tt.want) || !res.GetDryRun() || int(res.GetDeliveries()) != len(tt.want) || res.GetNextPageToken() != "" {
				t.Errorf("dry run: got %v (deliveries %d, token %q), want %v", got, res.GetDeliveries(), res.GetNextPageToken(), tt.want)
			}
		})
	}
	t.Run("REST dry run", func(t *testing.T) {
		code, body := e.do(t, http.MethodPost, "/v1/events:replay", map[string]any{
			"filter": map[string]any{"start_time": start.AsTime().Format(time.RFC3339Nano), "type": "order.paid"},
			"route":  "routes/orders", "dry_run": true,
		})
		items, _ := body["items"].([]any)
		if code != http.StatusOK || len(items) != 3 || body["replay_id"] == "" {
			t.Fatalf("POST /v1/events:replay: got %d %v, want 200 with 3 items", code, body)
		}
	})
	rcv.mu.Lock()
	n := len(rcv.got)
	rcv.mu.Unlock()
	if n != 0 {
		t.Fatalf("a dry run delivered %d requests", n)
	}
	if info, err := e.js.Stream(ctx, "DELIVERIES"); err == nil {
		if si, _ := info.Info(ctx); si.State.Msgs != 0 {
			t.Fatalf("dry runs stored %d deliveries, want 0", si.State.Msgs)
		}
	}
}

func TestReplayInvalid(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	publishN(t, e, 1, "acme.user.created")
	if _, err := e.routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "off", Route: &junctionv1.Route{
		Filter: "acme.>", Enabled: new(bool), Targets: []*junctionv1.Target{{Destination: "webhook", Config: map[string]string{"url": "https://example.com"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	since := &junctionv1.EventFilter{StartTime: timestamppb.New(time.Now().Add(-time.Hour))}
	all := &junctionv1.ReplayEventsRequest_AllRoutes{AllRoutes: true}
	tests := []struct {
		name string
		req  *junctionv1.ReplayEventsRequest
		code codes.Code
		want []string
	}{
		{"no start time", &junctionv1.ReplayEventsRequest{Through: all}, codes.InvalidArgument, []string{"filter.start_time", "required"}},
		{"nowhere", &junctionv1.ReplayEventsRequest{Filter: since}, codes.InvalidArgument, []string{"route", "all_routes", "shadow"}},
		{"rate too high", &junctionv1.ReplayEventsRequest{Filter: since, Through: all, Rate: 5000}, codes.InvalidArgument, []string{"rate"}},
		{"too many", &junctionv1.ReplayEventsRequest{Filter: since, Through: all, MaxEvents: 20000}, codes.InvalidArgument, []string{"max_events"}},
		{"bad CEL", &junctionv1.ReplayEventsRequest{Filter: &junctionv1.EventFilter{StartTime: since.StartTime, Condition: "data.("}, Through: all}, codes.InvalidArgument, []string{"filter.condition"}},
		{"unknown route", &junctionv1.ReplayEventsRequest{Filter: since, Through: &junctionv1.ReplayEventsRequest_Route{Route: "routes/nope"}}, codes.NotFound, nil},
		{"disabled route", &junctionv1.ReplayEventsRequest{Filter: since, Through: &junctionv1.ReplayEventsRequest_Route{Route: "routes/off"}}, codes.FailedPrecondition, []string{"disabled"}},
		{"no enabled route", &junctionv1.ReplayEventsRequest{Filter: since, Through: all}, codes.FailedPrecondition, []string{"no enabled route"}},
		{"shadow without destination", &junctionv1.ReplayEventsRequest{Filter: since, Through: &junctionv1.ReplayEventsRequest_Shadow{Shadow: &junctionv1.Target{}}}, codes.InvalidArgument, []string{"shadow", "destination"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.events.ReplayEvents(ctx, tt.req)
			wantCode(t, err, tt.code, tt.want...)
		})
	}
}

func TestEventSearchScopes(t *testing.T) {
	e := newAuthEnv(t, auth.RateLimit{RPS: -1}, nil)
	ctx := testCtx(t)
	reader := e.newKey(t, auth.ScopeEventsRead)
	publisher := e.newKey(t, auth.ScopeEventsPublish)
	replayer := e.newKey(t, auth.ScopeEventsReplay)
	replay := &junctionv1.ReplayEventsRequest{DryRun: true, Filter: &junctionv1.EventFilter{StartTime: timestamppb.Now()},
		Through: &junctionv1.ReplayEventsRequest_Shadow{Shadow: &junctionv1.Target{Destination: "staging"}}}
	tests := []struct {
		name string
		key  string
		call func(context.Context) error
		want codes.Code
	}{
		{"list without key", "", func(ctx context.Context) error {
			_, err := e.events.ListEvents(ctx, &junctionv1.ListEventsRequest{})
			return err
		}, codes.Unauthenticated},
		{"list with events:publish", publisher, func(ctx context.Context) error {
			_, err := e.events.ListEvents(ctx, &junctionv1.ListEventsRequest{})
			return err
		}, codes.PermissionDenied},
		{"list with events:read", reader, func(ctx context.Context) error {
			_, err := e.events.ListEvents(ctx, &junctionv1.ListEventsRequest{})
			return err
		}, codes.OK},
		{"list with events:replay", replayer, func(ctx context.Context) error {
			_, err := e.events.ListEvents(ctx, &junctionv1.ListEventsRequest{})
			return err
		}, codes.OK},
		{"replay with events:read", reader, func(ctx context.Context) error { _, err := e.events.ReplayEvents(ctx, replay); return err }, codes.PermissionDenied},
		{"replay with events:publish", publisher, func(ctx context.Context) error { _, err := e.events.ReplayEvents(ctx, replay); return err }, codes.PermissionDenied},
		{"replay with events:replay", replayer, func(ctx context.Context) error { _, err := e.events.ReplayEvents(ctx, replay); return err }, codes.OK},
		{"tail without key", "", func(ctx context.Context) error {
			s, err := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: ">"})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}, codes.Unauthenticated},
		{"tail with events:publish", publisher, func(ctx context.Context) error {
			s, err := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: ">"})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}, codes.PermissionDenied},
		{"tail with events:read", reader, func(ctx context.Context) error {
			s, err := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: ">"})
			if err == nil {
				_, err = s.Recv() // the heartbeat
			}
			return err
		}, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			err := tt.call(withKey(ctx, tt.key))
			if tt.want == codes.OK {
				if err != nil {
					t.Fatalf("got %v, want the call let through", err)
				}
				return
			}
			wantCode(t, err, tt.want)
		})
	}
	resp, raw := e.restDo(t, http.MethodGet, "/v1/events:tail?subject_pattern=%3E", "Bearer "+publisher, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(raw), "events:read") {
		t.Errorf("REST tail with events:publish: got %d %s, want 403 naming events:read", resp.StatusCode, raw)
	}
	// As server-sent events too: a refusal is a plain REST error.
	for _, tc := range []struct {
		key  string
		want int
	}{{"", http.StatusUnauthorized}, {publisher, http.StatusForbidden}} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.rest.URL+"/v1/events:tail?subject_pattern=%3E", nil)
		req.Header.Set("Accept", "text/event-stream")
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &body) != nil || body.Message == "" {
			t.Errorf("SSE tail with key %v: got %d %s %s, want %d with a JSON error", tc.key != "", resp.StatusCode, resp.Header.Get("Content-Type"), raw, tc.want)
		}
		if tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("SSE tail without key: no WWW-Authenticate")
		}
	}
}
