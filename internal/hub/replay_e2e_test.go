package hub

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

	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// headerReceiver records the headers of every request it answers 204.
type headerReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []http.Header
}

func newHeaderReceiver(t *testing.T) *headerReceiver {
	t.Helper()
	hr := &headerReceiver{}
	hr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hr.mu.Lock()
		hr.got = append(hr.got, r.Header.Clone())
		hr.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hr.Close)
	return hr
}

func (hr *headerReceiver) headers() []http.Header {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	return slices.Clone(hr.got)
}

// TestReplayThroughLateRoute: events arrive before any route takes them; a
// route created later gets them by a replay. The dry run lists them and
// sends nothing; the real run delivers each once to a real receiver, paced
// by the rate, each carrying the replay id and the original event id.
func TestReplayThroughLateRoute(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	rcv := newHeaderReceiver(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := timestamppb.New(time.Now().Add(-time.Second))
	var eventIDs []string
	for i := range 3 {
		id := fmt.Sprintf("msg_late_%d", i)
		if resp := h.sendWebhook(t, id, userCreated("free", fmt.Sprintf("u%d@example.com", i))); resp.StatusCode/100 != 2 {
			t.Fatalf("webhook %s answered %d", id, resp.StatusCode)
		}
		eventIDs = append(eventIDs, id)
	}
	h.settled(t)

	created, err := h.routes(t).CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "late", Route: &junctionv1.Route{
		Filter:  "acme.user.created",
		Targets: []*junctionv1.Target{{Name: "crm", Destination: "webhook", Config: map[string]string{"url": rcv.URL + "/crm"}}},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())

	events := h.events(t)
	req := &junctionv1.ReplayEventsRequest{
		Filter:  &junctionv1.EventFilter{StartTime: start, SubjectPattern: "acme.>"},
		Through: &junctionv1.ReplayEventsRequest_Route{Route: "routes/late"},
		DryRun:  true,
	}
	dry, err := events.ReplayEvents(ctx, req)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if dry.GetEventsMatched() != 3 || len(dry.GetItems()) != 3 {
		t.Fatalf("dry run: got %d events, items %v; want 3 events through late/crm", dry.GetEventsMatched(), dry.GetItems())
	}
	for i, it := range dry.GetItems() {
		if it.GetEventId() != eventIDs[i] || it.GetRouteId() != "late" || it.GetTarget() != "crm" || it.GetDestination() != "webhook" {
			t.Errorf("dry run item %d: got %v, want event %s through late/crm to webhook", i, it, eventIDs[i])
		}
	}

	req.DryRun, req.Rate = false, 2
	began := time.Now()
	res, err := events.ReplayEvents(ctx, req)
	took := time.Since(began)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if res.GetDeliveries() != 3 || res.GetNextPageToken() != "" {
		t.Fatalf("replay: got %d deliveries, token %q; want 3 and none", res.GetDeliveries(), res.GetNextPageToken())
	}
	// 3 events at 2/s with a burst of 1: at least 1s. Only a lower bound:
	// a busy machine makes it slower, never faster.
	if took < time.Second {
		t.Errorf("replay of 3 events at rate 2 took %s, want at least 1s", took)
	}
	waitFor(t, 30*time.Second, "3 replayed deliveries", func() error {
		if n := len(rcv.headers()); n < 3 {
			return fmt.Errorf("receiver got %d", n)
		}
		return nil
	})
	h.settled(t)
	got := rcv.headers()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3 (one per replayed event)", len(got))
	}
	wantDeliveries := map[string]string{}
	for _, it := range res.GetItems() {
		wantDeliveries[it.GetDeliveryId()] = it.GetEventId()
	}
	for _, hd := range got {
		if hd.Get("Junction-Replay-Id") != res.GetReplayId() {
			t.Errorf("delivery %s: Junction-Replay-Id %q, want %q", hd.Get("webhook-id"), hd.Get("Junction-Replay-Id"), res.GetReplayId())
		}
		if ev, ok := wantDeliveries[hd.Get("webhook-id")]; !ok || hd.Get("Junction-Event-Id") != ev {
			t.Errorf("delivery %s of event %s: want one of the replay's deliveries %v", hd.Get("webhook-id"), hd.Get("Junction-Event-Id"), wantDeliveries)
		}
	}

	// The event's deliveries show the replayed one, delivered.
	ds, err := h.deliveryStatus(t).ListEventDeliveries(ctx, &junctionv1.ListEventDeliveriesRequest{Parent: "events/" + eventIDs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.GetDeliveries()) != 1 || ds.GetDeliveries()[0].GetState() != junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED || ds.GetDeliveries()[0].GetRouteId() != "late" {
		t.Errorf("deliveries of %s: got %v, want one delivered through late", eventIDs[0], ds.GetDeliveries())
	}
}

// TestTailOverSSE follows events as server-sent events on serve's HTTP
// listener (the REST handler behind serve's mux and its timeouts): the
// heartbeat first, then the event a webhook brought in, with its sequence
// as the event id and its payload as JSON.
func TestTailOverSSE(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.Addrs().HTTP+"/v1/events:tail?subject_pattern=acme.>", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+h.adminKey(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /v1/events:tail: got %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || line != ": heartbeat\n" {
		t.Fatalf("first line: got %q, %v; want the heartbeat", line, err)
	}
	if r := h.sendWebhook(t, "msg_sse_1", userCreated("pro", "sse@example.com")); r.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d", r.StatusCode)
	}
	var id, data string
	for data == "" {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
	var msg struct {
		Event struct {
			ID       string         `json:"id"`
			DataJSON map[string]any `json:"data_json"`
		} `json:"event"`
		Sequence string `json:"sequence"`
	}
	if err := json.Unmarshal([]byte(data), &msg); err != nil {
		t.Fatalf("data %q: %v", data, err)
	}
	if msg.Event.ID != "msg_sse_1" || msg.Sequence != id || id == "" || msg.Event.DataJSON["event"] != "user.created" {
		t.Errorf("event: got id %s, sequence %s (SSE id %s), data_json %v; want msg_sse_1 with its sequence as id and its payload", msg.Event.ID, msg.Sequence, id, msg.Event.DataJSON)
	}
}
