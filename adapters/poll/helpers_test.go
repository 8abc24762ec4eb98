package poll

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

const testToken = "poll-test-token-0123"

// item is one record of the fake API.
type item struct {
	ID      int
	Updated time.Time
	Kind    string
}

// api is a fake REST API listing items oldest first, filtered by
// ?updated_since=, paginated as style says, with a bearer token.
type api struct {
	*httptest.Server
	style    string // link, cursor, page or none
	pageSize int

	mu      sync.Mutex
	items   []item
	script  []answer // answered first, one per request
	reqs    []request
	badAuth int
}

type answer struct {
	status     int
	retryAfter string
}

type request struct {
	at    time.Time
	query url.Values
}

func newAPI(t *testing.T, style string, items ...item) *api {
	a := &api{style: style, pageSize: 3, items: items}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *api) add(items ...item) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.items = append(a.items, items...)
}

func (a *api) answerNext(as ...answer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.script = append(a.script, as...)
}

func (a *api) requests() []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]request(nil), a.reqs...)
}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = append(a.reqs, request{at: time.Now(), query: r.URL.Query()})
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		a.badAuth++
		http.Error(w, `{"error":"invalid token"}`, http.StatusUnauthorized)
		return
	}
	if len(a.script) > 0 {
		ans := a.script[0]
		a.script = a.script[1:]
		if ans.retryAfter != "" {
			w.Header().Set("Retry-After", ans.retryAfter)
		}
		http.Error(w, `{"error":"slow down"}`, ans.status)
		return
	}
	var list []item
	since := time.Time{}
	if s := r.URL.Query().Get("updated_since"); s != "" {
		since, _ = time.Parse(time.RFC3339Nano, s)
	}
	for _, it := range a.items {
		if !it.Updated.Before(since) {
			list = append(list, it)
		}
	}
	page := 0 // zero-based
	next := ""
	switch a.style {
	case "link":
		page, _ = strconv.Atoi(r.URL.Query().Get("p"))
		if (page+1)*a.pageSize < len(list) {
			q := r.URL.Query()
			q.Set("p", strconv.Itoa(page+1))
			w.Header().Add("Link", fmt.Sprintf(`<%s?%s>; rel="next", <%s?p=999>; rel="last"`, r.URL.Path, q.Encode(), r.URL.Path))
		}
	case "cursor":
		if c := r.URL.Query().Get("after"); c != "" {
			page, _ = strconv.Atoi(c[1:])
		}
		if (page+1)*a.pageSize < len(list) {
			next = "c" + strconv.Itoa(page+1)
		}
	case "page":
		page, _ = strconv.Atoi(r.URL.Query().Get("page"))
		page-- // one-based
	}
	if a.style != "none" {
		lo, hi := min(page*a.pageSize, len(list)), min((page+1)*a.pageSize, len(list))
		list = list[lo:hi]
	}
	out := []map[string]any{}
	for _, it := range list {
		out = append(out, map[string]any{"id": it.ID, "updated_at": it.Updated.Format(time.RFC3339), "kind": it.Kind, "total": 12.5})
	}
	body := map[string]any{"data": map[string]any{"items": out}, "meta": map[string]any{"next": next}}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// items returns n items a minute apart from base, ids from first.
func items(first, n int, base time.Time) []item {
	var out []item
	for i := range n {
		out = append(out, item{ID: first + i, Updated: base.Add(time.Duration(i) * time.Minute), Kind: "order.created"})
	}
	return out
}

var base = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// endpointFor is an endpoint polling a, paginated as its style.
func endpointFor(a *api) Endpoint {
	e := Endpoint{
		Name:       "orders",
		URL:        a.URL + "/v1/orders",
		Auth:       Auth{Header: "Authorization", Prefix: "Bearer ", ValueEnv: "POLL_TEST_TOKEN"},
		Items:      "data.items",
		IDField:    "id",
		TimeField:  "updated_at",
		TypeField:  "kind",
		Type:       "order.changed",
		SinceParam: "updated_since",
		Retry:      Retry{Backoff: 10 * time.Millisecond},
	}
	switch a.style {
	case "link":
		e.Pagination = Pagination{Style: PageLink}
	case "cursor":
		e.Pagination = Pagination{Style: PageCursor, NextCursor: "meta.next", CursorParam: "after"}
	case "page":
		e.Pagination = Pagination{Style: PageNumber, PageParam: "page"}
	}
	return e
}

// newAdapter builds the adapter for endpoints, allowed to call loopback.
func newAdapter(t *testing.T, eps ...Endpoint) *Adapter {
	t.Helper()
	t.Setenv("POLL_TEST_TOKEN", testToken)
	a, err := New(Config{Endpoints: eps, Outbound: Outbound{Allow: []string{"127.0.0.1/32"}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return a
}

// counting counts the events an adapter emits.
type counting struct {
	a *Adapter
	n atomic.Int64
}

func (c *counting) Lease() time.Duration { return c.a.Lease() }

func (c *counting) PollFrom(ctx context.Context, cur string, emit sdk.EmitFunc) (string, error) {
	return c.a.PollFrom(ctx, cur, func(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
		c.n.Add(1)
		return emit(ctx, e)
	})
}

// run runs adapter in a Runner named instance on hub, polling every
// 100ms; the returned stop ends it and waits.
func run(t *testing.T, hub *sdktest.Hub, adapter any, instance string) (stop func()) {
	t.Helper()
	r, err := platform.NewRunner(Spec, adapter, hub.Connect(t), platform.RunnerOptions{
		Config: sdk.Config{Instance: instance, PollInterval: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it is nil or the generous deadline passes.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %v", what, err)
}

// eventIDs are the ids of the stored events, in stream order.
func eventIDs(t *testing.T, hub *sdktest.Hub, n int) []string {
	t.Helper()
	var ids []string
	for _, e := range hub.WaitEvents(t, n, 60*time.Second) {
		ids = append(ids, e.GetId())
	}
	return ids
}
