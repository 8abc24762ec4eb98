package gateway

import (
	"context"

	"google.golang.org/protobuf/proto"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// restDataJSON is the REST handler's response rewriter: it fills
// Event.data_json in every answer that carries events, so that a JSON
// payload reads as JSON over REST rather than as base64. gRPC answers are
// left alone: their callers have data's bytes.
func restDataJSON(_ context.Context, resp proto.Message) (any, error) {
	// A call whose REST answer is one field of its response (GetEvent's
	// is the event) comes wrapped in a type that names the field.
	if rb, ok := resp.(interface{ XXX_ResponseBody() any }); ok {
		if e, ok := rb.XXX_ResponseBody().(*junctionv1.Event); ok {
			withDataJSON(e)
		}
		return resp, nil
	}
	switch m := resp.(type) {
	case *junctionv1.GetEventResponse:
		withDataJSON(m.GetEvent())
	case *junctionv1.PublishEventResponse:
		withDataJSON(m.GetEvent())
	case *junctionv1.ListEventsResponse:
		for _, e := range m.GetEvents() {
			withDataJSON(e)
		}
	case *junctionv1.TailEventsResponse:
		withDataJSON(m.GetEvent())
	}
	return resp, nil
}
