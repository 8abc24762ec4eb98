package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestPaginationStyles: seven items, three a page, read through every
// pagination style, stored once each with the endpoint-prefixed id, the
// item's type and time, with the bearer token sent on every page.
func TestPaginationStyles(t *testing.T) {
	for _, tc := range []struct {
		style     string
		wantPages int // requests for seven items, three a page
	}{
		{style: "link", wantPages: 3},
		{style: "cursor", wantPages: 3},
		{style: "page", wantPages: 4}, // the empty fourth page ends it
		{style: "none", wantPages: 1},
	} {
		t.Run(tc.style, func(t *testing.T) {
			hub := sdktest.NewHub(t)
			srv := newAPI(t, tc.style, items(100, 7, base)...)
			a := newAdapter(t, endpointFor(srv))
			pub, err := sdk.NewPublisher(hub.JS)
			if err != nil {
				t.Fatal(err)
			}
			next, err := a.PollFrom(context.Background(), "", pub.Publish)
			if err != nil {
				t.Fatalf("PollFrom: %v", err)
			}
			events := hub.WaitEvents(t, 7, 60*time.Second)
			var ids []string
			for _, e := range events {
				ids = append(ids, e.GetId())
			}
			want := []string{"orders.100", "orders.101", "orders.102", "orders.103", "orders.104", "orders.105", "orders.106"}
			if !slices.Equal(ids, want) {
				t.Errorf("stored ids %v, want %v", ids, want)
			}
			e := events[2]
			if e.GetSource() != "poll" || e.GetType() != "order.created" || !e.GetTime().AsTime().Equal(base.Add(2*time.Minute)) {
				t.Errorf("event = source %q type %q time %v, want poll, order.created (from kind), %v", e.GetSource(), e.GetType(), e.GetTime().AsTime(), base.Add(2*time.Minute))
			}
			var data map[string]any
			if err := json.Unmarshal(e.GetData(), &data); err != nil || data["total"] != 12.5 {
				t.Errorf("data = %s (%v), want the item's JSON", e.GetData(), err)
			}
			if got := len(srv.requests()); got != tc.wantPages {
				t.Errorf("the API got %d requests, want %d pages", got, tc.wantPages)
			}
			if srv.badAuth != 0 {
				t.Errorf("%d requests came without the bearer token", srv.badAuth)
			}
			var c cursor
			if err := json.Unmarshal([]byte(next), &c); err != nil {
				t.Fatalf("cursor %q: %v", next, err)
			}
			st := c.Endpoints["orders"]
			if st == nil || !st.Since.Equal(base.Add(6*time.Minute)) || !slices.Equal(st.Seen, []string{"106"}) {
				t.Errorf("cursor state %+v, want since %v and seen [106]", st, base.Add(6*time.Minute))
			}

			// The next poll sends the cursor time and emits nothing more.
			n := len(srv.requests())
			if _, err := a.PollFrom(context.Background(), next, pub.Publish); err != nil {
				t.Fatalf("second PollFrom: %v", err)
			}
			if got := srv.requests()[n].query.Get("updated_since"); got != base.Add(6*time.Minute).Format(time.RFC3339) {
				t.Errorf("second poll sent updated_since=%q, want the cursor's time", got)
			}
			if got := hub.StreamMsgs(t, topology.EventsStream); got != 7 {
				t.Errorf("EVENTS holds %d after a second poll, want 7", got)
			}
		})
	}
}

// TestPageParameterIgnored: an API that answers the same page whatever
// the page number is read once, not max_pages times.
func TestPageParameterIgnored(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := newAPI(t, "none", items(1, 3, base)...)
	e := endpointFor(srv)
	e.Pagination = Pagination{Style: PageNumber, PageParam: "page"}
	a := newAdapter(t, e)
	pub, _ := sdk.NewPublisher(hub.JS)
	if _, err := a.PollFrom(context.Background(), "", pub.Publish); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.requests()); got != 2 {
		t.Errorf("the API got %d requests, want 2 (page 2 repeats page 1: stop)", got)
	}
	hub.WaitEvents(t, 3, 60*time.Second)
}

// TestRetryAfterHonoured: a 429 with Retry-After: 1 is retried, not before
// a second passed, and the poll then succeeds.
func TestRetryAfterHonoured(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := newAPI(t, "link", items(1, 2, base)...)
	srv.answerNext(answer{status: 429, retryAfter: "1"})
	a := newAdapter(t, endpointFor(srv))
	pub, _ := sdk.NewPublisher(hub.JS)
	if _, err := a.PollFrom(context.Background(), "", pub.Publish); err != nil {
		t.Fatalf("PollFrom: %v", err)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("the API got %d requests, want 2 (the 429, then the retry)", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("retried %v after the 429, want at least Retry-After's 1s", gap)
	}
	hub.WaitEvents(t, 2, 60*time.Second)
}

// TestFailuresAreRetriedOrNot: 5xx and 408 are retried with back-off; 4xx
// is not, and names the answer; a Retry-After beyond retry.max_wait ends
// the poll and holds the endpoint back.
func TestFailuresAreRetriedOrNot(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   []answer
		wantReqs int
		wantErr  string
	}{
		{name: "503 twice then ok", script: []answer{{status: 503}, {status: 503}}, wantReqs: 3},
		{name: "408 and 500 then ok", script: []answer{{status: 408}, {status: 500}}, wantReqs: 3},
		{name: "5xx until attempts run out", script: []answer{{status: 502}, {status: 502}, {status: 502}, {status: 502}, {status: 502}}, wantReqs: 5, wantErr: "answered 502"},
		{name: "404 is not retried", script: []answer{{status: 404}}, wantReqs: 1, wantErr: "answered 404"},
		{name: "long Retry-After", script: []answer{{status: 429, retryAfter: "3600"}}, wantReqs: 1, wantErr: "beyond retry.max_wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := sdktest.NewHub(t)
			srv := newAPI(t, "none", items(1, 2, base)...)
			srv.answerNext(tc.script...)
			a := newAdapter(t, endpointFor(srv))
			pub, _ := sdk.NewPublisher(hub.JS)
			next, err := a.PollFrom(context.Background(), "", pub.Publish)
			if got := len(srv.requests()); got != tc.wantReqs {
				t.Errorf("the API got %d requests, want %d", got, tc.wantReqs)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("PollFrom: %v", err)
				}
				hub.WaitEvents(t, 2, 60*time.Second)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("PollFrom = %q, %v; want an error containing %q", next, err, tc.wantErr)
			}
			if got := hub.StreamMsgs(t, topology.EventsStream); got != 0 {
				t.Errorf("EVENTS holds %d after a failed poll, want 0", got)
			}
			if tc.name == "long Retry-After" {
				before := len(srv.requests())
				if _, err := a.PollFrom(context.Background(), "", pub.Publish); err != nil {
					t.Errorf("a poll during the Retry-After = %v, want nil (the endpoint is skipped)", err)
				}
				if got := len(srv.requests()); got != before {
					t.Errorf("the endpoint was called %d times during its Retry-After, want 0", got-before)
				}
			}
		})
	}
}

// TestRestartResumesFromStoredCursor runs the adapter in a Runner, stops
// it, adds items, and starts a new adapter: it asks the API from the
// stored cursor's time and emits only the new items.
func TestRestartResumesFromStoredCursor(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := newAPI(t, "cursor", items(1, 4, base)...)
	first := &counting{a: newAdapter(t, endpointFor(srv))}
	stop := run(t, hub, first, "one")
	eventIDs(t, hub, 4)
	stop()
	if got := first.n.Load(); got != 4 {
		t.Errorf("the first run emitted %d events, want 4", got)
	}

	srv.add(items(5, 2, base.Add(time.Hour))...)
	before := len(srv.requests())
	second := &counting{a: newAdapter(t, endpointFor(srv))}
	run(t, hub, second, "two")
	ids := eventIDs(t, hub, 6)
	waitFor(t, "two polls of the restarted adapter", func() error {
		if n := len(srv.requests()) - before; n < 4 {
			return fmt.Errorf("%d requests", n)
		}
		return nil
	})
	if got := srv.requests()[before].query.Get("updated_since"); got != base.Add(3*time.Minute).Format(time.RFC3339) {
		t.Errorf("the restarted adapter asked updated_since=%q, want the stored cursor's %s", got, base.Add(3*time.Minute).Format(time.RFC3339))
	}
	if got := second.n.Load(); got != 2 {
		t.Errorf("the restarted adapter emitted %d events, want 2 (the new items only)", got)
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 6 {
		t.Errorf("EVENTS holds %d (%v), want 6", got, ids)
	}
}

// TestTwoInstancesStoreEachItemOnce: two Runners poll one API with one
// cursor; every item is stored once. With the lease (the default) one
// instance does all the polling; without, both poll and the hub dedupes.
func TestTwoInstancesStoreEachItemOnce(t *testing.T) {
	noLease := time.Duration(0)
	for _, tc := range []struct {
		name  string
		lease *time.Duration
	}{
		{name: "lease"},
		{name: "no lease", lease: &noLease},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := sdktest.NewHub(t)
			srv := newAPI(t, "page", items(1, 5, base)...)
			mk := func() *counting {
				a := newAdapter(t, endpointFor(srv))
				if tc.lease != nil {
					a.lease = *tc.lease
				}
				return &counting{a: a}
			}
			a, b := mk(), mk()
			run(t, hub, a, "a")
			run(t, hub, b, "b")
			eventIDs(t, hub, 5)
			srv.add(items(6, 3, base.Add(time.Hour))...)
			eventIDs(t, hub, 8)
			before := len(srv.requests())
			waitFor(t, "more polls", func() error {
				if n := len(srv.requests()) - before; n < 10 {
					return fmt.Errorf("%d requests", n)
				}
				return nil
			})
			if got := hub.StreamMsgs(t, topology.EventsStream); got != 8 {
				t.Errorf("EVENTS holds %d, want 8 (each item once)", got)
			}
			na, nb := a.n.Load(), b.n.Load()
			t.Logf("instance a emitted %d, b %d, for 8 items", na, nb)
			if tc.lease == nil && (na+nb != 8 || min(na, nb) != 0) {
				t.Errorf("with the lease a emitted %d and b %d, want 8 by one of them only", na, nb)
			}
		})
	}
}

// TestDedupeByIDWithoutTime: an endpoint without time_field remembers the
// ids it took and emits only new ones.
func TestDedupeByIDWithoutTime(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := newAPI(t, "none", items(1, 3, base)...)
	e := endpointFor(srv)
	e.TimeField, e.SinceParam = "", ""
	c := &counting{a: newAdapter(t, e)}
	pub, _ := sdk.NewPublisher(hub.JS)
	cur, err := c.PollFrom(context.Background(), "", pub.Publish)
	if err != nil {
		t.Fatal(err)
	}
	cur, err = c.PollFrom(context.Background(), cur, pub.Publish)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.n.Load(); got != 3 {
		t.Errorf("two polls of the same three items emitted %d, want 3", got)
	}
	srv.add(item{ID: 9, Updated: base, Kind: "order.created"})
	if _, err := c.PollFrom(context.Background(), cur, pub.Publish); err != nil {
		t.Fatal(err)
	}
	if got := c.n.Load(); got != 4 {
		t.Errorf("after one new item %d emitted, want 4", got)
	}
	hub.WaitEvents(t, 4, 60*time.Second)
}

// TestSinceBackfill: since starts the first poll, is sent as the since
// parameter, and older items are skipped.
func TestSinceBackfill(t *testing.T) {
	hub := sdktest.NewHub(t)
	srv := newAPI(t, "none", items(1, 5, base)...)
	e := endpointFor(srv)
	e.Since = base.Add(3 * time.Minute).Format(time.RFC3339)
	e.SinceParam = "" // the API lists everything; the adapter filters
	a := newAdapter(t, e)
	pub, _ := sdk.NewPublisher(hub.JS)
	if _, err := a.PollFrom(context.Background(), "", pub.Publish); err != nil {
		t.Fatal(err)
	}
	ids := eventIDs(t, hub, 2)
	if !slices.Equal(ids, []string{"orders.4", "orders.5"}) || hub.StreamMsgs(t, topology.EventsStream) != 2 {
		t.Errorf("stored %v, want orders.4 and orders.5 (at and after since)", ids)
	}

	e.SinceParam = "updated_since"
	a = newAdapter(t, e)
	before := len(srv.requests())
	if _, err := a.PollFrom(context.Background(), "", pub.Publish); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[before].query.Get("updated_since"); got != e.Since {
		t.Errorf("first poll sent updated_since=%q, want since %q", got, e.Since)
	}
}

// TestUnavailableHubCommitsNothing: when the hub cannot store, PollFrom
// fails (the Runner commits nothing) and the next poll emits again.
func TestUnavailableHubCommitsNothing(t *testing.T) {
	srv := newAPI(t, "none", items(1, 2, base)...)
	a := newAdapter(t, endpointFor(srv))
	failing := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
		return sdk.PublishResult{}, fmt.Errorf("store: %w", sdk.ErrUnavailable)
	}
	if next, err := a.PollFrom(context.Background(), "", failing); err == nil || !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("PollFrom with the hub down = %q, %v; want an error wrapping ErrUnavailable", next, err)
	}
	var got []string
	record := func(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
		got = append(got, e.GetId())
		return sdk.PublishResult{}, nil
	}
	if _, err := a.PollFrom(context.Background(), "", record); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"orders.1", "orders.2"}) {
		t.Errorf("after the hub came back the poll emitted %v, want both items", got)
	}
}

// TestEgressGuard: without outbound.allow a loopback endpoint is refused
// when connecting, naming the key; a next link to another origin is
// refused before the auth header goes there.
func TestEgressGuard(t *testing.T) {
	srv := newAPI(t, "none", items(1, 1, base)...)
	t.Setenv("POLL_TEST_TOKEN", testToken)
	a, err := New(Config{Endpoints: []Endpoint{endpointFor(srv)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.PollFrom(context.Background(), "", func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
		t.Error("emitted an event from a refused address")
		return sdk.PublishResult{}, nil
	})
	if !errors.Is(err, egress.ErrBlocked) || !strings.Contains(err.Error(), "outbound.allow") {
		t.Errorf("PollFrom of a loopback endpoint without allow = %v, want egress.ErrBlocked naming outbound.allow", err)
	}
	if got := len(srv.requests()); got != 0 {
		t.Errorf("the refused endpoint got %d requests", got)
	}

	base, _ := a.endpoints[0].url.Parse("/v1/orders?p=1")
	for _, tc := range []struct {
		link string
		ok   bool
	}{
		{link: "/v1/orders?p=2", ok: true},
		{link: "?p=2", ok: true},
		{link: srv.URL + "/v1/orders?p=2", ok: true},
		{link: "https://evil.example/steal", ok: false},
		{link: "//evil.example/steal", ok: false},
		{link: strings.Replace(srv.URL, "http:", "https:", 1) + "/x", ok: false},
	} {
		_, err := sameOrigin(a.endpoints[0].url, base, tc.link)
		if (err == nil) != tc.ok {
			t.Errorf("sameOrigin(%q) = %v, want ok %v", tc.link, err, tc.ok)
		}
	}
}
