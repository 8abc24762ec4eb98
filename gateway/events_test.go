package gateway_test

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestPublishAndGetEvent(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	ec := e.events

	first, err := ec.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{
		Id: "evt_1", Source: "acme", Type: "user.created", DataContentType: "application/json", Data: []byte(`{"email":"ann@example.com"}`),
	}})
	if err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
	if first.GetDuplicate() || first.GetSequence() == 0 || first.GetEvent().GetTime() == nil || first.GetEvent().GetReceiveTime() == nil {
		t.Fatalf("PublishEvent: got %v, want a new event with sequence, time and receive_time", first)
	}

	again, err := ec.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "user.created", Data: []byte("other")}})
	if err != nil {
		t.Fatalf("PublishEvent duplicate: %v", err)
	}
	if !again.GetDuplicate() || again.GetSequence() != first.GetSequence() || !proto.Equal(again.GetEvent(), first.GetEvent()) {
		t.Errorf("duplicate: got duplicate %v sequence %d event %v, want true, %d and the first event", again.GetDuplicate(), again.GetSequence(), again.GetEvent(), first.GetSequence())
	}
	info, err := e.js.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if si, err := info.Info(ctx); err != nil || si.State.Msgs != 1 {
		t.Errorf("EVENTS holds %v messages (err %v), want 1", si.State.Msgs, err)
	}

	got, err := ec.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt_1"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	if !proto.Equal(got.GetEvent(), first.GetEvent()) || got.GetSequence() != first.GetSequence() {
		t.Errorf("GetEvent: got %v at %d, want %v at %d", got.GetEvent(), got.GetSequence(), first.GetEvent(), first.GetSequence())
	}

	// The same id from a second source.
	if _, err := ec.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{Id: "evt_1", Source: "beta", Type: "user.created"}}); err != nil {
		t.Fatalf("PublishEvent beta: %v", err)
	}
	bySource, err := ec.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt_1", Source: "beta"})
	if err != nil {
		t.Fatalf("GetEvent with source: %v", err)
	}
	if bySource.GetEvent().GetSource() != "beta" {
		t.Errorf("GetEvent source beta: got source %q", bySource.GetEvent().GetSource())
	}

	for _, tc := range []struct {
		name  string
		call  func(context.Context) error
		code  codes.Code
		parts []string
	}{
		{"ambiguous id", func(ctx context.Context) error {
			_, err := ec.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt_1"})
			return err
		}, codes.FailedPrecondition, []string{"id evt_1 exists in sources acme, beta: pass source"}},
		{"unknown id", func(ctx context.Context) error {
			_, err := ec.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt_none"})
			return err
		}, codes.NotFound, []string{"evt_none"}},
		{"unknown id in source", func(ctx context.Context) error {
			_, err := ec.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt_1", Source: "gamma"})
			return err
		}, codes.NotFound, []string{"evt_1", "gamma"}},
		{"bad name", func(ctx context.Context) error {
			_, err := ec.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "evt_1"})
			return err
		}, codes.InvalidArgument, []string{"events/{id}"}},
		{"bad source", func(ctx context.Context) error {
			_, err := ec.GetEvent(ctx, &junctionv1.GetEventRequest{Name: "events/evt_1", Source: "Not Valid"})
			return err
		}, codes.InvalidArgument, []string{"source"}},
		{"publish without event", func(ctx context.Context) error {
			_, err := ec.PublishEvent(ctx, &junctionv1.PublishEventRequest{})
			return err
		}, codes.InvalidArgument, []string{"event"}},
		{"publish invalid source", func(ctx context.Context) error {
			_, err := ec.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{Source: "Bad Source", Type: "user.created"}})
			return err
		}, codes.InvalidArgument, []string{"Bad Source"}},
		{"publish without type", func(ctx context.Context) error {
			_, err := ec.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{Source: "acme"}})
			return err
		}, codes.InvalidArgument, []string{"type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(ctx), tc.code, tc.parts...)
		})
	}

	// Over REST.
	status, body := e.do(t, http.MethodPost, "/v1/events", map[string]any{
		"id": "evt_rest", "source": "acme", "type": "user.updated", "data_content_type": "application/json", "data": "e30=",
	})
	if status != http.StatusOK || body["sequence"] == nil || body["duplicate"] != nil {
		t.Fatalf("POST /v1/events: got %d %v, want 200 with a sequence, not duplicate", status, body)
	}
	status, body = e.do(t, http.MethodGet, "/v1/events/evt_rest", nil)
	if status != http.StatusOK || body["id"] != "evt_rest" || body["type"] != "user.updated" || body["data"] != "e30=" {
		t.Errorf("GET /v1/events/evt_rest: got %d %v, want the event itself", status, body)
	}
	status, body = e.do(t, http.MethodGet, "/v1/events/evt_1", nil)
	if status != http.StatusBadRequest || body["code"] != float64(codes.FailedPrecondition) {
		t.Errorf("GET /v1/events/evt_1 (two sources): got %d %v, want 400 FAILED_PRECONDITION", status, body)
	}
	status, body = e.do(t, http.MethodGet, "/v1/events/evt_1?source=acme", nil)
	if status != http.StatusOK || body["source"] != "acme" {
		t.Errorf("GET /v1/events/evt_1?source=acme: got %d %v, want the acme event", status, body)
	}
	status, body = e.do(t, http.MethodPost, "/v1/events", map[string]any{"source": "acme"})
	if status != http.StatusBadRequest {
		t.Errorf("POST /v1/events without type: got %d %v, want 400", status, body)
	}
}

func TestPublishEventUnavailable(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if err := e.js.DeleteStream(ctx, topology.EventsStream); err != nil {
		t.Fatalf("delete stream: %v", err)
	}
	_, err := e.events.PublishEvent(ctx, &junctionv1.PublishEventRequest{Event: &junctionv1.Event{Source: "acme", Type: "user.created"}})
	wantCode(t, err, codes.Unavailable, "retry")

	status, body := e.do(t, http.MethodPost, "/v1/events", map[string]any{"source": "acme", "type": "user.created"})
	if status != http.StatusServiceUnavailable {
		t.Errorf("POST /v1/events with no EVENTS stream: got %d %v, want 503", status, body)
	}
}
