package gateway

import (
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestSSEFrames: the frames the tail's server-sent events are made of, as
// grpc-gateway hands them to the marshaler.
func TestSSEFrames(t *testing.T) {
	m := sseMarshaler{JSONPb: &runtime.JSONPb{}}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"heartbeat", map[string]any{"result": &junctionv1.TailEventsResponse{}}, ": heartbeat\n"},
		{"event", map[string]any{"result": &junctionv1.TailEventsResponse{Sequence: 7, Event: &junctionv1.Event{Id: "e1"}}},
			"id: 7\nevent: event\ndata: {\"event\":{\"id\":\"e1\"},\"sequence\":\"7\"}\n"},
		{"error chunk", map[string]proto.Message{"error": &status.Status{Code: 5, Message: "gone"}},
			"event: error\ndata: {\"code\":5,\"message\":\"gone\"}\n"},
		{"error in a result frame", map[string]any{"error": &status.Status{Code: 14, Message: "down"}},
			"event: error\ndata: {\"code\":14,\"message\":\"down\"}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Marshal(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("Marshal = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}
