package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/junctionhq/junction/gateway"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestTailEventsResumes: a tail given after_sequence (gRPC, or the query)
// or Last-Event-ID (server-sent events, as an EventSource reconnecting
// sends it) first sends the matching events stored after that sequence,
// oldest first, then the new ones; the query's after_sequence wins over
// the header; a sequence past the newest event, or a Last-Event-ID that is
// no sequence, is refused with what to do.
func TestTailEventsResumes(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	seq := map[string]uint64{}
	publish := func(i int, typ string) {
		t.Helper()
		id := fmt.Sprintf("evt_%d", i)
		res, err := e.events.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{
			Id: id, Source: "acme", Type: typ, DataContentType: "application/json", Data: []byte(fmt.Sprintf(`{"n": %d}`, i)),
		}})
		if err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
		seq[id] = res.GetSequence()
	}
	for i, typ := range []string{"user.created", "order.paid", "user.created", "order.paid"} {
		publish(i, typ)
	}

	// gRPC: after evt_0, user events only: evt_2 (stored), then evt_4 (new).
	stream, err := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: "acme.user.*", AfterSequence: seq["evt_0"]})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.GetEvent() != nil {
		t.Fatalf("first message: got %v, %v; want the heartbeat", m, err)
	}
	publish(4, "user.created")
	var got []string
	for len(got) < 2 {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv after %v: %v", got, err)
		}
		if ev := m.GetEvent(); ev != nil {
			got = append(got, ev.GetId())
			if m.GetSequence() != seq[ev.GetId()] {
				t.Errorf("%s sent with sequence %d, stored at %d", ev.GetId(), m.GetSequence(), seq[ev.GetId()])
			}
		}
	}
	if want := []string{"evt_2", "evt_4"}; !slices.Equal(got, want) {
		t.Errorf("gRPC tail after evt_0's sequence: got %v, want %v", got, want)
	}

	sse := func(query string, lastEventID string) (*http.Response, *bufio.Reader) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.rest.URL+"/v1/events:tail?subject_pattern=acme.>"+query, nil)
		req.Header.Set("Accept", gateway.MIMEEventStream)
		if lastEventID != "" {
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, bufio.NewReader(resp.Body)
	}
	// events reads n server-sent events, as "<id> <event id>".
	events := func(r *bufio.Reader, n int) []string {
		t.Helper()
		var out []string
		for _, ev := range readSSE(t, r, n) {
			out = append(out, ev.ID+" "+ev.Event.ID)
		}
		return out
	}
	want := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, strconv.FormatUint(seq[id], 10)+" "+id)
		}
		return out
	}

	tests := []struct {
		name, query, lastEventID string
		want                     []string
	}{
		{"Last-Event-ID resumes after it", "", strconv.FormatUint(seq["evt_1"], 10), want("evt_2", "evt_3", "evt_4")},
		{"the query wins over the header", "&after_sequence=" + strconv.FormatUint(seq["evt_2"], 10), strconv.FormatUint(seq["evt_0"], 10), want("evt_3", "evt_4")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, r := sse(tc.query, tc.lastEventID)
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
			}
			if got := events(r, len(tc.want)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("a sequence past the newest event", func(t *testing.T) {
		s, err := e.events.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: ">", AfterSequence: seq["evt_4"] + 100})
		if err == nil {
			_, err = s.Recv()
		}
		wantCode(t, err, codes.InvalidArgument, "after_sequence", "past the newest stored event", strconv.FormatUint(seq["evt_4"], 10))
	})
	t.Run("a Last-Event-ID that is no sequence", func(t *testing.T) {
		resp, _ := sse("", "evt_3")
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "Last-Event-ID") || !strings.Contains(string(b), "decimal EVENTS sequence") {
			t.Errorf("got %d %s, want 400 naming Last-Event-ID and what it must be", resp.StatusCode, b)
		}
	})
}
