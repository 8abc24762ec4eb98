package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
	"github.com/junctionhq/junction/services/router"
)

// statusErr is a destination's non-2xx answer.
type statusErr struct{ code int }

func (e statusErr) Error() string           { return fmt.Sprintf("answered %d", e.code) }
func (e statusErr) HTTPStatus() int         { return e.code }
func (e statusErr) ResponseExcerpt() string { return "try later" }

// flaky is a sink that answers 503 while failing is set and records what
// it accepted, by delivery id.
type flaky struct {
	mu        sync.Mutex
	failing   bool
	permanent bool
	got       map[string]int
	payloads  map[string]string
}

func (f *flaky) Deliver(_ context.Context, d *junctionv1.Delivery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.permanent {
		return sdk.Permanent(statusErr{400})
	}
	if f.failing {
		return statusErr{503}
	}
	f.got[d.GetId()]++
	f.payloads[d.GetId()] = string(d.GetPayload())
	return nil
}

func (f *flaky) set(failing, permanent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing, f.permanent = failing, permanent
}

func (f *flaky) count(id string) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[id], f.payloads[id]
}

// startPipeline runs a router and the flaky sink on e's hub.
func startPipeline(t *testing.T, e *env) (*flaky, *router.Router) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := router.New(e.js, router.Options{Logger: log})
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	wg.Go(func() { _ = r.Run(ctx) })
	f := &flaky{failing: true, got: map[string]int{}, payloads: map[string]string{}}
	run, err := platform.NewRunner(sdk.Spec{App: "flaky", Version: "test"}, f, e.js.Conn(), platform.RunnerOptions{Logger: log, Config: sdk.Config{Concurrency: 4}})
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	wg.Go(func() { _ = run.Run(ctx) })
	waitFor(t, "router ready", func() bool { return r.Ready() == nil })
	waitFor(t, "sink ready", func() bool { return run.Ready() == nil })
	return f, r
}

// createRoute creates a route and waits until the router applies it.
func createRoute(t *testing.T, e *env, r *router.Router, id string, route *junctionv1.Route) *junctionv1.Route {
	t.Helper()
	res, err := e.routes.CreateRoute(testCtx(t), &junctionv1.CreateRouteRequest{RouteId: id, Route: route})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	waitFor(t, "route applied", func() bool { return r.AppliedRevision() >= res.GetRoute().GetRevision() })
	return res.GetRoute()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func flakyRoute(maxAttempts int32) *junctionv1.Route {
	return &junctionv1.Route{
		Filter: "acme.user.*",
		Targets: []*junctionv1.Target{{
			Name:        "main",
			Destination: "flaky",
			Transform:   `{"email": data.email}`,
		}},
		Policy: &junctionv1.DeliveryPolicy{MaxAttempts: maxAttempts, InitialBackoff: durationpb.New(20 * time.Millisecond), MaxBackoff: durationpb.New(50 * time.Millisecond)},
	}
}

func publishUser(t *testing.T, e *env, id, email string) {
	t.Helper()
	_, err := e.events.PublishEvent(testCtx(t), &junctionv1.PublishEventRequest{Event: &junctionv1.Event{
		Id: id, Source: "acme", Type: "user.created", DataContentType: "application/json",
		Data: []byte(`{"email":"` + email + `"}`),
	}})
	if err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
}

func listDLQ(t *testing.T, e *env, f *junctionv1.DeadLetterFilter) []*junctionv1.DeadLetter {
	t.Helper()
	res, err := junctionv1grpc.NewDeadLetterServiceClient(e.conn).ListDeadLetters(testCtx(t), &junctionv1.ListDeadLettersRequest{Filter: f})
	if err != nil {
		t.Fatalf("ListDeadLetters: %v", err)
	}
	return res.GetDeadLetters()
}

func waitDLQ(t *testing.T, e *env, f *junctionv1.DeadLetterFilter, n int) []*junctionv1.DeadLetter {
	t.Helper()
	var got []*junctionv1.DeadLetter
	waitFor(t, fmt.Sprintf("%d dead letters", n), func() bool {
		got = listDLQ(t, e, f)
		return len(got) >= n
	})
	if len(got) != n {
		t.Fatalf("got %d dead letters, want %d", len(got), n)
	}
	return got
}

// TestDeadLetterRedrive: an exhausted policy dead-letters the delivery with
// its reason, attempts and last status; the attempt log shows each attempt;
// a redrive delivers it once, with the same delivery id.
func TestDeadLetterRedrive(t *testing.T) {
	e := newEnv(t)
	dlq := junctionv1grpc.NewDeadLetterServiceClient(e.conn)
	dlv := junctionv1grpc.NewDeliveryServiceClient(e.conn)
	f, r := startPipeline(t, e)
	createRoute(t, e, r, "users", flakyRoute(3))
	publishUser(t, e, "u1", "a@example.com")

	dls := waitDLQ(t, e, &junctionv1.DeadLetterFilter{Destination: "flaky"}, 1)
	dl := dls[0]
	want := router.DeliveryID("acme", "u1", "users", "main")
	for _, c := range []struct{ name, got, want string }{
		{"delivery id", dl.GetDelivery().GetId(), want},
		{"reason", dl.GetReason(), "max_attempts"},
		{"destination", dl.GetDestination(), "flaky"},
		{"route", dl.GetRouteId(), "users"},
		{"target", dl.GetTarget(), "main"},
		{"attempts", fmt.Sprint(dl.GetAttempts()), "3"},
		{"last status", fmt.Sprint(dl.GetLastStatusCode()), "503"},
		{"last error", dl.GetLastError(), "answered 503"},
	} {
		if c.got != c.want {
			t.Errorf("dead letter %s = %q, want %q", c.name, c.got, c.want)
		}
	}
	got, err := dlq.GetDeadLetter(testCtx(t), &junctionv1.GetDeadLetterRequest{Name: dl.GetName()})
	if err != nil || got.GetDeadLetter().GetDelivery().GetId() != want {
		t.Fatalf("GetDeadLetter(%s) = %v, %v; want the dead letter of %s", dl.GetName(), got, err, want)
	}
	if n := len(listDLQ(t, e, &junctionv1.DeadLetterFilter{Destination: "other"})); n != 0 {
		t.Errorf("filter destination=other listed %d dead letters, want 0", n)
	}
	if n := len(listDLQ(t, e, &junctionv1.DeadLetterFilter{StartTime: dl.GetDeadLetterTime(), EndTime: nil})); n != 1 {
		t.Errorf("filter start_time=dead letter time listed %d, want 1", n)
	}

	// The attempt log: three failed attempts, dead-lettered.
	var st *junctionv1.DeliveryStatus
	waitFor(t, "attempt log of u1", func() bool {
		res, err := dlv.ListEventDeliveries(testCtx(t), &junctionv1.ListEventDeliveriesRequest{Parent: "events/u1"})
		if err != nil {
			t.Fatalf("ListEventDeliveries: %v", err)
		}
		if len(res.GetDeliveries()) != 1 {
			return false
		}
		st = res.GetDeliveries()[0]
		return st.GetState() == junctionv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED
	})
	if st.GetAttemptCount() != 3 || len(st.GetAttempts()) != 3 {
		t.Fatalf("attempt log has %d attempts (count %d), want 3", len(st.GetAttempts()), st.GetAttemptCount())
	}
	for i, a := range st.GetAttempts() {
		if a.GetStatusCode() != 503 || a.GetResponseExcerpt() != "try later" || a.GetLatency() == nil || a.GetAttempt() != int32(i+1) {
			t.Errorf("attempt %d = %v, want attempt %d with status 503, excerpt and latency", i, a, i+1)
		}
	}
	if st.GetAttempts()[0].GetOutcome() != junctionv1.DeliveryState_DELIVERY_STATE_RETRYING || st.GetAttempts()[0].GetNextAttemptTime() == nil {
		t.Errorf("first attempt outcome = %v next %v, want RETRYING with a next attempt time", st.GetAttempts()[0].GetOutcome(), st.GetAttempts()[0].GetNextAttemptTime())
	}

	// The same over REST.
	code, body := e.do(t, "GET", "/v1/deadLetters?filter.destination=flaky&filter.reason=max_attempts", nil)
	if list, _ := body["dead_letters"].([]any); code != 200 || len(list) != 1 {
		t.Errorf("GET /v1/deadLetters = %d %v, want 200 with 1 dead letter", code, body)
	}
	code, body = e.do(t, "GET", "/v1/"+dl.GetName(), nil)
	if code != 200 || body["reason"] != "max_attempts" {
		t.Errorf("GET /v1/%s = %d %v, want 200 with reason max_attempts", dl.GetName(), code, body)
	}
	code, body = e.do(t, "GET", "/v1/events/u1/deliveries", nil)
	if list, _ := body["deliveries"].([]any); code != 200 || len(list) != 1 || fmt.Sprint(list[0].(map[string]any)["state"]) != "DELIVERY_STATE_DEAD_LETTERED" {
		t.Errorf("GET /v1/events/u1/deliveries = %d %v, want 200 with 1 dead-lettered delivery", code, body)
	}
	code, body = e.do(t, "POST", "/v1/deadLetters:redrive", map[string]any{})
	if code != 400 {
		t.Errorf("POST /v1/deadLetters:redrive {} = %d %v, want 400", code, body)
	}

	// Redrive: delivered once, same id; the dead letter is gone.
	f.set(false, false)
	res, err := dlq.RedriveDeadLetters(testCtx(t), &junctionv1.RedriveDeadLettersRequest{Names: []string{dl.GetName()}})
	if err != nil || res.GetRedrivenCount() != 1 || len(res.GetDeliveryIds()) != 1 || res.GetDeliveryIds()[0] != want {
		t.Fatalf("RedriveDeadLetters = %v, %v; want 1 redriven, id %s", res, err, want)
	}
	waitFor(t, "redriven delivery", func() bool { n, _ := f.count(want); return n > 0 })
	waitFor(t, "delivered state", func() bool {
		res, err := dlv.ListEventDeliveries(testCtx(t), &junctionv1.ListEventDeliveriesRequest{Parent: "events/u1"})
		return err == nil && len(res.GetDeliveries()) == 1 && res.GetDeliveries()[0].GetState() == junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED
	})
	if n, _ := f.count(want); n != 1 {
		t.Errorf("delivery %s received %d times, want 1", want, n)
	}
	if n := len(listDLQ(t, e, nil)); n != 0 {
		t.Errorf("DLQ holds %d dead letters after the redrive, want 0", n)
	}
	_, err = dlq.RedriveDeadLetters(testCtx(t), &junctionv1.RedriveDeadLettersRequest{Names: []string{dl.GetName()}})
	wantCode(t, err, codes.NotFound, dl.GetName())

	// Resend: one call, the same delivery id once more.
	rs, err := dlv.ResendEvent(testCtx(t), &junctionv1.ResendEventRequest{Name: "events/u1"})
	if err != nil || len(rs.GetDeliveryIds()) != 1 || rs.GetDeliveryIds()[0] != want {
		t.Fatalf("ResendEvent = %v, %v; want [%s]", rs, err, want)
	}
	waitFor(t, "resent delivery", func() bool { n, _ := f.count(want); return n == 2 })
}

// TestDeadLetterRedriveFilterRerenderPurge: redrive by filter to the route's
// current definition, purge by filter and all, and the selection rules.
func TestDeadLetterRedriveFilterRerenderPurge(t *testing.T) {
	e := newEnv(t)
	dlq := junctionv1grpc.NewDeadLetterServiceClient(e.conn)
	f, r := startPipeline(t, e)
	f.set(false, true)
	created := createRoute(t, e, r, "users", flakyRoute(5))
	for i := range 3 {
		publishUser(t, e, fmt.Sprintf("p%d", i), fmt.Sprintf("p%d@example.com", i))
	}
	dls := waitDLQ(t, e, &junctionv1.DeadLetterFilter{RouteId: "users", Reason: "permanent"}, 3)
	if dls[0].GetAttempts() != 1 || dls[0].GetLastStatusCode() != 400 {
		t.Errorf("permanent dead letter attempts %d status %d, want 1 and 400", dls[0].GetAttempts(), dls[0].GetLastStatusCode())
	}

	for _, tc := range []struct {
		name string
		req  *junctionv1.RedriveDeadLettersRequest
	}{
		{"nothing selected", &junctionv1.RedriveDeadLettersRequest{}},
		{"two selections", &junctionv1.RedriveDeadLettersRequest{All: true, Names: []string{dls[0].GetName()}}},
		{"bad name", &junctionv1.RedriveDeadLettersRequest{Names: []string{"deadLetters/x"}}},
		{"bad destination", &junctionv1.RedriveDeadLettersRequest{Filter: &junctionv1.DeadLetterFilter{Destination: "No Such"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dlq.RedriveDeadLetters(testCtx(t), tc.req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}

	// Purge one by name.
	pr, err := dlq.PurgeDeadLetters(testCtx(t), &junctionv1.PurgeDeadLettersRequest{Names: []string{dls[2].GetName()}})
	if err != nil || pr.GetPurgedCount() != 1 {
		t.Fatalf("PurgeDeadLetters(name) = %v, %v; want 1", pr, err)
	}

	// Change the route's transform, then redrive the rest by filter with
	// rerender: they arrive rendered by the new transform.
	upd := flakyRoute(5)
	upd.Name = "routes/users"
	upd.Revision = created.GetRevision()
	upd.Targets[0].Transform = `{"mail": data.email, "v": 2}`
	updated, err := e.routes.UpdateRoute(testCtx(t), &junctionv1.UpdateRouteRequest{Route: upd})
	if err != nil {
		t.Fatalf("UpdateRoute: %v", err)
	}
	waitFor(t, "route update applied", func() bool { return r.AppliedRevision() >= updated.GetRoute().GetRevision() })
	f.set(false, false)
	res, err := dlq.RedriveDeadLetters(testCtx(t), &junctionv1.RedriveDeadLettersRequest{Filter: &junctionv1.DeadLetterFilter{Destination: "flaky"}, Rerender: true})
	if err != nil || res.GetRedrivenCount() != 2 || len(res.GetFailures()) != 0 {
		t.Fatalf("RedriveDeadLetters(filter, rerender) = %v, %v; want 2 redriven", res, err)
	}
	for _, id := range res.GetDeliveryIds() {
		waitFor(t, "redriven "+id, func() bool { n, _ := f.count(id); return n == 1 })
		if _, p := f.count(id); p == "" || p[:8] != `{"mail":` {
			t.Errorf("redriven payload = %s, want the new transform's {\"mail\":...}", p)
		}
	}

	// Purge everything.
	f.set(false, true)
	publishUser(t, e, "p9", "p9@example.com")
	waitDLQ(t, e, nil, 1)
	pr, err = dlq.PurgeDeadLetters(testCtx(t), &junctionv1.PurgeDeadLettersRequest{All: true})
	if err != nil || pr.GetPurgedCount() != 1 {
		t.Fatalf("PurgeDeadLetters(all) = %v, %v; want 1", pr, err)
	}
	if n := len(listDLQ(t, e, nil)); n != 0 {
		t.Errorf("DLQ holds %d after purge all, want 0", n)
	}
}

func TestDeliveryServiceErrors(t *testing.T) {
	e := newEnv(t)
	dlv := junctionv1grpc.NewDeliveryServiceClient(e.conn)
	dlq := junctionv1grpc.NewDeadLetterServiceClient(e.conn)
	for _, tc := range []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"deliveries of a bad name", func() error {
			_, err := dlv.ListEventDeliveries(testCtx(t), &junctionv1.ListEventDeliveriesRequest{Parent: "nope"})
			return err
		}, codes.InvalidArgument},
		{"deliveries of an unknown event", func() error {
			_, err := dlv.ListEventDeliveries(testCtx(t), &junctionv1.ListEventDeliveriesRequest{Parent: "events/nope"})
			return err
		}, codes.NotFound},
		{"resend an unknown event", func() error {
			_, err := dlv.ResendEvent(testCtx(t), &junctionv1.ResendEventRequest{Name: "events/nope"})
			return err
		}, codes.NotFound},
		{"get a bad dead letter name", func() error {
			_, err := dlq.GetDeadLetter(testCtx(t), &junctionv1.GetDeadLetterRequest{Name: "deadLetters/0"})
			return err
		}, codes.InvalidArgument},
		{"list with a bad page token", func() error {
			_, err := dlq.ListDeadLetters(testCtx(t), &junctionv1.ListDeadLettersRequest{PageToken: "abc"})
			return err
		}, codes.InvalidArgument},
		{"list with end before start", func() error {
			_, err := dlq.ListDeadLetters(testCtx(t), &junctionv1.ListDeadLettersRequest{Filter: &junctionv1.DeadLetterFilter{
				StartTime: timestamppb.New(time.Now()), EndTime: timestamppb.New(time.Now().Add(-time.Hour))}})
			return err
		}, codes.InvalidArgument},
		{"purge nothing selected", func() error {
			_, err := dlq.PurgeDeadLetters(testCtx(t), &junctionv1.PurgeDeadLettersRequest{})
			return err
		}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.want) })
	}
}

// TestDeadLetterPaging lists more dead letters than a page holds.
func TestDeadLetterPaging(t *testing.T) {
	e := newEnv(t)
	f, r := startPipeline(t, e)
	f.set(false, true)
	createRoute(t, e, r, "users", flakyRoute(1))
	const n = 7
	for i := range n {
		publishUser(t, e, fmt.Sprintf("pg%d", i), "x@example.com")
	}
	waitDLQ(t, e, nil, n)
	dlq := junctionv1grpc.NewDeadLetterServiceClient(e.conn)
	seen := map[string]bool{}
	token, pages := "", 0
	for {
		res, err := dlq.ListDeadLetters(testCtx(t), &junctionv1.ListDeadLettersRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatalf("ListDeadLetters page %d: %v", pages, err)
		}
		pages++
		for _, d := range res.GetDeadLetters() {
			seen[d.GetName()] = true
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != n || pages != 3 {
		t.Errorf("paging saw %d dead letters in %d pages, want %d in 3", len(seen), pages, n)
	}
}
