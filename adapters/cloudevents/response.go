package cloudevents

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// Stored is the answer, with 202, for one event the hub has: its id,
// whether it was stored before (the sender's retry), and its sequence on
// the EVENTS stream.
type Stored struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Sequence  uint64 `json:"sequence"`
}

// BatchStored is the answer, with 202, to a batch: one Stored per event,
// in the batch's order.
type BatchStored struct {
	Events []Stored `json:"events"`
}

// tooLarge is a body over max_body_bytes. Answer 413.
type tooLarge struct{ msg string }

func (e *tooLarge) Error() string { return e.msg }

// forbidden is an event of a source the configuration does not take.
// Answer 403.
type forbidden struct{ msg string }

func (e *forbidden) Error() string { return e.msg }

// statusOf is the status answered for a request refused with err.
func statusOf(err error) int {
	var (
		inv *invalid
		uns *unsupported
		big *tooLarge
		fbd *forbidden
		ver *verify.Error
	)
	switch {
	case errors.As(err, &ver):
		return verify.Status(err)
	case errors.As(err, &inv):
		return http.StatusBadRequest
	case errors.As(err, &uns):
		return http.StatusUnsupportedMediaType
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &fbd):
		return http.StatusForbidden
	}
	return verify.Status(err) // fail closed: 401
}

// statusNames are the google.rpc.Code names of the statuses answered, as
// the generic webhook adapter answers them.
var statusNames = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusUnauthorized:          "UNAUTHENTICATED",
	http.StatusForbidden:             "PERMISSION_DENIED",
	http.StatusMethodNotAllowed:      "UNIMPLEMENTED",
	http.StatusRequestEntityTooLarge: "RESOURCE_EXHAUSTED",
	http.StatusUnsupportedMediaType:  "INVALID_ARGUMENT",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
}

// errorBody is the JSON of every error answer:
// {"error":{"code":400,"status":"INVALID_ARGUMENT","message":"..."}}.
type errorBody struct {
	Error errorStatus `json:"error"`
}

type errorStatus struct {
	Code    int    `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, code int, message string) {
	status, ok := statusNames[code]
	if !ok {
		status = "UNKNOWN"
	}
	writeJSON(w, code, errorBody{Error: errorStatus{Code: code, Status: status, Message: message}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":{"code":500,"status":"INTERNAL","message":"response could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
