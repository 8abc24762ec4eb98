package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/clip"
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
	if frame, ok := v.(map[string]proto.Message); ok { // an error chunk
		return m.frame("error", "", frame["error"])
	}
	frame, ok := v.(map[string]any)
	if !ok {
		return m.JSONPb.Marshal(v)
	}
	res, ok := frame["result"]
	if !ok {
		return m.frame("error", "", frame["error"])
	}
	id := ""
	if t, ok := res.(*junctionv1.TailEventsResponse); ok {
		if t.GetEvent() == nil {
			return []byte(": heartbeat\n"), nil
		}
		id = strconv.FormatUint(t.GetSequence(), 10)
	}
	return m.frame("event", id, res)
}

// frame is one server-sent event named name (with id when not empty)
// whose data is v as JSON on one line.
func (m sseMarshaler) frame(name, id string, v any) ([]byte, error) {
	body, err := m.JSONPb.Marshal(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if id != "" {
		buf.WriteString("id: " + id + "\n")
	}
	buf.WriteString("event: " + name + "\ndata: ")
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
// its heartbeats show it is alive), resumes a server-sent events tail after
// its Last-Event-ID (resumeAfter) and hands it to next. A call refused
// before its first message (auth, a bad argument) is answered like every
// other REST error, by writeError (grpc-gateway would write it as a stream
// chunk, {"error": ...}, without WWW-Authenticate).
func streamHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		if r.Header.Get("Accept") == MIMEEventStream {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Accel-Buffering", "no")
			var err error
			if r, err = resumeAfter(r); err != nil {
				writeError(r.Context(), nil, jsonMarshaler, w, r, err)
				return
			}
		}
		sw := &streamWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.failed == 0 {
			return
		}
		w.Header().Del("Transfer-Encoding")
		writeError(r.Context(), nil, jsonMarshaler, w, r, streamError(sw.failed, sw.buf.Bytes()))
	})
}

// resumeAfter turns the Last-Event-ID header an EventSource sends when
// it reconnects (the id of the last event it got: an EVENTS sequence)
// into the tail's after_sequence, unless the query sets that itself.
func resumeAfter(r *http.Request) (*http.Request, error) {
	id := r.Header.Get("Last-Event-ID")
	q := r.URL.Query()
	if id == "" || q.Has("after_sequence") || q.Has("afterSequence") {
		return r, nil
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return r, invalid("Last-Event-ID", "%q is not the id of an event this tail sent (a decimal EVENTS sequence): reconnect without it to follow from now on", clip.Cut(id, 64))
	}
	q.Set("after_sequence", id)
	r = r.Clone(r.Context())
	r.URL.RawQuery = q.Encode()
	return r, nil
}

// streamWriter holds back an error status written before anything else,
// and the error chunk after it.
type streamWriter struct {
	http.ResponseWriter
	failed int // the held back status
	buf    bytes.Buffer
	wrote  bool
}

func (s *streamWriter) WriteHeader(code int) {
	if !s.wrote && code >= 400 {
		s.failed = code
		return
	}
	s.wrote = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *streamWriter) Write(b []byte) (int, error) {
	if s.failed != 0 {
		return s.buf.Write(b)
	}
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (s *streamWriter) Flush() {
	if s.failed == 0 {
		_ = http.NewResponseController(s.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the listener's writer.
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// streamError reads the status of an error chunk, as JSON ({"error": ...})
// or as a server-sent event ("data: {...}").
func streamError(code int, chunk []byte) error {
	body := chunk
	for _, line := range bytes.Split(chunk, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			body = rest
		}
	}
	var frame struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &frame) == nil && frame.Error != nil {
		body = frame.Error
	}
	st := &spb.Status{}
	if err := jsonMarshaler.Unmarshal(body, st); err != nil || st.GetCode() == 0 {
		return status.Errorf(codes.Unknown, "the call failed with HTTP status %d", code)
	}
	return status.ErrorProto(st)
}
