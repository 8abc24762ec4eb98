package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// MIMEEventStream is the media type of server-sent events. A REST call
// of a streaming method (GET /v1/events:tail) that sends
// "Accept: text/event-stream" gets its messages as server-sent events.
const MIMEEventStream = "text/event-stream"

// sseMarshaler writes each message of a server stream as one server-sent
// event, in the frame grpc-gateway gives it ({"result": message} or
// {"error": status}):
//
//	id: <sequence>            (a TailEventsResponse with an event)
//	event: event | error
//	data: <the message as the REST API's JSON, on one line>
//
// and a heartbeat (a TailEventsResponse without event) as the comment line
// ": heartbeat", which EventSource clients ignore. Events are separated by
// the blank line of Delimiter. Reading (request bodies) is JSON, as for
// every REST call.
type sseMarshaler struct {
	*runtime.JSONPb
}

// ContentType implements runtime.Marshaler.
func (sseMarshaler) ContentType(any) string { return MIMEEventStream }

// Delimiter implements runtime.Delimited: the blank line ending an event.
func (sseMarshaler) Delimiter() []byte { return []byte("\n") }

// Marshal implements runtime.Marshaler.
func (m sseMarshaler) Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if frame, ok := v.(map[string]proto.Message); ok { // an error chunk
		body, err := m.JSONPb.Marshal(frame["error"])
		if err != nil {
			return nil, err
		}
		buf.WriteString("event: error\ndata: ")
		buf.Write(oneLine(body))
		buf.WriteString("\n")
		return buf.Bytes(), nil
	}
	frame, ok := v.(map[string]any)
	if !ok {
		return m.JSONPb.Marshal(v)
	}
	if res, ok := frame["result"]; ok {
		if t, ok := res.(*junctionv1.TailEventsResponse); ok {
			if t.GetEvent() == nil {
				return []byte(": heartbeat\n"), nil
			}
			buf.WriteString("id: " + strconv.FormatUint(t.GetSequence(), 10) + "\n")
		}
		body, err := m.JSONPb.Marshal(res)
		if err != nil {
			return nil, err
		}
		buf.WriteString("event: event\ndata: ")
		buf.Write(oneLine(body))
		buf.WriteString("\n")
		return buf.Bytes(), nil
	}
	body, err := m.JSONPb.Marshal(frame["error"])
	if err != nil {
		return nil, err
	}
	buf.WriteString("event: error\ndata: ")
	buf.Write(oneLine(body))
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

// oneLine compacts JSON onto one line (protojson may indent or break).
func oneLine(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return bytes.ReplaceAll(b, []byte("\n"), []byte(" "))
	}
	return out.Bytes()
}

// streamHandler serves a streaming REST call: it lifts the listener's write
// deadline for the response (a tail lasts as long as its caller wants, and
// its heartbeats show it is alive) and hands it to next.
func streamHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		if r.Header.Get("Accept") == MIMEEventStream {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Accel-Buffering", "no")
		}
		next.ServeHTTP(w, r)
	})
}
